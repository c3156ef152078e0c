"""Structure of the real-estate unit codes of GB/T 37346-2019 (不动产单元设定与代码编制规则).

Pure parsers of code *text*, reusable by every rule: each function takes a pandas Series of
codes (missing values allowed) and returns, per code, the reason it breaks a structure rule
(Chinese, for the finding's message) or ``<NA>``. They judge structure only: whether a code
names a parcel of the package is a cross-table question (RPT-009, XSV-001).

宗地代码 ZDDM, 19 characters (rules.md CAD-001)::

    371502 001 001 GB 00001
    ^县级   ^地籍区 ^地籍子区 ^宗地特征码 ^宗地顺序号 (≥ 00001)

宗地特征码: first letter G 国有 / J 集体 / Z 争议; second letter one of
A B S X C D E F H G W Y L N; A (集体土地所有权) and C (村民小组) need the first letter J
(CAD-003: a pair of allowed letters that may not go together).

不动产单元号 BDCDYH, 28 characters (CAD-002): ZDDM + 定着物特征码 F 房屋 / L 林木 / Q 其他 /
W 无定着物 + 8 digits; W → ``00000000``; F → 4-digit 幢号 0001–9999 + 4-digit 户号 0001–9999.
自然幢号 ZRZH, 24 characters: ZDDM + ``F`` + 4-digit 幢号 0001–9999.

Where a code is too short or too long its parts cannot be told apart: only the length is
reported. Where a BDCDYH or ZRZH has its length, its first 19 characters are a ZDDM, to be
judged by the ZDDM functions (:func:`zddm_part`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd

ZDDM_LENGTH = 19
ZRZH_LENGTH = 24
BDCDYH_LENGTH = 28
FIRST_LETTERS = "GJZ"  # 宗地特征码, first letter: 国有 G, 集体 J, 争议 Z
SECOND_LETTERS = "ABSXCDEFHGWYLN"  # second letter: the right or the kind of land
NEEDS_J = "AC"  # 集体土地所有权 A and 村民小组 C exist only on 集体 (J) land
FIXTURE_LETTERS = "FLQW"  # 定着物特征码: 房屋 F, 林木 L, 其他 Q, 无定着物 W
VIRTUAL_AREA = "000000"  # 地籍区 + 地籍子区 of a virtual (预编) code
SEP = "；"

# (slice, full-match pattern, reason) of a 19-character ZDDM, in reading order
_ZDDM_PARTS: tuple[tuple[slice, str, str], ...] = (
    (slice(0, 6), r"[0-9]{6}", "县级行政区代码（第 1–6 位）应为 6 位数字"),
    (slice(6, 9), r"[0-9]{3}", "地籍区（第 7–9 位）应为 3 位数字"),
    (slice(9, 12), r"[0-9]{3}", "地籍子区（第 10–12 位）应为 3 位数字"),
    (slice(12, 13), f"[{FIRST_LETTERS}]", "宗地特征码第 1 位（第 13 位）应为 " + "、".join(FIRST_LETTERS)),
    (slice(13, 14), f"[{SECOND_LETTERS}]", "宗地特征码第 2 位（第 14 位）应为 " + "、".join(SECOND_LETTERS) + " 之一"),
    (slice(14, 19), r"(?!00000)[0-9]{5}", "宗地顺序号（第 15–19 位）应为 00001–99999"),
)
_SEQ4 = r"(?!0000)[0-9]{4}"  # 0001–9999
ZDDM_PATTERN = r"[0-9]{12}" + f"[{FIRST_LETTERS}][{SECOND_LETTERS}]" + r"(?!00000)[0-9]{5}"
BDCDYH_PATTERN = r".{19}(?:W00000000|F" + _SEQ4 + _SEQ4 + r"|[LQ][0-9]{8})"
ZRZH_PATTERN = r".{19}F" + _SEQ4


def _text(codes: pd.Series) -> pd.Series:
    return codes.astype("string")


def _by_value(judge: Callable[..., pd.Series]) -> Callable[..., pd.Series]:
    """Judge each distinct code once: a package repeats the same ZDDM in thousands of rows."""

    @functools.wraps(judge)
    def wrapper(codes: pd.Series, *args: object) -> pd.Series:
        text = _text(codes)
        index, distinct = pd.factorize(text)  # missing → -1
        if 2 * len(distinct) > len(text):
            return judge(text, *args)
        judged = judge(pd.Series(distinct, dtype="string"), *args).to_numpy(dtype=object, na_value=pd.NA)
        values = np.append(judged, pd.NA)  # position -1 (a missing code) → NA
        return pd.Series(values[index], index=text.index, dtype="string")

    return wrapper


def _well_formed(pattern: str) -> Callable[[Callable[[pd.Series], pd.Series]], Callable[[pd.Series], pd.Series]]:
    """Explain only the codes that fail ``pattern`` (the whole valid structure in one regex):
    nearly every code of a package is well formed, and one match is cheaper than the parts."""

    def decorate(explain: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
        @functools.wraps(explain)
        def wrapper(codes: pd.Series) -> pd.Series:
            text = _text(codes)
            odd = text.notna() & ~text.str.fullmatch(pattern).fillna(False).astype(bool)
            out = pd.Series(pd.NA, index=text.index, dtype="string")
            if odd.any():
                out[odd] = explain(text[odd])
            return out

        return wrapper

    return decorate


def _fails(part: pd.Series, pattern: str) -> pd.Series:
    """True where a present part does not fully match ``pattern``."""
    return part.notna() & ~part.str.fullmatch(pattern).fillna(False).astype(bool)


def _collect(index: pd.Index, checks: list[tuple[pd.Series, str]]) -> pd.Series:
    """The reasons of every failed check joined by ``；`` (NA where none failed)."""
    out = pd.Series(pd.NA, index=index, dtype="string")
    for failed, reason in checks:
        failed = failed.fillna(False).astype(bool)
        out = out.mask(failed & out.isna(), reason).mask(failed & out.notna(), out + SEP + reason)
    return out


def _length(text: pd.Series, length: int, what: str) -> tuple[pd.Series, pd.Series]:
    """(wrong length mask, its reason per code)."""
    n = text.str.len()
    wrong = text.notna() & (n != length)
    reason = f"{what}应为 {length} 位（实为 " + n.astype("Int64").astype("string") + " 位）"
    return wrong.fillna(False).astype(bool), reason


@_by_value
@_well_formed(ZDDM_PATTERN)
def zddm_structure(codes: pd.Series) -> pd.Series:
    """CAD-001: why each ZDDM is not of the 19-character structure, or NA.

    Letters of the 宗地特征码 are judged one by one against the allowed sets; a pair of
    allowed letters that may not go together is :func:`zddm_pair`'s (CAD-003), not this.
    """
    text = _text(codes)
    wrong_length, length_reason = _length(text, ZDDM_LENGTH, "宗地代码")
    sized = text.where(~wrong_length)
    reasons = _collect(text.index, [(_fails(sized.str[p], pattern), reason) for p, pattern, reason in _ZDDM_PARTS])
    return reasons.mask(wrong_length, length_reason)


@_by_value
def zddm_pair(codes: pd.Series) -> pd.Series:
    """CAD-003: the 宗地特征码 (e.g. ``GA``) of each structurally valid ZDDM whose second
    letter A or C comes without the first letter J, or NA."""
    text = _text(codes).where(zddm_structure(codes).isna())
    pair = text.str[12:14]
    bad = pair.str[1].isin(list(NEEDS_J)).fillna(False).astype(bool) & (pair.str[0] != "J").fillna(False).astype(bool)
    return pair.where(bad).astype("string")


@_by_value
def zddm_virtual(codes: pd.Series) -> pd.Series:
    """CAD-004: a reason for each structurally valid ZDDM whose 地籍区 + 地籍子区 are
    ``000000`` (a virtual, provisional code), or NA."""
    text = _text(codes).where(zddm_structure(codes).isna())
    virtual = (text.str[6:12] == VIRTUAL_AREA).fillna(False).astype(bool)
    return pd.Series(pd.NA, index=text.index, dtype="string").mask(virtual, "地籍区与地籍子区为 000000")


@_by_value
def zddm_county(codes: pd.Series, counties: set[str] | dict[str, str]) -> pd.Series:
    """CAD-005: the county code (first 6 digits) of each structurally valid ZDDM that is
    not in ``counties``, or NA. An empty ``counties`` judges nothing (no list, no rule)."""
    text = _text(codes).where(zddm_structure(codes).isna())
    county = text.str[:6]
    if not len(counties):
        return county.where(pd.Series(False, index=text.index))
    unknown = county.notna() & ~county.isin(set(counties)).fillna(False).astype(bool)
    return county.where(unknown).astype("string")


def zddm_part(codes: pd.Series, length: int) -> pd.Series:
    """The leading ZDDM of each code of its full ``length`` (NA where the length is wrong:
    the parts cannot be told apart, and the length is the finding)."""
    text = _text(codes)
    return text.str[:ZDDM_LENGTH].where(text.str.len() == length).astype("string")


@_by_value
@_well_formed(BDCDYH_PATTERN)
def bdcdyh_structure(codes: pd.Series) -> pd.Series:
    """CAD-002: why each BDCDYH is not of the 28-character structure, or NA.

    Judges the length and the 9 characters after the ZDDM; the leading ZDDM is judged by
    the ZDDM functions on :func:`zddm_part` (``zddm_part(codes, BDCDYH_LENGTH)``).
    """
    text = _text(codes)
    wrong_length, length_reason = _length(text, BDCDYH_LENGTH, "不动产单元号")
    sized = text.where(~wrong_length)
    letter, tail = sized.str[19], sized.str[20:28]
    is_w, is_f = (letter == "W").fillna(False).astype(bool), (letter == "F").fillna(False).astype(bool)
    other = letter.isin(["L", "Q"]).fillna(False).astype(bool)
    reasons = _collect(
        text.index,
        [
            (_fails(letter, f"[{FIXTURE_LETTERS}]"), "定着物特征码（第 20 位）应为 " + "、".join(FIXTURE_LETTERS) + " 之一"),
            (is_w & (tail != "00000000").fillna(False).astype(bool), "定着物特征码为 W（无定着物）时第 21–28 位应为 00000000"),
            (is_f & _fails(tail.str[:4], _SEQ4), "幢号（第 21–24 位）应为 0001–9999"),
            (is_f & _fails(tail.str[4:], _SEQ4), "户号（第 25–28 位）应为 0001–9999"),
            (other & _fails(tail, r"[0-9]{8}"), "定着物代码（第 21–28 位）应为 8 位数字"),
        ],
    )
    return reasons.mask(wrong_length, length_reason)


@_by_value
@_well_formed(ZRZH_PATTERN)
def zrzh_structure(codes: pd.Series) -> pd.Series:
    """CAD-002 for a 自然幢号: why each ZRZH is not ZDDM + ``F`` + 幢号 0001–9999, or NA.

    Judges the length and the 5 characters after the ZDDM; the leading ZDDM is judged by
    the ZDDM functions on ``zddm_part(codes, ZRZH_LENGTH)``.
    """
    text = _text(codes)
    wrong_length, length_reason = _length(text, ZRZH_LENGTH, "自然幢号")
    sized = text.where(~wrong_length)
    reasons = _collect(
        text.index,
        [
            (_fails(sized.str[19], "F"), "自然幢号第 20 位应为 F（房屋）"),
            (_fails(sized.str[20:24], _SEQ4), "幢号（第 21–24 位）应为 0001–9999"),
        ],
    )
    return reasons.mask(wrong_length, length_reason)


__all__ = [
    "BDCDYH_LENGTH",
    "ZDDM_LENGTH",
    "ZRZH_LENGTH",
    "bdcdyh_structure",
    "zddm_county",
    "zddm_pair",
    "zddm_part",
    "zddm_structure",
    "zddm_virtual",
    "zrzh_structure",
]


def bdcdyh_valid(codes: pd.Series) -> pd.Series:
    """True where a BDCDYH passes CAD-001..003 (its own structure and its ZDDM part), so
    that rules comparing codes stay silent on codes the code rules already reject."""
    zddm = zddm_part(codes, BDCDYH_LENGTH)
    ok = bdcdyh_structure(codes).isna() & zddm_structure(zddm).isna() & zddm_pair(zddm).isna()
    return ok.fillna(False).astype(bool)


def zddm_valid(codes: pd.Series) -> pd.Series:
    """True where a ZDDM passes CAD-001 and CAD-003."""
    ok = zddm_structure(codes).isna() & zddm_pair(codes).isna()
    return ok.fillna(False).astype(bool)
