"""Both DXF readers give the same rows: ezdxf (:func:`parsers.dxf.read_dxf`) and the GDAL
fast path (:func:`parsers.dxf_fast.read_dxf_fast`), drawing by drawing, frame by frame.

The drawings are built in code: each construct real CAD programs write (arcs as bulges and
as ARC entities, mirrored OCS, blocks, formatted and chunked MTEXT, MTEXT columns and text
frames, CASS XDATA) and an AutoCAD-2013-style file (ACDSDATA, THUMBNAILIMAGE, CRLF line
ends, ``ANSI_936`` declared with UTF-8 text). The fast path must answer for every one of
them: they are what real drawings hold, and a refusal would cost their speed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import ezdxf
import numpy as np
import pytest
import shapely

from parsers.dxf import read_dxf
from parsers.dxf_fast import read_dxf_fast
from schemas.package import Drawing

REL = "drawings/site.dxf"


# ------------------------------------------------------------------ AutoCAD-style text


def _tag(code: int, value: str | int) -> str:
    """A tag as AutoCAD writes it: code right-aligned in 3 columns, integers right-aligned."""
    if isinstance(value, int):
        value = f"{value:>{9 if 90 <= code <= 99 else 6}}"
    return f"{code:>3}\n{value}\n"


def _hex(data: bytes) -> str:
    text = data.hex().upper()
    return "".join(_tag(310, text[i : i + 254]) for i in range(0, len(text), 254))


def _thumbnail(seed: int) -> bytes:
    """A small stand-in for the preview image (AutoCAD: a BMP / a PNG); differs per drawing."""
    return b"\x89PNG\r\n\x1a\n" + bytes((seed * 7 + i) % 256 for i in range(300))


def _acdsdata(owner: str, image: bytes) -> str:
    """The ACDSDATA section AutoCAD 2013+ writes last: the system schemas (records without
    a handle, attributes as embedded ACDSRECORDs after group 101) and the thumbnail record
    of the model layout."""

    def attribute(number: int, name: str, kind: int, code: int) -> str:
        head = _tag(101, "ACDSRECORD") + (_tag(95, 0) if number < 3 else _tag(1, "AcDbDs::ID"))
        return head + _tag(90, number) + _tag(2, name) + _tag(280, kind) + _tag(code, 1)

    def schema(number: int, name: str, prop: str, kind: int, extra: str = "") -> str:
        return (
            _tag(0, "ACDSSCHEMA")
            + _tag(90, number)
            + _tag(1, name)
            + _tag(2, prop)
            + _tag(280, kind)
            + _tag(91, 1 if kind == 7 else 0)
            + extra
        )

    return (
        _tag(0, "SECTION")
        + _tag(2, "ACDSDATA")
        + _tag(70, 2)
        + _tag(71, 6)
        + _tag(0, "ACDSSCHEMA")
        + _tag(90, 0)
        + _tag(1, "AcDb_Thumbnail_Schema")
        + _tag(2, "AcDbDs::ID")
        + _tag(280, 10)
        + _tag(91, 8)
        + _tag(2, "Thumbnail_Data")
        + _tag(280, 15)
        + _tag(91, 0)
        + attribute(1, "AcDbDs::TreatedAsObjectData", 1, 291)
        + attribute(2, "AcDbDs::Legacy", 1, 291)
        + attribute(3, "AcDs:Indexable", 1, 291)
        + attribute(4, "AcDbDs::HandleAttribute", 7, 282)
        + schema(1, "AcDbDs::TreatedAsObjectDataSchema", "AcDbDs::TreatedAsObjectData", 1)
        + schema(2, "AcDbDs::LegacySchema", "AcDbDs::Legacy", 1)
        + schema(3, "AcDbDs::IndexedPropertySchema", "AcDs:Indexable", 1)
        + schema(4, "AcDbDs::HandleAttributeSchema", "AcDbDs::HandleAttribute", 7, _tag(284, 1))
        + _tag(0, "ACDSRECORD")
        + _tag(90, 0)
        + _tag(2, "AcDbDs::ID")
        + _tag(280, 10)
        + _tag(320, owner)
        + _tag(2, "Thumbnail_Data")
        + _tag(280, 15)
        + _tag(94, len(image))
        + _hex(image)
        + _tag(0, "ENDSEC")
    )


def autocad_style(doc: ezdxf.document.Drawing, seed: int = 1) -> bytes:
    """``doc`` (R2007+) as AutoCAD 2013 in a Chinese environment saves it: ``ANSI_936``
    declared, UTF-8 text, a THUMBNAILIMAGE and an ACDSDATA section before EOF, CRLF."""
    doc.encoding = "gbk"  # written as $DWGCODEPAGE ANSI_936; R2007+ text stays UTF-8
    stream = io.StringIO()
    doc.write(stream)
    text = stream.getvalue()
    eof = _tag(0, "EOF")
    assert text.endswith(eof)
    image = _thumbnail(seed)
    thumbnail = _tag(0, "SECTION") + _tag(2, "THUMBNAILIMAGE") + _tag(90, len(image))
    thumbnail += _hex(image) + _tag(0, "ENDSEC")
    owner = doc.layouts.get("Model").dxf_layout.dxf.handle
    text = text[: -len(eof)] + thumbnail + _acdsdata(owner, image) + eof
    return text.replace("\n", "\r\n").encode("utf-8")


def _bytes(doc: ezdxf.document.Drawing) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode(doc.output_encoding, errors="dxfreplace")


# ------------------------------------------------------------------------ drawings


def _geometry(version: str = "R2013") -> ezdxf.document.Drawing:
    """Polylines with bulges, LINE, ARC (plain, mirrored, across 0°, a whole turn),
    CIRCLE, POINT, INSERT, TEXT."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    x0, y0 = 409000.0, 4034000.0
    bulged = [(x0, y0, 0), (x0 + 10, y0, 0.4), (x0 + 10, y0 + 5, 1), (x0, y0 + 5, -0.3)]
    msp.add_lwpolyline(bulged, format="xyb", close=True, dxfattribs={"layer": "FC_YT"})
    msp.add_lwpolyline(bulged[:3], format="xyb", dxfattribs={"layer": "FC_YT"})
    msp.add_polyline2d(bulged, format="xyb", close=True, dxfattribs={"layer": "FC_YT"})
    msp.add_polyline2d([(x0, y0), (x0 + 8, y0), (x0 + 8, y0 + 6)], dxfattribs={"layer": "FC_C"})
    msp.add_polyline3d([(x0, y0, 1), (x0 + 5, y0, 2), (x0 + 5, y0 + 5, 3)], close=True)
    msp.add_lwpolyline(
        [(-x0, y0), (-x0 - 4, y0), (-x0 - 4, y0 + 3)],
        close=True,
        dxfattribs={"layer": "JZX", "extrusion": (0, 0, -1)},
    )
    msp.add_line((x0, y0), (x0 + 700, y0 + 300), dxfattribs={"layer": "DLHX"})
    msp.add_arc((x0 + 20, y0 + 20), 12.5, 10, 170, dxfattribs={"layer": "DLHX"})
    msp.add_arc((x0 + 40, y0 + 20), 3, 300, 45, dxfattribs={"layer": "DLHX"})  # across 0°
    msp.add_arc((x0 + 60, y0 + 20), 2, 0, 360, dxfattribs={"layer": "DLHX"})  # a whole turn
    msp.add_arc(  # mirrored: OCS with extrusion (0, 0, -1), as mirrored drawings hold
        (-x0 - 80, y0 + 20, 0), 7, 20, 110, dxfattribs={"layer": "YDHX", "extrusion": (0, 0, -1)}
    )
    msp.add_arc((5, 6, 1.5), 4, 30, 200, dxfattribs={"layer": "YDHX", "extrusion": (0.3, 0.2, 0.9)})
    msp.add_circle((x0 + 1, y0 + 1), 0.25, dxfattribs={"layer": "JZD"})
    msp.add_circle((-x0 - 1, y0 + 1), 0.25, dxfattribs={"layer": "JZD", "extrusion": (0, 0, -1)})
    msp.add_point((x0 + 2, y0 + 2), dxfattribs={"layer": "JZD"})
    block = doc.blocks.new("JZD_SYM")
    block.add_circle((0, 0), 0.5)
    msp.add_blockref("JZD_SYM", (x0 + 3, y0 + 3), dxfattribs={"layer": "JZD"})
    msp.add_blockref("JZD_SYM", (-x0 - 3, y0 + 3), dxfattribs={"extrusion": (0, 0, -1)})
    msp.add_text("J1", dxfattribs={"layer": "JZD", "insert": (x0 + 0.5, y0 + 0.5)})
    msp.add_text("%%c100 %%p0.05", dxfattribs={"layer": "FC_H", "insert": (x0 + 2, y0)})
    return doc


def _texts(version: str = "R2013") -> ezdxf.document.Drawing:
    """TEXT and MTEXT: formatting, stacking, long (chunked) content, Chinese."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    msp.add_text("宗地 1", dxfattribs={"layer": "ZD", "insert": (1, 1)})
    msp.add_mtext(r"{\fSimSun|b0|i0|c134|p2;1#}", dxfattribs={"layer": "JZJD", "insert": (2, 2)})
    msp.add_mtext(r"\A1;面积\P{\H0.7x;\S123.45^;}m\U+00B2", dxfattribs={"insert": (3, 3)})
    msp.add_mtext("长" * 300 + "end", dxfattribs={"layer": "FC_GY", "insert": (4, 4)})
    msp.add_mtext("  padded  ", dxfattribs={"insert": (5, 5)})
    return doc


def _columns(version: str) -> ezdxf.document.Drawing:
    """MTEXT with static and dynamic columns: linked MTEXT entities before R2018, one MTEXT
    with an embedded object in R2018."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    msp.add_mtext_static_columns(
        ["第一栏 J1", "second column", "third"],
        width=5,
        gutter_width=1,
        height=10,
        dxfattribs={"layer": "T", "insert": (10, 20)},
    )
    msp.add_mtext_dynamic_manual_height_columns(
        "J7\\NJ8 宗地", width=4, gutter_width=0.5, heights=[3, 2], dxfattribs={"insert": (0, 40)}
    )
    msp.add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True)
    msp.add_mtext("after the columns", dxfattribs={"insert": (30, 30)})
    return doc


def frame_text(mtext, frame) -> None:
    """Make ``frame`` the text frame of ``mtext`` as AutoCAD writes it before R2018: the
    frame polyline's handle in the MTEXT's ``ACAD`` XDATA."""
    mtext.set_xdata(
        "ACAD",
        [
            (1000, "ACAD_MTEXT_TEXT_BORDERS_BEGIN"),
            (1070, 80),
            (1005, frame.dxf.handle),
            (1000, "ACAD_MTEXT_TEXT_BORDERS_END"),
        ],
    )


def _framed(version: str = "R2013") -> ezdxf.document.Drawing:
    """MTEXT with a background fill, and MTEXT with a text frame as AutoCAD writes it before
    R2018: an extra LWPOLYLINE named in the MTEXT's ``ACAD`` XDATA (GDAL reads it as a
    polyline of its own; ezdxf deletes it)."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    filled = msp.add_mtext("1#", dxfattribs={"layer": "JZJD", "insert": (10, 10)})
    filled.set_bg_color(2, scale=1.5, text_frame=True)
    framed = msp.add_mtext("2#", dxfattribs={"layer": "JZJD", "insert": (20, 10)})
    frame = msp.add_lwpolyline(
        [(19.5, 9.5), (22, 9.5), (22, 11), (19.5, 11)], close=True, dxfattribs={"layer": "JZJD"}
    )
    frame_text(framed, frame)
    msp.add_lwpolyline(
        [(0, 0), (30, 0), (30, 20), (0, 20)], close=True, dxfattribs={"layer": "JZJD"}
    )
    return doc


def _xdata(version: str = "R2013") -> ezdxf.document.Drawing:
    """CASS XDATA (``SOUTH``: the feature code first, the 宗地代码 later), several
    applications on one entity, XDATA on LINE and ARC."""
    doc = ezdxf.new(version)
    for app in ("SOUTH", "EPS", "OTHER"):
        doc.appids.add(app)
    msp = doc.modelspace()
    parcel = msp.add_lwpolyline(
        [(0, 0), (700, 0), (700, 300), (0, 300)], close=True, dxfattribs={"layer": "ZD"}
    )
    parcel.set_xdata(
        "SOUTH", [(1000, "300000"), (1070, 3), (1000, "371502001001GB00001"), (1000, "宗地")]
    )
    both = msp.add_lwpolyline([(0, 0), (9, 0), (9, 9)], close=True, dxfattribs={"layer": "ZD"})
    both.set_xdata("OTHER", [(1000, "first"), (1040, 2.5)])
    both.set_xdata("SOUTH", [(1000, "300000"), (1000, "371502001001GB00002")])
    only_code = msp.add_lwpolyline([(0, 0), (5, 0), (5, 5)], close=True, dxfattribs={"layer": "ZD"})
    only_code.set_xdata("SOUTH", [(1000, "300000")])
    no_string = msp.add_line((0, 0), (1, 1), dxfattribs={"layer": "JZX"})
    no_string.set_xdata("EPS", [(1070, 1), (1040, 0.5)])
    line = msp.add_line((1, 1), (2, 2), dxfattribs={"layer": "JZX"})
    line.set_xdata("EPS", [(1000, "JZX"), (1002, "{"), (1000, "inner"), (1002, "}")])
    arc = msp.add_arc((3, 3), 2, 0, 90, dxfattribs={"layer": "JZX"})
    arc.set_xdata("SOUTH", [(1000, "164100")])
    msp.add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True, dxfattribs={"layer": "ZD"})
    return doc


def _everything(version: str = "R2013") -> ezdxf.document.Drawing:
    """One drawing with all the constructs above (handles differ from the parts'), and a
    draw order."""
    doc = _geometry(version)
    msp = doc.modelspace()
    for part in (_texts, _xdata):
        for entity in part(version).modelspace():
            if entity.dxftype() in ("TEXT", "MTEXT", "LWPOLYLINE", "LINE", "ARC"):
                copy = entity.copy()
                msp.add_entity(copy)
    doc.appids.add("SOUTH")
    doc.appids.add("EPS")
    doc.appids.add("OTHER")
    # draw order (AutoCAD's DRAWORDER): a SORTENTSTABLE whose sort handles are code 5 tags
    shapes = [e.dxf.handle for e in msp if e.dxftype() == "LWPOLYLINE"]
    msp.set_redraw_order({h: format(0xFFFF - i, "X") for i, h in enumerate(shapes)})
    return doc


DRAWINGS: dict[str, Callable[[], bytes]] = {
    "geometry_r2000": lambda: _bytes(_geometry("R2000")),
    "geometry_r2013": lambda: _bytes(_geometry("R2013")),
    "texts_r2000_gbk": lambda: _gbk(_texts("R2000")),
    "texts_r2013": lambda: _bytes(_texts("R2013")),
    "columns_r2013": lambda: _bytes(_columns("R2013")),
    "columns_r2018": lambda: _bytes(_columns("R2018")),
    "columns_r2018_autocad": lambda: autocad_style(_columns("R2018")),
    "framed_r2013": lambda: _bytes(_framed("R2013")),
    "xdata_r2000": lambda: _bytes(_xdata("R2000")),
    "xdata_r2013": lambda: _bytes(_xdata("R2013")),
    "autocad_2013": lambda: autocad_style(_everything("R2013")),
    "autocad_2013_framed": lambda: autocad_style(_framed("R2013"), seed=2),
}


def _gbk(doc: ezdxf.document.Drawing) -> bytes:
    doc.encoding = "gbk"
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode("gbk")


# -------------------------------------------------------------------------- parity


def assert_same(fast: Drawing, slow: Drawing) -> None:
    """Same rows in the same order: handles, layers, types, closed flags, XDATA, texts,
    and geometry within 1e-9."""
    assert (fast.version, fast.encoding, fast.entity_count, fast.readable) == (
        slow.version,
        slow.encoding,
        slow.entity_count,
        slow.readable,
    )
    for name in ("shapes", "points", "texts"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert list(a.columns) == list(b.columns), name
        for column in a.columns.drop("geometry"):
            assert a[column].tolist() == b[column].tolist(), (name, column)
        assert len(a) == len(b)
        if len(a):
            same = shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-9)
            assert same.all(), (name, a.loc[~same, "handle"].tolist())


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_both_readers_give_the_same_rows(name):
    data = DRAWINGS[name]()
    slow, findings = read_dxf(data, REL)
    fast = read_dxf_fast(data, REL)

    assert findings == []
    assert fast is not None, f"{name}: the fast path must take this drawing"
    drawing, fast_findings = fast
    assert fast_findings == []
    assert_same(drawing, slow)


def _rows(drawing: Drawing, frame: str, column: str = "handle") -> list:
    return getattr(drawing, frame)[column].tolist()


@pytest.mark.parametrize("version", ["R2013", "R2018"])
def test_mtext_columns_are_one_text_with_every_column(version):
    data = _bytes(_columns(version))
    for drawing in (read_dxf(data, REL)[0], read_dxf_fast(data, REL)[0]):
        texts = drawing.texts.set_index("handle")["text"].tolist()
        assert len(texts) == 3, texts  # two MTEXT with columns, one without
        assert "第一栏 J1" in texts[0] and "second column" in texts[0] and "third" in texts[0]
        assert "J7" in texts[1] and "J8 宗地" in texts[1]
        assert texts[2] == "after the columns"
        assert drawing.entity_count == 4


def test_mtext_text_frame_is_not_a_shape():
    data = _bytes(_framed())
    for drawing in (read_dxf(data, REL)[0], read_dxf_fast(data, REL)[0]):
        assert len(drawing.shapes) == 1  # the outline; the frame around 2# is not a shape
        assert _rows(drawing, "texts", "text") == ["1#", "2#"]


def test_xdata_is_every_string_of_every_application():
    data = _bytes(_xdata())
    for drawing in (read_dxf(data, REL)[0], read_dxf_fast(data, REL)[0]):
        xdata = _rows(drawing, "shapes", "xdata")
        assert xdata == [
            ("300000", "371502001001GB00001", "宗地"),
            ("first", "300000", "371502001001GB00002"),
            ("300000",),
            None,
            ("JZX", "inner"),
            ("164100",),
            None,
        ]


def test_arcs_are_open_shapes_from_start_to_end():
    data = _bytes(_geometry())
    for drawing in (read_dxf(data, REL)[0], read_dxf_fast(data, REL)[0]):
        arcs = drawing.shapes[drawing.shapes["dxftype"] == "ARC"]
        assert len(arcs) == 5 and not arcs["closed"].any()
        x0, y0 = 409000.0, 4034000.0
        first = np.array(arcs.geometry.iloc[0].coords)
        start, end = np.radians(10), np.radians(170)
        assert np.allclose(
            first[0], [x0 + 20 + 12.5 * np.cos(start), y0 + 20 + 12.5 * np.sin(start)]
        )
        assert np.allclose(first[-1], [x0 + 20 + 12.5 * np.cos(end), y0 + 20 + 12.5 * np.sin(end)])
        assert np.allclose(np.hypot(first[:, 0] - x0 - 20, first[:, 1] - y0 - 20), 12.5)
        assert first[len(first) // 2, 1] > y0 + 32  # counter-clockwise: over the top
        across = np.array(arcs.geometry.iloc[1].coords)  # 300° → 45°, through 0°
        assert across[:, 0].max() == pytest.approx(x0 + 43, abs=1e-3)
        turn = np.array(arcs.geometry.iloc[2].coords)
        assert np.allclose(turn[0], turn[-1]) and len(turn) > 10
        mirrored = np.array(arcs.geometry.iloc[3].coords)  # OCS x → WCS -x
        a = np.radians(20)
        assert np.allclose(mirrored[0], [x0 + 80 - 7 * np.cos(a), y0 + 20 + 7 * np.sin(a)])


def test_autocad_style_file_is_read_by_both_paths():
    data = autocad_style(_everything())
    assert data.count(b"\r\n") == data.count(b"\n")
    assert b"ACDSDATA" in data and b"THUMBNAILIMAGE" in data and b"ANSI_936" in data
    slow, findings = read_dxf(data, REL)
    fast = read_dxf_fast(data, REL)
    assert findings == [] and fast is not None
    assert_same(fast[0], slow)
    assert "宗地 1" in _rows(slow, "texts", "text")
    assert slow.encoding == "utf-8"


def test_autocad_thumbnails_do_not_cost_a_skeleton_audit_each(monkeypatch):
    """Two AutoCAD files of one template differ in their preview images: the skeleton is
    audited once."""
    from parsers import dxf_health

    audits: list[bytes] = []
    real = dxf_health._audit_skeleton
    monkeypatch.setattr(dxf_health, "_verdicts", {})
    monkeypatch.setattr(dxf_health, "_audit_skeleton", lambda s: audits.append(s) or real(s))
    doc = _framed()
    assert read_dxf_fast(autocad_style(doc, seed=3), REL) is not None
    assert read_dxf_fast(autocad_style(doc, seed=4), REL) is not None
    assert len(audits) == 1


def test_damaged_autocad_sections_go_to_ezdxf():
    """Hex that is not hex in a preview: ezdxf raises on it, so the fast path must refuse."""
    data = autocad_style(_framed(), seed=5)
    at = data.index(b"310\r\n", data.index(b"ACDSDATA")) + 5
    bad = data[:at] + b"XY" + data[at + 2 :]
    assert read_dxf_fast(bad, REL) is None


@pytest.mark.parametrize(
    "wrap",
    [
        lambda d: b"\xef\xbb\xbf\r\n" + d,  # a byte order mark and a blank line first
        lambda d: d + b"\x00\x00\x1a garbage after the end\n",
        lambda d: d + d,  # a second copy after EOF
    ],
    ids=["bom", "garbage-after-eof", "second-copy"],
)
def test_bytes_around_the_drawing_do_not_leave_the_fast_path(wrap):
    """What ezdxf ignores (a BOM, leading blank lines, anything after the first EOF) the
    fast path ignores too: same rows, no finding, no detour through ezdxf."""
    data = wrap(DRAWINGS["autocad_2013"]())
    slow, findings = read_dxf(data, REL)
    fast = read_dxf_fast(data, REL)

    assert findings == []
    assert fast is not None
    assert fast[1] == []
    assert_same(fast[0], slow)


# ------------------------------------------------- links between entities and objects


def linked(version: str = "R2013") -> ezdxf.document.Drawing:
    """What AutoCAD and CASS drawings link: an associative HATCH (its boundary polyline
    holds the hatch as a reactor, written before its owner; the hatch names the boundary),
    extension dictionaries with an XRECORD (on TEXT and LINE), a GROUP (its members hold it
    as a reactor), an MTEXT whose reactor is a DICTIONARY, a DIMENSION with its block."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    outline = [(0, 0), (10, 0), (10, 8), (0, 8)]
    boundary = msp.add_lwpolyline(outline, close=True, dxfattribs={"layer": "JZJD"})
    hatch = msp.add_hatch(color=3, dxfattribs={"layer": "JZJD", "associative": 1})
    path = hatch.paths.add_polyline_path(outline, is_closed=True)
    path.source_boundary_objects = [boundary.dxf.handle]
    boundary.append_reactor_handle(hatch.dxf.handle)
    label = msp.add_text("J1", dxfattribs={"layer": "JZD", "insert": (1, 1)})
    xdict = label.new_extension_dict()
    xdict.add_xrecord("SOUTH_DATA").reset([(1, "ZD"), (40, 1.5)])
    msp.add_line((0, 0), (5, 5), dxfattribs={"layer": "JZX"}).new_extension_dict()
    parcel = msp.add_lwpolyline([(20, 0), (30, 0), (30, 5)], close=True, dxfattribs={"layer": "ZD"})
    point = msp.add_circle((20, 0), 0.2, dxfattribs={"layer": "JZD"})
    doc.groups.new("宗地1").extend([parcel, point, label])
    msp.add_mtext("2#", dxfattribs={"insert": (3, 3)}).append_reactor_handle(xdict.handle)
    msp.add_linear_dim(base=(0, -3), p1=(0, 0), p2=(10, 0)).render()
    return doc


LINKED: dict[str, Callable[[], bytes]] = {
    "linked_r2000": lambda: _bytes(linked("R2000")),
    "linked_r2013": lambda: _bytes(linked("R2013")),
    "linked_r2018_autocad": lambda: autocad_style(linked("R2018"), seed=6),
    "linked_stale_reactors": lambda: _bytes(_stale_reactors()),
}


def _stale_reactors() -> ezdxf.document.Drawing:
    """Reactors naming what is gone (a deleted hatch, a purged dictionary): ezdxf keeps
    reactors without reading them."""
    doc = linked()
    for entity in doc.modelspace().query("LWPOLYLINE TEXT"):
        entity.append_reactor_handle("FFFF2")
    return doc


@pytest.mark.parametrize("name", sorted(LINKED))
def test_entities_linked_to_objects_take_the_fast_path(name):
    """Reactors, extension dictionaries, groups, associative hatches: ezdxf reads them
    without a word, so the fast path answers too, with the same rows."""
    data = LINKED[name]()
    assert b"{ACAD_REACTORS" in data and b"{ACAD_XDICTIONARY" in data and b"GROUP" in data
    slow, findings = read_dxf(data, REL)
    fast = read_dxf_fast(data, REL)

    assert findings == []
    assert fast is not None, f"{name}: the fast path must take this drawing"
    assert fast[1] == []
    assert_same(fast[0], slow)
    assert len(slow.shapes) == 3 and len(slow.texts) == 2  # boundary, LINE, parcel; J1, 2#


def _raw_insert(data: bytes, record: bytes, before: bytes, tags: bytes) -> bytes:
    """``tags`` inserted before the first ``before`` line after the first ``record``."""
    at = data.index(before, data.index(b"\n" + record + b"\n"))
    return data[:at] + tags + data[at:]


def _member_without_reactor() -> bytes:
    doc = linked()
    group = doc.groups.get("宗地1")
    next(iter(group)).discard_reactor_handle(group.dxf.handle)
    return _bytes(doc)


def _members_in_two_layouts() -> bytes:
    doc = linked()
    group = doc.groups.get("宗地1")
    paper = doc.layout("Layout1").add_line((0, 0), (1, 1))
    paper.append_reactor_handle(group.dxf.handle)
    member = b"340\n" + paper.dxf.handle.encode() + b"\n"
    return _raw_insert(_bytes(doc), b"GROUP", b"340\n", member)


def _xdict_owned_by_nothing() -> bytes:
    doc = linked()
    text = doc.modelspace().query("TEXT").first
    text.get_extension_dict().dictionary.dxf.owner = "FFFF0"
    return _bytes(doc)


def _xdict_entry_to_nothing() -> bytes:
    doc = linked()
    text = doc.modelspace().query("TEXT").first
    text.get_extension_dict().dictionary._data["GONE"] = "FFFF1"  # a handle, as loaded
    return _bytes(doc)


def _hatch_with_an_invalid_spline() -> bytes:
    doc = linked()
    path = doc.modelspace().query("HATCH").first.paths.add_edge_path()
    path.add_line((0, 0), (10, 0))
    path.add_spline(control_points=[(10, 0), (10, 5), (0, 5)], knot_values=[0, 0, 0, 1, 1])
    path.add_line((0, 5), (0, 0))
    return _bytes(doc)


def _attrib_without_tag() -> bytes:
    doc = linked()
    block = doc.blocks.new("ZDB")
    block.add_attdef("ZDDM", (0, 0))
    doc.modelspace().add_blockref("ZDB", (5, 5)).add_auto_attribs({"ZDDM": "371502001001GB00001"})
    data = _bytes(doc)
    at = data.index(b"\n  2\nZDDM\n", data.index(b"\nATTRIB\n"))
    return data[:at] + data[at + len(b"\n  2\nZDDM") :]


@pytest.mark.parametrize(
    "damaged",
    [
        _member_without_reactor,
        _members_in_two_layouts,
        _xdict_owned_by_nothing,
        _xdict_entry_to_nothing,
        _hatch_with_an_invalid_spline,
        _attrib_without_tag,
    ],
)
def test_links_ezdxf_repairs_go_to_ezdxf(damaged):
    """What ezdxf's auditor repairs in groups, extension dictionaries, hatches and
    attributes is DXF-002 on the ezdxf path: the fast path must refuse."""
    data = damaged()
    _, findings = read_dxf(data, REL)
    assert "DXF-002" in {f.code for f in findings}
    assert read_dxf_fast(data, REL) is None


@pytest.mark.parametrize(
    "name",
    [
        "ezdxf__hatches_1.dxf",
        "ezdxf__text_negative_extrusion.dxf",
        "ezdxf__mtext_framed_columns.dxf",
    ],
)
def test_autocad_2013_and_2018_files_of_the_corpus_take_the_fast_path(name):
    """Real AutoCAD output (associative hatches, extension dictionaries on MTEXT and
    VIEWPORT, ATTDEF among the entities): same rows on both paths, and the fast one answers."""
    data = (Path(__file__).parents[1] / "corpus" / "outside" / name).read_bytes()
    slow, findings = read_dxf(data, REL)
    fast = read_dxf_fast(data, REL)

    assert findings == []
    assert fast is not None
    assert_same(fast[0], slow)
