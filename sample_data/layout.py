"""Local geometry of the sample projects: the site plans and the typical floor.

Everything here is in local metres. The site plan's origin is later shifted into the
project CRS (:mod:`sample_data.generator`); the floor template is stacked once per floor in
the floor plan. Dimensions carry a small seed-dependent jitter so that areas are not round.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sample_data.geometry import rect, rounded
from sample_data.model import Point, Ring

#: Margin (m) between a floor's content and its FC_C frame.
FRAME_MARGIN = 1.5
#: Balcony depth (m) on the south and north faces.
BALCONY_DEPTH_S = 1.5
BALCONY_DEPTH_N = 1.35


@dataclass
class UnitShape:
    """One unit of the typical floor: its polygon, label point and balconies."""

    index: int  # 1-based position on the floor → 户号 = floor * 100 + index
    ring: Ring
    label_at: Point
    balconies: list[tuple[Ring, str, Point]] = field(default_factory=list)  # ring, 封闭/未封闭, label


@dataclass
class SharedShape:
    """A shared part of the typical floor (core: stair, lift shaft, lobby)."""

    name: str
    ring: Ring
    label_at: Point


@dataclass
class FloorTemplate:
    """The typical floor of a building: units around one or more cores, in local metres
    with the lower-left corner of the building outline at (0, 0)."""

    units: list[UnitShape]
    shared: list[SharedShape]
    width: float  # building outline (footprint) width, x
    depth: float  # building outline depth, y
    frame: Ring  # FC_C frame around everything, incl. balconies and a margin

    @property
    def frame_height(self) -> float:
        ys = [y for _, y in self.frame]
        return max(ys) - min(ys)


def _jitter(rng: random.Random, value: float, spread: int = 8) -> float:
    """``value`` ± up to ``spread`` cm, to 2 dp."""
    return round(value + rng.randint(-spread, spread) / 100.0, 2)


def _module(dims: dict[str, float], dx: float, first_index: int) -> tuple[list[UnitShape], list[SharedShape]]:
    """A 一梯四户 module: four units (two L-shaped, one rectangular, one L-shaped) around a
    core of stair (楼梯间), lobby (前室) and lift shaft (电梯井), shifted by ``dx``."""
    a, s, e, b = dims["a"], dims["s"], dims["e"], dims["b"]
    c, m, n, d = dims["c"], dims["m"], dims["n"], dims["d"]
    x0, x1, x2, x3, x4 = dx, dx + a, dx + a + s, dx + a + s + e, dx + a + s + e + b
    y0, y1, y2, y3, y4 = 0.0, c, m, n, d

    def r(ring: list[Point]) -> Ring:
        return rounded(ring, 2)

    def p(x: float, y: float) -> Point:
        return (round(x, 2), round(y, 2))

    ds, dn = BALCONY_DEPTH_S, BALCONY_DEPTH_N
    u1_bal = r(rect(x0 + 1.8, y0 - ds, x0 + 1.8 + 5.4, y0))
    u2_bal = r(rect(x4 - 1.8 - 6.6, y0 - ds, x4 - 1.8, y0))
    u3_bal = r(rect(x0 + 2.1, y4, x0 + 2.1 + 4.2, y4 + dn))
    units = [
        UnitShape(
            first_index,
            r([(x0, y0), (x2, y0), (x2, y1), (x1, y1), (x1, y2), (x0, y2)]),
            p((x0 + x1) / 2 - 0.8, (y0 + y2) / 2 - 0.25),
            [(u1_bal, "封闭", p(u1_bal[0][0] + 0.3, u1_bal[0][1] + 0.4))],
        ),
        UnitShape(
            first_index + 1,
            r([(x2, y0), (x4, y0), (x4, y2), (x3, y2), (x3, y1), (x2, y1)]),
            p((x3 + x4) / 2 - 0.8, (y0 + y2) / 2 - 0.25),
            [(u2_bal, "未封闭", p(u2_bal[0][0] + 0.3, u2_bal[0][1] + 0.4))],
        ),
        UnitShape(
            first_index + 2,
            r(rect(x0, y2, x1, y4)),
            p((x0 + x1) / 2 - 0.8, (y2 + y4) / 2 - 0.25),
            [(u3_bal, "未封闭", p(u3_bal[0][0] + 0.3, u3_bal[0][1] + 0.4))],
        ),
        UnitShape(
            first_index + 3,
            r([(x3, y2), (x4, y2), (x4, y4), (x1, y4), (x1, y3), (x3, y3)]),
            p((x3 + x4) / 2 - 0.8, (y2 + y4) / 2 - 0.25),
        ),
    ]
    shared = [
        SharedShape("楼梯间", r(rect(x1, y1, x2, y3)), p(x1 + 0.3, (y1 + y3) / 2)),
        SharedShape("前室", r(rect(x2, y1, x3, y2)), p(x2 + 0.3, (y1 + y2) / 2)),
        SharedShape("电梯井", r(rect(x2, y2, x3, y3)), p(x2 + 0.3, (y2 + y3) / 2)),
    ]
    return units, shared


def floor_template(modules: int, rng: random.Random) -> FloorTemplate:
    """The typical floor: ``modules`` four-unit modules side by side (1 → 4 units per
    floor, 2 → 8 units)."""
    dims = {
        "a": _jitter(rng, 12.36), "s": _jitter(rng, 3.12, 4), "e": _jitter(rng, 2.76, 4),
        "b": _jitter(rng, 11.88), "c": _jitter(rng, 3.84, 4), "m": _jitter(rng, 7.92, 4),
        "n": _jitter(rng, 12.06, 4), "d": _jitter(rng, 15.90),
    }
    width = round(dims["a"] + dims["s"] + dims["e"] + dims["b"], 2)
    units: list[UnitShape] = []
    shared: list[SharedShape] = []
    for k in range(modules):
        u, s = _module(dims, k * width, 4 * k + 1)
        units += u
        shared += s
    total_width = round(width * modules, 2)
    frame = rounded(
        rect(
            -FRAME_MARGIN,
            -BALCONY_DEPTH_S - FRAME_MARGIN,
            total_width + FRAME_MARGIN,
            dims["d"] + BALCONY_DEPTH_N + FRAME_MARGIN,
        ),
        2,
    )
    return FloorTemplate(units, shared, total_width, dims["d"], frame)


@dataclass
class SiteLayout:
    """A site plan in local metres (x east, y north), counter-clockwise boundary.

    ``footprint_origins`` are the lower-left corners of the building outlines, in 幢号
    order; ``road_chains`` are boundary chains (in ring order) along which a road red line
    runs outside the site.
    """

    boundary: Ring
    footprint_origins: list[Point]
    greens: list[Ring]
    road_chains: list[list[Point]]


def site_small() -> SiteLayout:
    """One building on a pentagonal site of about 0.37 ha, road to the south."""
    boundary = [(0.0, 0.0), (66.421, -2.183), (68.954, 41.362), (52.738, 58.117), (1.869, 56.437)]
    greens = [
        rect(6.0, 36.5, 50.0, 50.5),
        rect(5.0, 6.0, 14.0, 33.0),
        [(52.0, 5.0), (62.0, 4.0), (63.5, 36.0), (52.0, 36.0)],
        rect(18.0, 4.0, 48.0, 11.0),
    ]
    return SiteLayout(boundary, [(18.0, 16.0)], greens, [boundary[0:2]])


def site_large(footprint_width: float, footprint_depth: float) -> SiteLayout:
    """Forty buildings in a grid of 8 columns × 5 rows on a hexagonal site of about
    35 ha, green strips between the rows, roads to the south and west."""
    boundary = [
        (0.0, 0.0), (772.437, -8.614), (778.826, 400.052),
        (742.519, 458.336), (12.604, 455.921), (-4.817, 220.038),
    ]
    pitch_x, pitch_y = 90.0, 90.0
    origins = [
        (40.0 + col * pitch_x, 40.0 + row * pitch_y) for row in range(5) for col in range(8)
    ]
    greens = []
    for row in range(4):
        y0 = 40.0 + row * pitch_y + footprint_depth + 10.0
        y1 = 40.0 + (row + 1) * pitch_y - 10.0
        x1 = 40.0 + 7 * pitch_x + footprint_width  # east edge of the easternmost column
        greens.append(rounded(rect(40.0, y0, x1, y1), 3))
    west_chain = [boundary[4], boundary[5], boundary[0]]
    return SiteLayout(boundary, origins, greens, [boundary[0:2], west_chain])
