"""The GDAL fast path: the same frames and findings as the ezdxf reader, or None.

Besides generated healthy drawings, damaged variants (bytes and tags edited at random)
check the one promise that matters: whenever the fast path answers, ezdxf would have
answered the same.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import ezdxf
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parsers.dxf import read_drawing, read_dxf
from parsers.dxf_fast import read_dxf_fast
from schemas import labels
from tests.parsers.test_dxf import REL, _chinese, _drawing_with_entities, codes
from tests.parsers.test_reader_parity import assert_same, autocad_style, frame_text, linked


@pytest.fixture
def save(tmp_path: Path) -> Callable[..., bytes]:
    """Save an ezdxf document and return the file's bytes."""

    def _save(doc, fmt: str = "asc", name: str = "d.dxf") -> bytes:
        doc.saveas(tmp_path / name, fmt=fmt)
        return (tmp_path / name).read_bytes()

    return _save


# -------------------------------------------------------------------------- fast path


def _healthy_drawings() -> dict[str, ezdxf.document.Drawing]:
    """A few healthy drawings: what GDAL can be trusted to read."""
    out = {}
    site = ezdxf.new("R2010")
    msp = site.modelspace()
    site.appids.add("SOUTH")
    for i in range(30):
        x = 20.0 * i + 409000.0
        y = 4034000.0 + 3.3 * i
        msp.add_lwpolyline(
            [(x, y), (x + 12, y), (x + 12, y + 9), (x, y + 9)],
            close=True,
            dxfattribs={"layer": "JZJD"},
        )
        msp.add_mtext(
            r"{\fSimSun|b0|i0|c134|p2;" + f"{i + 1}#}}",
            dxfattribs={"layer": "JZJD", "insert": (x + 5, y + 4)},
        )
        msp.add_circle((x, y), 0.25, dxfattribs={"layer": "JZD"})
        msp.add_text(f"J{i + 1}", dxfattribs={"layer": "JZD", "insert": (x + 0.5, y + 0.5)})
    parcel = msp.add_lwpolyline(
        [
            (409000, 4034000),
            (409700, 4034000),
            (409700, 4034300),
            (409000, 4034300),
            (409000, 4034000),
        ],
        dxfattribs={"layer": "ZD"},
    )
    parcel.set_xdata("SOUTH", [(1000, "371502001001GB00001")])
    msp.add_line((409000, 4034000), (409700, 4034300), dxfattribs={"layer": "DLHX"})
    msp.add_polyline3d([(0, 0, 1), (5, 0, 2), (5, 5, 3)], close=True, dxfattribs={"layer": "DLHX"})
    msp.add_point((409001, 4034001), dxfattribs={"layer": "JZD"})
    out["site_r2010"] = site

    floors = _chinese("R2000", "gbk")
    msp = floors.modelspace()
    block = floors.blocks.new("SYM")
    block.add_line((0, 0), (1, 1))
    msp.add_blockref("SYM", (3, 3), dxfattribs={"layer": "JZD", "extrusion": (0, 0, -1)})
    msp.add_polyline2d([(0, 0), (8, 0), (8, 6), (0, 6)], close=True, dxfattribs={"layer": "FC_C"})
    msp.add_lwpolyline(
        [(0, 0), (4, 0), (4, 3)], close=True, dxfattribs={"layer": "FC_H", "extrusion": (0, 0, -1)}
    )
    msp.add_text("%%c100", dxfattribs={"layer": "FC_H", "insert": (1, 1)})
    msp.add_mtext("长" * 300, dxfattribs={"layer": "FC_GY", "insert": (2, 1)})  # chunked MTEXT
    msp.add_circle((1, 1), 0.5, dxfattribs={"layer": "JZD", "extrusion": (0, 0, -1)})
    arcs = [(0, 0, 0), (10, 0, 0), (10, 5, 1), (0, 5, -0.3)]
    msp.add_lwpolyline(arcs, format="xyb", close=True, dxfattribs={"layer": "FC_YT"})
    msp.add_lwpolyline(arcs[:3], format="xyb", dxfattribs={"layer": "FC_YT"})
    msp.add_polyline2d(arcs, format="xyb", close=True, dxfattribs={"layer": "FC_YT"})
    out["floors_r2000_gbk"] = floors
    return out


@pytest.mark.parametrize(
    ("name", "autocad"),
    [("site_r2010", False), ("floors_r2000_gbk", False), ("site_r2010", True)],
)
def test_fast_path_gives_the_same_frames(tmp_path, name, autocad):
    """Our own drawings, and one saved as AutoCAD 2013 writes it (ACDSDATA, THUMBNAILIMAGE,
    CRLF, ANSI_936 with UTF-8 text): the fast path answers, with the same frames."""
    doc = _healthy_drawings()[name]
    path = tmp_path / f"{name}.dxf"
    if autocad:
        path.write_bytes(autocad_style(doc))
    else:
        doc.saveas(path)
    slow, slow_findings = read_dxf(path, REL)
    fast = read_dxf_fast(path, REL)

    assert slow_findings == []
    assert fast is not None, "a healthy drawing must take the fast path"
    drawing, findings = fast
    assert findings == []
    assert_same(drawing, slow)
    for layer in set(slow.shapes["layer"]):
        pa, pb = labels.polygons(drawing, layer), labels.polygons(slow, layer)
        assert np.allclose(pa.geometry.area, pb.geometry.area, atol=1e-6, rtol=0)
        assert list(pa["labels"]) == list(pb["labels"])


def test_fast_path_refuses_what_it_cannot_reproduce(tmp_path, save):
    arcs = ezdxf.new("R2010")
    arcs.modelspace().add_lwpolyline(
        [(0, 0, 0), (10, 0, 0), (10, 5, 1), (0, 5, 0)],
        format="xyb",
        close=True,
        dxfattribs={"extrusion": (0, 0, -1)},
    )
    nan = ezdxf.new("R2010")
    nan.modelspace().add_lwpolyline([(0, 0), (777.25, 0), (1, 1)], close=True)
    cases = {
        "arc_in_ocs.dxf": save(arcs, name="arc_src.dxf"),
        "truncated.dxf": save(_drawing_with_entities(), name="t.dxf")[:-400],
        "gbk_as_1252.dxf": save(_chinese("R2000", "gbk"), name="g.dxf").replace(
            b"ANSI_936", b"ANSI_1252"
        ),
        "binary.dxf": save(_drawing_with_entities(), fmt="bin", name="b.dxf"),
        "r12.dxf": save(ezdxf.new("R12"), name="r12.dxf"),
        "nan.dxf": save(nan, name="n.dxf").replace(b"777.25", b"nan"),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        assert read_dxf_fast(path, REL) is None, name
        # and read_drawing falls back to ezdxf, with its findings
        assert codes(read_drawing(path, REL)[1]) == codes(read_dxf(path, REL)[1]), name


@pytest.mark.parametrize("as_bytes", [False, True])
def test_read_drawing_uses_the_fast_path_when_it_can(tmp_path, as_bytes):
    doc = _healthy_drawings()["site_r2010"]
    path = tmp_path / "site.dxf"
    doc.saveas(path)
    source = path.read_bytes() if as_bytes else path
    assert read_dxf_fast(source, "drawings/site.dxf") is not None
    drawing, findings = read_drawing(source, "drawings/site.dxf")
    assert findings == [] and drawing.readable and drawing.path == "drawings/site.dxf"
    assert len(labels.polygons(drawing, "JZJD")) == 30
    assert labels.polygons(drawing, "JZJD")["label"].tolist() == [f"{i}#" for i in range(1, 31)]


# ------------------------------------------------------------------ never raises


_SMALL: list[bytes] = []


def _small_dxf() -> bytes:
    """The GBK floor plan of :func:`_healthy_drawings` as bytes (built once)."""
    if not _SMALL:
        stream = io.StringIO()
        _healthy_drawings()["floors_r2000_gbk"].write(stream)
        _SMALL.append(stream.getvalue().encode("gbk"))
    return _SMALL[0]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.binary(min_size=0, max_size=12), st.integers(0, 12)),
        min_size=1,
        max_size=4,
    )
)
def test_damaged_bytes_never_raise(edits):
    """Overwrite, insert and delete bytes anywhere: the readers return findings, never
    raise, and an unreadable drawing is always flagged."""
    data = bytearray(_small_dxf())
    for where, new, drop in edits:
        at = int(where * len(data))
        data[at : at + drop] = new
    for reader in (read_dxf, read_drawing):
        drawing, findings = reader(bytes(data), REL)
        assert all(f.object.file == REL for f in findings)
        if not drawing.readable:
            assert {"DXF-001", "PKG-009"} & set(codes(findings))


def _same(fast, slow) -> bool:
    for frame in ("shapes", "points", "texts"):
        a, b = getattr(fast, frame), getattr(slow, frame)
        if len(a) != len(b) or not a.drop(columns="geometry").equals(b.drop(columns="geometry")):
            return False
        if not shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-6).all():
            return False
    return fast.readable == slow.readable


def _autocad_dxf() -> bytes:
    """A small AutoCAD-2013-style drawing with what the fast path now follows itself: ARC
    entities with XDATA, linked MTEXT columns, an MTEXT text frame (built once)."""
    if len(_SMALL) < 2:
        _small_dxf()
        doc = ezdxf.new("R2013")
        doc.appids.add("SOUTH")
        msp = doc.modelspace()
        arc = msp.add_arc((5, 5), 3, 30, 200, dxfattribs={"layer": "JZX"})
        arc.set_xdata("SOUTH", [(1000, "300000"), (1000, "371502001001GB00001")])
        msp.add_arc((-5, 5), 2, 10, 100, dxfattribs={"extrusion": (0, 0, -1)})
        msp.add_mtext_static_columns(["J1", "J2"], width=3, gutter_width=1, height=4)
        framed = msp.add_mtext("1#", dxfattribs={"insert": (1, 1)})
        frame = msp.add_lwpolyline([(0, 0), (2, 0), (2, 2)], close=True)
        frame_text(framed, frame)
        msp.add_lwpolyline([(0, 0), (9, 0), (9, 9)], close=True, dxfattribs={"layer": "ZD"})
        _SMALL.append(autocad_style(doc))
    return _SMALL[1]


_LINKED: list[bytes] = []


def _linked_dxf() -> bytes:
    """A drawing whose entities and objects refer to each other (associative hatch,
    extension dictionaries, a group, reactors, a dimension), with an INSERT with an
    ATTRIB (built once)."""
    if not _LINKED:
        doc = linked("R2013")
        block = doc.blocks.new("ZDB")
        block.add_attdef("ZDDM", (0, 0))
        insert = doc.modelspace().add_blockref("ZDB", (5, 5), dxfattribs={"layer": "ZD"})
        insert.add_auto_attribs({"ZDDM": "371502001001GB00001"})
        stream = io.StringIO()
        doc.write(stream)
        _LINKED.append(stream.getvalue().encode("utf-8"))
    return _LINKED[0]


_SOURCES = {"floors": _small_dxf, "autocad": _autocad_dxf, "linked": _linked_dxf}


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(_SOURCES)))
def test_when_the_fast_path_answers_ezdxf_agrees(seed, source):
    """Delete, duplicate, move and rewrite tags at random: the fast path either refuses or
    gives exactly the frames and findings of the ezdxf reader."""
    rng = random.Random(seed)
    lines = _SOURCES[source]().rstrip().split(b"\n")
    tags = list(zip(lines[0::2], lines[1::2], strict=True))
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(tags))
        op = rng.choice(["delete", "duplicate", "move", "swap", "number", "handle"])
        if op == "delete":
            del tags[i]
        elif op == "duplicate":
            tags.insert(i, tags[i])
        elif op == "move":
            tags.insert(rng.randrange(len(tags)), tags.pop(i))
        elif op == "swap":
            same = [k for k, t in enumerate(tags) if t[0].strip() == tags[i][0].strip()]
            k = rng.choice(same)
            tags[i], tags[k] = (tags[i][0], tags[k][1]), (tags[k][0], tags[i][1])
        elif op == "number":
            tags[i] = (tags[i][0], rng.choice([b"0", b"1", b"-1", b"16", b"64", b"0.5", b"1e9"]))
        else:
            tags[i] = (tags[i][0], rng.choice([b"0", b"1F", b"FFFF", b"17", b"A"]))
    data = b"\n".join(c + b"\n" + v for c, v in tags) + b"\n"
    fast = read_dxf_fast(data, REL)
    if fast is not None:
        slow, findings = read_dxf(data, REL)
        assert codes(fast[1]) == codes(findings)
        assert _same(fast[0], slow)


# ------------------------------------------------------------- skeleton verdict cache


def test_skeleton_verdict_is_kept_across_files_of_one_template(tmp_path, save, monkeypatch):
    """Files differing outside their entities only in dates, GUIDs and extents are audited
    once; any other difference (here $INSUNITS, or a changed layer table) is audited anew,
    and a skeleton ezdxf repairs stays refused for every file sharing it."""
    from parsers import dxf_health

    audits: list[bytes] = []
    real = dxf_health._audit_skeleton
    monkeypatch.setattr(dxf_health, "_verdicts", {})
    monkeypatch.setattr(dxf_health, "_audit_skeleton", lambda s: audits.append(s) or real(s))

    def variant(guid: str, *, units: int = 6, extra_layer: str | None = None) -> bytes:
        doc = _healthy_drawings()["site_r2010"]
        doc.header["$FINGERPRINTGUID"] = doc.header["$VERSIONGUID"] = guid
        doc.header["$TDCREATE"] = 2461000.5 + len(audits)
        doc.header["$INSUNITS"] = units
        if extra_layer:
            doc.layers.add(extra_layer)
        return save(doc, name=f"{guid[1:9]}-{units}-{extra_layer}.dxf")

    first = read_dxf_fast(variant("{11111111-0000-0000-0000-000000000000}"), REL)
    second = read_dxf_fast(variant("{22222222-0000-0000-0000-000000000000}"), REL)
    assert first is not None and second is not None
    assert len(audits) == 1, "the second file differs only in volatile header values"
    read_dxf_fast(variant("{33333333-0000-0000-0000-000000000000}", units=4), REL)
    read_dxf_fast(variant("{44444444-0000-0000-0000-000000000000}", extra_layer="X"), REL)
    assert len(audits) == 3

    # a skeleton ezdxf has to repair: a layer with an undefined linetype
    bad = variant("{55555555-0000-0000-0000-000000000000}").replace(
        b"  6\nContinuous\n", b"  6\nNOSUCH\n", 1
    )
    again = bad.replace(b"{55555555", b"{66666666")
    assert read_dxf_fast(bad, REL) is None and read_dxf_fast(again, REL) is None
    assert codes(read_drawing(again, REL)[1]) == codes(read_dxf(again, REL)[1])


def test_model_layout_naming_another_block_record_goes_to_ezdxf(save):
    """ezdxf's modelspace is the block record of the "Model" LAYOUT; pointing that layout at
    the *Paper_Space record leaves ezdxf's modelspace empty (silently). The fast path, which
    reads what *Model_Space owns, must refuse (found by the random-damage test)."""
    doc = _healthy_drawings()["site_r2010"]
    model = doc.layouts.get("Model").dxf_layout
    paper = doc.block_records.get("*Paper_Space").dxf.handle
    data = save(doc)
    at = data.index(b"\nLAYOUT\n  5\n" + model.dxf.handle.encode() + b"\n")
    at = data.index(b"\n330\n" + model.dxf.block_record_handle.encode() + b"\n", at)
    bad = (
        data[:at]
        + b"\n330\n"
        + paper.encode()
        + data[at + 5 + len(model.dxf.block_record_handle) :]
    )
    slow, _ = read_dxf(bad, REL)
    assert len(slow.shapes) == 0  # ezdxf reads the other layout
    assert read_dxf_fast(data, REL) is not None
    assert read_dxf_fast(bad, REL) is None


def _numpy_numbers(items: list[bytes], dtype: type):
    """numpy's conversion of each value, as the health check read numbers before."""
    try:
        if items and max(map(len, items)) > 40:
            return "Doubt"
        got = np.array(items, dtype=bytes).astype(dtype)
        return (got.dtype, got.tolist())
    except (ValueError, OverflowError) as err:
        return type(err).__name__


_NUMBER_TEXT = st.binary(max_size=6).map(lambda b: bytes(b"0159.eE+- \tn"[c % 12] for c in b))


@given(st.lists(_NUMBER_TEXT, min_size=1, max_size=5), st.sampled_from([float, np.int64]))
def test_numbers_read_in_one_pass_are_numpys_conversion(items, dtype):
    """The joined C parse of numeric values gives numpy's values, or its error, or Doubt."""
    from parsers.dxf_health import Doubt, numbers

    values = np.empty(len(items), dtype=object)
    values[:] = items
    try:
        got = numbers(values, dtype)
        mine = (got.dtype, got.tolist())
    except Doubt:
        mine = "Doubt"
    except (ValueError, OverflowError) as err:
        mine = type(err).__name__
    expected = _numpy_numbers(items, dtype)
    if isinstance(mine, tuple) and isinstance(expected, tuple):
        assert mine[0] == expected[0]
        assert np.array_equal(np.array(mine[1]), np.array(expected[1]), equal_nan=True)
    else:
        assert mine == expected


@given(st.lists(st.binary(max_size=9).map(lambda b: bytes(b"0159 -+\t"[c % 8] for c in b)), min_size=1, max_size=5))
def test_group_codes_read_in_one_pass_are_numpys_conversion(lines):
    """Group code lines read by the joined C parse give numpy's integers, or its error."""
    from parsers.dxf_health import Doubt, _group_codes

    try:
        mine = _group_codes(lines).tolist()
    except Doubt:
        mine = "Doubt"
    except ValueError:
        mine = "ValueError"
    if max(map(len, lines)) > 8:
        expected = "Doubt"
    else:
        try:
            expected = np.array(lines).astype(np.int64).tolist()
        except ValueError:
            expected = "ValueError"
    assert mine == expected


@given(st.binary(max_size=40).map(lambda b: bytes(b"0159 -+\t\n"[c % 9] for c in b)))
def test_space_after_a_number_is_what_the_pattern_finds(joined):
    """The byte comparison finds a space after a digit or minus exactly where the pattern does."""
    import re

    from parsers.dxf_health import _space_after_number

    buf = np.frombuffer(joined, dtype=np.uint8)
    assert _space_after_number(buf) == (re.search(rb"[0-9-] ", joined) is not None)
