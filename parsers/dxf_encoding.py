"""Which code page a DXF's text is really in, and how to get it right after ezdxf.

R2004 and older DXF files are written in the code page of ``$DWGCODEPAGE`` (ANSI_936 = GBK
from Chinese CAD); R2007+ are UTF-8. Chinese CAD often declares ANSI_1252 and writes GBK
bytes anyway. We look at the raw bytes of every line that holds non-ASCII bytes, choose the
encoding they really are in, and re-decode ezdxf's strings: ezdxf decodes with
``errors="surrogateescape"``, so its strings turn back into the file's exact bytes.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

import numpy as np
from ezdxf.lldxf.encoding import (
    decode_dxf_unicode,
    decode_mif_to_unicode,
    has_dxf_unicode,
    has_mif_encoding,
)
from ezdxf.tools.codepage import toencoding

_SINGLE_BYTE_CJK_SHARE = 0.9  # share of GB2312 characters for "these bytes are GBK"
_MULTIBYTE = {"gbk", "gb2312", "gb18030", "big5", "cp950", "cp932", "shift_jis", "cp949"}
_NAMES = {"gbk": "GBK", "utf-8": "UTF-8"}


def canonical(encoding: str) -> str:
    """Python's canonical codec name (``"utf8"`` → ``"utf-8"``, ``"cp936"`` → ``"gbk"``)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return "cp1252"


def ezdxf_encoding(acadver: str | None, codepage: str | None) -> str:
    """The encoding ``ezdxf.recover`` decodes with (its ``detect_encoding`` rule: UTF-8
    for R2007+, else the code page; cp1252 unless both header variables are present)."""
    if acadver and codepage:
        return "utf-8" if acadver >= "AC1021" else canonical(toencoding(codepage))
    return "cp1252"


@dataclass(frozen=True, slots=True)
class EncodingChoice:
    """``loaded``: what ezdxf used; ``actual``: what the bytes are; ``reason``: the DXF-008
    reason when the declaration is wrong, else None."""

    loaded: str
    actual: str
    reason: str | None = None


def _gb2312_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are in GB2312 (common CJK)."""
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    if not wide:
        return 0.0
    dropped = len(text.encode("gbk")) - len(text.encode("gb2312", errors="ignore"))
    return 1.0 - (dropped / 2) / wide


def high_lines(data: bytes) -> bytes:
    """The lines of ``data`` that hold a byte >= 0x80, joined by newlines."""
    if data.isascii():
        return b""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    lines = np.unique(np.searchsorted(newlines, np.flatnonzero(arr >= 0x80)))
    starts = np.concatenate([[0], newlines + 1])[lines]
    ends = np.concatenate([newlines, [len(data)]])[lines]
    return b"\n".join(data[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True))


def _decodes(blob: bytes, encoding: str) -> str | None:
    try:
        return blob.decode(encoding)
    except UnicodeDecodeError:
        return None


def choose_encoding(data: bytes, acadver: str | None, codepage: str | None) -> EncodingChoice:
    """Choose the encoding of the text in an ASCII DXF.

    Parameters
    ----------
    data : bytes
        The ASCII DXF.
    acadver, codepage : str or None
        ``$ACADVER`` and ``$DWGCODEPAGE`` as declared.

    Returns
    -------
    EncodingChoice
    """
    loaded = ezdxf_encoding(acadver, codepage)
    modern = acadver is not None and acadver >= "AC1021"
    declared = "utf-8" if modern else canonical(toencoding(codepage or "ANSI_1252"))
    blob = high_lines(data)
    if not blob:
        return EncodingChoice(loaded, declared)
    as_utf8 = _decodes(blob, "utf-8")
    as_gbk = _decodes(blob, "gbk")
    gbk_plausible = as_gbk is not None and _gb2312_share(as_gbk) >= _SINGLE_BYTE_CJK_SHARE
    said = "R2007 及以上版本应为 UTF-8" if modern else f"声明代码页 {codepage or 'ANSI_1252'}"
    if declared == "utf-8":
        if as_utf8 is None and gbk_plausible:
            return EncodingChoice(loaded, "gbk", f"{said}，实为 GBK")
        return EncodingChoice(loaded, declared)
    if declared in _MULTIBYTE:
        as_declared = _decodes(blob, declared)
        if as_utf8 is not None and not (as_declared is not None and gbk_plausible):
            return EncodingChoice(loaded, "utf-8", f"{said}，实为 UTF-8")
        return EncodingChoice(loaded, declared)
    # a single-byte code page: any byte string decodes, so look for what it really is
    if gbk_plausible:
        return EncodingChoice(loaded, "gbk", f"{said}，实为 GBK")
    if as_utf8 is not None:
        return EncodingChoice(loaded, "utf-8", f"{said}，实为 UTF-8")
    return EncodingChoice(loaded, declared)


def unescape(text: str) -> str:
    """Apply ezdxf's ``\\U+xxxx`` and ``\\M+cxxxx`` decoding to a decoded string."""
    if "\\" in text:
        if has_dxf_unicode(text):
            text = decode_dxf_unicode(text)
        if has_mif_encoding(text):
            text = decode_mif_to_unicode(text)
    return text


@dataclass
class Decoder:
    """Turns ezdxf's strings into the right text and remembers which entities held text
    that could not be decoded (lone surrogates or U+FFFD)."""

    choice: EncodingChoice
    bad: list[tuple[str, str]] = field(default_factory=list)  # (layer, handle)

    def __call__(self, text: str, layer: str = "", handle: str = "") -> str:
        if text.isascii():
            return text
        loaded, actual = self.choice.loaded, self.choice.actual
        if loaded == actual:
            try:
                text.encode("utf-8")  # lone surrogates (undecodable bytes) raise here
            except UnicodeEncodeError:
                text = _redecode(text, loaded, actual)
        else:
            text = _redecode(text, loaded, actual)
        if "\ufffd" in text:
            self.bad.append((layer, handle))
        return text

    def raw(self, value: bytes, layer: str = "", handle: str = "") -> str:
        """Decode a raw byte value the way ezdxf plus this decoder would."""
        text = unescape(value.decode(self.choice.actual, "replace"))
        if "\ufffd" in text:
            self.bad.append((layer, handle))
        return text


def _redecode(text: str, loaded: str, actual: str) -> str:
    try:
        return text.encode(loaded, "surrogateescape").decode(actual, "replace")
    except UnicodeEncodeError:
        pass
    # characters ezdxf produced from \U+ escapes cannot go back to bytes: keep them
    out: list[str] = []
    run = bytearray()
    for char in text:
        try:
            run += char.encode(loaded, "surrogateescape")
        except UnicodeEncodeError:
            out.append(run.decode(actual, "replace"))
            run.clear()
            out.append(char)
    out.append(run.decode(actual, "replace"))
    return "".join(out)


def display_name(encoding: str) -> str:
    """``gbk`` → ``GBK`` for messages."""
    return _NAMES.get(encoding, encoding.upper())
