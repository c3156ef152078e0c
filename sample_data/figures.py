"""Reported figures derived from the model's geometry and from each other.

Each function fills or returns the figures exactly as rules.md recomputes them, so a
freshly built model raises no finding:

- :func:`apportion` — PRP-001..005 (共有部位 apportionment, building SCJZMJ);
- :func:`planning_indicators` — PLN-001..009, PLN-014, XSV-007 (规划指标);
- :func:`setbacks` — PLN-011/012 (退让).
"""

from __future__ import annotations

import math

import shapely
from shapely.geometry import LineString, Polygon

from sample_data.geometry import area, areas, distances_to_line
from sample_data.model import Building, Indicator, Setback, Site

#: Minimum distances required by the (sample) planning permit, m.
SETBACK_REQUIRED: dict[str, float] = {"用地红线": 5.00, "道路红线": 8.00}

#: Unit (DW) of each planning indicator; None for the dimensionless RJL.
INDICATOR_UNITS: dict[str, str | None] = {
    "YDMJ": "m²", "ZJZMJ": "m²", "JRMJ": "m²", "RJL": None, "JZMD": "%", "LDL": "%",
    "JDMJ": "m²", "JZGD": "m", "DSCS": "层", "DXCS": "层", "JDCW": "个",
}


def apportion(building: Building) -> None:
    """Apportion the building's shared parts over its units (GB/T 17986.1).

    K = Σ 共有部位 MJ / Σ unit SCTNJZMJ (both as reported); each unit gets
    SCFTXS = round(K, 6), SCFTJZMJ = round(K × SCTNJZMJ, 2) and
    SCJZMJ = SCTNJZMJ + SCFTJZMJ; the building's SCJZMJ is the sum over its units.
    """
    inner = math.fsum(u.sctnjzmj for u in building.units)
    shared = math.fsum(p.mj for p in building.shared_parts)
    k = shared / inner
    for unit in building.units:
        unit.scftxs = round(k, 6)
        unit.scftjzmj = round(k * unit.sctnjzmj, 2)
        unit.scjzmj = round(unit.sctnjzmj + unit.scftjzmj, 2)
    building.scjzmj = round(math.fsum(u.scjzmj for u in building.units), 2)


def green_area(site: Site) -> float:
    """Σ area of the LDFW polygons inside the YDHX polygon (m², unrounded)."""
    boundary = Polygon(site.boundary)
    return math.fsum(
        float(g.area) for g in shapely.intersection([Polygon(r) for r in site.greens], boundary)
    )


def _ceil_to(value: float, step: float) -> float:
    return round(math.ceil(value / step - 1e-9) * step, 6)


def _floor_to(value: float, step: float) -> float:
    return round(math.floor(value / step + 1e-9) * step, 6)


def planning_indicators(
    site: Site, buildings: list[Building], parking_spaces: int
) -> list[Indicator]:
    """The 规划指标 rows: project scope, then DSCS and JZGD per building.

    Measured values (SCZ) come from the drawing and the property figures; permitted
    values (GHZ) are set as a permit would state them, with a margin so that every
    PLN rule is met.
    """
    ydmj = round(area(site.boundary), 2)
    jdmj = round(float(areas([b.footprint for b in buildings]).sum()), 2)
    zjzmj = round(math.fsum(b.scjzmj for b in buildings), 2)
    below_ground = math.fsum(p.mj for b in buildings for p in b.shared_parts if p.sjc < 0)
    jrmj = round(zjzmj - below_ground, 2)  # underground area does not count (计容)
    rjl = round(jrmj / ydmj, 2)
    jzmd = round(jdmj / ydmj * 100, 2)
    ldl = round(green_area(site) / ydmj * 100, 2)
    jzgd = max(b.jzwgd for b in buildings)
    dscs = max(b.dscs for b in buildings)
    dxcs = max(b.dxcs for b in buildings)
    permitted_height = _ceil_to(jzgd + 1.0, 5.0)

    rows: list[tuple[str, float | int, float | int]] = [
        ("YDMJ", ydmj, ydmj),
        ("ZJZMJ", _ceil_to(zjzmj + 1.0, 100.0), zjzmj),
        ("JRMJ", _ceil_to(jrmj + 1.0, 100.0), jrmj),
        ("RJL", round(_ceil_to(rjl, 0.1) + 0.1, 1), rjl),
        ("JZMD", _ceil_to(jzmd + 1.0, 5.0), jzmd),
        ("LDL", _floor_to(ldl - 1.0, 5.0), ldl),
        ("JDMJ", _ceil_to(jdmj, 10.0), jdmj),
        ("JZGD", permitted_height, jzgd),
        ("DSCS", dscs, dscs),
        ("DXCS", dxcs, dxcs),
        ("JDCW", parking_spaces - math.ceil(parking_spaces * 0.05), parking_spaces),
    ]
    indicators = [Indicator(code, "项目", ghz, scz, INDICATOR_UNITS[code]) for code, ghz, scz in rows]
    for b in buildings:
        indicators.append(Indicator("DSCS", b.zrzh, b.dscs, b.dscs, INDICATOR_UNITS["DSCS"]))
        indicators.append(Indicator("JZGD", b.zrzh, permitted_height, b.jzwgd, INDICATOR_UNITS["JZGD"]))
    return indicators


def setbacks(site: Site, buildings: list[Building]) -> list[Setback]:
    """Two 退让 rows per building: distance of the footprint to the YDHX ring (its
    boundary line) and to the nearest DLHX line, as shapely measures them, 2 dp."""
    ring = Polygon(site.boundary).exterior
    footprints = [b.footprint for b in buildings]
    to_site = distances_to_line(footprints, [ring])
    to_road = distances_to_line(footprints, [LineString(r) for r in site.roads])
    rows: list[Setback] = []
    for b, d_site, d_road in zip(buildings, to_site, to_road, strict=True):
        rows.append(Setback(b.zrzh, "用地红线", SETBACK_REQUIRED["用地红线"], round(float(d_site), 2)))
        rows.append(Setback(b.zrzh, "道路红线", SETBACK_REQUIRED["道路红线"], round(float(d_road), 2)))
    return rows
