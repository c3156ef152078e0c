"""Which code page a DXF's text is really in, and how to get it right after ezdxf.

R2004 and older DXF files are written in the code page of ``$DWGCODEPAGE`` (ANSI_936 = GBK
from Chinese CAD); R2007+ are UTF-8. Chinese CAD often declares ANSI_1252 and writes GBK
bytes anyway, and other programs write UTF-8 under any declaration. We look at the raw bytes
of every line that holds non-ASCII bytes, choose the encoding they really are in
(:func:`choose_encoding`: the contract's rules), and re-decode ezdxf's strings: ezdxf
decodes with ``errors="surrogateescape"``, so its strings turn back into the file's exact
bytes.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field

import numpy as np

from parsers.dxf_codes import (
    decode_dxf_unicode,
    decode_mif_to_unicode,
    has_dxf_unicode,
    has_mif_encoding,
    toencoding,
)

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
    reason when the declaration is wrong, else None; ``mixed``: the file is GBK (or the
    declared multi-byte page) but some strings in it are UTF-8 (:func:`utf8_string`)."""

    loaded: str
    actual: str
    reason: str | None = None
    mixed: bool = False


def _gb2312_share(text: str) -> float:
    """Share of the non-ASCII characters of ``text`` that are in GB2312 (common CJK)."""
    wide = len(text) - len(text.encode("ascii", errors="ignore"))
    if not wide:
        return 0.0
    dropped = len(text.encode("gbk")) - len(text.encode("gb2312", errors="ignore"))
    return 1.0 - (dropped / 2) / wide


# Where the UTF-8 reading of GBK bytes lands, and real text in a Chinese drawing hardly
# ever is: C1 controls, IPA and spacing modifiers, combining marks, Cyrillic to NKo,
# private use. (GBK lead bytes C2–DF with a trail byte A1–BF are valid 2-byte UTF-8.)
_SUSPECT = ((0x80, 0xA0), (0x250, 0x370), (0x400, 0x800), (0xE000, 0xF900))
_SUSPECT_SHARE = 0.1
# UTF-8 strings that may stand in a GBK file: the symbols and Latin letters of survey text
_LATIN_SYMBOLS = frozenset("²³±°·×÷µμΩΔΦφπ√≤≥≈‰℃éèêëàáâäçñóòôöúùûüíìïāēěīǐōǒūǔǖǘǚǜ")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return 0x4E00 <= code <= 0x9FFF or 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF


def _utf8_plausible(text: str) -> bool:
    """True unless many non-ASCII characters of ``text`` are in :data:`_SUSPECT` ranges."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    wide = codes[codes >= 0x80]
    if not len(wide):
        return True
    suspect = np.zeros(len(wide), dtype=bool)
    for low, high in _SUSPECT:
        suspect |= (wide >= low) & (wide < high)
    return suspect.mean() <= _SUSPECT_SHARE


def utf8_string(raw: bytes) -> str | None:
    """``raw`` read as UTF-8 when it must be UTF-8 although the file around it is GBK.

    Its non-ASCII characters must all be CJK or survey symbols and Latin letters
    (:data:`_LATIN_SYMBOLS`), and there must be two CJK characters (GBK text forms such
    UTF-8 by accident about once in 10⁵ strings) or a symbol beside an ASCII letter or
    digit (``m²``, ``±0.05``, ``30°``, ``café``). A lone ``³`` is GBK ``鲁``, ``1¥`` is GBK
    ``1楼``: both stay GBK.
    """
    if raw.isascii():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    wide = [c for c in text if not c.isascii()]
    cjk = sum(map(_is_cjk, wide))
    latin = sum(c in _LATIN_SYMBOLS for c in wide)
    if cjk + latin < len(wide):
        return None
    if cjk >= 2 or (latin and any(c.isascii() and c.isalnum() for c in text)):
        return text
    return None


def high_lines(data: bytes) -> bytes:
    """The lines of ``data`` that hold a byte >= 0x80, joined by newlines."""
    if data.isascii():
        return b""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    at = np.searchsorted(newlines, np.flatnonzero(arr >= 0x80))  # sorted: unique by diff
    lines = at[np.concatenate([[True], at[1:] != at[:-1]])]
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

    R2007 and later are UTF-8 (GBK when the bytes are plainly GBK). R2004 and older, by
    the contract's rules, judged on all lines holding non-ASCII bytes at once (one blob,
    so that a short GBK string that happens to be valid UTF-8 does not decide):

    1. the blob is valid UTF-8 (and its UTF-8 reading is not made of the odd scripts
       GBK bytes turn into, while its GBK reading is common Chinese): UTF-8, whatever
       ``$DWGCODEPAGE`` says; DXF-008 when the declared page is not UTF-8 (it would have
       decoded these non-ASCII bytes differently);
    2. else the declared page, or GBK when the declared page is single-byte and the blob
       is common Chinese in GBK (DXF-008);
    3. a GBK file (declared or found) in which some lines are UTF-8 by :func:`utf8_string`
       is ``mixed``: those strings are read as UTF-8, the rest as GBK (DXF-008).

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
    if modern:
        said = "R2007 及以上版本的文字应为 UTF-8 编码"
    elif codepage:
        said = f"图中声明代码页 {codepage}"
    else:
        said = "图中未声明代码页（默认 ANSI_1252）"
    if declared == "utf-8":
        if as_utf8 is None and gbk_plausible:
            return EncodingChoice(loaded, "gbk", f"{said}，文字实为 GBK 编码，已按 GBK 读取")
        return EncodingChoice(loaded, declared)
    if as_utf8 is not None and (_utf8_plausible(as_utf8) or not gbk_plausible):
        return EncodingChoice(loaded, "utf-8", f"{said}，文字实为 UTF-8 编码，已按 UTF-8 读取")
    if declared in _MULTIBYTE:
        actual = declared
    elif gbk_plausible:
        actual = "gbk"
    else:
        return EncodingChoice(loaded, declared)
    reason = f"{said}，文字实为 GBK 编码，已按 GBK 读取" if actual != declared else None
    lines = blob.split(b"\n")
    utf8 = {line for line in set(lines) if utf8_string(line) is not None}
    mixed = sum(map(utf8.__contains__, lines)) if utf8 else 0
    if mixed:
        also = f"其中 {mixed} 行文字为 UTF-8 编码，已按 UTF-8 读取"
        reason = f"{reason}；{also}" if reason else f"{said}，{also}"
    return EncodingChoice(loaded, actual, reason, mixed=bool(mixed))


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
        if self.choice.mixed:
            try:
                utf8 = utf8_string(text.encode(loaded, "surrogateescape"))
            except UnicodeEncodeError:  # characters from \U+ escapes
                utf8 = None
            if utf8 is not None:
                return utf8
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
        utf8 = utf8_string(value) if self.choice.mixed else None
        text = unescape(utf8 if utf8 is not None else value.decode(self.choice.actual, "replace"))
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
