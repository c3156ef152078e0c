"""Read one DXF drawing into :class:`schemas.package.Drawing`, with the findings of reading.

The model is ``ezdxf.recover.read()`` → ``(doc, auditor)``: a bad file never raises;
what could not be read becomes findings (PKG-009 wrong format, DXF-001 unreadable,
DXF-002 repaired, DXF-005 non-numeric coordinates, DXF-008 text decoding) and whatever
was read is still returned. Any file that ezdxf's normal loader or its recover mode reads
is read: when recover mode raises (it does on R12 and header-less files holding R2000
entities such as LWPOLYLINE), the normal loader reads the same bytes. A file declaring R12
or no version but holding R2000 subclass markers is read as R2000 first (:func:`_load`).

Choices the contract leaves open:

- A UTF-8 byte order mark and blank lines before the first tag are skipped; everything
  after the first ``0``/``EOF`` tag is ignored (ezdxf does the same).
- A truncated file (no ``0``/``EOF`` tag) is cut before its last, possibly partial,
  entity and closed, so that ezdxf reads what is there; DXF-001 says how many modelspace
  entities that was, and the frames keep them (``readable`` False). A file that neither
  loader reads is cut where the loader said the damage is, and read up to there the same
  way, for the count.
- ezdxf's own *errors* (e.g. a number it had to guess from ``"1.0abc"``) are DXF-001, its
  *fixes* DXF-002; decoding problems are left to DXF-008 and are in neither. Messages are
  Chinese: ezdxf's fixes and errors are counted by kind (:data:`REPAIR_KINDS`), never
  quoted, and no exception text is shown.
- Every entity of the ENTITIES section that the repair removed is named: one DXF-002 at
  its layer and handle (a warning here; the check makes it an error where the layer is
  one of the contract's layers of that drawing as the profile names them:
  :func:`schemas.drawings.lost_entities`).
- An entity with a non-finite coordinate (NaN, inf) or data ezdxf cannot give is left out
  of the frames and reported as DXF-005 at its layer and handle.
- Geometry is 2D (x, y in WCS, OCS applied); z is dropped. INSERTs are points at their
  insertion point; ATTRIBs and block contents are not read.

Steps: sniff the bytes (:mod:`parsers.dxf_sniff`) → binary DXF to ASCII → cut after EOF,
or close a truncated file so ezdxf sees what was there → choose the text encoding
(:mod:`parsers.dxf_encoding`) → ``ezdxf.recover.read`` (else ``ezdxf.read``) → modelspace
entities to frames (:mod:`parsers.dxf_entities`).

:func:`read_drawing` tries the GDAL fast path (:mod:`parsers.dxf_fast`) first.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from parsers.dxf_encoding import Decoder, EncodingChoice, choose_encoding, display_name
from parsers.dxf_entities import read_entities
from parsers.dxf_fast import over_limit, read_dxf_fast
from parsers.dxf_health import OverLimit, over_limits
from parsers.dxf_sniff import (
    binary_to_ascii,
    close_truncated,
    eof_end,
    header_vars,
    skip_preamble,
    sniff,
)
from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import Drawing
from schemas.profile import Limits

if TYPE_CHECKING:  # ezdxf is imported where a drawing is read with it: the fast path needs none of it
    from ezdxf.audit import Auditor

__all__ = ["read_drawing", "read_dxf"]

_SUB_ENTITIES = {"VERTEX", "SEQEND", "ATTRIB"}  # go with their POLYLINE / INSERT


@cache
def _repair_kinds() -> dict[str, tuple[int, ...]]:
    """ezdxf's audit codes by what the firm sees in its drawing; the rest is "其他结构问题"."""
    from ezdxf.audit import AuditError as _E

    return {
        "删除无效实体": (
            _E.REMOVED_INVALID_GRAPHIC_ENTITY,
            _E.REMOVED_INVALID_DXF_OBJECT,
            _E.REMOVED_STANDALONE_ATTRIB_ENTITY,
            _E.REMOVED_ENTITY_WITH_INVALID_OWNER_HANDLE,
            _E.ORPHANED_LAYOUT_ENTITY,
            _E.ORPHANED_PAPER_SPACE_BLOCK_RECORD_ENTITY,
        ),
        "补全文件结构（SECTION/ENDSEC、根字典、布局）": (
            _E.MISSING_REQUIRED_ROOT_DICT_ENTRY,
            _E.MISSING_SECTION_TAG,
            _E.MISSING_SECTION_NAME_TAG,
            _E.MISSING_ENDSEC_TAG,
            _E.FOUND_TAG_OUTSIDE_SECTION,
            _E.MISPLACED_ROOT_DICT,
            _E.ROOT_DICT_NOT_FOUND,
            _E.MODELSPACE_NOT_FOUND,
            _E.ACTIVE_PAPERSPACE_LAYOUT_NOT_FOUND,
            _E.CREATED_MISSING_OBJECT,
            _E.MISSING_PERSISTENT_REACTOR,
            _E.MISSING_REQUIRED_SEQEND,
        ),
        "删除不受支持的章节或表": (_E.REMOVED_UNSUPPORTED_SECTION, _E.REMOVED_UNSUPPORTED_TABLE),
        "修正图层、线型、样式等表": (
            _E.DUPLICATE_TABLE_ENTRY_NAME,
            _E.TABLE_NOT_FOUND,
            _E.INVALID_TABLE_HANDLE,
            _E.INVALID_LAYER_NAME,
            _E.RESET_MLINE_STYLE,
            _E.INVALID_MLINESTYLE_HANDLE,
            _E.INVALID_DIMSTYLE,
        ),
        "引用了未定义的线型、文字样式、标注样式或图块": (
            _E.UNDEFINED_LINETYPE,
            _E.UNDEFINED_DIMENSION_STYLE,
            _E.UNDEFINED_TEXT_STYLE,
            _E.UNDEFINED_BLOCK,
            _E.UNDEFINED_BLOCK_NAME,
            _E.BLOCK_NAME_MISMATCH,
            _E.INVALID_BLOCK_REFERENCE_CYCLE,
        ),
        "句柄或引用无效": (
            _E.POINTER_TARGET_NOT_EXIST,
            _E.INVALID_ENTITY_HANDLE,
            _E.INVALID_OWNER_HANDLE,
            _E.INVALID_DICTIONARY_ENTRY,
        ),
        "编组（GROUP）无效": (
            _E.REMOVE_EMPTY_GROUP,
            _E.GROUP_ENTITIES_IN_DIFFERENT_LAYOUTS,
            _E.INVALID_GROUP_ENTITIES,
        ),
        "数值无效（按猜测的数值读取）": (_E.INVALID_INTEGER_VALUE, _E.INVALID_FLOATING_POINT_VALUE),
        "颜色、线宽或透明度无效": (
            _E.INVALID_COLOR_INDEX,
            _E.INVALID_LINEWEIGHT,
            _E.INVALID_TRANSPARENCY,
        ),
        "实体几何数据无效": tuple(range(210, 230)),
    }


@cache
def _kind_of() -> dict[int, str]:
    return {int(code): kind for kind, codes in _repair_kinds().items() for code in codes}


def __getattr__(name: str):  # REPAIR_KINDS: built on first use, it needs ezdxf's codes
    if name == "REPAIR_KINDS":
        return _repair_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
_OTHER_KIND = "其他结构问题"
_R12_VERSION = re.compile(rb"(\$ACADVER[ \t]*\r?\n[ \t]*1[ \t]*\r?\n[ \t]*)AC100\d")
_R2000_HEADER = b"  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1015\n  0\nENDSEC\n"
_AT_LINE = re.compile(r"line (\d+)")
_AT_HANDLE = re.compile(r"\(#([0-9A-Fa-f]+)\)")
_ENTITY_HEAD = re.compile(rb"\n[ \t]*0[ \t]*\r?\n[A-Z_][A-Z0-9_]*[ \t]*\r?\n")
_log = logging.getLogger(__name__)


def read_dxf(
    source: Path | bytes, path: str, limits: Limits | None = None
) -> tuple[Drawing, list[Finding]]:
    """Read a DXF drawing with ezdxf's recover mode (else its normal loader).

    Parameters
    ----------
    source : Path or bytes
        The file, or its bytes.
    path : str
        The package-relative name used in findings, e.g. ``"drawings/floors/0001.dxf"``.
    limits : Limits, optional
        The profile's limits (default: :class:`schemas.profile.Limits`): the entities and
        vertices are counted on the bytes before ezdxf builds anything; over either, the
        drawing is not read (DXF-001 naming the limit and the count read).

    Returns
    -------
    tuple[Drawing, list[Finding]]
        The drawing (``readable`` False after DXF-001 or PKG-009; frames hold whatever was
        read) and the findings of reading. Never raises for a bad file.
    """
    where = Place(file=path)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError:
        return _unreadable(path, "文件无法打开")
    kind = sniff(data)
    if kind.kind in ("dwg", "pdf"):
        return Drawing(path=path, readable=False), [make("PKG-009", where, path=path, fmt=kind.fmt)]
    if kind.kind == "empty":
        return _unreadable(path, "空文件")
    if kind.kind in ("zip", "other"):
        return _unreadable(path, f"不是 DXF 文件（{kind.fmt}）")

    if kind.kind == "binary":
        data, truncated = binary_to_ascii(data)
    else:
        data = skip_preamble(data)
        end = eof_end(data)
        truncated = end is None
        data = data if end is None else data[:end]
    if truncated:
        data = close_truncated(data)
    over = over_limits(data, *_counts(limits))
    if over is not None:
        return over_limit(path, OverLimit(*over))
    acadver, codepage = header_vars(data)
    choice = choose_encoding(data, acadver, codepage)
    try:
        doc, auditor = _load(data, choice, acadver)
    except Exception as exc:  # noqa: BLE001 — any failure of the reader is a finding
        _log.debug("ezdxf could not read %s", path, exc_info=True)
        if truncated:
            return _unreadable(path, "文件被截断（缺少结尾 EOF）")
        return _salvage(path, data, choice, exc)
    try:
        return _assemble(path, data, doc, auditor, choice, truncated)
    except Exception:  # noqa: BLE001 — never raise for a bad file
        _log.debug("reading the entities of %s failed", path, exc_info=True)
        return _unreadable(path, "实体数据损坏，无法读取")


def _load(data: bytes, choice: EncodingChoice, acadver: str | None):
    """Load with ezdxf, whatever it takes; raises what recover mode raised on the file as
    it is when every way fails.

    1. A file declaring R12 (or no version) but holding R2000 subclass markers is read by
       recover mode as R2000 (``$ACADVER`` AC1015 written over the declared one, or a
       HEADER holding it put in front): read as R12, ezdxf drops such an LWPOLYLINE's
       layer, and its recover mode raises on it.
    2. ``ezdxf.recover.read``.
    3. ``ezdxf.read`` on the same bytes (decoded as recover mode would), audited.
    """
    import ezdxf
    from ezdxf import recover

    if (acadver is None or acadver <= "AC1009") and b"AcDbEntity" in data:
        if acadver is None:
            r2000 = _R2000_HEADER + data
        else:
            r2000 = _R12_VERSION.sub(rb"\g<1>AC1015", data, count=1)
        try:
            return recover.read(io.BytesIO(r2000))
        except Exception:  # noqa: BLE001 — try it as it is
            _log.debug("recover mode failed on the file declared R2000", exc_info=True)
    try:
        return recover.read(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 — the normal loader may still read it
        failure = exc
    try:
        text = io.TextIOWrapper(io.BytesIO(data), encoding=choice.loaded, errors="surrogateescape")
        doc = ezdxf.read(text)
        return doc, doc.audit()
    except Exception:  # noqa: BLE001
        raise failure from None


def _salvage(
    path: str, data: bytes, choice: EncodingChoice, exc: Exception
) -> tuple[Drawing, list[Finding]]:
    """DXF-001 for a file neither loader reads: read it up to the damage ezdxf names (a
    line, or an entity's handle) like a truncated file, to keep and count what was there."""
    message = str(exc)
    cut, reason = None, "文件结构损坏，修复模式也无法读取"
    line = _AT_LINE.search(message)
    handle = _AT_HANDLE.search(message)
    if line is not None:
        number = int(line.group(1))
        reason = f"第 {number} 行附近文件结构损坏，修复模式也无法读取"
        cut = _line_offset(data, number - 1)
    elif handle is not None:
        cut = _entity_offset(data, handle.group(1))
        if cut is not None:
            reason = f"句柄 {handle.group(1).upper()} 的实体结构损坏，修复模式也无法读取"
    if cut is None:
        return _unreadable(path, reason)
    from ezdxf import recover

    try:
        doc, auditor = recover.read(io.BytesIO(close_truncated(data[:cut])))
        drawing, _ = _assemble(path, data, doc, auditor, choice, truncated=True)
    except Exception:  # noqa: BLE001 — nothing could be kept
        return _unreadable(path, reason)
    drawing.readable = False
    finding = make(
        "DXF-001", Place(file=path), path=path, reason=reason, entities=drawing.entity_count
    )
    return drawing, [finding]


def _line_offset(data: bytes, index: int) -> int | None:
    """Offset of the start of line ``index`` (0-based), or None."""
    at = 0
    for _ in range(index):
        at = data.find(b"\n", at) + 1
        if at == 0:
            return None
    return at


def _entity_offset(data: bytes, handle: str) -> int | None:
    """Offset just after the type line of the entity with ``handle`` (close_truncated then
    drops that entity and keeps all before it), or None."""
    pattern = rb"\n[ \t]*5[ \t]*\r?\n[ \t]*" + re.escape(handle.encode()) + rb"[ \t]*\r?\n"
    tag = re.search(pattern, data, re.IGNORECASE)
    if tag is None:
        return None
    window = max(0, tag.start() - 4096)
    heads = list(_ENTITY_HEAD.finditer(data, window, tag.start() + 1))
    return heads[-1].end() if heads else None


def _counts(limits: Limits | None) -> tuple[int, int]:
    limits = limits if limits is not None else Limits()
    return limits.max_entities, limits.max_vertices


def read_drawing(
    source: Path | bytes, relpath: str, limits: Limits | None = None
) -> tuple[Drawing, list[Finding]]:
    """Read a drawing by the GDAL fast path when it can be trusted, else by ezdxf.

    Parameters
    ----------
    source : Path or bytes
        The DXF file, or its bytes.
    relpath : str
        The package-relative name used in findings.
    limits : Limits, optional
        The profile's limits; a drawing over max_entities or max_vertices is DXF-001 and
        not read, by either reader (each counts before it builds anything).
    """
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError:
        return read_dxf(source, relpath, limits)
    try:
        fast = read_dxf_fast(data, relpath, _counts(limits))
    except Exception:  # noqa: BLE001 — the fast path is an optimisation, never a failure
        _log.debug("fast DXF path failed on %s", relpath, exc_info=True)
        fast = None
    return fast if fast is not None else read_dxf(data, relpath, limits)


def _unreadable(path: str, reason: str, entities: int = 0) -> tuple[Drawing, list[Finding]]:
    finding = make("DXF-001", Place(file=path), path=path, reason=reason, entities=entities)
    return Drawing(path=path, readable=False), [finding]


def _assemble(
    path: str, data: bytes, doc, auditor: Auditor, choice: EncodingChoice, truncated: bool
) -> tuple[Drawing, list[Finding]]:
    decode = Decoder(choice)
    rows, seen = read_entities(doc.modelspace(), decode)
    shapes, points, texts = rows.frames()
    from ezdxf.audit import AuditError

    not_repairs = {AuditError.DECODING_ERROR}  # decoding is DXF-008's business, not DXF-002's
    fixes = [e.code for e in auditor.fixes if e.code not in not_repairs]
    errors = [e.code for e in auditor.errors if e.code not in not_repairs]
    removed = removed_entities(data, doc, decode) if (fixes or errors) and not truncated else []
    repairs = repair_lines(fixes)
    drawing = Drawing(
        path=path,
        readable=not (truncated or errors),
        shapes=shapes,
        points=points,
        texts=texts,
        version=doc.dxfversion,
        encoding=choice.actual,
        entity_count=seen,
        repairs=repairs,
    )
    findings: list[Finding] = []
    where = Place(file=path)
    if truncated:
        findings.append(
            make("DXF-001", where, path=path, reason="文件被截断（缺少结尾 EOF）", entities=seen)
        )
    elif errors:
        reason = "修复后仍有无法修复的错误（" + "；".join(repair_lines(errors)) + "）"
        findings.append(make("DXF-001", where, path=path, reason=reason, entities=seen))
    if (fixes or removed) and not truncated:
        summary = "；".join(repairs) if repairs else "结构已修复"
        if removed:
            summary += f"；共删除 {len(removed)} 个实体（逐个列出）"
        findings.append(make("DXF-002", where, path=path, repairs=summary))
        findings.extend(removal_findings(path, removed))
    findings.extend(coordinate_findings(path, rows.bad))
    findings.extend(encoding_findings(path, choice, decode.bad))
    return drawing, findings


def repair_lines(codes: list[int]) -> list[str]:
    """ezdxf audit codes counted by kind (:data:`REPAIR_KINDS`), in Chinese:
    ``["删除无效实体 6 处", "引用了未定义的线型… 40 处"]``, most frequent first."""
    counts = Counter(_kind_of().get(int(code), _OTHER_KIND) for code in codes)
    return [f"{kind} {n} 处" for kind, n in counts.most_common()]


def removed_entities(data: bytes, doc, decode: Decoder) -> list[tuple[str, str, str]]:
    """(layer, handle, type) of every entity of the file's ENTITIES section that is not in
    the repaired document: the section as recover mode's tag reader sees it, before its
    repairs, against the document's live entities. Sub-entities (VERTEX, SEQEND, ATTRIB)
    go with their entity; an entity without a handle cannot be named and is not listed."""
    from ezdxf import recover

    try:
        tool = recover.Recover.run(io.BytesIO(data))
        raw = tool.section_dict.get("ENTITIES", [])
    except Exception:  # noqa: BLE001 — recover mode did not read it: nothing to compare
        return []
    db = doc.entitydb
    out: list[tuple[str, str, str]] = []
    for tags in raw[1:] if raw and raw[0][0].value == "SECTION" else raw:
        try:
            dxftype = str(tags[0].value)
            if dxftype in _SUB_ENTITIES:
                continue
            handle = next((str(t.value) for t in tags if t.code == 5), None)
            layer = next((str(t.value) for t in tags if t.code == 8), "0")
        except (IndexError, AttributeError, TypeError):
            continue
        if not handle:
            continue
        handle = handle.strip().upper()
        entity = db.get(handle)
        if entity is None or not entity.is_alive or entity.dxftype() != dxftype:
            out.append((decode(layer.strip(), layer, handle), handle, dxftype))
    return out


def removal_findings(path: str, removed: list[tuple[str, str, str]]) -> list[Finding]:
    """DXF-002 per removed entity at its layer and handle (whether its layer is one the
    contract needs is the check's to judge, by the profile's layer names)."""
    return [
        make(
            "DXF-002",
            Place(file=path, layer=layer, handle=handle),
            path=path,
            repairs=f"修复时删除了图层 {layer} 上的 {dxftype}（句柄 {handle}），该图形已缺失",
        )
        for layer, handle, dxftype in removed
    ]


def coordinate_findings(path: str, bad: list[tuple[str, str, str]]) -> list[Finding]:
    """DXF-005 for each entity left out: a coordinate is not a finite number, or the
    entity's data cannot be read."""
    return [
        make("DXF-005", Place(file=path, layer=layer, handle=handle), path=path, reason=why)
        for layer, handle, why in bad
    ]


def encoding_findings(
    path: str, choice: EncodingChoice, bad: list[tuple[str, str]]
) -> list[Finding]:
    """DXF-008: a wrong code page declaration (one per file) and text that still holds
    undecodable bytes (one per file, placed at the first such entity)."""
    out: list[Finding] = []
    if choice.reason:
        out.append(make("DXF-008", Place(file=path), path=path, reason=choice.reason))
    if bad:
        layer, handle = bad[0]
        name = display_name(choice.actual)
        reason = f"{len(bad)} 处文字含按 {name} 无法解码的字节，已显示为 �"
        place = Place(file=path, layer=layer or None, handle=handle or None)
        out.append(make("DXF-008", place, path=path, reason=reason))
    return out
