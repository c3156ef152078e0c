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


def project_id_ok(value: object) -> bool:
    """Whether ``value`` can be a project id: UTF-8 text (no lone surrogates) that names a
    folder on any system — no ``/ \\ : * ? " < > |`` or control characters, no leading or
    trailing blank, not starting with ``.``, at most 200 bytes."""
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
        and not any(c in _FORBIDDEN_IN_ID or ord(c) < 32 for c in value)
    )
