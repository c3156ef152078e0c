"""The DXF reader: every fixture is built in code with ``ezdxf.new()``.

Assertions are on codes, places (file, layer, handle) and frames, never on message text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import ezdxf
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.bulge import SAGITTA, flatten
from parsers.dxf import read_dxf
from schemas import labels
from schemas.drawings import parcel_geometry
from schemas.package import POINT_COLUMNS, SHAPE_COLUMNS, TEXT_COLUMNS
from schemas.profile import load_profile

REL = "drawings/floors/0001.dxf"


@pytest.fixture
def save(tmp_path: Path) -> Callable[..., bytes]:
    """Save an ezdxf document and return the file's bytes."""

    def _save(doc, fmt: str = "asc", name: str = "d.dxf") -> bytes:
        path = tmp_path / name
        doc.saveas(path, fmt=fmt)
        return path.read_bytes()

    return _save


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def places(findings, code: str) -> list[tuple[str | None, str | None, str | None]]:
    return [(f.object.file, f.object.layer, f.object.handle) for f in findings if f.code == code]


def shape(drawing, handle: str):
    return drawing.shapes.set_index("handle").loc[handle]


# ----------------------------------------------------------------------------- shapes


def test_lwpolyline_closed_by_flag_and_by_repeated_vertex(save):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    flag = msp.add_lwpolyline(
        [(0, 0), (4, 0), (4, 3), (0, 3)], close=True, dxfattribs={"layer": "FC_H"}
    )
    repeat = msp.add_lwpolyline(
        [(0, 0), (4, 0), (4, 3), (0, 3), (0, 0)], dxfattribs={"layer": "FC_H"}
    )
    both = msp.add_lwpolyline(
        [(0, 0), (4, 0), (4, 3), (0, 0)], close=True, dxfattribs={"layer": "FC_H"}
    )
    open_ = msp.add_lwpolyline([(0, 0), (4, 0), (4, 3)], dxfattribs={"layer": "FC_H"})
    drawing, findings = read_dxf(save(doc), REL)

    assert findings == []
    assert drawing.readable and drawing.version == "AC1024"
    assert list(drawing.shapes.columns) == SHAPE_COLUMNS
    assert shape(drawing, flag.dxf.handle)["closed"]
    assert shape(drawing, repeat.dxf.handle)["closed"]
    assert shape(drawing, both.dxf.handle)["closed"]
    assert not shape(drawing, open_.dxf.handle)["closed"]
    # the repeated closing vertex is dropped
    assert len(shape(drawing, repeat.dxf.handle)["geometry"].coords) == 4
    assert len(shape(drawing, both.dxf.handle)["geometry"].coords) == 3
    assert shape(drawing, flag.dxf.handle)["dxftype"] == "LWPOLYLINE"
    polys = labels.polygons(drawing, "FC_H")
    assert polys.set_index("handle").loc[flag.dxf.handle, "geometry"].area == pytest.approx(12.0)


def test_polyline_2d_and_3d_and_mesh_ignored(save):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    p2 = msp.add_polyline2d(
        [(0, 0), (5, 0), (5, 5), (0, 5)], close=True, dxfattribs={"layer": "ZD"}
    )
    p3 = msp.add_polyline3d([(0, 0, 1), (5, 0, 2), (5, 5, 3)], dxfattribs={"layer": "DLHX"})
    face = msp.add_polyface()
    face.append_face([(0, 0, 0), (1, 0, 0), (1, 1, 0)])
    line = msp.add_line((0, 0), (3, 4), dxfattribs={"layer": "JZX"})
    drawing, findings = read_dxf(save(doc), "drawings/parcel.dxf")

    assert findings == []
    rows = drawing.shapes.set_index("handle")
    assert set(rows.index) == {p2.dxf.handle, p3.dxf.handle, line.dxf.handle}
    assert rows.loc[p2.dxf.handle, "dxftype"] == "POLYLINE" and rows.loc[p2.dxf.handle, "closed"]
    assert not rows.loc[p3.dxf.handle, "closed"]
    assert list(rows.loc[p3.dxf.handle, "geometry"].coords) == [(0, 0), (5, 0), (5, 5)]
    assert not rows.loc[line.dxf.handle, "closed"]
    assert rows.loc[line.dxf.handle, "geometry"].length == pytest.approx(5.0)


@pytest.mark.parametrize("make", ["lwpolyline", "polyline"])
def test_bulge_arc_is_flattened_so_the_area_is_right(save, make):
    """A 10 × 5 room whose top side is a half-disc of radius 5."""
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    points = [(0, 0, 0), (10, 0, 0), (10, 5, 1), (0, 5, 0)]
    if make == "lwpolyline":
        entity = msp.add_lwpolyline(points, format="xyb", close=True, dxfattribs={"layer": "FC_H"})
    else:
        entity = msp.add_polyline2d(points, format="xyb", close=True, dxfattribs={"layer": "FC_H"})
    drawing, findings = read_dxf(save(doc), REL)

    assert findings == []
    poly = labels.polygons(drawing, "FC_H").set_index("handle").loc[entity.dxf.handle, "geometry"]
    assert abs(poly.area - (10 * 5 + math.pi * 5**2 / 2)) < 0.01
    assert poly.bounds == pytest.approx((0, 0, 10, 10))
    assert poly.is_valid


def test_mirrored_ocs_entities_are_in_world_coordinates(save):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    down = {"extrusion": (0, 0, -1), "layer": "M"}
    poly = msp.add_lwpolyline([(1, 0), (3, 0), (3, 2)], close=True, dxfattribs=down)
    circle = msp.add_circle((3, 3), 1, dxfattribs=down)
    text = msp.add_text("x", dxfattribs={**down, "insert": (2, 2)})
    drawing, _ = read_dxf(save(doc), REL)

    assert shape(drawing, poly.dxf.handle)["geometry"].bounds == pytest.approx((-3, 0, -1, 2))
    assert drawing.points.set_index("handle").loc[circle.dxf.handle, "geometry"].coords[0] == (
        -3,
        3,
    )
    assert drawing.texts.set_index("handle").loc[text.dxf.handle, "geometry"].coords[0] == (-2, 2)


# ------------------------------------------------------------------- points and texts


def test_circle_point_insert_rows(save):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    block = doc.blocks.new("JZD_SYMBOL")
    block.add_circle((0, 0), 0.5)
    circle = msp.add_circle((10, 20), 0.3, dxfattribs={"layer": "JZD"})
    point = msp.add_point((11, 21), dxfattribs={"layer": "JZD"})
    insert = msp.add_blockref("JZD_SYMBOL", (12, 22), dxfattribs={"layer": "JZD"})
    drawing, findings = read_dxf(save(doc), "drawings/parcel.dxf")

    assert findings == []
    assert list(drawing.points.columns) == POINT_COLUMNS
    rows = drawing.points.set_index("handle")
    assert rows.loc[circle.dxf.handle, "dxftype"] == "CIRCLE"
    assert rows.loc[circle.dxf.handle, "geometry"].coords[0] == (10, 20)
    assert rows.loc[point.dxf.handle, "geometry"].coords[0] == (11, 21)
    assert rows.loc[insert.dxf.handle, "dxftype"] == "INSERT"
    assert rows.loc[insert.dxf.handle, "geometry"].coords[0] == (12, 22)
    assert len(drawing.shapes) == 0  # the block's own entities are not modelspace


def test_text_and_mtext_plain(save):
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    text = msp.add_text("  0301 ", dxfattribs={"layer": "FC_H", "insert": (1, 2)})
    mtext = msp.add_mtext(
        r"{\fSimSun|b0|i0|c134|p2;1#}", dxfattribs={"layer": "JZJD", "insert": (3, 4)}
    )
    aligned = msp.add_mtext(r"\A1;第1层", dxfattribs={"layer": "FC_C", "insert": (5, 6)})
    drawing, findings = read_dxf(save(doc), REL)

    assert findings == []
    assert list(drawing.texts.columns) == TEXT_COLUMNS
    rows = drawing.texts.set_index("handle")
    assert rows.loc[text.dxf.handle, "text"] == "0301"
    assert rows.loc[text.dxf.handle, "dxftype"] == "TEXT"
    assert rows.loc[text.dxf.handle, "geometry"].coords[0] == (1, 2)
    assert rows.loc[mtext.dxf.handle, "text"] == "1#"
    assert rows.loc[mtext.dxf.handle, "dxftype"] == "MTEXT"
    assert rows.loc[aligned.dxf.handle, "text"] == "第1层"
    assert rows.loc[aligned.dxf.handle, "geometry"].coords[0] == (5, 6)


def test_xdata_south_first_string(save):
    doc = ezdxf.new("R2000")
    doc.appids.add("SOUTH")
    doc.appids.add("OTHER")
    msp = doc.modelspace()
    parcel = msp.add_lwpolyline([(0, 0), (9, 0), (9, 9)], close=True, dxfattribs={"layer": "ZD"})
    parcel.set_xdata("OTHER", [(1000, "not this")])
    parcel.set_xdata("SOUTH", [(1070, 3), (1000, "371502001001GB00001"), (1000, "second")])
    plain = msp.add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True, dxfattribs={"layer": "ZD"})
    drawing, _ = read_dxf(save(doc), "drawings/parcel.dxf")

    assert shape(drawing, parcel.dxf.handle)["xdata"] == (
        "not this",
        "371502001001GB00001",
        "second",
    )  # every 1000 string of every application, in file order (interfaces §1)
    assert shape(drawing, plain.dxf.handle)["xdata"] is None
    assert labels.polygons(drawing, "ZD").set_index("handle").loc[parcel.dxf.handle, "xdata"] == (
        "not this",
        "371502001001GB00001",
        "second",
    )  # the polygons carry every string; which one is the 宗地代码 is the parcel model's call
    parcels = parcel_geometry(drawing, load_profile())[0].parcels.set_index("handle")
    assert parcels.loc[parcel.dxf.handle, "zddm"] == "371502001001GB00001"


# -------------------------------------------------------------------------- encodings


def _chinese(version: str, encoding: str | None = None):
    doc = ezdxf.new(version)
    if encoding:
        doc.encoding = encoding
    msp = doc.modelspace()
    doc.layers.add("宗地")
    msp.add_text("阳台封闭", dxfattribs={"layer": "宗地", "insert": (1, 1)})
    msp.add_mtext(r"{\fSimSun;第1层}", dxfattribs={"layer": "FC_C", "insert": (2, 2)})
    return doc


def test_r2000_gbk_reads_back_chinese(save):
    data = save(_chinese("R2000", "gbk"))
    assert b"ANSI_936" in data and "阳台封闭".encode("gbk") in data
    drawing, findings = read_dxf(data, REL)

    assert findings == []
    assert drawing.encoding == "gbk"
    assert sorted(drawing.texts["text"]) == sorted(["阳台封闭", "第1层"])
    assert "宗地" in drawing.layer_names()


def test_r2010_utf8_chinese(save):
    drawing, findings = read_dxf(save(_chinese("R2010")), REL)

    assert findings == []
    assert drawing.encoding == "utf-8"
    assert set(drawing.texts["text"]) == {"阳台封闭", "第1层"}


def test_declared_1252_holding_gbk_is_decoded_and_reported(save):
    data = save(_chinese("R2000", "gbk")).replace(b"ANSI_936", b"ANSI_1252")
    drawing, findings = read_dxf(data, REL)

    assert codes(findings) == ["DXF-008"]
    assert places(findings, "DXF-008") == [(REL, None, None)]
    assert drawing.readable
    assert drawing.encoding == "gbk"
    assert set(drawing.texts["text"]) == {"阳台封闭", "第1层"}
    assert "宗地" in drawing.layer_names()


@pytest.mark.parametrize(
    ("version", "encoding", "found"),
    [("R2010", None, "gbk"), ("R2000", "gbk", "utf-8")],
)
def test_text_in_another_encoding_than_declared(save, version, encoding, found):
    """R2010 (UTF-8 by definition) holding GBK bytes; R2000 declaring ANSI_936 holding
    UTF-8 bytes: both are decoded as what they really are, with DXF-008."""
    data = save(_chinese(version, encoding))
    written = "utf-8" if encoding is None else encoding
    for word in ("阳台封闭", "第1层", "宗地"):
        data = data.replace(word.encode(written), word.encode(found))
    drawing, findings = read_dxf(data, REL)

    assert codes(findings) == ["DXF-008"]
    assert places(findings, "DXF-008") == [(REL, None, None)]
    assert drawing.encoding == found
    assert set(drawing.texts["text"]) == {"阳台封闭", "第1层"}
    assert "宗地" in drawing.layer_names()


def test_undecodable_bytes_are_reported_at_the_entity(save):
    doc = ezdxf.new("R2010")
    bad = doc.modelspace().add_text("XXXX", dxfattribs={"layer": "FC_H"})
    data = save(doc).replace(b"\nXXXX", b"\nA\xff\xfeB")
    drawing, findings = read_dxf(data, REL)

    assert codes(findings) == ["DXF-008"]
    assert places(findings, "DXF-008") == [(REL, "FC_H", bad.dxf.handle)]
    assert drawing.texts["text"].iloc[0] == "A\ufffd\ufffdB"


# ------------------------------------------------------------------- broken files


def _drawing_with_entities(n: int = 40):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    for i in range(n):
        msp.add_lwpolyline(
            [(i, 0), (i + 1, 0), (i + 1, 1)], close=True, dxfattribs={"layer": "FC_H"}
        )
        msp.add_text(f"{i:04d}", dxfattribs={"layer": "FC_H", "insert": (i + 0.7, 0.2)})
    return doc


@pytest.mark.parametrize("cut", [0.02, 0.3, 0.5, 0.75, 0.9, 0.99])
def test_truncated_file(save, cut):
    data = save(_drawing_with_entities())
    entities_at = data.index(b"ENTITIES")
    truncated = data[: int(len(data) * cut)]
    drawing, findings = read_dxf(truncated, REL)

    assert codes(findings) == ["DXF-001"]
    assert places(findings, "DXF-001") == [(REL, None, None)]
    assert not drawing.readable
    if len(truncated) > entities_at + 2000:
        assert drawing.entity_count > 0
        assert len(drawing.shapes) + len(drawing.texts) > 0
    assert drawing.entity_count == len(drawing.shapes) + len(drawing.texts)


def test_truncated_binary_file(save):
    data = save(_drawing_with_entities(), fmt="bin")
    drawing, findings = read_dxf(data[: int(len(data) * 0.8)], REL)

    assert codes(findings) == ["DXF-001"]
    assert not drawing.readable and drawing.entity_count > 0


def test_binary_dxf_reads_like_ascii(save):
    doc = _chinese("R2000", "gbk")
    doc.modelspace().add_lwpolyline(
        [(0, 0), (1, 0), (1, 1)], close=True, dxfattribs={"layer": "ZD"}
    )
    ascii_, _ = read_dxf(save(doc, name="a.dxf"), REL)
    binary, findings = read_dxf(save(doc, fmt="bin", name="b.dxf"), REL)

    assert findings == []
    assert binary.readable
    assert binary.texts.drop(columns="geometry").equals(ascii_.texts.drop(columns="geometry"))
    assert binary.shapes.drop(columns="geometry").equals(ascii_.shapes.drop(columns="geometry"))


@pytest.mark.parametrize(
    ("data", "code", "fmt"),
    [
        (b"", "DXF-001", None),
        (b"   \r\n", "DXF-001", None),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "DXF-001", None),
        (b"hello, this is not a drawing", "DXF-001", None),
        (b"AC1032\x00\x00\x00\x00\x00\x00\x00", "PKG-009", "DWG"),
        (b"AC1015" + bytes(range(256)), "PKG-009", "DWG"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PKG-009", "PDF"),
    ],
)
def test_not_a_dxf(data, code, fmt):
    drawing, findings = read_dxf(data, REL)

    assert codes(findings) == [code]
    assert places(findings, code) == [(REL, None, None)]
    assert not drawing.readable
    assert len(drawing.shapes) == len(drawing.points) == len(drawing.texts) == 0
    if fmt:
        assert fmt in findings[0].message


def test_missing_file_is_a_finding(tmp_path):
    drawing, findings = read_dxf(tmp_path / "absent.dxf", REL)
    assert codes(findings) == ["DXF-001"] and not drawing.readable


def test_damaged_but_repairable_file(save):
    data = save(_drawing_with_entities(3))
    # drop the ENDSEC that closes the HEADER section: recover mode repairs it
    header_end = data.index(b"ENDSEC")
    damaged = (
        data[: data.rindex(b"\n", 0, header_end - 1) + 1] + data[header_end + len(b"ENDSEC\n") :]
    )
    drawing, findings = read_dxf(damaged, REL)

    assert codes(findings) == ["DXF-002"]
    assert places(findings, "DXF-002") == [(REL, None, None)]
    assert drawing.readable and drawing.repairs
    assert len(drawing.shapes) == 3


def test_unrecoverable_value_is_dxf_001(save):
    data = save(_drawing_with_entities(3))
    damaged = data.replace(b"\n 10\n1.0\n", b"\n 10\n1.0abc\n", 1)
    assert damaged != data
    drawing, findings = read_dxf(damaged, REL)

    assert codes(findings) == ["DXF-001"]
    assert not drawing.readable
    assert len(drawing.shapes) == 3  # what was read is kept


def test_non_finite_coordinates_drop_the_entity(save):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    good = msp.add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True, dxfattribs={"layer": "FC_H"})
    bad = msp.add_lwpolyline(
        [(0, 0), (777.25, 0), (1, 1)], close=True, dxfattribs={"layer": "FC_H"}
    )
    bad_point = msp.add_circle((555.5, 1), 0.2, dxfattribs={"layer": "JZD"})
    data = save(doc).replace(b"777.25", b"nan").replace(b"555.5", b"inf")
    drawing, findings = read_dxf(data, REL)

    assert sorted(places(findings, "DXF-005")) == sorted(
        [(REL, "FC_H", bad.dxf.handle), (REL, "JZD", bad_point.dxf.handle)]
    )
    assert codes(findings) == ["DXF-005", "DXF-005"]
    assert list(drawing.shapes["handle"]) == [good.dxf.handle]
    assert len(drawing.points) == 0
    assert drawing.readable


def test_degenerate_polylines_do_not_crash(save):
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    one = msp.add_lwpolyline([(5, 5)], close=True, dxfattribs={"layer": "FC_H"})
    two = msp.add_lwpolyline([(5, 5), (6, 6)], close=True, dxfattribs={"layer": "FC_H"})
    empty = msp.add_polyline2d([], dxfattribs={"layer": "FC_H"})
    drawing, findings = read_dxf(save(doc), REL)

    assert findings == []
    assert shape(drawing, one.dxf.handle)["geometry"].is_empty
    assert shape(drawing, empty.dxf.handle)["geometry"].is_empty
    polys = labels.polygons(drawing, "FC_H").set_index("handle")
    assert not polys.loc[two.dxf.handle, "geometry"].is_valid  # reported by the rules, not fixed
    assert polys.loc[two.dxf.handle, "geometry"].area == 0


# ------------------------------------------------------------------------ arcs, exactly


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.4, 1.0), min_size=4, max_size=4))
def test_flattened_arcs_lose_at_most_the_chord_deficit(bulges):
    """A 10 × 5 rectangle with an arc on each side: the flattened area is the exact area
    (shoelace + circular segments) less at most arc length × sagitta."""
    xy = np.array([(0, 0), (10, 0), (10, 5), (0, 5)], dtype=float)
    b = np.round(np.array(bulges), 6)  # bulges as CAD writes them
    flat = flatten(xy, b, closed=True)
    chord = np.hypot(*(np.roll(xy, -1, axis=0) - xy).T)
    theta = 4 * np.arctan(np.abs(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(theta > 0, chord / (2 * np.sin(theta / 2)), 0.0)
    segment = radius**2 / 2 * (theta - np.sin(theta))
    exact = 50.0 + float(np.sum(np.sign(b) * segment))
    arc_length = float(np.sum(radius * theta))
    area = shapely.Polygon(flat).area
    assert np.allclose(flat[0], flat[-1])  # closed: the first vertex ends the ring
    assert abs(area - exact) <= arc_length * SAGITTA + 1e-9
    for k in range(4):  # every drawn vertex is kept exactly
        assert (np.abs(flat - xy[k]).max(axis=1) == 0).any()
