"""Bound a workbook before a reader opens it: the sizes its zip declares, and the rectangle
calamine would allocate for each sheet, judged without building any sheet.

calamine allocates the whole used rectangle of a sheet (three cells at A1, XFD1 and A30000
cost 15 GB), so a sheet whose rectangle is larger than the profile's ``max_sheet_cells`` is
never handed to it. The workbook's own zip is held to the package limits
(:func:`parsers.archive.declared_excess`).

How calamine (0.9 of python-calamine) places a cell, and so how it is judged here:

* the sheet's XML is read by an XML parser (quick-xml, empty elements expanded): here by
  expat, so quoting (``r='A1'``), white space around ``=`` and before an attribute, and
  character references are read as any XML parser reads them — never by a pattern;
* a cell is ``<c>`` under any prefix; its position is its attribute named exactly ``r``
  (a prefixed ``x:r`` is not it), read as letters then digits, either case, leading zeros
  allowed; without ``r`` a cell follows the one before it in its row, a row without
  ``r`` the row before it;
* the rectangle runs from the first cell's row to the last cell's row (calamine assumes
  rows in order: rows out of order make it wrap round and ask for 2^32 rows), and over
  the columns of all cells; ``<dimension ref>`` is only a capacity hint below 100 000;
* the sheet's part is found through ``xl/_rels/workbook.xml.rels``, zip names compared
  without regard to case;
* calamine reads a sheet only when asked for it by name (``get_sheet_by_name``; opening
  the workbook reads workbook.xml, relationships, shared strings and styles, never a
  sheet): so only the sheets the report reader will read are scanned, chosen by the
  reader's own rule (``choose``) over the names workbook.xml gives. A sheet's name is
  compared as :func:`sheet_key` makes it (expat turns tab, line feed and carriage return
  in an attribute into blanks, quick-xml keeps them), and a sheet the scan did not judge
  is refused by :func:`sheet_verdict`, never read.

Anything this reading cannot be sure of is refused, never waved through: a sheet whose XML
expat rejects (calamine is more lenient), a reference that is not letters then digits or
is beyond Excel's 1 048 576 rows × 16 384 columns, rows out of order, more cell elements
than the limit allows, a DOCTYPE. The scan stops as soon as a sheet is judged, so it costs
at most ``max_sheet_cells`` cells' worth of parsing.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Collection, Iterator
from typing import Any, NamedTuple
from xml.parsers import expat

import numpy as np

from parsers.archive import declared_excess
from parsers.manifest import REPORT_XLSX
from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.profile import Limits

MAX_SHEET_CELLS = Limits().max_sheet_cells  # the default; the profile's limit is what is used
MAX_PART_BYTES = 1 << 30  # declared size of one XML part of the workbook, or of a CSV file
EXCEL_ROWS = 1_048_576
EXCEL_COLS = 16_384
ELEMENTS_PER_CELL = 8  # elements a scan may meet per allowed cell (c, v, is, t, r, rPr …)
_READ = 1 << 20
FAST_PART_BYTES = 64 << 20  # a sheet part larger than this is judged by the full parse
_NOT_WORKSHEETS = {"chartsheets", "dialogsheets", "macrosheets"}

#: the reader's choice: worksheets as (name, hidden) in workbook order -> the names it reads
Choose = Callable[[list[tuple[str, bool]]], Collection[str]]

UNREADABLE = "report.xlsx（无法读取：{reason}）"
WHY = {
    "ole": "实为 XLS（Excel 97-2003）格式或已加密的工作簿，请另存为 xlsx",
    "text": "实为文本文件（如 CSV），不是 xlsx",
    "not_zip": "不是 xlsx 文件",
    "too_big": "范围过大（{rows} 行 × {cols} 列，超过上限 {limit} 个单元格）",
    "part_big": "内部文件 {part} 过大",
    "file_big": "文件过大（超过 {limit} 字节）",
    "bad_ref": "单元格位置 {ref} 无效（应为列字母加行号，且不超过 XFD1048576）",
    "disorder": "行的顺序颠倒（第 {row} 行出现在第 {before} 行之后）",
    "too_many": "单元格或元素过多（超过上限 {limit} 个单元格）",
    "xml": "XML 格式错误（{error}）",
    "dtd": "含 DTD 声明",
    "structure": "工作簿结构无法解析（{error}）",
    "unjudged": "读取前未能检查该工作表的大小（名称与工作簿目录中的不对应）",
}
# PKG-007 reasons for a workbook over the package limits, by :class:`parsers.archive.Excess`
_OVER = {
    "entries": REPORT_XLSX + " 内部文件数 {count} 超过上限 {limit}",
    "member": REPORT_XLSX + " 内部文件 {path} 解压后大小超过上限 {limit} 字节",
    "ratio": REPORT_XLSX + " 内部文件 {path} 的压缩比超过上限 {limit}",
    "total": REPORT_XLSX + " 解压后总大小超过上限 {limit} 字节",
    "total_ratio": REPORT_XLSX + " 整体的压缩比超过上限 {limit}",
}


def sniff_not_xlsx(path: Any) -> str | None:
    """A reason when the bytes are plainly not an xlsx (a zip)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        return describe(exc)
    if head.startswith(b"PK"):
        return None
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return WHY["ole"]
    if head and all(b >= 0x09 for b in head[:8]):
        return WHY["text"]
    return WHY["not_zip"]


def preflight(
    path: Any, limits: Limits, choose: Choose | None = None
) -> tuple[dict[str, str | None], Finding | None]:
    """The sheets scanned, by :func:`sheet_key` of their name -> the reason not to hand the
    sheet to calamine (too large or too doubtful), or None when it may be read; or the one
    finding (PKG-007 over the limits, PKG-008 unreadable) that refuses the whole workbook.

    Judges the sizes the zip declares, reads the workbook's own XML (sheet name, hidden,
    parts), then parses the XML of the sheets ``choose`` names — given the worksheets as
    ``(name, hidden)`` in workbook order, the names the caller will read; every sheet when
    None — for the rectangle calamine would allocate, without building the sheet (see the
    module notes). Look a sheet up with :func:`sheet_verdict`.
    """
    place = Place(file=REPORT_XLSX)

    def unreadable(reason: str) -> Finding:
        return make("PKG-008", place, part=UNREADABLE.format(reason=reason))

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        return {}, unreadable(describe(exc))
    out: dict[str, str | None] = {}
    with zf:
        over = _over_limits(zf.infolist(), limits)
        if over:
            return {}, make("PKG-007", place, reason=over)
        for info in zf.infolist():
            if info.file_size > MAX_PART_BYTES:
                return {}, unreadable(WHY["part_big"].format(part=info.filename))
        try:
            sheets = _sheet_parts(zf)
        except _Refused as exc:
            return {}, unreadable(WHY["structure"].format(error=exc.reason))
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            return {}, unreadable(WHY["structure"].format(error=describe(exc)))
        if choose is not None:
            wanted = {
                sheet_key(n) for n in choose([(s.name, s.hidden) for s in sheets if s.worksheet])
            }
            sheets = [s for s in sheets if sheet_key(s.name) in wanted]
        judged: dict[str, str | None] = {}
        for sheet in sheets:
            reasons = [_judge_part(zf, part, limits, judged) for part in sheet.parts]
            key = sheet_key(sheet.name)
            # two sheets that read as one name: the first doubt decides for both
            out[key] = out.get(key) or next((r for r in reasons if r), None)
    return out, None


def sheet_key(name: str) -> str:
    """A sheet name as expat reports it from workbook.xml: a line end (CR LF, CR) is one
    line feed, then tab, line feed and carriage return are blanks. calamine's name for
    the same sheet gives the same key."""
    return name.replace("\r\n", "\n").translate(_BLANKS)


_BLANKS = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


def sheet_verdict(judged: dict[str, str | None], name: str) -> str | None:
    """Why the sheet calamine calls ``name`` must not be read (a reason), or None when the
    scan judged it readable; a sheet the scan did not judge is refused."""
    key = sheet_key(name)
    return judged[key] if key in judged else WHY["unjudged"]


class _Refused(Exception):
    """Internal: a part cannot be judged safely; ``reason`` says why (Chinese)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _judge_part(
    zf: zipfile.ZipFile, part: str, limits: Limits, judged: dict[str, str | None]
) -> str | None:
    if part not in judged:
        try:
            rows, cols = _extent(zf, part, limits.max_sheet_cells)
            judged[part] = (
                WHY["too_big"].format(rows=rows, cols=cols, limit=limits.max_sheet_cells)
                if rows * cols > limits.max_sheet_cells
                else None
            )
        except _Refused as exc:
            judged[part] = exc.reason
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            judged[part] = describe(exc)  # calamine could not read it either
    return judged[part]


def _over_limits(infos: list[zipfile.ZipInfo], limits: Limits) -> str | None:
    """A PKG-007 reason when the workbook's declared contents break the package limits."""
    if len(infos) > limits.max_entries:
        return _OVER["entries"].format(count=len(infos), limit=limits.max_entries)
    excess = declared_excess(((i.filename, i.file_size, i.compress_size) for i in infos), limits)
    if excess is None:
        return None
    return _OVER[excess.kind].format(path=excess.path, limit=excess.limit)


# --------------------------------------------------------------------------- the workbook


def _member(zf: zipfile.ZipFile, name: str) -> str | None:
    """The zip member calamine opens for ``name``: compared without regard to ASCII case."""
    want = name.lower()
    for info in zf.infolist():
        if info.filename.lower() == want:
            return info.filename
    return None


def _elements(
    zf: zipfile.ZipFile, part: str, max_elements: int
) -> list[tuple[str, dict[str, str]]]:
    """Every element of a small XML part (workbook, relationships): raw name, attributes."""
    found: list[tuple[str, dict[str, str]]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if len(found) >= max_elements:
            raise _Refused(WHY["too_many"].format(limit=max_elements))
        found.append((name, attrs))

    _parse(zf, part, start, None)
    return found


class _Sheet(NamedTuple):
    name: str  # as expat reads it (see :func:`sheet_key`)
    hidden: bool  # state hidden or veryHidden
    worksheet: bool  # not a chart, dialog or macro sheet (calamine lists those apart)
    parts: list[str]  # the zip members calamine may read for it


def _sheet_parts(zf: zipfile.ZipFile) -> list[_Sheet]:
    """Each sheet of workbook.xml, in order, with the zip parts calamine may read for it
    (from the relationships; every plausible reading of a target, so that none is missed)."""
    wb_part = _member(zf, "xl/workbook.xml")
    rels_part = _member(zf, "xl/_rels/workbook.xml.rels")
    if wb_part is None or rels_part is None:
        return []  # calamine cannot find the sheets either
    targets: dict[str, list[str]] = {}
    for name, attrs in _elements(zf, rels_part, 100_000):
        if _local(name) == "Relationship" and "Id" in attrs:
            targets[attrs["Id"]] = _candidates(attrs.get("Target", ""))
    out: list[_Sheet] = []
    for name, attrs in _elements(zf, wb_part, 100_000):
        if _local(name) != "sheet":
            continue
        parts: list[str] = []
        for key, value in attrs.items():  # r:id under whatever prefix
            if _local(key) == "id":
                for candidate in targets.get(value, []):
                    member = _member(zf, candidate)
                    if member is not None and member not in parts:
                        parts.append(member)
        if parts:
            folders = {p.lower().split("/")[-2] for p in parts if "/" in p}
            out.append(
                _Sheet(
                    name=attrs.get("name", ""),
                    hidden=attrs.get("state") in ("hidden", "veryHidden"),
                    worksheet=not folders or not folders <= _NOT_WORKSHEETS,
                    parts=parts,
                )
            )
    return out


def _candidates(target: str) -> list[str]:
    if target.startswith("/"):
        return [target[1:]]
    found = [posixpath.normpath("xl/" + target), "xl/" + target, target]
    return list(dict.fromkeys(found))


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


# --------------------------------------------------------------------------- one sheet


def _chunks(zf: zipfile.ZipFile, part: str) -> Iterator[bytes]:
    with zf.open(part) as fh:
        while chunk := fh.read(_READ):
            yield chunk


def _parse(zf: zipfile.ZipFile, part: str, start: Any, end: Any) -> None:
    """Run expat (no namespace processing: names as written) over a part; refuse a DTD."""
    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end

    def doctype(*_args: object) -> None:
        raise _Refused(WHY["dtd"])

    parser.StartDoctypeDeclHandler = doctype
    try:
        for chunk in _chunks(zf, part):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _Refused(
            WHY["xml"].format(error=expat.errors.messages.get(exc.code, str(exc)))
        ) from None


def _extent(zf: zipfile.ZipFile, part: str, max_cells: int) -> tuple[int, int]:
    """Rows and columns of the rectangle calamine would allocate for a sheet: the fast
    scan's answer when it is sure (:func:`_fast_extent`), else the full parse's."""
    if zf.getinfo(part).file_size <= FAST_PART_BYTES:
        with zf.open(part) as fh:
            data = fh.read(FAST_PART_BYTES + 1)
        if len(data) <= FAST_PART_BYTES:
            fast = _fast_extent(data, max_cells)
            if fast is not None:
                return fast
    return _full_extent(zf, part, max_cells)


def _full_extent(zf: zipfile.ZipFile, part: str, max_cells: int) -> tuple[int, int]:
    """Rows and columns of the rectangle calamine would allocate for a sheet (an upper
    bound: cells without a value count too); raises :class:`_Refused` when it cannot say.

    Positions follow calamine's cell reader (0-based inside): only what lies in
    ``<sheetData>`` counts; ``<row r>`` sets the row and the end of a row moves to the next
    row and to the first column; a cell's ``r`` sets its place and the column, a cell
    without one takes the current row and column; the column then moves on by one.
    Elements inside a cell are its value (a ``row`` or ``c`` there places nothing).
    """
    s = {
        "data": False,
        "cell": False,
        "row": 0,
        "col": 0,
        "rows": 0,
        "cols": 0,
        "cells": 0,
        "elements": 0,
    }
    max_elements = max_cells * ELEMENTS_PER_CELL + 10_000

    def start(name: str, attrs: dict[str, str]) -> None:
        s["elements"] += 1
        if s["elements"] > max_elements:
            raise _Refused(WHY["too_many"].format(limit=max_cells))
        local = _local(name)
        if local == "sheetData":
            s["data"] = True
        if not s["data"] or s["cell"]:
            return
        if local == "row":
            ref = attrs.get("r")
            if ref is not None:
                row = _row_number(ref)
                if row is None:
                    raise _Refused(WHY["bad_ref"].format(ref=ref[:40]))
                s["row"] = row - 1
        elif local == "c":
            s["cell"] = True
            s["cells"] += 1
            if s["cells"] > max_cells:
                raise _Refused(WHY["too_many"].format(limit=max_cells))
            ref = attrs.get("r")
            if ref is not None:
                place = _cell_place(ref)
                if place is None:
                    raise _Refused(WHY["bad_ref"].format(ref=ref[:40]))
                row, col = place[0] - 1, place[1] - 1
                s["col"] = col
            else:
                row, col = s["row"], s["col"]
                if row >= EXCEL_ROWS or col >= EXCEL_COLS:
                    raise _Refused(WHY["bad_ref"].format(ref=f"R{row + 1}C{col + 1}"))
            s["col"] += 1
            if row + 1 < s["rows"]:
                raise _Refused(WHY["disorder"].format(row=row + 1, before=s["rows"]))
            s["rows"] = max(s["rows"], row + 1)
            s["cols"] = max(s["cols"], col + 1)

    def end(name: str) -> None:
        local = _local(name)
        if local == "c":
            s["cell"] = False
        elif local == "row" and s["data"] and not s["cell"]:
            s["row"] += 1
            s["col"] = 0
        elif local == "sheetData":
            s["data"] = False

    _parse(zf, part, start, end)
    return s["rows"], s["cols"]


# The fast scan. It answers only for a sheet in the form every writer we know produces
# (Excel, WPS, openpyxl, calamine's own tests): UTF-8, no DTD, comment, CDATA or processing
# instruction, one unprefixed <sheetData>, every row ``<row r="N"`` and every cell
# ``<c r="A1" s="1" …>`` with its reference first, attributes in double quotes after one
# blank, the reference upper case without leading zero, and no cell inside a cell.
# Such a sheet is well formed (expat parses it first, without a Python call per element),
# so every ``<`` in it starts a tag and a cell tag is found by its first bytes: the scan
# counts every tag that may be a cell (``<c`` or ``…:c`` then a blank, ``/`` or ``>``) or a
# row, and answers only if each of them is one of the canonical tags it reads. Anything
# else, and anything the full parse would refuse (a reference out of range, rows out of
# order, too many cells or elements), returns None: the full parse judges the sheet then,
# refusal reasons included.

_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"[ \t\r\n/>]')
_CELL = re.compile(rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: [A-Za-z]+="[^"]*")*(/?)>')
_DECL = re.compile(rb"(?:\xef\xbb\xbf)?<\?xml[ \t\r\n][^<>]*\?>")
_UTF8 = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*["'](?i:utf-8)["']""")
_NAME_END = np.zeros(256, bool)
_NAME_END[list(b" \t\r\n/>")] = True  # what may follow a tag's name


def _fast_extent(data: bytes, max_cells: int) -> tuple[int, int] | None:
    """The rectangle of a sheet in the common form (see above), exactly as
    :func:`_full_extent` gives it; None when the sheet is not in that form or the full
    parse would refuse it."""
    decl = _DECL.match(data)
    if decl is not None and b"encoding" in decl[0] and not _UTF8.search(decl[0]):
        return None
    if b"<!" in data or data.count(b"<?") != (decl is not None):
        return None  # DOCTYPE, comment, CDATA, a processing instruction
    start, end = data.find(b"<sheetData>"), data.find(b"</sheetData>")
    if data.count(b"sheetData") != 2 or not 0 <= start < end:
        return None
    try:
        expat.ParserCreate().Parse(data, True)
    except expat.ExpatError:
        return None
    # every tag: where a '<' is (and where a prefix ends, ':'), what its name is
    a = np.frombuffer(data + b"\0\0\0\0", np.uint8)
    lt = np.flatnonzero(a == ord("<"))
    if len(lt) > max_cells * ELEMENTS_PER_CELL + 10_000:
        return None
    at = np.concatenate([lt, np.flatnonzero(a == ord(":"))])
    cell_tag = (a[at + 1] == ord("c")) & _NAME_END[a[at + 2]]
    row_tag = (a[at + 1] == ord("r")) & (a[at + 2] == ord("o")) & (a[at + 3] == ord("w"))
    row_tag &= _NAME_END[a[at + 4]]
    cell_starts = np.sort(at[cell_tag])
    if len(cell_starts) > max_cells:
        return None
    closing = lt[(a[lt + 1] == ord("/")) & (a[lt + 2] == ord("c")) & _NAME_END[a[lt + 3]]]
    if (a[closing + 3] != ord(">")).any():
        return None  # '</c >': not the common form
    rows = _ROW.findall(data)
    if len(rows) != int(row_tag.sum()) or (
        rows and int(max(rows, key=lambda r: (len(r), r))) > EXCEL_ROWS
    ):
        return None
    cells = _CELL.findall(data, start, end)
    if len(cells) != len(cell_starts):
        return None  # a cell tag not in the common form, or outside <sheetData>
    if not cells:
        return 0, 0
    refs = np.array(cells, dtype="S7")
    # no cell inside a cell: after each cell, up to the next one, exactly one '</c>' when
    # it was opened, none when it closed itself
    ends_after = np.diff(np.searchsorted(closing, np.append(cell_starts, len(data))))
    if ((ends_after == 1) == (refs[:, 2] == b"/")).any() or (ends_after > 1).any():
        return None
    row = refs[:, 1].astype(np.int64)
    if len(row) > 1 and bool((np.diff(row) < 0).any()):
        return None  # rows out of order: the full parse says where
    letters = np.frombuffer(refs[:, 0].astype("S3").tobytes(), np.uint8).reshape(-1, 3)
    col = np.zeros(len(cells), np.int64)
    for k in range(3):
        on = letters[:, k] > 0
        col = np.where(on, col * 26 + letters[:, k].astype(np.int64) - 64, col)
    rows_, cols = int(row[-1]), int(col.max())
    if rows_ > EXCEL_ROWS or cols > EXCEL_COLS:
        return None
    return rows_, cols


def _row_number(ref: str) -> int | None:
    """A row's ``r`` (1-based), or None when calamine could not read it or it is out of range."""
    if not ref.isascii() or not ref.isdigit() or len(ref) > 9:
        return None
    row = int(ref)
    return row if 1 <= row <= EXCEL_ROWS else None


def _cell_place(ref: str) -> tuple[int, int] | None:
    """A cell's ``r`` as (row, column), both 1-based: letters (either case) then digits
    (leading zeros allowed), as calamine reads it; None when not so or out of range."""
    if not ref.isascii() or not ref.isalnum():
        return None
    i = 0
    while i < len(ref) and ref[i].isalpha():
        i += 1
    letters, digits = ref[:i], ref[i:]
    if not letters or not digits.isdigit() or len(letters) > 3 or len(digits) > 9:
        return None
    col = 0
    for ch in letters.upper():
        col = col * 26 + (ord(ch) - 64)
    row = int(digits)
    if not (1 <= row <= EXCEL_ROWS and 1 <= col <= EXCEL_COLS):
        return None
    return row, col


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
