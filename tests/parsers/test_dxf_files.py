"""What real CAD programs write (deliverable.md v1.1): header-less files, R12 files holding
R2000 entities, bytes after EOF, UTF-8 in pre-2007 files, repairs that remove entities.

Every input is built in code (ezdxf.new() or raw tags). Assertions are on codes, places
(file, layer, handle) and frames; message text is checked only for what it must not hold
(English sentences, Python exception text).
"""

from __future__ import annotations

import io
import re

import ezdxf
import pytest

from parsers.dxf import read_drawing, read_dxf
from parsers.dxf_encoding import choose_encoding
from parsers.dxf_sniff import cut_after_eof, eof_end, has_eof, header_vars, sniff
from schemas.drawings import lost_entities
from schemas.package import Package
from schemas.profile import Profile, load_profile

PARCEL = "drawings/parcel.dxf"
FLOOR = "drawings/floors/0001.dxf"
READERS = pytest.mark.parametrize("read", [read_dxf, read_drawing], ids=["ezdxf", "any"])
_ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,'()-]+[A-Za-z]{2,}){2,}")  # three English words
_PYTHON = ("Error", "Exception", "Traceback", "index out of range", "NoneType", "line ")


def tags(*pairs: tuple[int, object]) -> bytes:
    """Raw ASCII DXF from (group code, value) pairs."""
    return "".join(f"{code:>3}\n{value}\n" for code, value in pairs).encode("ascii")


def written(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode(doc.output_encoding, "surrogateescape")


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def places(findings, code: str) -> list[tuple[str | None, str | None, str | None]]:
    return [(f.object.file, f.object.layer, f.object.handle) for f in findings if f.code == code]


def assert_plain_chinese(findings, path: str) -> None:
    """No English sentence (ezdxf's repair log) and no Python exception text."""
    for f in findings:
        text = f.message.replace(path, "")
        assert _ENGLISH.search(text) is None, f.message
        assert not any(word in text for word in _PYTHON), f.message
        assert re.search(r"[\u4e00-\u9fff]", text), f.message


# ----------------------------------------------------------- R2000 entities without a header

_LINE = [
    (0, "LINE"), (5, "1F"), (330, "1F0"), (100, "AcDbEntity"), (8, "JZX"),
    (100, "AcDbLine"), (10, 0.0), (20, 0.0), (30, 0.0), (11, 5.0), (21, 5.0), (31, 0.0),
]  # fmt: skip
_LWPOLYLINE = [
    (0, "LWPOLYLINE"), (5, "20"), (330, "1F0"), (100, "AcDbEntity"), (8, "ZD"),
    (100, "AcDbPolyline"), (90, 3), (70, 1),
    (10, 0.0), (20, 0.0), (10, 4.0), (20, 0.0), (10, 4.0), (20, 3.0),
]  # fmt: skip
_TEXT = [
    (0, "TEXT"), (5, "21"), (330, "1F0"), (100, "AcDbEntity"), (8, "JZD"), (100, "AcDbText"),
    (10, 1.0), (20, 1.0), (30, 0.0), (40, 1.0), (1, "J1"), (100, "AcDbText"),
]  # fmt: skip
_ENTITIES = [(0, "SECTION"), (2, "ENTITIES"), *_LINE, *_LWPOLYLINE, *_TEXT, (0, "ENDSEC")]
HEADERLESS = tags(*_ENTITIES, (0, "EOF"))
R12_WITH_MARKERS = tags(
    (0, "SECTION"), (2, "HEADER"), (9, "$ACADVER"), (1, "AC1009"),
    (9, "$DWGCODEPAGE"), (3, "ANSI_936"), (0, "ENDSEC"), *_ENTITIES, (0, "EOF"),
)  # fmt: skip


def assert_all_read(drawing, findings) -> None:
    assert findings == []
    assert drawing.readable
    assert set(zip(drawing.shapes["handle"], drawing.shapes["layer"], strict=True)) == {
        ("1F", "JZX"),
        ("20", "ZD"),
    }
    assert list(drawing.texts["text"]) == ["J1"]
    polygon = drawing.shapes.set_index("handle").loc["20"]
    assert polygon["closed"]
    assert list(polygon["geometry"].coords)[:3] == [(0, 0), (4, 0), (4, 3)]


@READERS
@pytest.mark.parametrize("data", [HEADERLESS, R12_WITH_MARKERS], ids=["header-less", "R12"])
def test_r2000_entities_without_an_r2000_header_are_read(data, read):
    """ezdxf's recover mode raises on these (it strips R12 subclass markers, then misses
    AcDbPolyline); its normal loader reads them, and so do we."""
    drawing, findings = read(data, PARCEL)
    assert_all_read(drawing, findings)


def test_full_r2000_file_declared_r12_is_read():
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    parcel = msp.add_lwpolyline([(0, 0), (4, 0), (4, 3)], close=True, dxfattribs={"layer": "ZD"})
    label = msp.add_text("J1", dxfattribs={"layer": "JZD", "insert": (1, 1)})
    data = written(doc).replace(b"AC1015", b"AC1009", 1)
    drawing, findings = read_dxf(data, PARCEL)

    assert findings == []
    assert list(drawing.shapes["handle"]) == [parcel.dxf.handle]
    assert list(drawing.texts["handle"]) == [label.dxf.handle]


@pytest.mark.parametrize(
    "prefix",
    [b"\xef\xbb\xbf", b"\n\n", b"  \r\n\r\n", b"999\nmade by an exporter\n", b"\xef\xbb\xbf\n"],
    ids=["bom", "blank-lines", "crlf-blank-lines", "comment", "bom-blank"],
)
def test_plausible_starts_are_dxf(prefix):
    data = prefix + HEADERLESS
    assert sniff(data).kind == "ascii"
    drawing, findings = read_dxf(data, PARCEL)
    assert_all_read(drawing, findings)


# ------------------------------------------------------------------------ bytes after EOF

_TRAILERS = {
    "nuls": b"\x00" * 300,
    "ctrl-z": b"\x1a",
    "garbage": b"\x00\x1agarbage \xff\xfe after the end\n  0\nLINE\n",
    "second copy": HEADERLESS,
    "half a second copy": HEADERLESS[: len(HEADERLESS) // 2],
    "no newline, then junk": None,
}


@READERS
@pytest.mark.parametrize("name", list(_TRAILERS))
def test_bytes_after_eof_are_ignored(name, read):
    if _TRAILERS[name] is None:
        data = HEADERLESS.rstrip(b"\n") + b"\x00\x00junk"
    else:
        data = HEADERLESS + _TRAILERS[name]
    assert has_eof(data)
    assert cut_after_eof(data).rstrip(b"\n") == HEADERLESS.rstrip(b"\n")
    drawing, findings = read(data, PARCEL)
    assert_all_read(drawing, findings)


@READERS
def test_bytes_after_eof_of_an_r2000_file(read):
    doc = ezdxf.new("R2000")
    parcel = doc.modelspace().add_lwpolyline(
        [(0, 0), (4, 0), (4, 3)], close=True, dxfattribs={"layer": "ZD"}
    )
    clean = written(doc)
    for trailer in (b"\x00" * 4096, b"\r\n\x1a", clean, b"\xd6\xd0\xce\xc4 junk"):
        data = clean.replace(b"\n", b"\r\n") + trailer
        drawing, findings = read(data, PARCEL)
        assert findings == []
        assert list(drawing.shapes["handle"]) == [parcel.dxf.handle]


def test_eof_is_a_tag_not_a_text():
    text_eof = tags(*_ENTITIES[:-1], (1, "EOF"), (0, "ENDSEC"))
    assert not has_eof(text_eof)  # a value "EOF" after group code 1 is no EOF tag
    assert eof_end(text_eof + b"  0\nEOF\n") == len(text_eof) + len(b"  0\nEOF\n")
    assert eof_end(b"") is None


def test_a_file_without_eof_is_still_truncated():
    drawing, findings = read_dxf(HEADERLESS[: -len(b"  0\nEOF\n")], PARCEL)
    assert codes(findings) == ["DXF-001"]
    assert places(findings, "DXF-001") == [(PARCEL, None, None)]
    assert not drawing.readable
    assert_plain_chinese(findings, PARCEL)


# ---------------------------------------------------------------------------- encodings


def _with_texts(words: list[tuple[str, str]], codepage: str | None, version: str = "R2000"):
    """A drawing whose TEXT entities hold ``words`` (text, bytes' encoding), with its
    ``$DWGCODEPAGE`` set to ``codepage``; returns the bytes and the handles in order."""
    doc = ezdxf.new(version)
    msp = doc.modelspace()
    handles = [
        msp.add_text(f"@@{i}@@", dxfattribs={"layer": "FC_H", "insert": (i, 0)}).dxf.handle
        for i in range(len(words))
    ]
    data = written(doc)
    for i, (word, encoding) in enumerate(words):
        data = data.replace(f"@@{i}@@".encode(), word.encode(encoding))
    if codepage:
        data = re.sub(rb"ANSI_\d+", codepage.encode(), data, count=1)
    return data, handles


def _texts(drawing) -> dict[str, str]:
    return dict(zip(drawing.texts["handle"], drawing.texts["text"], strict=True))


LATIN = ["面积 m²", "±0.05", "30°", "café", "m²"]


@READERS
@pytest.mark.parametrize("codepage", ["ANSI_1252", "ANSI_936"])
def test_utf8_latin_in_r2000_is_utf8(codepage, read):
    data, handles = _with_texts([(w, "utf-8") for w in LATIN], codepage)
    assert header_vars(data) == ("AC1015", codepage)
    drawing, findings = read(data, FLOOR)

    assert _texts(drawing) == dict(zip(handles, LATIN, strict=True))  # no m虏, 卤, 掳
    assert drawing.encoding == "utf-8"
    assert codes(findings) == ["DXF-008"]  # the declared page would read them otherwise
    assert places(findings, "DXF-008") == [(FLOOR, None, None)]
    assert "GBK" not in findings[0].message
    assert_plain_chinese(findings, FLOOR)


@pytest.mark.parametrize("codepage", ["ANSI_1252", "ANSI_936"])
def test_pure_ascii_text_has_no_encoding_finding(codepage):
    data, handles = _with_texts([("J1", "ascii"), ("1#", "ascii")], codepage)
    drawing, findings = read_dxf(data, FLOOR)
    assert findings == []
    assert _texts(drawing) == {handles[0]: "J1", handles[1]: "1#"}


@READERS
def test_gbk_in_r2000_declared_1252_is_gbk(read):
    words = ["阳台封闭", "第1层", "宗地"]
    data, handles = _with_texts([(w, "gbk") for w in words], "ANSI_1252")
    drawing, findings = read(data, FLOOR)

    assert _texts(drawing) == dict(zip(handles, words, strict=True))
    assert drawing.encoding == "gbk"
    assert codes(findings) == ["DXF-008"]
    assert places(findings, "DXF-008") == [(FLOOR, None, None)]
    assert_plain_chinese(findings, FLOOR)


def test_gbk_declared_936_is_gbk_even_when_one_word_is_valid_utf8():
    """``台`` in GBK (CC A8) is valid UTF-8 (U+0328, a combining mark): still GBK."""
    assert "台".encode("gbk").decode("utf-8") == "\u0328"
    data, handles = _with_texts([("台", "gbk")], "ANSI_936")
    drawing, findings = read_dxf(data, FLOOR)
    assert findings == []
    assert _texts(drawing) == {handles[0]: "台"}


@READERS
def test_utf8_strings_in_a_gbk_file_are_utf8(read):
    """A file declared ANSI_936 whose Chinese is GBK but where some strings were pasted
    as UTF-8 (m², a UTF-8 Chinese word): each string is read as what it is."""
    words = [
        ("阳台封闭", "gbk"),
        ("第1层", "gbk"),
        ("1楼", "gbk"),  # 楼 is C2 A5 in GBK: valid UTF-8 (¥), but stays GBK
        ("面积 m²", "utf-8"),
        ("建筑面积", "utf-8"),
    ]
    data, handles = _with_texts(words, "ANSI_936")
    drawing, findings = read(data, FLOOR)

    assert _texts(drawing) == dict(zip(handles, [w for w, _ in words], strict=True))
    assert drawing.encoding == "gbk"
    assert codes(findings) == ["DXF-008"]
    assert places(findings, "DXF-008") == [(FLOOR, None, None)]
    assert_plain_chinese(findings, FLOOR)


def test_encoding_choice_for_the_contract_rules():
    latin, _ = _with_texts([("m²", "utf-8")], "ANSI_1252")
    choice = choose_encoding(latin, "AC1015", "ANSI_1252")
    assert (choice.actual, choice.mixed) == ("utf-8", False) and choice.reason
    gbk, _ = _with_texts([("阳台封闭", "gbk")], "ANSI_936")
    assert choose_encoding(gbk, "AC1015", "ANSI_936").reason is None


# ----------------------------------------------------------------------- repairs, named


def _repaired_parcel():
    """Recover mode removes three entities: two INSERTs of a block that is gone (one on
    the contract layer JZD, one on a title-block layer TK) and an ELLIPSE without a major
    axis on ZD; the LINE stays."""
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    block = doc.blocks.new("GONE")
    block.add_circle((0, 0), 1)
    on_jzd = msp.add_blockref("GONE", (1, 1), dxfattribs={"layer": "JZD"})
    on_tk = msp.add_blockref("GONE", (2, 2), dxfattribs={"layer": "TK"})
    ellipse = msp.add_ellipse((0, 0), (5, 0), 0.5, dxfattribs={"layer": "ZD"})
    line = msp.add_line((0, 0), (1, 1), dxfattribs={"layer": "ZD"})
    data = written(doc).replace(b"GONE", b"GONX", 2)  # the block record and block renamed
    data = data.replace(b" 11\n5.0\n 21\n0.0\n", b" 11\n0.0\n 21\n0.0\n")  # axis (0, 0)
    return data, on_jzd.dxf.handle, on_tk.dxf.handle, ellipse.dxf.handle, line.dxf.handle


def test_every_entity_the_repair_removed_is_named():
    data, on_jzd, on_tk, ellipse, line = _repaired_parcel()
    drawing, findings = read_dxf(data, PARCEL)

    assert drawing.readable
    assert list(drawing.shapes["handle"]) == [line]
    assert codes(findings) == ["DXF-002"] * 4
    assert sorted(places(findings, "DXF-002"), key=str) == sorted(
        [
            (PARCEL, None, None),  # what was repaired, counted by kind
            (PARCEL, "JZD", on_jzd),
            (PARCEL, "TK", on_tk),
            (PARCEL, "ZD", ellipse),
        ],
        key=str,
    )
    assert {f.severity for f in findings} == {"warning"}  # the reader reports; the check judges
    assert drawing.repairs and all(re.search(r"[\u4e00-\u9fff]", r) for r in drawing.repairs)
    assert_plain_chinese(findings, PARCEL)


def _judged(data: bytes, path: str, profile: Profile | None = None) -> dict[str | None, str]:
    """Severity by handle of the findings of reading ``data`` as the drawing at ``path``,
    once the check has judged the removals (schemas.drawings.lost_entities)."""
    drawing, findings = read_dxf(data, path)
    key = "parcel" if path == PARCEL else "floor:0001"
    pkg = Package(source="test", drawings={key: drawing})
    judged = lost_entities(findings, pkg, profile or load_profile())
    return {f.object.handle: f.severity for f in judged}


def test_a_removal_on_a_contract_layer_is_an_error():
    data, on_jzd, on_tk, ellipse, _ = _repaired_parcel()
    assert _judged(data, PARCEL) == {None: "warning", on_jzd: "error", on_tk: "warning", ellipse: "error"}


def test_a_removal_on_another_drawings_layer_is_a_warning():
    """ZD and JZD are the parcel drawing's layers, not a floor plan's."""
    data, *_ = _repaired_parcel()
    assert set(_judged(data, FLOOR).values()) == {"warning"}


def test_a_removal_on_a_layer_the_profile_renames_is_an_error():
    """A profile naming the boundary-point layer TK makes TK a contract layer, and JZD not."""
    data, on_jzd, on_tk, ellipse, _ = _repaired_parcel()
    renamed = load_profile().model_copy(deep=True)
    renamed.layers["JZD"] = "TK"
    assert _judged(data, PARCEL, renamed) == {None: "warning", on_jzd: "warning", on_tk: "error", ellipse: "error"}


def test_damaged_beyond_repair_counts_what_was_read_before():
    doc = ezdxf.new("R2000")
    msp = doc.modelspace()
    for i in range(10):
        msp.add_lwpolyline([(i, 0), (i + 1, 0), (i + 1, 1)], close=True, dxfattribs={"layer": "ZD"})
    data = written(doc)
    sixth = [m.start() for m in re.finditer(rb"\nLWPOLYLINE\n", data)][5]
    broken = data[:sixth] + data[sixth:].replace(b"\n 90\n", b"\nxx\n", 1)  # not a group code
    drawing, findings = read_dxf(broken, PARCEL)

    assert codes(findings) == ["DXF-001"]
    assert places(findings, "DXF-001") == [(PARCEL, None, None)]
    assert not drawing.readable
    assert 0 < drawing.entity_count < 10
    assert drawing.entity_count == len(drawing.shapes)
    assert str(drawing.entity_count) in findings[0].message
    assert_plain_chinese(findings, PARCEL)


def test_damaged_but_repairable_header_is_chinese():
    doc = ezdxf.new("R2000")
    doc.modelspace().add_lwpolyline([(0, 0), (1, 0), (1, 1)], close=True)
    data = written(doc)
    header_end = data.index(b"ENDSEC")
    damaged = (
        data[: data.rindex(b"\n", 0, header_end - 1) + 1] + data[header_end + len(b"ENDSEC\n") :]
    )
    drawing, findings = read_dxf(damaged, PARCEL)
    assert codes(findings) == ["DXF-002"]
    assert drawing.readable and len(drawing.shapes) == 1
    assert_plain_chinese(findings, PARCEL)
