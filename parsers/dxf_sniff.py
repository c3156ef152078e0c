"""Look at the bytes of a drawing before ezdxf does: what format is it, is it whole, what
does its header declare?

Everything here works on ``bytes`` and never raises for bad input. Binary DXF is turned
into ASCII DXF with the string values' original bytes, so that one code path (truncation,
code-page sniffing, ``ezdxf.recover``) serves both forms.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Literal

from parsers.dxf_codes import BINARY_DATA, BYTES, DOUBLE, INT16, INT32, INT64

Kind = Literal["ascii", "binary", "dwg", "pdf", "zip", "empty", "other"]

BINARY_SENTINEL = b"AutoCAD Binary DXF\r\n\x1a\x00"
_DWG_MAGIC = re.compile(rb"AC(?:\d{4}|[12]\.\d)")  # AC1015 …, and the old AC1.50, AC2.10
_FIRST_TAG = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t\r\n]*(\d+)[ \t]*\r?\n([^\r\n]*)")
_TRAILING_JUNK = b" \t\r\n\x00\x1a"
_EOF_LINE = re.compile(rb"[ \t]*(?P<eof>EOF)[ \t]*(?:\r?\n|(?=[\r\x00\x1a])|\Z)")
_PREAMBLE = re.compile(rb"(?:\xef\xbb\xbf)?(?:[ \t]*\r?\n)*")
_ACADVER = re.compile(rb"\$ACADVER[ \t]*\r?\n[ \t]*1[ \t]*\r?\n([^\r\n]*)")
_DWGCODEPAGE = re.compile(rb"\$DWGCODEPAGE[ \t]*\r?\n[ \t]*3[ \t]*\r?\n([^\r\n]*)")
_ENDSEC = re.compile(rb"\n[ \t]*0[ \t]*\r?\nENDSEC[ \t]*\r?\n")


@dataclass(frozen=True, slots=True)
class Sniff:
    """What the first bytes say a file is.

    ``fmt`` is the human name used in findings ("DWG", "PDF", "ZIP/XLSX" …).
    """

    kind: Kind
    fmt: str


def sniff(data: bytes) -> Sniff:
    """Classify ``data`` by its magic bytes.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    Sniff
        ``ascii`` and ``binary`` are DXF; ``dwg`` and ``pdf`` are drawings in a format we do
        not accept (PKG-009); ``zip``, ``empty`` and ``other`` are not drawings (DXF-001).
    """
    if not data.strip(_TRAILING_JUNK):
        return Sniff("empty", "空文件")
    if data.startswith(BINARY_SENTINEL):
        return Sniff("binary", "Binary DXF")
    if _DWG_MAGIC.match(data[:6]):
        return Sniff("dwg", "DWG")
    if data.startswith(b"%PDF"):
        return Sniff("pdf", "PDF")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return Sniff("zip", "ZIP/XLSX")
    first = _FIRST_TAG.match(data[:4096])
    if first is not None and int(first.group(1)) in (0, 999):
        if int(first.group(1)) == 999 or first.group(2).strip() == b"SECTION":
            return Sniff("ascii", "DXF")
    return Sniff("other", "未知格式")


def has_eof(data: bytes) -> bool:
    """True when an ASCII DXF holds a ``0``/``EOF`` tag; whatever follows it (blanks, NULs,
    ^Z, garbage, a second copy of the drawing) is not part of the drawing."""
    return eof_end(data) is not None


def eof_end(data: bytes) -> int | None:
    """Offset just past the first ``0``/``EOF`` tag (its line end included), or None.

    ezdxf stops reading at the first EOF tag and ignores what follows; so do we. A line
    ``0`` followed by a line ``EOF`` can only be that tag: a value line ``0`` cannot be
    followed by the group code line ``EOF``. The bytes are searched with ``bytes.find``
    (fast); a text ``EOF`` costs one check.
    """
    at = data.find(b"EOF")
    while at >= 0:
        line = data.rfind(b"\n", 0, at) + 1
        match = _EOF_LINE.match(data, line)
        if match is not None and match.start("eof") == at and line > 0:
            previous = data.rfind(b"\n", 0, line - 1) + 1
            if data[previous:line].strip() == b"0":
                return match.end()
        at = data.find(b"EOF", at + 3)
    return None


def cut_after_eof(data: bytes) -> bytes:
    """``data`` up to and including its first ``0``/``EOF`` tag (unchanged without one)."""
    end = eof_end(data)
    return data if end is None else data[:end]


def skip_preamble(data: bytes) -> bytes:
    """``data`` without a UTF-8 byte order mark and blank lines before the first tag, which
    ezdxf's loaders take for an invalid group code."""
    return data[_PREAMBLE.match(data).end() :]


def close_truncated(data: bytes) -> bytes:
    """Make a truncated ASCII DXF loadable: cut it before its last (possibly partial)
    entity and close the open section and the file.

    ``ezdxf.recover`` silently drops a section that has no ``ENDSEC``, so without this a
    file cut inside ENTITIES reads as an empty drawing.
    """
    lines = data.split(b"\n")
    lines.pop()  # the partial last line, or the empty string after the final newline
    last = len(lines) - len(lines) % 2 - 2  # index of the last complete group code line
    i = last
    while i >= 0 and lines[i].strip() != b"0":
        i -= 2
    if i < 0:
        return b"  0\nEOF\n"
    value = lines[i + 1].strip()
    if value == b"ENDSEC":
        kept, tail = lines[: i + 2], [b"  0", b"EOF"]
    elif value == b"SECTION":
        kept, tail = lines[:i], [b"  0", b"EOF"]
    else:
        kept, tail = lines[:i], [b"  0", b"ENDSEC", b"  0", b"EOF"]
    return b"\n".join(kept + tail) + b"\n"


def header_vars(data: bytes) -> tuple[str | None, str | None]:
    """``$ACADVER`` and ``$DWGCODEPAGE`` as written in the HEADER of an ASCII DXF."""
    end = _ENDSEC.search(data)
    head = data[: end.end()] if end else data[:65536]
    ver = _ACADVER.search(head)
    cp = _DWGCODEPAGE.search(head)
    return (
        ver.group(1).strip().decode("ascii", "replace") if ver else None,
        cp.group(1).strip().decode("ascii", "replace") if cp else None,
    )


def binary_to_ascii(data: bytes) -> tuple[bytes, bool]:
    """Re-write a binary DXF as ASCII DXF, string values byte for byte.

    Parameters
    ----------
    data : bytes
        A file starting with the binary DXF sentinel.

    Returns
    -------
    tuple[bytes, bool]
        The ASCII DXF, and whether the binary stream ended before an ``EOF`` tag (then
        the ASCII form ends after the last complete tag, without ``EOF``).
    """
    ver = re.search(rb"\$ACADVER\x00(?:\x01\x00|\x01)(AC\d{4})", data[:2048])
    r12 = ver is None or ver.group(1) <= b"AC1009"
    out: list[bytes] = []
    index, size = len(BINARY_SENTINEL), len(data)
    unpack = struct.unpack_from
    complete = False
    try:
        while index < size:
            code = data[index]
            if r12:
                if code == 255:
                    code = unpack("<H", data, index + 1)[0]
                    index += 3
                else:
                    index += 1
            else:
                code = unpack("<H", data, index)[0]
                index += 2
            if code in BINARY_DATA:
                length = data[index]
                value = data[index + 1 : index + 1 + length]
                if len(value) < length:
                    break
                index += 1 + length
                text = value.hex().upper().encode("ascii")
            elif code in INT16:
                text = str(unpack("<h", data, index)[0]).encode()
                index += 2
            elif code in DOUBLE:
                text = repr(unpack("<d", data, index)[0]).encode()
                index += 8
            elif code in INT32:
                text = str(unpack("<i", data, index)[0]).encode()
                index += 4
            elif code in INT64:
                text = str(unpack("<q", data, index)[0]).encode()
                index += 8
            elif code in BYTES:
                text = str(data[index]).encode()
                index += 1
            else:
                end = data.index(b"\x00", index)
                text = data[index:end]
                index = end + 1
            out.append(b"%3d\n%s" % (code, text))
            if code == 0 and text == b"EOF":
                complete = True
                break
    except (IndexError, ValueError, struct.error):
        pass
    return b"\n".join(out) + b"\n", not complete
