"""Read the unified report (多表合一): ``report.xlsx`` or ``report/<sheet name>.csv``.

The report parser turns sheets into frames of raw text cells, as ``schemas.package``
documents them, and judges nothing: whether a sheet or column is missing, or a value
cannot be read as its type, is for the table schemas (RPT rules).

Frames
------
One per sheet found, keyed by the sheet key of :mod:`schemas.fields`. Columns: one per
standard field code recognised in the header (row 1), in header order, cells ``str`` or
``None``, plus ``_row`` (the row a person sees; header = 1). Extra columns are dropped.
A row whose recognised cells are all empty is skipped. The long-form 项目信息 sheet
has columns ``field`` (code), ``value``, ``_row``; unknown 字段 rows are dropped.

``df.attrs`` holds diagnostics for the schema stage: ``sheet_name`` (as written),
``source`` (``report.xlsx`` or ``report/<name>.csv``), ``headers`` (row 1 as text),
``columns`` (field code → (its header as written, its Excel column letter); for the
long-form sheet the 字段 text as written and the letter of the 值 column),
``header_guess_row`` (the first of the first 10 rows that maps at least half of the
required fields, or None; not 1 means the header is not where the contract puts it),
``hidden`` (xlsx), ``encoding`` (csv), ``also_matched`` (other sheets that matched the
same key and were not read) and ``merged_filled`` (vertical merges filled down).

Decisions
---------
* A report that cannot be read at all (corrupt, XLS or CSV bytes named ``.xlsx``,
  encrypted) is ONE finding, PKG-008 with part ``report.xlsx（无法读取：…）``, and the
  form returned is None. The schema stage must not add RPT-001 per sheet when the form
  is None: the report's absence or unreadability has been said once (PKG-008).
  A single sheet that cannot be read is likewise PKG-008 for that sheet.
* Both forms present: ``report.xlsx`` is read (and :func:`parsers.manifest.missing_parts`
  says so).
* Cells of a vertically merged range (e.g. one 自然幢号 over the rows of its units) are
  filled down with the range's value, as a person reads them; horizontal spans and
  merges in the header row are not filled.
* Number cells are rendered as Excel shows them in General format: integers without
  ``.0``, otherwise the shortest form, at most 15 significant digits (Excel's display
  precision, so that float noise of formulas, ``88.11999999999999``, reads ``88.12``),
  never in exponent form.
* CSV: UTF-8 (BOM or not), UTF-16 with a BOM, else GB18030/GBK (as Excel on Chinese
  Windows writes it), else UTF-8 with replacement characters; no finding is made for
  the encoding (the values themselves are judged later). A cell written ``="0701"``
  (the Excel trick to keep leading zeros) reads ``0701``.
* A sheet whose used range is larger than :data:`MAX_SHEET_CELLS` is not handed to
  calamine (which allocates the whole rectangle: three cells at A1, XFD1 and A30000
  cost 15 GB) and is PKG-008 for that sheet.
* An xlsx is itself a zip: before calamine opens it, the sizes its central directory
  declares are held to the limits the package was opened under (the profile's), as the
  package's own entries are (:func:`parsers.archive.declared_excess`: entry count, size
  of each part and of all, compression ratio). A workbook over them is not read: one
  PKG-007 naming the part, as for a bomb in the package zip, and no PKG-008 on top.
  Declared sizes are what bounds reading: Python's zip reader and calamine's both stop
  at a part's declared size (a part that inflates further is an error, so that sheet
  is PKG-008).
* A CSV cell may be as long as a part may be (:data:`MAX_PART_BYTES`, not Python's
  default of 131 072 characters) and is judged by its column like any other; a CSV
  file larger than that is PKG-008.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from parsers.archive import Opened
from parsers.manifest import REPORT_DIR, REPORT_XLSX, Envelope, is_report_csv, report_form
from parsers.xlsx_guard import (
    MAX_PART_BYTES,
    WHY,
    describe,
    preflight,
    sheet_verdict,
    sniff_not_xlsx,
)
from schemas.catalogue import make
from schemas.fields import (
    MAX_NAME_CHARS,
    SHEETS_BY_KEY,
    SHEETS_BY_NAME,
    Sheet,
    header_to_code,
    split_name_code,
)
from schemas.findings import Finding, Place
from schemas.profile import Limits

ROW = "_row"
GUESS_ROWS = 10

# Registration-database table names and pinyin initials also accepted as sheet names.
SHEET_ALIASES: dict[str, str] = {
    "XMXX": "project",
    "ZDJBXX": "parcel",
    "ZD": "parcel",
    "JZD": "boundary_point",
    "JZX": "boundary_line",
    "ZRZ": "building",
    "C": "floor",
    "H": "unit",
    "GYBW": "shared_part",
    "GHZB": "planning_indicator",
    "TR": "setback",
}
_LONG_FORM_FIELD = {"字段", "FIELD"}
_LONG_FORM_VALUE = {"值", "VALUE"}

_PART = {
    "unreadable": "report.xlsx（无法读取：{reason}）",
    "sheet": "report.xlsx 工作表「{sheet}」（无法读取：{reason}）",
    "csv": "{path}（无法读取：{reason}）",
}
# --------------------------------------------------------------------------- entry point


def read_report(
    opened: Opened, envelope: Envelope | None = None
) -> tuple[dict[str, pd.DataFrame], str | None, list[Finding]]:
    """Read the report of an opened package.

    Parameters
    ----------
    opened
        The opened package; the limits it was opened under (``opened.limits``) are also
        held to the workbook's own parts (PKG-007).
    envelope
        Its envelope when read already (:func:`parsers.manifest.read_envelope`): the
        report's form is taken from it instead of being found again.

    Returns
    -------
    tables, form, findings
        Frames by sheet key (only the sheets found); ``"xlsx"``, ``"csv"`` or None (no
        report, or a report that cannot be read, see the module notes); PKG-008 findings
        for a report or sheet that cannot be read, PKG-007 for a workbook over the limits.
        Never raises for bad input.
    """
    if opened.root is None:
        return {}, None, []
    form = envelope.report_form if envelope is not None else report_form(opened)
    try:
        if form in ("xlsx", "both"):
            if REPORT_XLSX not in opened.files:  # present but not extracted: said already
                return {}, None, []
            return _read_xlsx(opened, opened.limits)
        if form == "csv":
            return _read_csv(opened)
    except Exception as exc:  # a parser never stops the run
        where = REPORT_XLSX if form != "csv" else REPORT_DIR
        part = _PART["csv"].format(path=where, reason=describe(exc))
        return {}, None, [make("PKG-008", Place(file=where), part=part)]
    return {}, None, []


def match_sheet(name: str) -> tuple[str, int] | None:
    """The sheet key a sheet (or CSV file stem) name stands for, with a match rank.

    Rank 0: the Chinese name exactly; 1: the name trimmed, or the English key (any
    case); 2: a registration-database table name (``ZRZ``, ``H`` …, any case) or the
    ``名称(CODE)`` form. None for other sheets, and for a name longer than
    :data:`schemas.fields.MAX_NAME_CHARS` (Excel allows 31 characters; a CSV file stem
    may be longer): such a sheet is not read, and RPT-001 says its sheet is missing.
    """
    if len(name) > MAX_NAME_CHARS:
        return None
    if name in SHEETS_BY_NAME:
        return SHEETS_BY_NAME[name].key, 0
    text = name.strip()
    if text in SHEETS_BY_NAME:
        return SHEETS_BY_NAME[text].key, 1
    if text.lower() in SHEETS_BY_KEY:
        return text.lower(), 1
    if text.upper() in SHEET_ALIASES:
        return SHEET_ALIASES[text.upper()], 2
    both = split_name_code(text, digits=False)
    if both:
        for part in (both[0], both[1].upper()):
            if part in SHEETS_BY_NAME:
                return SHEETS_BY_NAME[part].key, 2
            if part in SHEET_ALIASES:
                return SHEET_ALIASES[part], 2
    return None


def _choose(candidates: Sequence[tuple[str, bool]]) -> dict[str, tuple[str, list[str]]]:
    """Key -> (chosen name, other names) from ``(name, hidden)`` in workbook order.

    The best rank wins, then a visible sheet over a hidden one, then workbook order.
    """
    ranked: dict[str, list[tuple[int, int, int, str]]] = {}
    for order, (name, hidden) in enumerate(candidates):
        hit = match_sheet(name)
        if hit:
            ranked.setdefault(hit[0], []).append((hit[1], int(hidden), order, name))
    out = {}
    for key, items in ranked.items():
        items.sort()
        out[key] = (items[0][3], [i[3] for i in items[1:]])
    return out


def _chosen_names(candidates: Sequence[tuple[str, bool]]) -> set[str]:
    """The names of the sheets :func:`_choose` picks: the only ones read."""
    return {name for name, _others in _choose(candidates).values()}


# --------------------------------------------------------------------------- xlsx


def _read_xlsx(
    opened: Opened, limits: Limits
) -> tuple[dict[str, pd.DataFrame], str | None, list[Finding]]:
    path = opened.path(REPORT_XLSX)
    assert path is not None
    place = Place(file=REPORT_XLSX)
    why = sniff_not_xlsx(path)
    if why:
        return {}, None, [make("PKG-008", place, part=_PART["unreadable"].format(reason=why))]
    # only the sheets this reader will read are scanned (calamine reads no other)
    judged, refusal = preflight(path, limits, choose=_chosen_names)
    if refusal:
        return {}, None, [refusal]
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        return (
            {},
            None,
            [make("PKG-008", place, part=_PART["unreadable"].format(reason=describe(exc)))],
        )

    tables: dict[str, pd.DataFrame] = {}
    findings: list[Finding] = []
    with wb:
        meta = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        hidden = {m.name: m.visible != SheetVisibleEnum.Visible for m in meta}
        chosen = _choose([(m.name, hidden[m.name]) for m in meta])
        for key, (name, others) in chosen.items():
            sheet_place = Place(file=REPORT_XLSX, sheet=name)
            too_big = sheet_verdict(judged, name)
            if too_big:
                findings.append(
                    make(
                        "PKG-008",
                        sheet_place,
                        part=_PART["sheet"].format(sheet=name, reason=too_big),
                    )
                )
                continue
            try:
                ws = wb.get_sheet_by_name(name)
                rows = ws.to_python(skip_empty_area=False)
                merges = _safe_merges(ws)
                del ws  # free calamine's copy of the sheet before building the frame
            except Exception as exc:
                findings.append(
                    make(
                        "PKG-008",
                        sheet_place,
                        part=_PART["sheet"].format(sheet=name, reason=describe(exc)),
                    )
                )
                continue
            filled = _fill_merged_down(rows, merges)
            df = _frame(SHEETS_BY_KEY[key], rows, cell_text)
            del rows  # one sheet in memory at a time
            df.attrs.update(
                sheet_name=name,
                source=REPORT_XLSX,
                hidden=hidden[name],
                also_matched=others,
                merged_filled=filled,
            )
            tables[key] = df
    return tables, "xlsx", findings


def _safe_merges(ws: Any) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    try:
        return list(ws.merged_cell_ranges or [])
    except Exception:
        return []


def _fill_merged_down(
    rows: list[list[Any]], merges: list[tuple[tuple[int, int], tuple[int, int]]]
) -> int:
    """Fill vertically merged data cells with the range's value; returns ranges filled."""
    filled = 0
    for (r0, c0), (r1, _c1) in merges:
        if r0 < 1 or r1 <= r0 or r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
            if c0 < len(rows[r]) and rows[r][c0] in ("", None):
                rows[r][c0] = value
        filled += 1
    return filled


# --------------------------------------------------------------------------- csv


def _read_csv(opened: Opened) -> tuple[dict[str, pd.DataFrame], str | None, list[Finding]]:
    paths = sorted(p for p in opened.files if is_report_csv(p))
    stems = {p[len(REPORT_DIR) : p.rfind(".")]: p for p in paths}
    chosen = _choose([(stem, False) for stem in stems])
    tables: dict[str, pd.DataFrame] = {}
    findings: list[Finding] = []
    _allow_long_cells()
    for key, (stem, others) in chosen.items():
        rel = stems[stem]
        file_path = opened.path(rel)
        # the sheet named, so the schema stage adds no RPT-001 on top of the PKG-008
        place = Place(file=rel, sheet=stem)
        if opened.files.get(rel, 0) > MAX_PART_BYTES:
            reason = WHY["file_big"].format(limit=MAX_PART_BYTES)
            findings.append(
                make("PKG-008", place, part=_PART["csv"].format(path=rel, reason=reason))
            )
            continue
        try:
            assert file_path is not None
            text, encoding = decode_text(file_path.read_bytes())
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except (OSError, csv.Error, AssertionError) as exc:
            reason = describe(exc)
            findings.append(
                make("PKG-008", place, part=_PART["csv"].format(path=rel, reason=reason))
            )
            continue
        df = _frame(SHEETS_BY_KEY[key], rows, csv_text)
        df.attrs.update(
            sheet_name=stem, source=rel, encoding=encoding, also_matched=[stems[o] for o in others]
        )
        tables[key] = df
    return tables, "csv", findings


def _allow_long_cells() -> None:
    """Let a CSV cell be as long as a whole part may be.

    Python's ``csv`` refuses a field over 131 072 characters by default, which made a long
    pasted note an unreadable sheet. The limit is process-wide: it is only ever raised,
    to one fixed bound, so concurrent readers cannot lower it for each other.
    """
    if csv.field_size_limit() < MAX_PART_BYTES:
        csv.field_size_limit(MAX_PART_BYTES)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030
    (a superset of GBK), else UTF-8 with replacement characters. Returns (text, encoding)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace"), "utf-8 (replaced)"


# --------------------------------------------------------------------------- frames


def _frame(sheet: Sheet, rows: list[list[Any]], text: Callable[[Any], str | None]) -> pd.DataFrame:
    if sheet.long_form:
        df = _long_form_frame(sheet, rows, text)
    else:
        df = _wide_frame(sheet, rows, text)
    headers = [text(v) for v in rows[0]] if rows else []
    while headers and headers[-1] is None:
        headers.pop()
    df.attrs["headers"] = headers
    df.attrs["header_guess_row"] = _guess_header_row(sheet, rows, text)
    return df


def _wide_frame(
    sheet: Sheet, rows: list[list[Any]], text: Callable[[Any], str | None]
) -> pd.DataFrame:
    columns: dict[str, int] = {}
    written: dict[str, tuple[str, str]] = {}
    for j, raw in enumerate(rows[0] if rows else []):
        header = text(raw)
        code = header_to_code(sheet, header)
        if code and code not in columns:
            columns[code] = j
            written[code] = (header or code, column_letter(j))
    data = rows[1:]
    frame: dict[str, Any] = {
        code: pd.Series([text(r[j]) if j < len(r) else None for r in data], dtype="object")
        for code, j in columns.items()
    }
    frame[ROW] = pd.Series(np.arange(2, len(data) + 2, dtype="int64"))
    df = pd.DataFrame(frame, columns=[*columns, ROW])
    if columns:
        df = df[df[list(columns)].notna().any(axis=1)]
    else:
        df = df.iloc[0:0]
    df = df.reset_index(drop=True)
    df.attrs["columns"] = written
    return df


def _long_form_frame(
    sheet: Sheet, rows: list[list[Any]], text: Callable[[Any], str | None]
) -> pd.DataFrame:
    header = [(text(v) or "").upper() for v in rows[0]] if rows else []
    f_col = next((j for j, h in enumerate(header) if h in _LONG_FORM_FIELD), 0)
    v_col = next((j for j, h in enumerate(header) if h in _LONG_FORM_VALUE), f_col + 1)
    # row 1 already a field row (header left out): read it as data rather than lose it
    first = 0 if rows and header_to_code(sheet, _cell(rows[0], f_col, text)) else 1
    out: dict[str, list[Any]] = {"field": [], "value": [], ROW: []}
    written: dict[str, tuple[str, str]] = {}
    for i in range(first, len(rows)):
        label = _cell(rows[i], f_col, text)
        code = header_to_code(sheet, label)
        if code is None:
            continue
        written.setdefault(code, (label or code, column_letter(v_col)))
        out["field"].append(code)
        out["value"].append(_cell(rows[i], v_col, text))
        out[ROW].append(i + 1)
    df = pd.DataFrame(
        {
            "field": pd.Series(out["field"], dtype="object"),
            "value": pd.Series(out["value"], dtype="object"),
            ROW: pd.Series(out[ROW], dtype="int64"),
        }
    )
    df.attrs["columns"] = written  # a field's cell: its value column, in its own row
    return df


def column_letter(j: int) -> str:
    """The Excel column letters of the 0-based column ``j`` (a CSV opened in Excel shows
    the same): 0 → ``A``, 25 → ``Z``, 26 → ``AA``, 16383 → ``XFD``."""
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _cell(row: list[Any], j: int, text: Callable[[Any], str | None]) -> str | None:
    return text(row[j]) if j < len(row) else None


def _guess_header_row(
    sheet: Sheet, rows: list[list[Any]], text: Callable[[Any], str | None]
) -> int | None:
    """The first of the first rows that looks like the header, or None."""
    required = {f.code for f in sheet.fields if f.required}
    for i, row in enumerate(rows[:GUESS_ROWS]):
        cells = [text(v) for v in row]
        if sheet.long_form:
            upper = {(c or "").upper() for c in cells}
            if upper & _LONG_FORM_FIELD and upper & _LONG_FORM_VALUE:
                return i + 1
            continue
        found = {header_to_code(sheet, c) for c in cells} & required
        if required and 2 * len(found) >= len(required):
            return i + 1
    return None


# --------------------------------------------------------------------------- cells


def cell_text(value: Any) -> str | None:
    """One calamine cell as the text a person sees (see the module notes).

    >>> [cell_text(v) for v in (3.0, 88.12, "  0701 ", "", True, dt.date(2022, 5, 6))]
    ['3', '88.12', '0701', None, 'TRUE', '2022-05-06']
    """
    t = type(value)
    if t is str:
        return value.strip() or None
    if t is float:
        return _number_text(value)
    if value is None:
        return None
    if t is bool:
        return "TRUE" if value else "FALSE"
    if t is int:
        return str(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip() or None


def _number_text(value: float) -> str:
    if value.is_integer() and -1e15 < value < 1e15:
        return str(int(value))
    text = repr(value)
    if len(text) > 16 or "e" in text:
        if value != value or value in (float("inf"), float("-inf")):
            return text
        text = np.format_float_positional(float(f"{value:.15g}"), trim="-")
    return text


def csv_text(value: str) -> str | None:
    """One CSV cell: stripped, ``="0701"`` unwrapped, empty -> None."""
    text = value.strip()
    if len(text) >= 3 and text.startswith('="') and text.endswith('"'):
        text = text[2:-1].strip()
    return text or None
