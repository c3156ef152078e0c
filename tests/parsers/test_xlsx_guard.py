"""The workbook guard (parsers/xlsx_guard.py) in-process: every way of writing a cell
reference that calamine reads is judged as calamine places it, so ``preflight`` refuses
the sheet; only the sheets the reader chooses are scanned; a sheet not scanned is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import xlsx_guard
from parsers.report import _chosen_names
from parsers.xlsx_guard import WHY, preflight, sheet_key, sheet_verdict
from schemas.profile import Limits

LIMITS = Limits()
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
HEAD = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ROW1 = b'<row r="1"><c r="A1" t="inlineStr"><is><t>ZDDM</t></is></c></row>'


def sheet_xml(data: bytes, *, prolog: bytes = b"") -> bytes:
    return (
        HEAD + prolog + b"<worksheet " + NS + b"><sheetData>" + data + b"</sheetData></worksheet>"
    )


def workbook(
    path: Path,
    sheets: list[tuple[str, bytes]],
    *,
    states: dict[str, str] | None = None,
    folders: dict[str, str] | None = None,
    doctype: str = "",
) -> Path:
    """An xlsx of ``sheets`` (name, sheet XML), in that order."""
    states, folders = states or {}, folders or {}
    entries, rels = [], []
    for i, (name, _xml) in enumerate(sheets, 1):
        folder = folders.get(name, "worksheets")
        state = f' state="{states[name]}"' if name in states else ""
        entries.append(f'<sheet name="{name}" sheetId="{i}"{state} r:id="rId{i}"/>')
        kind = folder[:-1]
        rels.append(
            f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            f'relationships/{kind}" Target="{folder}/sheet{i}.xml"/>'
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?>'
            + doctype
            + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            + "".join(entries)
            + "</sheets></workbook>",
        )
        zf.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels)
            + "</Relationships>",
        )
        for i, (name, xml) in enumerate(sheets, 1):
            zf.writestr(f"xl/{folders.get(name, 'worksheets')}/sheet{i}.xml", xml)
    return path


def corner(attr: bytes) -> bytes:
    return ROW1 + b'<row r="1048576"><c ' + attr + b' t="inlineStr"><is><t>x</t></is></c></row>'


TOO_BIG = WHY["too_big"].format(rows=1_048_576, cols=16_384, limit=LIMITS.max_sheet_cells)


BYPASSES = [
    pytest.param(corner(b"r='XFD1048576'"), TOO_BIG, id="single-quotes"),
    pytest.param(corner(b'\tr="XFD1048576"'), TOO_BIG, id="tab-before-r"),
    pytest.param(corner(b'\nr="XFD1048576"'), TOO_BIG, id="newline-before-r"),
    pytest.param(corner(b'r = "XFD1048576"'), TOO_BIG, id="blanks-around-equals"),
    pytest.param(corner(b'r="xfd1048576"'), TOO_BIG, id="lower-case-column"),
    pytest.param(corner(b'r="XFD001048576"'), TOO_BIG, id="leading-zeros"),
    pytest.param(corner(b'r="XF&#68;1048576"'), TOO_BIG, id="character-reference"),
    pytest.param(
        b'<row r="1048576"><c r="A1048576"><v>1</v></c></row>' + ROW1,
        WHY["disorder"].format(row=1, before=1_048_576),
        id="rows-out-of-order",
    ),
    pytest.param(corner(b'r="XFE1"'), WHY["bad_ref"].format(ref="XFE1"), id="beyond-xfd"),
    pytest.param(
        corner(b'r="A1048577"'), WHY["bad_ref"].format(ref="A1048577"), id="beyond-last-row"
    ),
    pytest.param(
        b'<row r="1048576">' + b"<c><v>1</v></c>" * 16_385 + b"</row>",
        WHY["bad_ref"].format(ref="R1048576C16385"),
        id="unplaced-past-xfd",
    ),
]


@pytest.mark.parametrize(("data", "reason"), BYPASSES)
def test_each_bypass_form_is_refused(tmp_path: Path, data: bytes, reason: str) -> None:
    path = workbook(tmp_path / "r.xlsx", [("宗地", sheet_xml(data))])
    judged, refusal = preflight(path, LIMITS)
    assert refusal is None
    assert judged == {"宗地": reason}
    assert sheet_verdict(judged, "宗地") == reason


def test_a_dtd_in_a_sheet_is_refused(tmp_path: Path) -> None:
    prolog = b'<!DOCTYPE worksheet [<!ENTITY big "XFD1048576">]>'
    path = workbook(tmp_path / "r.xlsx", [("宗地", sheet_xml(corner(b'r="&big;"'), prolog=prolog))])
    judged, refusal = preflight(path, LIMITS)
    assert refusal is None and judged == {"宗地": WHY["dtd"]}


def test_a_dtd_in_the_workbook_refuses_the_whole_workbook(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "r.xlsx", [("宗地", sheet_xml(ROW1))], doctype="<!DOCTYPE workbook []>"
    )
    judged, refusal = preflight(path, LIMITS)
    assert judged == {} and refusal is not None
    assert refusal.code == "PKG-008" and refusal.object.file == "report.xlsx"
    assert WHY["dtd"] in refusal.message


def test_more_cell_elements_than_the_limit_are_refused(tmp_path: Path) -> None:
    limits = Limits(max_sheet_cells=100)
    data = b"".join(b'<row r="%d"><c><v>1</v></c></row>' % r for r in range(1, 102))
    path = workbook(tmp_path / "r.xlsx", [("宗地", sheet_xml(data))])
    judged, refusal = preflight(path, limits)
    assert refusal is None and judged == {"宗地": WHY["too_many"].format(limit=100)}


def test_a_plain_sheet_within_the_limit_is_readable(tmp_path: Path) -> None:
    data = ROW1 + b'<row r="2"><c r="A2"><v>1</v></c><c r="K2"><v>2</v></c></row>'
    path = workbook(tmp_path / "r.xlsx", [("宗地", sheet_xml(data))])
    assert preflight(path, LIMITS) == ({"宗地": None}, None)


# --------------------------------------------------------------------------- only the sheets read


def test_only_the_chosen_sheets_are_scanned(tmp_path: Path) -> None:
    """An extra sheet (not a sheet the reader reads) is neither scanned nor judged, even a
    bomb; a second sheet matching the same key, not chosen, neither."""
    bomb = sheet_xml(corner(b'r="XFD1048576"'))
    path = workbook(
        tmp_path / "r.xlsx",
        [("宗地", sheet_xml(ROW1)), ("原始记录", bomb), ("ZD", bomb), ("户", sheet_xml(ROW1))],
    )
    judged, refusal = preflight(path, LIMITS, choose=_chosen_names)
    assert refusal is None
    assert judged == {"宗地": None, "户": None}
    assert sheet_verdict(judged, "原始记录") == WHY["unjudged"]  # never read unjudged
    everything, _ = preflight(path, LIMITS)  # without a choice: every sheet
    assert everything["原始记录"] == TOO_BIG and everything["ZD"] == TOO_BIG


def test_the_choice_sees_hidden_and_skips_chart_sheets(tmp_path: Path) -> None:
    seen: list[list[tuple[str, bool]]] = []

    def choose(candidates: list[tuple[str, bool]]) -> set[str]:
        seen.append(candidates)
        return {n for n, _ in candidates}

    path = workbook(
        tmp_path / "r.xlsx",
        [
            ("宗地", sheet_xml(ROW1)),
            ("户", sheet_xml(ROW1)),
            ("图", sheet_xml(ROW1)),
            ("幢", sheet_xml(ROW1)),
        ],
        states={"户": "hidden", "幢": "veryHidden"},
        folders={"图": "chartsheets"},
    )
    judged, _ = preflight(path, LIMITS, choose=choose)
    assert seen == [[("宗地", False), ("户", True), ("幢", True)]]
    assert set(judged) == {"宗地", "户", "幢"}


def test_a_name_with_a_line_break_matches_calamines_name(tmp_path: Path) -> None:
    """expat turns a tab or line break written in a name into a blank, quick-xml keeps it:
    the sheet is found either way, and a refusal holds for both spellings."""
    path = workbook(tmp_path / "r.xlsx", [("宗地\t", sheet_xml(corner(b'r="XFD1048576"')))])
    judged, refusal = preflight(path, LIMITS, choose=_chosen_names)
    assert refusal is None and judged == {"宗地 ": TOO_BIG}
    assert sheet_verdict(judged, "宗地\t") == TOO_BIG
    assert sheet_key("a\r\nb") == sheet_key("a\nb") == sheet_key("a b") == "a b"


# --------------------------------------------------------------------------- the fast scan


def full_answer(xml: bytes, max_cells: int) -> tuple[int, int] | str:
    """The full parse's judgment of one sheet part: its rectangle, or why it is refused."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("s.xml", xml)
    with zipfile.ZipFile(buffer) as zf:
        try:
            return xlsx_guard._full_extent(zf, "s.xml", max_cells)
        except xlsx_guard._Refused as exc:
            return exc.reason


def assert_fast_is_exact(xml: bytes, max_cells: int = 1_000) -> tuple[int, int] | None:
    """The fast scan either steps aside (None) or gives the full parse's rectangle; it never
    answers for a sheet the full parse refuses."""
    fast = xlsx_guard._fast_extent(xml, max_cells)
    if fast is not None:
        assert fast == full_answer(xml, max_cells)
    return fast


@pytest.mark.parametrize(("data", "reason"), BYPASSES)
def test_the_fast_scan_steps_aside_for_every_bypass_form(data: bytes, reason: str) -> None:
    assert xlsx_guard._fast_extent(sheet_xml(data), LIMITS.max_sheet_cells) is None


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(sheet_xml(ROW1, prolog=b'<!DOCTYPE worksheet [<!ENTITY e "A1">]>'), id="dtd"),
        pytest.param(sheet_xml(ROW1 + b'<!-- <c r="A1"/> -->'), id="comment"),
        pytest.param(sheet_xml(ROW1 + b'<?pi <c r="A2"?>'), id="processing-instruction"),
        pytest.param(sheet_xml(b'<row r="1"><x:c r="A1"/></row>'), id="prefixed-cell"),
        pytest.param(
            sheet_xml(b'<row r="1"><c r="A1"><is><c r="B1"/></is></c></row>'), id="nested"
        ),
        pytest.param(sheet_xml(b'<row r="1"><c r="A1"/><c r="B1"></c ></row>'), id="blank-end-tag"),
        pytest.param(sheet_xml(b'<row r="01"><c r="A1"/></row>'), id="row-leading-zero"),
        pytest.param(sheet_xml(b'<row><c r="A1"/></row>'), id="row-without-r"),
        pytest.param(sheet_xml(b'<row r="1"><c r="A1" s=\'1\'/></row>'), id="single-quoted"),
        pytest.param(
            sheet_xml(ROW1).replace(b"<worksheet", b'<c r="ZZ9"/><worksheet'), id="bad-xml"
        ),
        pytest.param(
            sheet_xml(ROW1).replace(b"</worksheet>", b'<c r="XFD9"/></worksheet>'),
            id="cell-outside-sheetdata",
        ),
        pytest.param(
            b'<?xml version="1.0" encoding="cp037"?>' + sheet_xml(ROW1)[len(HEAD) :], id="encoding"
        ),
    ],
)
def test_the_fast_scan_steps_aside_off_the_common_form(xml: bytes) -> None:
    assert assert_fast_is_exact(xml) is None


def test_the_fast_scan_takes_what_openpyxl_writes(tmp_path: Path) -> None:
    """openpyxl's own sheet (the form of the L sample) goes the fast way, with the full
    parse's rectangle."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["编号", "面积", None, "备注"])
    for i in range(50):
        sheet.append([f"H{i}", i * 1.5, None, "x" if i % 3 else None])
    sheet["AB80"] = "far"
    book.save(tmp_path / "w.xlsx")
    with zipfile.ZipFile(tmp_path / "w.xlsx") as zf:
        xml = zf.read("xl/worksheets/sheet1.xml")
    assert assert_fast_is_exact(xml) == (80, 28)


_COLS = st.integers(1, 40)


@st.composite
def canonical_sheets(draw: st.DrawFn) -> bytes:
    """A sheet as the writers write it: rows in order, each cell ``<c r="A1" …>`` then
    a value, an inline string or nothing."""
    rows = sorted(draw(st.sets(st.integers(1, 60), max_size=8)))
    out = []
    for row in rows:
        cols = sorted(draw(st.sets(_COLS, max_size=5)))
        cells = []
        for col in cols:
            ref = _letters(col) + str(row)
            attrs = draw(st.sampled_from(["", ' s="1"', ' t="s"', ' s="2" t="inlineStr"']))
            body = draw(st.sampled_from(["/>", "><v>1</v></c>", "><is><t>x</t></is></c>", "></c>"]))
            cells.append(f'<c r="{ref}"{attrs}{body}')
        out.append(f'<row r="{row}" spans="1:5">' + "".join(cells) + "</row>")
    return sheet_xml("".join(out).encode())


def _letters(col: int) -> str:
    text = ""
    while col:
        col, rest = divmod(col - 1, 26)
        text = chr(65 + rest) + text
    return text


_MUTATIONS = [
    (b'r="', b"r='"),
    (b'r="', b'\tr="'),
    (b' r="', b'\nr="'),
    (b'r="', b'r = "'),
    (b'r="A', b'r="a'),
    (b'r="B', b'r="B0'),
    (b'r="C', b'r="&#67;'),
    (b'<c r="', b'<x:c r="'),
    (b'<c r="', b"<c "),
    (b"<v>1</v>", b'<v>1</v><c r="XFD1"/>'),
    (b"<is>", b'<is><c r="XFD1048576"/>'),
    (b"</c>", b"</c >"),
    (b"</sheetData>", b'</sheetData><c r="XFD9"/>'),
    (b"<sheetData>", b'<sheetData><!-- <c r="A1"/> -->'),
    (b"<sheetData>", b'<sheetData><?x <c r="XFD9"/>?>'),
    (b"<sheetData>", b'<sheetData><row r="9"><c r="Z9"/></row>'),
    (b'<row r="', b'<row r="0'),
    (b'<row r="', b"<row "),
    (b"<sheetData>", b"<x:sheetData>"),
    (b' s="1"', b' s="a>b"'),
    (b' s="1"', b" s='1'"),
    (b'"/>', b'" />'),
]


@settings(max_examples=300, deadline=None)
@given(
    canonical_sheets(),
    st.lists(st.tuples(st.sampled_from(_MUTATIONS), st.integers(0, 50)), max_size=3),
    st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=3)), max_size=2),
    st.integers(1, 400),
)
def test_the_fast_scan_steps_aside_or_agrees(
    xml: bytes,
    mutations: list[tuple[tuple[bytes, bytes], int]],
    splices: list[tuple[int, bytes]],
    max_cells: int,
) -> None:
    """On canonical sheets, and on them mutated (the bypass spellings, nesting, prefixes,
    comments, cells outside <sheetData>, random bytes), the fast scan either steps aside
    or gives exactly the full parse's answer; on an unmutated sheet it answers."""
    for (old, new), nth in mutations:
        hits = [i for i in range(len(xml)) if xml.startswith(old, i)]
        if hits:
            i = hits[nth % len(hits)]
            xml = xml[:i] + new + xml[i + len(old) :]
    for at, blob in splices:
        at %= len(xml) + 1
        xml = xml[:at] + blob + xml[at:]
    fast = assert_fast_is_exact(xml, max_cells)
    if not mutations and not splices and max_cells >= 400:
        assert fast is not None
