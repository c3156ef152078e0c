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
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from parsers.archive import Opened, declared_excess
from parsers.manifest import REPORT_DIR, REPORT_XLSX, Envelope, is_report_csv, report_form
from schemas.catalogue import make
from schemas.fields import SHEETS_BY_KEY, SHEETS_BY_NAME, Sheet, header_to_code
from schemas.findings import Finding, Place
from schemas.profile import Limits

ROW = "_row"
GUESS_ROWS = 10
MAX_SHEET_CELLS = 20_000_000  # calamine holds ~32 bytes per cell of the used rectangle
MAX_PART_BYTES = 1 << 30  # declared size of one XML part of the workbook, or of a CSV file

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
_BOTH = re.compile(r"^(?P<name>[^()（）]*?)\s*[（(]\s*(?P<code>[A-Za-z_]+)\s*[)）]$")
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)

_PART = {
    "unreadable": "report.xlsx（无法读取：{reason}）",
    "sheet": "report.xlsx 工作表「{sheet}」（无法读取：{reason}）",
    "csv": "{path}（无法读取：{reason}）",
}
_WHY = {
    "ole": "实为 XLS（Excel 97-2003）格式或已加密的工作簿，请另存为 xlsx",
    "text": "实为文本文件（如 CSV），不是 xlsx",
    "not_zip": "不是 xlsx 文件",
    "too_big": "范围过大（{rows} 行 × {cols} 列）",
    "part_big": "内部文件 {part} 过大",
    "file_big": "文件过大（超过 {limit} 字节）",
}
# PKG-007 reasons for a workbook over the package limits, by :class:`parsers.archive.Excess`
_OVER = {
    "entries": REPORT_XLSX + " 内部文件数 {count} 超过上限 {limit}",
    "member": REPORT_XLSX + " 内部文件 {path} 解压后大小超过上限 {limit} 字节",
    "ratio": REPORT_XLSX + " 内部文件 {path} 的压缩比超过上限 {limit}",
    "total": REPORT_XLSX + " 解压后总大小超过上限 {limit} 字节",
    "total_ratio": REPORT_XLSX + " 整体的压缩比超过上限 {limit}",
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
        part = _PART["csv"].format(path=where, reason=_describe(exc))
        return {}, None, [make("PKG-008", Place(file=where), part=part)]
    return {}, None, []


def match_sheet(name: str) -> tuple[str, int] | None:
    """The sheet key a sheet (or CSV file stem) name stands for, with a match rank.

    Rank 0: the Chinese name exactly; 1: the name trimmed, or the English key (any
    case); 2: a registration-database table name (``ZRZ``, ``H`` …, any case) or the
    ``名称(CODE)`` form. None for other sheets.
    """
    if name in SHEETS_BY_NAME:
        return SHEETS_BY_NAME[name].key, 0
    text = name.strip()
    if text in SHEETS_BY_NAME:
        return SHEETS_BY_NAME[text].key, 1
    if text.lower() in SHEETS_BY_KEY:
        return text.lower(), 1
    if text.upper() in SHEET_ALIASES:
        return SHEET_ALIASES[text.upper()], 2
    m = _BOTH.match(text)
    if m:
        for part in (m.group("name").strip(), m.group("code").upper()):
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


# --------------------------------------------------------------------------- xlsx


def _read_xlsx(
    opened: Opened, limits: Limits
) -> tuple[dict[str, pd.DataFrame], str | None, list[Finding]]:
    path = opened.path(REPORT_XLSX)
    assert path is not None
    place = Place(file=REPORT_XLSX)
    why = _sniff_not_xlsx(path)
    if why:
        return {}, None, [make("PKG-008", place, part=_PART["unreadable"].format(reason=why))]
    parts, refusal = _preflight(path, limits)
    if refusal:
        return {}, None, [refusal]
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        return (
            {},
            None,
            [make("PKG-008", place, part=_PART["unreadable"].format(reason=_describe(exc)))],
        )

    tables: dict[str, pd.DataFrame] = {}
    findings: list[Finding] = []
    with wb:
        meta = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        hidden = {m.name: m.visible != SheetVisibleEnum.Visible for m in meta}
        chosen = _choose([(m.name, hidden[m.name]) for m in meta])
        for key, (name, others) in chosen.items():
            sheet_place = Place(file=REPORT_XLSX, sheet=name)
            too_big = parts.get(name)
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
                        part=_PART["sheet"].format(sheet=name, reason=_describe(exc)),
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


def _sniff_not_xlsx(path: Any) -> str | None:
    """A reason when the bytes are plainly not an xlsx (a zip)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return _describe(exc)
    if head.startswith(b"PK"):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return _WHY["ole"]
    if head and all(b >= 0x09 for b in head[:8]):
        return _WHY["text"]
    return _WHY["not_zip"]


def _preflight(path: Any, limits: Limits) -> tuple[dict[str, str], Finding | None]:
    """Sheets too large to hand to calamine: sheet name -> reason; or the one finding
    (PKG-007 over the limits, PKG-008 unreadable) that refuses the whole workbook.

    Judges the sizes the zip declares, reads the workbook's own XML (sheet name -> part),
    then scans each sheet's XML for the bounding box of the cells holding a value,
    without building the sheet.
    """
    place = Place(file=REPORT_XLSX)

    def unreadable(reason: str) -> Finding:
        return make("PKG-008", place, part=_PART["unreadable"].format(reason=reason))

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        return {}, unreadable(_describe(exc))
    out: dict[str, str] = {}
    with zf:
        over = _over_limits(zf.infolist(), limits)
        if over:
            return {}, make("PKG-007", place, reason=over)
        names = set(zf.namelist())
        for info in zf.infolist():
            if info.file_size > MAX_PART_BYTES:
                return {}, unreadable(_WHY["part_big"].format(part=info.filename))
        try:
            sheets = _sheet_parts(zf, names)
        except (ElementTree.ParseError, KeyError, ValueError):
            return {}, None  # leave the diagnosis to calamine
        for name, part in sheets.items():
            try:
                rows, cols = _extent(zf, part)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
                continue  # calamine will say what is wrong
            if rows * cols > MAX_SHEET_CELLS:
                out[name] = _WHY["too_big"].format(rows=rows, cols=cols)
    return out, None


def _over_limits(infos: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """A PKG-007 reason when the workbook's declared contents break the package limits."""
    if len(infos) > limits.max_entries:
        return _OVER["entries"].format(count=len(infos), limit=limits.max_entries)
    excess = declared_excess(((i.filename, i.file_size, i.compress_size) for i in infos), limits)
    if excess is None:
        return None
    return _OVER[excess.kind].format(path=excess.path, limit=excess.limit)


_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_parts(zf: zipfile.ZipFile, names: set[str]) -> dict[str, str]:
    """Sheet name -> zip part of its XML, from workbook.xml and its relationships."""
    wb_part = "xl/workbook.xml"
    rels_part = "xl/_rels/workbook.xml.rels"
    if wb_part not in names or rels_part not in names:
        return {}
    targets: dict[str | None, str] = {}
    for rel in ElementTree.fromstring(zf.read(rels_part)):
        target = rel.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
        targets[rel.get("Id")] = part
    out: dict[str, str] = {}
    for el in ElementTree.fromstring(zf.read(wb_part)).iter():
        if el.tag.rsplit("}", 1)[-1] == "sheet":
            found = targets.get(el.get(_NS_REL))
            if found in names:
                out[el.get("name", "")] = found
    return out


# cell references (``r="B7"``; row tags carry digits only), and cell tags of any kind
_REF = re.compile(rb' r="([A-Z]{1,3})([0-9]{1,7})"')
_TOKEN = re.compile(rb"<(?:\w+:)?(row|c)\b([^>]*)>")
_REF_ATTR = re.compile(rb'\sr="([A-Z]{0,3})([0-9]{0,7})"')


def _chunks(zf: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    """The part's bytes in large pieces, each cut just before a tag."""
    tail = b""
    with zf.open(part) as fh:
        while True:
            chunk = fh.read(1 << 22)
            buf = tail + chunk
            if not chunk:
                if buf:
                    yield buf
                return
            cut = buf.rfind(b"<")
            body, tail = (buf[:cut], buf[cut:]) if cut > 0 else (buf, b"")
            yield body


def _extent(zf: zipfile.ZipFile, part: str) -> tuple[int, int]:
    """Rows and columns of the bounding box of a sheet's cells (an upper bound).

    Fast path: every cell carries its reference. Cells placed by position (no ``r``,
    allowed by OOXML) need a second, sequential pass. Cells without a value count too,
    which only makes the bound safer.
    """
    max_row = max_col = 0
    unplaced = 0
    for body in _chunks(zf, part):
        refs = _REF.findall(body)
        if refs:
            cols, rows = {r[0] for r in refs}, {r[1] for r in refs}
            max_col = max(max_col, max(_column_number(c) for c in cols))
            max_row = max(max_row, int(max(rows, key=lambda b: (len(b), b))))
        tags = body.count(b"<c ") + body.count(b"<c>")
        if b":c" in body:  # namespace-prefixed tags (rare)
            tags += body.count(b":c ") + body.count(b":c>")
        unplaced += tags - len(refs)
    if unplaced <= 0:
        return max_row, max_col
    max_row = max_col = row = col = 0
    for body in _chunks(zf, part):
        for m in _TOKEN.finditer(body):
            ref = _REF_ATTR.search(m.group(2))
            if m.group(1) == b"row":
                row = int(ref.group(2)) if ref and ref.group(2) else row + 1
                col = 0
                continue
            col = _column_number(ref.group(1)) if ref and ref.group(1) else col + 1
            if ref and ref.group(2):
                row = int(ref.group(2))
            max_row, max_col = max(max_row, row), max(max_col, col)
    return max_row, max_col


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n


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
            reason = _WHY["file_big"].format(limit=MAX_PART_BYTES)
            findings.append(
                make("PKG-008", place, part=_PART["csv"].format(path=rel, reason=reason))
            )
            continue
        try:
            assert file_path is not None
            text, encoding = decode_text(file_path.read_bytes())
            rows = list(csv.reader(io.StringIO(text, newline="")))
        except (OSError, csv.Error, AssertionError) as exc:
            reason = _describe(exc)
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
    for j, raw in enumerate(rows[0] if rows else []):
        code = header_to_code(sheet, text(raw))
        if code and code not in columns:
            columns[code] = j
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
    return df.reset_index(drop=True)


def _long_form_frame(
    sheet: Sheet, rows: list[list[Any]], text: Callable[[Any], str | None]
) -> pd.DataFrame:
    header = [(text(v) or "").upper() for v in rows[0]] if rows else []
    f_col = next((j for j, h in enumerate(header) if h in _LONG_FORM_FIELD), 0)
    v_col = next((j for j, h in enumerate(header) if h in _LONG_FORM_VALUE), f_col + 1)
    # row 1 already a field row (header left out): read it as data rather than lose it
    first = 0 if rows and header_to_code(sheet, _cell(rows[0], f_col, text)) else 1
    out: dict[str, list[Any]] = {"field": [], "value": [], ROW: []}
    for i in range(first, len(rows)):
        code = header_to_code(sheet, _cell(rows[i], f_col, text))
        if code is None:
            continue
        out["field"].append(code)
        out["value"].append(_cell(rows[i], v_col, text))
        out[ROW].append(i + 1)
    return pd.DataFrame(
        {
            "field": pd.Series(out["field"], dtype="object"),
            "value": pd.Series(out["value"], dtype="object"),
            ROW: pd.Series(out[ROW], dtype="int64"),
        }
    )


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
    m = _EXCEL_TEXT.match(text)
    if m:
        text = m.group(1).strip()
    return text or None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
