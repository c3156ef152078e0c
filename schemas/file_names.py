"""File names as a package's bytes hold them, read as text one way everywhere.

Chinese Windows tools write file names in GBK (code page 936): in a zip without the UTF-8
flag, and, when they copy a package folder to a Linux share, as raw bytes that are not
UTF-8 (Python lists them surrogate-escaped, as :func:`os.fsdecode` does). One reading
serves a zip's entry names, a folder's file names and the names printed in findings, so
that a file is matched under the name it is shown by (``parsers.archive``,
``schemas.catalogue``). It lives in ``schemas/`` because the catalogue, which parsers
import, needs it too.
"""

from __future__ import annotations

#: The encodings a file name's bytes are tried in, in order.
NAME_ENCODINGS = ("utf-8", "gbk")


def decode_name(raw: bytes) -> str | None:
    """The text of a file name's bytes.

    Parameters
    ----------
    raw
        The name's bytes, as stored in a zip or on a file system.

    Returns
    -------
    str | None
        The bytes read as UTF-8, else as GBK (a reading is taken only when it encodes
        back to the same bytes); None when they are neither.
    """
    for encoding in NAME_ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if text.encode(encoding) == raw:
            return text
    return None


def name_bytes(name: str) -> bytes | None:
    """The bytes of a name listed by the file system (non-UTF-8 bytes surrogate-escaped),
    or None for text that no bytes stand behind (a lone surrogate not from an escape)."""
    try:
        return name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return None


def readable_name(name: str) -> str | None:
    """A file system name read with :func:`decode_name`: the name itself when it is
    already UTF-8 text, its GBK reading when its bytes are GBK, else None."""
    if name.isascii():
        return name
    raw = name_bytes(name)
    return None if raw is None else decode_name(raw)


_FORBIDDEN_IN_ID = set('/\\:*?"<>|')  # a project id names a folder in the store and products
#: bidirectional controls (U+202E reverses what follows) and other invisible format
#: characters that make a name read differently from what it is
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
#: names Windows reserves for devices, with or without an extension (CON, CON.txt, COM1 …)
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{dev}{n}" for dev in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")]
)


def reserved_name(name: str) -> bool:
    """Whether a file or folder name is one Windows reserves for a device (``CON``,
    ``nul.txt``, ``COM1`` …), compared without case and before the first dot."""
    return name.split(".", 1)[0].rstrip(" ").upper() in _RESERVED


def unsafe_char(c: str) -> bool:
    """A character no stored or published name may hold: C0 and C1 controls, DEL, the
    bidirectional controls, and ``/`` ``\\`` ``:`` ``*`` ``?`` ``"`` ``<`` ``>`` ``|``."""
    o = ord(c)
    return o < 32 or 0x7F <= o <= 0x9F or c in _BIDI or c in _FORBIDDEN_IN_ID


def project_id_ok(value: object) -> bool:
    """Whether ``value`` can be a project id, the documented safe form: UTF-8 text (Chinese
    allowed and kept as written) that names a folder on any system — none of
    ``/ \\ : * ? " < > |``, no C0/C1 control, no bidirectional control (U+202E …), not a
    Windows reserved name (``CON``, ``NUL``, ``COM1`` …), no leading or trailing blank, not
    starting with ``.``, at most 200 bytes."""
    if not isinstance(value, str):
        return False
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return (
        bool(encoded)
        and value == value.strip()
        and not value.startswith(".")
        and len(encoded) <= 200
        and not reserved_name(value)
        and not any(unsafe_char(c) for c in value)
    )
