"""Seeded defects of the planning verification (PLN-001..014).

Each changes the model the way a firm's mistake would (a figure in 规划指标 or 退让, the
red line, a green, a footprint) and keeps everything else consistent, so that exactly its
rule fires. Rows follow the writer: 规划指标 and 退让 rows are 2 + the model's index.
"""

from __future__ import annotations

import math

from sample_data import figures
from sample_data.defects import defect
from sample_data.geometry import translate
from sample_data.model import Indicator, ProjectModel

SITE = "drawings/site.dxf"


def indicator(model: ProjectModel, zbdm: str, fw: str = "项目") -> tuple[int, Indicator]:
    """The spreadsheet row of an indicator and the indicator."""
    for i, ind in enumerate(model.indicators):
        if ind.zbdm == zbdm and ind.fw == fw:
            return 2 + i, ind
    raise KeyError((zbdm, fw))


def move_footprint(model: ProjectModel, dx: float, dy: float) -> None:
    """Shift building 1's footprint and its label; the setbacks are re-measured as a firm
    would report them (the red-line distance of a footprint across the line is 0)."""
    b = model.buildings[0]
    b.footprint = translate(b.footprint, dx, dy)
    b.label.at = (round(b.label.at[0] + dx, 3), round(b.label.at[1] + dy, 3))
    model.setbacks = figures.setbacks(model.site, model.buildings)


def shift_across(model: ProjectModel, edge: int, beyond: float) -> tuple[float, float]:
    """The shift, along the inward normal of boundary edge ``edge`` reversed, that puts the
    footprint ``beyond`` metres past that edge (measured at its farthest corner)."""
    ring = model.site.boundary
    (x0, y0), (x1, y1) = ring[edge], ring[(edge + 1) % len(ring)]
    length = math.hypot(x1 - x0, y1 - y0)
    # the boundary is clockwise: the outward normal of an edge is its direction turned left
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    # signed distance of each footprint corner beyond the edge's line (negative: inside)
    depth = max((x - x0) * nx + (y - y0) * ny for x, y in model.buildings[0].footprint)
    step = -depth + beyond
    return round(nx * step, 3), round(ny * step, 3)


@defect("PLN-001")
def missing_density(model: ProjectModel) -> dict:
    """The project's 建筑密度 (JZMD) row is left out of 规划指标."""
    row, ind = indicator(model, "JZMD")
    model.indicators.remove(ind)
    return {"sheet": "规划指标", "key": "JZMD/项目"}


@defect("PLN-002")
def over_floor_area(model: ProjectModel) -> dict:
    """The permit allowed about 4 % less 计容建筑面积 (JRMJ) than was built: beyond the 2 % tier."""
    row, ind = indicator(model, "JRMJ")
    ind.ghz = round(ind.scz / 1.04, 0)
    return {"sheet": "规划指标", "row": row}


@defect("PLN-003")
def short_of_green(model: ProjectModel) -> dict:
    """The permit required 2 points more 绿地率 (LDL) than was built."""
    row, ind = indicator(model, "LDL")
    ind.ghz = round(ind.scz + 2.0, 2)
    return {"sheet": "规划指标", "row": row}


@defect("PLN-004")
def wrong_storeys(model: ProjectModel) -> dict:
    """The permit says one storey more (DSCS) than was built."""
    row, ind = indicator(model, "DSCS")
    ind.ghz = ind.scz + 1
    return {"sheet": "规划指标", "row": row}


@defect("PLN-005")
def red_line_moved(model: ProjectModel) -> dict:
    """One YDHX vertex is drawn 5 cm outward: the red line's area grows by ~1.7 m² while it
    stays within the boundary-point limit of the parcel (no XSV-003)."""
    ring = model.site.boundary
    (x0, y0), (x1, y1), (x2, y2) = ring[0], ring[1], ring[2]
    length = math.hypot(x2 - x0, y2 - y0)
    nx, ny = -(y2 - y0) / length, (x2 - x0) / length  # outward normal of the chord (clockwise ring)
    ring[1] = (round(x1 + 0.05 * nx, 3), round(y1 + 0.05 * ny, 3))
    return {"sheet": "规划指标", "row": indicator(model, "YDMJ")[0], "layer": "YDHX"}


@defect("PLN-006")
def base_area_overstated(model: ProjectModel) -> dict:
    """基底面积 (JDMJ) reported 5 m² over the drawn footprints, 建筑密度 computed from it."""
    row, jdmj = indicator(model, "JDMJ")
    jdmj.scz = round(jdmj.scz + 5.0, 2)
    ydmj = indicator(model, "YDMJ")[1]
    indicator(model, "JZMD")[1].scz = round(jdmj.scz / ydmj.scz * 100, 2)
    return {"sheet": "规划指标", "row": row}


@defect("PLN-007")
def density_miscomputed(model: ProjectModel) -> dict:
    """建筑密度 (JZMD) 0.5 points off JDMJ / YDMJ × 100."""
    row, ind = indicator(model, "JZMD")
    ind.scz = round(ind.scz + 0.5, 2)
    return {"sheet": "规划指标", "row": row}


@defect("PLN-008")
def green_not_drawn(model: ProjectModel) -> dict:
    """A green (LDFW) counted in 绿地率 is missing from site.dxf."""
    model.site.greens.pop()
    return {"sheet": "规划指标", "row": indicator(model, "LDL")[0]}


@defect("PLN-009")
def plot_ratio_miscomputed(model: ProjectModel) -> dict:
    """容积率 (RJL) 0.05 off JRMJ / YDMJ."""
    row, ind = indicator(model, "RJL")
    ind.scz = round(ind.scz - 0.05, 2)
    return {"sheet": "规划指标", "row": row}


@defect("PLN-010", knock_on=("XSV-005",))
def footprint_across_red_line(model: ProjectModel) -> dict:
    """Building 1 stands 0.5 m across the north red line. The parcel is the red line (as it
    should be), so the footprint is outside its parcel too: XSV-005 is the registration
    side of the same fact and cannot be avoided."""
    move_footprint(model, *shift_across(model, 0, 0.5))
    return {"sheet": "自然幢", "row": 2, "file": SITE, "layer": "JZJD"}


@defect("PLN-011")
def setback_misreported(model: ProjectModel) -> dict:
    """The road setback (道路红线) reported 0.5 m longer than drawn."""
    i = next(i for i, s in enumerate(model.setbacks) if s.dx == "道路红线")
    model.setbacks[i].scz = round(model.setbacks[i].scz + 0.5, 2)
    return {"sheet": "退让", "row": 2 + i}


@defect("PLN-012")
def setback_too_short(model: ProjectModel) -> dict:
    """The permit required 1 m more red-line setback (用地红线) than the building keeps."""
    i = next(i for i, s in enumerate(model.setbacks) if s.dx == "用地红线")
    model.setbacks[i].ghyq = round(model.setbacks[i].scz + 1.0, 2)
    return {"sheet": "退让", "row": 2 + i}


@defect("PLN-013")
def footprint_mislabelled(model: ProjectModel) -> dict:
    """Building 1's footprint is labelled 2#: 1# has no footprint, 2# no building."""
    model.buildings[0].label.text = "2#"
    return {"sheet": "自然幢", "row": 2}


@defect("PLN-014")
def building_height_indicator(model: ProjectModel) -> dict:
    """Building 1's JZGD indicator is 0.3 m off its 自然幢 JZWGD (still within the permit)."""
    row, ind = indicator(model, "JZGD", model.buildings[0].zrzh)
    ind.scz = round(ind.scz + 0.3, 2)
    return {"sheet": "规划指标", "row": row}
