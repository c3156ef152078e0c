"""The workbook guard (parsers/xlsx_guard.py) in-process: every way of writing a cell
reference that calamine reads is judged as calamine places it, so ``preflight`` refuses
the sheet; only the sheets the reader chooses are scanned; a sheet not scanned is refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    ("data", "reason"),
    [
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
    ],
)
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
