"""Read one DXF drawing into :class:`schemas.package.Drawing`, with the findings of reading.

The model is ``ezdxf.recover.readfile()`` → ``(doc, auditor)``: a bad file never raises;
what could not be read becomes findings (PKG-009 wrong format, DXF-001 unreadable,
DXF-002 repaired, DXF-005 non-numeric coordinates, DXF-008 text decoding) and whatever
was read is still returned.

Choices the contract leaves open:

- A truncated file (no final ``0``/``EOF``) is cut before its last, possibly partial,
  entity and closed, so that ezdxf reads what is there; DXF-001 says how many modelspace
  entities that was, and the frames keep them (``readable`` False).
- ezdxf's own *errors* (e.g. a number it had to guess from ``"1.0abc"``) are DXF-001, its
  *fixes* DXF-002; decoding problems are left to DXF-008 and are in neither.
- An entity with a non-finite coordinate (NaN, inf) or data ezdxf cannot give is left out
  of the frames and reported as DXF-005 at its layer and handle.
- Geometry is 2D (x, y in WCS, OCS applied); z is dropped. INSERTs are points at their
  insertion point; ATTRIBs and block contents are not read.

Steps: sniff the bytes (:mod:`parsers.dxf_sniff`) → binary DXF to ASCII → close a
truncated file so ezdxf sees what was there → choose the text encoding
(:mod:`parsers.dxf_encoding`) → ``ezdxf.recover.read`` → modelspace entities to frames
(:mod:`parsers.dxf_entities`).

:func:`read_drawing` tries the GDAL fast path (:mod:`parsers.dxf_fast`) first.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from ezdxf import recover
from ezdxf.audit import AuditError, Auditor

from parsers.dxf_encoding import Decoder, EncodingChoice, choose_encoding
from parsers.dxf_entities import read_entities
from parsers.dxf_fast import read_dxf_fast
from parsers.dxf_sniff import binary_to_ascii, close_truncated, has_eof, header_vars, sniff
from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import Drawing

__all__ = ["read_drawing", "read_dxf", "MAX_LISTED_REPAIRS"]

MAX_LISTED_REPAIRS = 10  # DXF-002 lists this many repairs, then "等 N 项"
_NOT_REPAIRS = {AuditError.DECODING_ERROR}  # decoding is DXF-008's business, not DXF-002's
_log = logging.getLogger(__name__)


def read_dxf(source: Path | bytes, path: str) -> tuple[Drawing, list[Finding]]:
    """Read a DXF drawing with ezdxf's recover mode.

    Parameters
    ----------
    source : Path or bytes
        The file, or its bytes.
    path : str
        The package-relative name used in findings, e.g. ``"drawings/floors/0001.dxf"``.

    Returns
    -------
    tuple[Drawing, list[Finding]]
        The drawing (``readable`` False after DXF-001 or PKG-009; frames hold whatever was
        read) and the findings of reading. Never raises for a bad file.
    """
    where = Place(file=path)
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError as exc:
        return _unreadable(path, f"无法打开文件（{exc.strerror or exc}）")
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
        truncated = not has_eof(data)
    if truncated:
        data = close_truncated(data)
    acadver, codepage = header_vars(data)
    choice = choose_encoding(data, acadver, codepage)
    try:
        doc, auditor = recover.read(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 — any failure of the reader is a finding
        _log.debug("ezdxf.recover failed on %s", path, exc_info=True)
        reason = "文件被截断（缺少结尾 EOF）" if truncated else f"结构损坏（{exc}）"
        return _unreadable(path, reason)
    try:
        return _assemble(path, doc, auditor, choice, truncated)
    except Exception as exc:  # noqa: BLE001 — never raise for a bad file
        _log.debug("reading the entities of %s failed", path, exc_info=True)
        return _unreadable(path, f"读取实体时出错（{type(exc).__name__}）")


def read_drawing(source: Path | bytes, relpath: str) -> tuple[Drawing, list[Finding]]:
    """Read a drawing by the GDAL fast path when it can be trusted, else by ezdxf.

    Parameters
    ----------
    source : Path or bytes
        The DXF file, or its bytes.
    relpath : str
        The package-relative name used in findings.
    """
    try:
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
    except OSError:
        return read_dxf(source, relpath)
    try:
        fast = read_dxf_fast(data, relpath)
    except Exception:  # noqa: BLE001 — the fast path is an optimisation, never a failure
        _log.debug("fast DXF path failed on %s", relpath, exc_info=True)
        fast = None
    return fast if fast is not None else read_dxf(data, relpath)


def _unreadable(path: str, reason: str, entities: int = 0) -> tuple[Drawing, list[Finding]]:
    finding = make("DXF-001", Place(file=path), path=path, reason=reason, entities=entities)
    return Drawing(path=path, readable=False), [finding]


def _assemble(
    path: str, doc, auditor: Auditor, choice: EncodingChoice, truncated: bool
) -> tuple[Drawing, list[Finding]]:
    decode = Decoder(choice)
    rows, seen = read_entities(doc.modelspace(), decode)
    shapes, points, texts = rows.frames()
    repairs = [e.message for e in auditor.fixes if e.code not in _NOT_REPAIRS]
    errors = [e.message for e in auditor.errors if e.code not in _NOT_REPAIRS]
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
        reason = "修复模式仍有无法修复的错误：" + _listing(errors)
        findings.append(make("DXF-001", where, path=path, reason=reason, entities=seen))
    if repairs and not truncated:
        findings.append(make("DXF-002", where, path=path, repairs=_listing(repairs)))
    findings.extend(coordinate_findings(path, rows.bad))
    findings.extend(encoding_findings(path, choice, decode.bad))
    return drawing, findings


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
        reason = f"{len(bad)} 处文字含无法解码的字节（按 {choice.actual} 解码）"
        place = Place(file=path, layer=layer or None, handle=handle or None)
        out.append(make("DXF-008", place, path=path, reason=reason))
    return out


def _listing(messages: list[str]) -> str:
    """At most :data:`MAX_LISTED_REPAIRS` distinct messages joined by '；', then 等 N 项."""
    distinct = list(dict.fromkeys(m.strip() for m in messages if m and m.strip()))
    shown = "；".join(distinct[:MAX_LISTED_REPAIRS])
    if len(distinct) > MAX_LISTED_REPAIRS:
        shown += f" 等 {len(distinct)} 项"
    return shown
