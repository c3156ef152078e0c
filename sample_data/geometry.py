"""Small geometric helpers for the generator: areas, ring orientation, offsets.

Areas are computed with shapely (GEOS) on the very doubles that are written to the DXF, so
a checker that reads the drawing and calls shapely gets the same figures bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from sample_data.model import Point, Ring

#: GB/T 17986.1 area limits (2 × 中误差): limit = a·√S + b·S, by 房产面积精度等级.
AREA_CLASS: dict[str, tuple[float, float]] = {
    "一级": (0.02, 0.0006),
    "二级": (0.04, 0.002),
    "三级": (0.08, 0.006),
}


def area_limit(area: float, grade: str = "二级") -> float:
    """Permitted area difference for an area ``area`` (m²) of class ``grade``."""
    a, b = AREA_CLASS[grade]
    return a * math.sqrt(abs(area)) + b * abs(area)


def rounded(ring: Sequence[Point], ndigits: int = 3) -> Ring:
    """The ring with every coordinate rounded to ``ndigits`` decimals."""
    return [(round(x, ndigits), round(y, ndigits)) for x, y in ring]


def translate(ring: Sequence[Point], dx: float, dy: float, ndigits: int = 3) -> Ring:
    """The ring shifted by ``(dx, dy)``, rounded to ``ndigits`` decimals."""
    return [(round(x + dx, ndigits), round(y + dy, ndigits)) for x, y in ring]


def rect(x0: float, y0: float, x1: float, y1: float) -> Ring:
    """Axis-parallel rectangle, counter-clockwise from the lower-left corner."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def polygon(ring: Sequence[Point]) -> Polygon:
    """The shapely polygon of an open ring."""
    return Polygon(ring)


def area(ring: Sequence[Point]) -> float:
    """Area of an open ring (m²)."""
    return float(Polygon(ring).area)


def areas(rings: Sequence[Sequence[Point]]) -> np.ndarray:
    """Areas of many open rings at once (one GEOS call, rings may differ in length)."""
    if not rings:
        return np.zeros(0)
    closed = [list(r) + [r[0]] for r in rings]
    coords = np.array([p for r in closed for p in r], dtype=float)
    indices = np.repeat(np.arange(len(closed)), [len(r) for r in closed])
    return shapely.area(shapely.polygons(shapely.linearrings(coords, indices=indices)))


def survey_signed_area(points: Sequence[tuple[float, float]]) -> float:
    """S = ½ Σ Xᵢ(Yᵢ₊₁ − Yᵢ₋₁) over ``(X, Y)`` = (northing, easting); > 0 is clockwise."""
    n = len(points)
    return 0.5 * sum(
        points[i][0] * (points[(i + 1) % n][1] - points[i - 1][1]) for i in range(n)
    )


def clockwise_from_northwest(ring: Sequence[Point]) -> Ring:
    """The ring clockwise on the map, starting at the vertex nearest the north-west
    corner (min easting, max northing) of its bounding box."""
    pts = list(ring)
    if shapely.LinearRing(pts).is_ccw:
        pts.reverse()
    xmin = min(x for x, _ in pts)
    ymax = max(y for _, y in pts)
    start = min(range(len(pts)), key=lambda i: math.hypot(pts[i][0] - xmin, pts[i][1] - ymax))
    return pts[start:] + pts[:start]


def offset_polyline(points: Sequence[Point], distance: float, extend: float) -> list[Point]:
    """A line parallel to the open polyline ``points``, ``distance`` to its right
    (negative: left), extended by ``extend`` metres at both ends, rounded to 3 dp."""
    pts = [np.asarray(p, dtype=float) for p in points]
    first = pts[0] - extend * (pts[1] - pts[0]) / np.linalg.norm(pts[1] - pts[0])
    last = pts[-1] + extend * (pts[-1] - pts[-2]) / np.linalg.norm(pts[-1] - pts[-2])
    line = LineString([tuple(first), *[tuple(p) for p in pts[1:-1]], tuple(last)])
    shifted = shapely.offset_curve(line, -distance, join_style="mitre")
    return rounded(list(shifted.coords))


def outward_offset(point: Point, centre: Point, distance: float) -> Point:
    """``point`` moved ``distance`` away from ``centre`` (used to place labels)."""
    dx, dy = point[0] - centre[0], point[1] - centre[1]
    norm = math.hypot(dx, dy) or 1.0
    return (round(point[0] + distance * dx / norm, 3), round(point[1] + distance * dy / norm, 3))


def distances_to_line(rings: Sequence[Sequence[Point]], lines: Sequence[LineString]) -> np.ndarray:
    """For each polygon ring, the distance to the nearest of ``lines``."""
    polys = np.array([Polygon(r) for r in rings], dtype=object)
    matrix = shapely.distance(polys[:, None], np.array(lines, dtype=object)[None, :])
    return matrix.min(axis=1)
