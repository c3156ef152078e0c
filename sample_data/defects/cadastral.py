"""Seeded defects of the cadastral survey (CAD-001..015).

Each changes the model (or, where the model cannot say it, the rendered parcel.dxf) the
way a firm's mistake would, and keeps everything else consistent, so that exactly its
rule fires. Sample S has one parcel of five boundary points J1..J5, clockwise from the
north-west point; 界址点 rows are 2 + the point's index, 界址线 rows 2 + the edge's index.

- A code written wrongly everywhere (a virtual code, a foreign county, a forbidden letter
  pair) is renamed through the whole model: every sheet and label that carries it.
- Boundary points renumbered (CAD-007..009) keep their coordinates, labels follow their
  circles and the taped edges are re-taped for the new order: only the numbering is wrong.
"""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any

from ezdxf import recover

from sample_data.defects import defect
from sample_data.model import BoundaryLine, BoundaryPoint, ProjectModel

PARCEL_DXF = "drawings/parcel.dxf"


def rename(obj: Any, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in every string of the model (codes, labels, XDATA)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, str):
                setattr(obj, f.name, value.replace(old, new))
            else:
                rename(value, old, new)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            if isinstance(value, str):
                obj[i] = value.replace(old, new)
            else:
                rename(value, old, new)


def renumber(model: ProjectModel, order: list[BoundaryPoint]) -> None:
    """Number the points J1..Jn in ``order`` (labels follow) and re-tape the edges."""
    for i, p in enumerate(order, start=1):
        p.jzdh, p.sxh, p.label.text = f"J{i}", i, f"J{i}"
    model.parcel.points = order
    model.parcel.lines = [
        BoundaryLine(p.jzdh, q.jzdh, round(math.hypot(q.x - p.x, q.y - p.y), 2))
        for p, q in zip(order, order[1:] + order[:1], strict=True)
    ]


def point_key(model: ProjectModel, jzdh: str) -> str:
    return f"{model.parcel.zddm}/{jzdh}"


def edit_dxf(files: dict[str, bytes], path: str, change) -> None:
    """Read a rendered drawing (any version and code page), let ``change(doc)`` edit it,
    and write it back in its own encoding."""
    doc, _ = recover.read(io.BytesIO(files[path]))
    change(doc)
    stream = io.StringIO()
    doc.write(stream)
    files[path] = doc.encode(stream.getvalue())


# ---------------------------------------------------------------- codes (CAD-001..005)


@defect("CAD-001")
def unit_code_with_letter_o(model: ProjectModel) -> dict:
    """One unit's BDCDYH has the letter O for a zero in its county code (3715O2…)."""
    unit = model.buildings[0].units[0]
    unit.bdcdyh = unit.bdcdyh.replace("371502", "3715O2", 1)
    return {"sheet": "户", "key": unit.bdcdyh, "field": "BDCDYH"}


@defect("CAD-001", variant="label")
def parcel_label_short(model: ProjectModel) -> dict:
    """The ZD polygon's label in parcel.dxf lost a digit of its 顺序号 (18 characters)."""
    model.parcel.label.text = model.parcel.zddm[:-1]
    return {"file": PARCEL_DXF, "layer": "ZD"}


@defect("CAD-002")
def unit_code_lower_case(model: ProjectModel) -> dict:
    """One unit's BDCDYH carries a lower-case 定着物特征码 (…f00010101)."""
    unit = model.buildings[0].units[1]
    unit.bdcdyh = unit.bdcdyh[:19] + "f" + unit.bdcdyh[20:]
    return {"sheet": "户", "key": unit.bdcdyh, "field": "BDCDYH"}


@defect("CAD-002", variant="land")
def land_unit_not_zeros(model: ProjectModel) -> dict:
    """The parcel's land unit is W00000001: W must be followed by eight zeros (CAD-015 is
    not repeated on a code of the wrong structure)."""
    model.parcel.bdcdyh = model.parcel.zddm + "W00000001"
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "BDCDYH"}


@defect("CAD-003")
def state_land_collective_letter(model: ProjectModel) -> dict:
    """宗地特征码 GA (国有 land with the 集体土地所有权 letter) throughout the package."""
    old = model.parcel.zddm
    rename(model, old, old[:12] + "GA" + old[14:])
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "ZDDM"}


@defect("CAD-004")
def virtual_parcel_code(model: ProjectModel) -> dict:
    """A provisional (virtual) ZDDM, 地籍区 + 地籍子区 000000, throughout the package."""
    old = model.parcel.zddm
    rename(model, old, old[:6] + "000000" + old[12:])
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "ZDDM"}


@defect("CAD-005")
def county_of_another_city(model: ProjectModel) -> dict:
    """The county code 371402 (德州市德城区) throughout the package, not a Liaocheng county."""
    old = model.parcel.zddm
    rename(model, old, "371402" + old[6:])
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "ZDDM"}


# ---------------------------------------------------------------- boundary points (CAD-006..010, 013)


@defect("CAD-006")
def sequence_gap(model: ProjectModel) -> dict:
    """SXH skips 4: the points are numbered 1, 2, 3, 5, 6 (JZDH J1..J5 unchanged)."""
    for p in model.parcel.points[3:]:
        p.sxh += 1
    return {"sheet": "界址点", "key": point_key(model, "J4"), "field": "SXH"}


@defect("CAD-007")
def counter_clockwise(model: ProjectModel) -> dict:
    """The points are numbered counter-clockwise from the same north-west J1."""
    pts = model.parcel.points
    renumber(model, [pts[0], *reversed(pts[1:])])
    return {"sheet": "界址点", "key": point_key(model, "J1"), "field": "SXH"}


@defect("CAD-008")
def starts_north_east(model: ProjectModel) -> dict:
    """The numbering starts one point late, at the north-east point (still clockwise)."""
    pts = model.parcel.points
    renumber(model, pts[1:] + pts[:1])
    return {"sheet": "界址点", "key": point_key(model, "J1"), "field": "SXH"}


@defect("CAD-009")
def crossed_numbering(model: ProjectModel) -> dict:
    """J3 and J4 are numbered in each other's place: the ring crosses itself."""
    pts = model.parcel.points
    renumber(model, [pts[0], pts[1], pts[3], pts[2], *pts[4:]])
    return {"sheet": "界址点", "key": point_key(model, "J1"), "field": "XZBZ/YZBZ"}


@defect("CAD-010")
def area_not_recomputed(model: ProjectModel) -> dict:
    """J3 was re-surveyed 5 cm further east (table, JZD and ZD alike) but ZDMJ was not
    recomputed: the coordinate area grows by about 1.5 m² (within the boundary-point limit
    of the red line, so no XSV-003)."""
    p = model.parcel.points[2]
    p.y = round(p.y + 0.05, 3)
    model.parcel.ring[2] = (p.y, p.x)
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "ZDMJ"}


@defect("CAD-013")
def taped_edge_off(model: ProjectModel) -> dict:
    """The taped length of edge J2–J3 is written 0.30 m long (limit 0.15 m, 二级)."""
    line = model.parcel.lines[1]
    line.length = round(line.length + 0.30, 2)
    return {"sheet": "界址线", "key": f"{model.parcel.zddm}/{line.start}/{line.end}", "field": "JZXCD"}


# ---------------------------------------------------------------- parcel.dxf against the table (CAD-011, 012, 014, 015)


@defect("CAD-011", stage="files")
def jzd_circle_moved(files: dict[str, bytes], model: ProjectModel) -> dict:
    """In parcel.dxf the JZD circle of J3 sits 5 cm east of its surveyed coordinates (the
    table and the ZD polygon are right; its label J3 still belongs to it)."""
    p = model.parcel.points[2]

    def move(doc) -> None:
        circles = doc.modelspace().query("CIRCLE[layer=='JZD']")
        circle = min(circles, key=lambda c: math.hypot(c.dxf.center.x - p.y, c.dxf.center.y - p.x))
        circle.dxf.center = (p.y + 0.05, p.x)

    edit_dxf(files, PARCEL_DXF, move)
    return {"sheet": "界址点", "key": point_key(model, p.jzdh), "file": PARCEL_DXF, "layer": "JZD"}


@defect("CAD-012")
def zd_vertex_off(model: ProjectModel) -> dict:
    """The ZD polygon's vertex at J3 is drawn 5 cm east of the point (the table and the JZD
    circle are right)."""
    e, n = model.parcel.ring[2]
    model.parcel.ring[2] = (round(e + 0.05, 3), n)
    return {"sheet": "宗地", "key": model.parcel.zddm, "file": PARCEL_DXF, "layer": "ZD"}


@defect("CAD-014", stage="files")
def neighbour_overlaps(files: dict[str, bytes], model: ProjectModel) -> dict:
    """parcel.dxf also draws the neighbouring parcel …00002 to the east, reaching 2–3 m into
    this one (about 80 m² overlap)."""
    pts = {p.jzdh: p for p in model.parcel.points}
    east = min(pts["J3"].y, pts["J4"].y) - 1.5  # 1.5 m west of the parcel's east edge
    north, south = pts["J3"].x - 8.0, pts["J4"].x + 5.0
    ring = [(east, north), (east + 30.0, north), (east + 30.0, south), (east, south)]
    code = model.parcel.zddm[:-1] + "2"

    def add(doc) -> None:
        msp = doc.modelspace()
        msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": "ZD"})
        msp.add_text(code, height=2.0, dxfattribs={"layer": "ZD", "insert": (east + 12.0, (north + south) / 2)})

    edit_dxf(files, PARCEL_DXF, add)
    return {"file": PARCEL_DXF, "layer": "ZD"}


@defect("CAD-015")
def land_unit_of_another_parcel(model: ProjectModel) -> dict:
    """The parcel's land unit BDCDYH names the neighbouring parcel …00002 (well formed)."""
    model.parcel.bdcdyh = model.parcel.zddm[:-1] + "2" + "W00000000"
    return {"sheet": "宗地", "key": model.parcel.zddm, "field": "BDCDYH"}
