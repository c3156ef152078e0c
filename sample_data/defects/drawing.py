"""Seeded drawing defects: DXF-001..009 (spec/rules.md, DXF).

Damage to the file itself (a truncated file, a missing ENDSEC, a wrong code page) is done
on the rendered bytes. Damage to what is drawn (an open polyline, a bow-tie, a missing or
extra label) is done through ezdxf on the rendered drawing, which is then written again the
way the sample writer writes it (pinned metadata), so that the expected place can name the
entity's handle. The model is kept in step where it can say the change (a vertex moved).

Floor-plan seeders use unit 0104 of building 1: the unit without a balcony, so that no
balcony rule sees the change again.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any, TypeVar

import shapely
from ezdxf import recover
from ezdxf.document import Drawing

from sample_data.defects import defect
from sample_data.drawings import _pinned, _to_bytes  # the writer's own pinned output
from sample_data.model import ProjectModel

SITE = "drawings/site.dxf"
PARCEL = "drawings/parcel.dxf"
Files = dict[str, bytes]
T = TypeVar("T")

UNIT = 3  # unit 0104 of floor 1: no balcony


def _plan(model: ProjectModel) -> str:
    return f"drawings/floors/{model.buildings[0].plan_name}.dxf"


def edit_dxf(files: Files, path: str, model: ProjectModel, edit: Callable[[Drawing], T]) -> T:
    """Load a rendered drawing, let ``edit`` change it, write it back like the writer does.

    Returns what ``edit`` returns (typically the handle of the entity it changed).
    """
    doc, _ = recover.read(io.BytesIO(files[path]))
    result = edit(doc)
    files[path] = _pinned(_to_bytes)(doc, model.created, f"{model.project_id}/{path}")
    return result


def entities(doc: Drawing, layer: str, dxftype: str) -> list[Any]:
    """Modelspace entities of a layer and type, in drawing (= model) order."""
    return [e for e in doc.modelspace() if e.dxf.layer == layer and e.dxftype() == dxftype]


def _unit_polygon(doc: Drawing, index: int) -> Any:
    """The FC_H polygon of the ``index``-th unit of the building (written in unit order)."""
    return entities(doc, "FC_H", "LWPOLYLINE")[index]


def _unit_label(doc: Drawing, text: str) -> Any:
    return next(e for e in entities(doc, "FC_H", "TEXT") if e.dxf.text == text)


def _section(data: bytes, name: bytes) -> tuple[int, int]:
    """Byte offsets of a section's name line and of its ENDSEC line."""
    start = data.index(b"\n" + name + b"\n")
    return start, data.index(b"\nENDSEC", start)


def _without_line_pair(data: bytes, at: int) -> bytes:
    """``data`` without the group (code line + value line) whose value line starts at ``at``
    (the byte after the newline that ends the code line)."""
    code_start = data.rindex(b"\n", 0, at - 1) + 1
    value_end = data.index(b"\n", at) + 1
    return data[:code_start] + data[value_end:]


# ---------------------------------------------------------------- DXF-001 unreadable


@defect("DXF-001", stage="files")
def truncated_site(files: Files, model: ProjectModel) -> dict[str, Any]:
    """site.dxf cut in the middle of its ENTITIES section (an interrupted export)."""
    data = files[SITE]
    start, end = _section(data, b"ENTITIES")
    files[SITE] = data[: (start + end) // 2]
    return {"file": SITE}


@defect("DXF-001", variant="unrecoverable", stage="files")
def unrecoverable_value(files: Files, model: ProjectModel) -> dict[str, Any]:
    """parcel.dxf with a coordinate ezdxf can only guess ("1.0abc"): an error, not a fix."""
    data = files[PARCEL]
    start, _ = _section(data, b"ENTITIES")
    m = re.compile(rb"\n 10\n(-?[0-9.]+)\n").search(data, start)
    assert m is not None
    files[PARCEL] = data[: m.end(1)] + b"abc" + data[m.end(1) :]
    return {"file": PARCEL}


@defect("DXF-001", variant="not-dxf", stage="files")
def not_a_drawing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """parcel.dxf that holds a text note instead of a drawing."""
    files[PARCEL] = "宗地图另行提交。\n".encode()
    return {"file": PARCEL}


# ---------------------------------------------------------------- DXF-002 repaired


@defect("DXF-002", stage="files")
def missing_header_endsec(files: Files, model: ProjectModel) -> dict[str, Any]:
    """site.dxf whose HEADER section lacks its ENDSEC: ezdxf's recover mode repairs it and
    says so (a warning)."""
    data = files[SITE]
    end = data.index(b"\nENDSEC\n") + 1
    files[SITE] = _without_line_pair(data, end)
    return {"file": SITE}


@defect("DXF-002", variant="text-style", stage="files")
def undefined_text_style(files: Files, model: ProjectModel) -> dict[str, Any]:
    """site.dxf whose 幢号 label names a text style the STYLE table lacks (left behind by a
    purge): recover mode falls back to the default style and reports the fix."""

    def restyle(doc: Drawing) -> None:
        entities(doc, "JZJD", "TEXT")[0].dxf.style = "HZ_PURGED"

    edit_dxf(files, SITE, model, restyle)
    return {"file": SITE}


# ---------------------------------------------------------------- DXF-003..007 content


@defect("DXF-003", stage="files")
def layer_renamed(files: Files, model: ProjectModel) -> dict[str, Any]:
    """site.dxf with the green areas on a layer ``LD`` instead of LDFW."""
    edit_dxf(files, SITE, model, lambda doc: doc.layers.get("LDFW").rename("LD"))
    return {"file": SITE, "layer": "LDFW"}


@defect("DXF-004", stage="files", knock_on=("DXF-006",))
def open_unit_polyline(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Unit 0104 drawn as an open polyline (its closing edge missing).

    Knock-on: an open shape is no polygon, so its 户号 label lies in no polygon of FC_H
    (DXF-006, at the label). The 户 row then has no polygon, but PRP-007 stays silent:
    the drawing rules have said why."""

    def open_it(doc: Drawing) -> str:
        poly = _unit_polygon(doc, UNIT)
        poly.closed = False
        return poly.dxf.handle

    handle = edit_dxf(files, _plan(model), model, open_it)
    return {"file": _plan(model), "layer": "FC_H", "handle": handle}


@defect("DXF-004", variant="site-boundary", stage="files")
def open_site_boundary(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The site boundary (YDHX) drawn as an open polyline. The rules that need the red line
    as a polygon say nothing: DXF-004 has said why."""

    def open_it(doc: Drawing) -> str:
        poly = entities(doc, "YDHX", "LWPOLYLINE")[0]
        poly.closed = False
        return poly.dxf.handle

    handle = edit_dxf(files, SITE, model, open_it)
    return {"file": SITE, "layer": "YDHX", "handle": handle}


OVERSHOOT = 0.03  # m: the corner loop of DXF-005; below every setback and area tolerance


def corner_loop(ring: list[tuple[float, float]], i: int, d: float) -> list[tuple[float, float]]:
    """The ring with vertex ``i`` replaced by two vertices that overshoot it by ``d`` along
    both of its edges: the edges cross at the old vertex (a small bow-tie, as a digitiser
    leaves it when a corner is overshot)."""
    (ux, uy), (vx, vy), (wx, wy) = ring[i - 1], ring[i], ring[(i + 1) % len(ring)]

    def beyond(ax: float, ay: float) -> tuple[float, float]:
        length = ((vx - ax) ** 2 + (vy - ay) ** 2) ** 0.5
        return round(vx + d * (vx - ax) / length, 3), round(vy + d * (vy - ay) / length, 3)

    return ring[:i] + [beyond(ux, uy), beyond(wx, wy)] + ring[i + 1 :]


@defect("DXF-005", stage="files")
def self_intersecting_footprint(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Building 1's footprint (JZJD) overshoots a corner by 3 cm: the ring crosses itself
    there (shapely: Self-intersection at the corner)."""
    building = model.buildings[0]
    building.footprint = corner_loop(building.footprint, 2, OVERSHOOT)

    def redraw(doc: Drawing) -> str:
        poly = entities(doc, "JZJD", "LWPOLYLINE")[0]
        poly.set_points(building.footprint, format="xy")
        poly.closed = True
        return poly.dxf.handle

    handle = edit_dxf(files, SITE, model, redraw)
    return {"file": SITE, "layer": "JZJD", "handle": handle}


@defect("DXF-006", stage="files")
def unit_without_label(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Unit 0104's 户号 label left out of the floor plan. The polygon then matches no 户
    row, but PRP-007 stays silent: DXF-006 has said why."""
    unit = model.buildings[0].units[UNIT]

    def unlabel(doc: Drawing) -> str:
        doc.modelspace().delete_entity(_unit_label(doc, unit.hh))
        return _unit_polygon(doc, UNIT).dxf.handle

    handle = edit_dxf(files, _plan(model), model, unlabel)
    return {"file": _plan(model), "layer": "FC_H", "handle": handle}


@defect("DXF-006", variant="stray-label", stage="files")
def stray_label(files: Files, model: ProjectModel) -> dict[str, Any]:
    """A shared-part name (电梯井) left on FC_GY inside unit 0103, where no FC_GY polygon is."""
    x, y = model.buildings[0].units[2].label.at

    def add(doc: Drawing) -> str:
        text = doc.modelspace().add_text(
            "电梯井",
            height=0.35,
            dxfattribs={"layer": "FC_GY", "style": "HZ", "insert": (x, y - 1.5)},
        )
        return text.dxf.handle

    handle = edit_dxf(files, _plan(model), model, add)
    return {"file": _plan(model), "layer": "FC_GY", "handle": handle}


@defect("DXF-007", stage="files")
def two_labels_in_a_unit(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Unit 0104's polygon holds a second 户号 label, 0105, besides its own."""
    unit = model.buildings[0].units[UNIT]
    inside = shapely.Polygon(unit.ring).buffer(-0.5).representative_point()

    def add(doc: Drawing) -> str:
        doc.modelspace().add_text(
            "0105",
            height=0.5,
            dxfattribs={"layer": "FC_H", "style": "HZ", "insert": (inside.x, inside.y)},
        )
        return _unit_polygon(doc, UNIT).dxf.handle

    handle = edit_dxf(files, _plan(model), model, add)
    return {"file": _plan(model), "layer": "FC_H", "handle": handle}


@defect("DXF-007", variant="duplicate", stage="files", knock_on=("PRP-007",))
def duplicate_unit_number(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Unit 0104 labelled 0103: the same 户号 twice on floor 1. The finding is at the
    second polygon in drawing order.

    Knock-on: the 户 row 0104 has no polygon any more (PRP-007)."""
    units = model.buildings[0].units

    def relabel(doc: Drawing) -> str:
        _unit_label(doc, units[UNIT].hh).dxf.text = units[UNIT - 1].hh
        return _unit_polygon(doc, UNIT).dxf.handle

    handle = edit_dxf(files, _plan(model), model, relabel)
    return {"file": _plan(model), "layer": "FC_H", "handle": handle}


# ---------------------------------------------------------------- DXF-008 decoding


@defect("DXF-008", stage="files", dxf_version="R2000", dxf_encoding="gbk")
def wrong_code_page(files: Files, model: ProjectModel) -> dict[str, Any]:
    """A floor plan written in GBK that declares ANSI_1252 (common from Chinese CAD)."""
    path = _plan(model)
    data = files[path]
    assert b"\nANSI_936\n" in data, "DXF-008 needs an R2000/R2004 drawing written as GBK"
    files[path] = data.replace(b"\nANSI_936\n", b"\nANSI_1252\n", 1)
    return {"file": path}


@defect("DXF-008", variant="bytes", stage="files", dxf_version="R2000", dxf_encoding="gbk")
def undecodable_label(files: Files, model: ProjectModel) -> dict[str, Any]:
    """A shared-part name (楼梯间) whose bytes are no GBK at all (damaged in transfer)."""
    path = _plan(model)
    data = files[path]
    name = model.buildings[0].shared_parts[0].mc.encode("gbk")
    m = re.compile(
        rb"\n  0\nTEXT\n  5\n([0-9A-F]+)\n(?:(?!\n  0\n).)*?\n  1\n" + re.escape(name) + rb"\n",
        re.S,
    ).search(data)
    assert m is not None, "DXF-008/bytes needs an R2000/R2004 drawing written as GBK"
    files[path] = data[: m.end() - len(name) - 1] + b"\xff\xfe\xff" + data[m.end() - 1 :]
    return {"file": path, "layer": "FC_GY", "handle": m.group(1).decode()}


# ---------------------------------------------------------------- DXF-009 drawn in pieces


@defect("DXF-009", stage="files")
def exploded_footprint(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Building 1's footprint (JZJD) exploded into its LINE segments, as firms often hand it
    in: the outline is assembled and checked like the closed polyline it was (no PLN-013,
    no PLN-006), and the firm is told to redraw it as one (at the first LINE)."""

    def explode(doc: Drawing) -> str:
        return entities(doc, "JZJD", "LWPOLYLINE")[0].explode()[0].dxf.handle

    handle = edit_dxf(files, SITE, model, explode)
    return {"file": SITE, "layer": "JZJD", "handle": handle}


@defect("DXF-001", variant="floor-plan", stage="files")
def truncated_floor_plan(files: Files, model: ProjectModel) -> dict[str, Any]:
    """Building 1's floor plan cut in the middle of its ENTITIES section: the property rules
    that need it are skipped (no PRP-007 for every unit), the rest still runs."""
    path = _plan(model)
    data = files[path]
    start, end = _section(data, b"ENTITIES")
    files[path] = data[: (start + end) // 2]
    return {"file": path}


@defect("DXF-003", variant="parcel-points", stage="files")
def boundary_points_layer_renamed(files: Files, model: ProjectModel) -> dict[str, Any]:
    """parcel.dxf with its boundary points and their labels on a layer ``JZDD`` instead of
    JZD: the table's points are not reported again one by one as absent (CAD-011)."""
    edit_dxf(files, PARCEL, model, lambda doc: doc.layers.get("JZD").rename("JZDD"))
    return {"file": PARCEL, "layer": "JZD"}
