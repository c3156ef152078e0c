"""Bound a workbook before a reader opens it: the sizes its zip declares, and the used
range of each sheet, judged without building any sheet.

calamine allocates the whole used rectangle of a sheet (three cells at A1, XFD1 and A30000
cost 15 GB), so a sheet whose range is larger than :data:`MAX_SHEET_CELLS` is never handed
to it. The workbook's own zip is held to the package limits (:func:`parsers.archive.declared_excess`).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

from parsers.archive import declared_excess
from parsers.manifest import REPORT_XLSX
from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.profile import Limits

MAX_SHEET_CELLS = 20_000_000  # calamine holds ~32 bytes per cell of the used rectangle
MAX_PART_BYTES = 1 << 30  # declared size of one XML part of the workbook, or of a CSV file

UNREADABLE = "report.xlsx（无法读取：{reason}）"
WHY = {
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


def preflight(path: Any, limits: Limits) -> tuple[dict[str, str], Finding | None]:
    """Sheets too large to hand to calamine: sheet name -> reason; or the one finding
    (PKG-007 over the limits, PKG-008 unreadable) that refuses the whole workbook.

    Judges the sizes the zip declares, reads the workbook's own XML (sheet name -> part),
    then scans each sheet's XML for the bounding box of the cells holding a value,
    without building the sheet.
    """
    place = Place(file=REPORT_XLSX)

    def unreadable(reason: str) -> Finding:
        return make("PKG-008", place, part=UNREADABLE.format(reason=reason))

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        return {}, unreadable(describe(exc))
    out: dict[str, str] = {}
    with zf:
        over = _over_limits(zf.infolist(), limits)
        if over:
            return {}, make("PKG-007", place, reason=over)
        names = set(zf.namelist())
        for info in zf.infolist():
            if info.file_size > MAX_PART_BYTES:
                return {}, unreadable(WHY["part_big"].format(part=info.filename))
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
                out[name] = WHY["too_big"].format(rows=rows, cols=cols)
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


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
