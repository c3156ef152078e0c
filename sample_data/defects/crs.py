"""Seeded coordinate defects: CRS-001..005 (spec/rules.md, CRS).

The declared ZBX and the moves of a whole project change the model: the 界址点 table
(X = northing, Y = easting) and the project drawings (site.dxf, parcel.dxf: x = easting,
y = northing) move together, so they still agree with each other. A defect of the table
alone (swapped or prefixed columns) is written into the report only (stage ``files``),
since the model draws the JZD points from the same figures. Either way only the CRS rule
fires: the CRS step swaps back or strips what it reports, and every other rule sees the
right numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sample_data.defects import defect
from sample_data.defects.report import column_header, edit_cells, project_row
from sample_data.geometry import translate
from sample_data.model import Label, Point, ProjectModel

# the 界址点 table is judged as one set and reported at its first row
FIRST_POINT = {"sheet": "界址点", "row": 2, "field": "XZBZ/YZBZ"}
Files = dict[str, bytes]
ZBX_ROW = project_row("ZBX")


def _shift_label(label: Label, de: float, dn: float) -> None:
    label.at = (round(label.at[0] + de, 3), round(label.at[1] + dn, 3))


def map_site(model: ProjectModel, f: Callable[[Point], Point]) -> None:
    """Apply ``f`` to every point site.dxf draws (boundary, roads, green, footprints, labels)."""

    def ring(points: list[Point]) -> list[Point]:
        return [f(p) for p in points]

    site = model.site
    site.boundary = ring(site.boundary)
    site.roads = [ring(r) for r in site.roads]
    site.greens = [ring(g) for g in site.greens]
    for b in model.buildings:
        b.footprint = ring(b.footprint)
        b.label.at = f(b.label.at)


def move_site(model: ProjectModel, de: float, dn: float) -> None:
    """Move everything site.dxf draws by ``de`` east and ``dn`` north (metres)."""
    map_site(model, lambda p: (round(p[0] + de, 3), round(p[1] + dn, 3)))


def move_parcel(model: ProjectModel, de: float, dn: float) -> None:
    """Move the parcel: its ring and labels in parcel.dxf, and the 界址点 (table and JZD)."""
    parcel = model.parcel
    parcel.ring = translate(parcel.ring, de, dn)
    _shift_label(parcel.label, de, dn)
    for p in parcel.points:
        p.x, p.y = round(p.x + dn, 3), round(p.y + de, 3)
        _shift_label(p.label, de, dn)


def move_project(model: ProjectModel, de: float, dn: float) -> None:
    """Move the whole project (floor plans are local and stay)."""
    move_site(model, de, dn)
    move_parcel(model, de, dn)


@defect("CRS-001")
def geographic_crs(model: ProjectModel) -> dict[str, Any]:
    """ZBX declares WGS 84 longitude/latitude (EPSG:4326), not a CGCS2000 3° zone. The
    coordinates are those of EPSG:4548, the profile's, so nothing else follows."""
    model.info.zbx = "EPSG:4326"
    return {"sheet": "项目信息", "row": ZBX_ROW, "field": "ZBX"}


@defect("CRS-001", variant="missing")
def crs_missing(model: ProjectModel) -> dict[str, Any]:
    """ZBX left empty (the 坐标系 row is there, without a value)."""
    model.info.zbx = None  # type: ignore[assignment]
    return {"sheet": "项目信息", "row": ZBX_ROW, "field": "ZBX"}


@defect("CRS-001", variant="name")
def crs_by_name(model: ProjectModel) -> dict[str, Any]:
    """ZBX written as a name ("2000国家大地坐标系") instead of an EPSG code."""
    model.info.zbx = "2000国家大地坐标系"
    return {"sheet": "项目信息", "row": ZBX_ROW, "field": "ZBX"}


@defect("CRS-002")
def outside_zone(model: ProjectModel) -> dict[str, Any]:
    """Every project coordinate 200 km west (a wrong false easting): about 113.8°E, beyond
    the 1.6° a point of the CM 117E zone may lie from its meridian. Table, site.dxf and
    parcel.dxf each get one CRS-002; CRS-005 is not said (the place means nothing)."""
    move_project(model, -200_000.0, 0.0)
    return dict(FIRST_POINT)


def _points_table(
    files: Files, model: ProjectModel, edit: Callable[[float, float], tuple[float, float]]
) -> None:
    """Rewrite each 界址点 row's (XZBZ, YZBZ) as ``edit(x, y)`` in the written report only:
    parcel.dxf keeps its JZD points where they are."""
    x_col, y_col = column_header("界址点", "XZBZ"), column_header("界址点", "YZBZ")

    def change(row: dict[str, Any]) -> dict[str, Any]:
        x, y = edit(float(row[x_col]), float(row[y_col]))
        return {x_col: x, y_col: y}

    edit_cells(files, model, "界址点", change)


@defect("CRS-003", stage="files")
def swapped_axes(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The 界址点 table with X and Y exchanged (the easting in XZBZ); parcel.dxf is right."""
    _points_table(files, model, lambda x, y: (y, x))
    return dict(FIRST_POINT)


@defect("CRS-003", variant="drawing")
def swapped_axes_in_drawing(model: ProjectModel) -> dict[str, Any]:
    """site.dxf drawn with x = northing and y = easting (axes of the survey, not of CAD)."""
    map_site(model, lambda p: (p[1], p[0]))
    return {"file": "drawings/site.dxf"}


@defect("CRS-004", stage="files")
def wrong_zone_prefix(files: Files, model: ProjectModel) -> dict[str, Any]:
    """界址点 Y written with the zone prefix 38, while EPSG:4548 (CM 117E) means 39."""
    _points_table(files, model, lambda x, y: (x, round(38_000_000 + y, 3)))
    return dict(FIRST_POINT)


@defect("CRS-004", variant="drawing")
def wrong_zone_prefix_in_drawing(model: ProjectModel) -> dict[str, Any]:
    """site.dxf drawn with eastings prefixed by zone 38 (EPSG:4548 means 39)."""
    move_site(model, 38_000_000.0, 0.0)
    return {"file": "drawings/site.dxf"}


@defect("CRS-005")
def outside_profile_area(model: ProjectModel) -> dict[str, Any]:
    """The whole project 130 km east (about 117.5°E, near Jinan): still in the CM 117E zone
    but outside Liaocheng's area (a warning)."""
    move_project(model, 130_000.0, 0.0)
    return {"sheet": "项目信息", "key": "ZBX"}
