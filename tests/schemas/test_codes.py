"""Property tests of the GB/T 37346 code parsers (schemas.codes): well-formed codes pass,
one character made invalid fails with the right code (CAD-001 for the ZDDM part, CAD-002
for the unit part), and the letter-pair rule (CAD-003)."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codes import (
    BDCDYH_LENGTH,
    FIRST_LETTERS,
    NEEDS_J,
    SECOND_LETTERS,
    ZRZH_LENGTH,
    bdcdyh_structure,
    zddm_county,
    zddm_pair,
    zddm_part,
    zddm_structure,
    zddm_virtual,
    zrzh_structure,
)

DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NOT_DIGIT = st.sampled_from(list(UPPER + "abcxyz -_/#Ｏ０"))  # full-width 0 is no ASCII digit
MALFORMED = "3715O2001001GA00001"  # letter O in the county; the pair GA alone would be CAD-003
COUNTIES = {"371502": "东昌府区"}
ELSEWHERE = "371402001001GB00001"  # a valid ZDDM of a county not in COUNTIES


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(DIGITS, min_size=n, max_size=n)


def seq(n: int) -> st.SearchStrategy[str]:
    """n digits, not all zero (顺序号, 幢号, 户号)."""
    return digits(n).filter(lambda s: s != "0" * n)


@st.composite
def zddms(draw) -> str:
    first = draw(st.sampled_from(FIRST_LETTERS))
    second = draw(st.sampled_from(SECOND_LETTERS).filter(lambda b: first == "J" or b not in NEEDS_J))
    return draw(digits(6)) + draw(digits(3)) + draw(digits(3)) + first + second + draw(seq(5))


@st.composite
def bdcdyhs(draw) -> str:
    tail = draw(st.one_of(
        st.just("W00000000"),
        st.builds(lambda z, h: "F" + z + h, seq(4), seq(4)),
        st.builds(lambda k, d: k + d, st.sampled_from("LQ"), digits(8)),
    ))
    return draw(zddms()) + tail


def one(fn, code: str, *args):
    value = fn(pd.Series([code], dtype="string"), *args).iloc[0]
    return None if pd.isna(value) else value


def cad_codes(code: str) -> set[str]:
    """The codes a BDCDYH (28) or a ZDDM (19) gets from the parsers."""
    out = set()
    if len(code) == BDCDYH_LENGTH:
        if one(bdcdyh_structure, code):
            out.add("CAD-002")
        code = code[:19]
    if one(zddm_structure, code):
        out.add("CAD-001")
    elif one(zddm_pair, code):
        out.add("CAD-003")
    return out


@given(zddms())
def test_valid_zddm_passes(code):
    assert cad_codes(code) == set()
    assert (one(zddm_virtual, code) is not None) == (code[6:12] == "000000")


@given(bdcdyhs())
def test_valid_bdcdyh_passes(code):
    assert len(code) == BDCDYH_LENGTH and cad_codes(code) == set()
    assert one(zddm_part, code, BDCDYH_LENGTH) == code[:19]


@given(zddms(), seq(4))
def test_valid_zrzh_passes(zddm, zh):
    assert one(zrzh_structure, zddm + "F" + zh) is None
    assert one(zddm_part, zddm + "F" + zh, ZRZH_LENGTH) == zddm


def invalid_at(i: int) -> st.SearchStrategy[str]:
    """A character that may not stand at position ``i`` of a ZDDM."""
    if i in (12, 13):
        allowed = FIRST_LETTERS if i == 12 else SECOND_LETTERS
        return st.sampled_from([c for c in UPPER + "0a" if c not in allowed])
    return NOT_DIGIT


def spoil_zddm_part(code: str, data: st.DataObject) -> str:
    """``code`` with one character of its leading ZDDM (positions 0–18) made invalid."""
    i = data.draw(st.integers(0, 18))
    return code[:i] + data.draw(invalid_at(i)) + code[i + 1:]


@given(zddms(), st.data())
def test_one_bad_character_in_a_zddm_is_cad001(code, data):
    assert cad_codes(spoil_zddm_part(code, data)) == {"CAD-001"}


@given(bdcdyhs(), st.data())
def test_one_bad_character_in_the_zddm_part_of_a_bdcdyh_is_cad001_alone(code, data):
    assert cad_codes(spoil_zddm_part(code, data)) == {"CAD-001"}


@given(bdcdyhs(), st.data())
def test_one_bad_character_in_the_unit_part_of_a_bdcdyh_is_cad002_alone(code, data):
    i = data.draw(st.integers(19, 27))
    if i == 19:
        char = data.draw(st.sampled_from([c for c in UPPER + "0f" if c not in "FLQW"]))
    elif code[19] == "W":
        char = data.draw(st.sampled_from(list("123456789AZ ")))  # W wants 00000000
    else:
        char = data.draw(NOT_DIGIT)
    bad = code[:i] + char + code[i + 1:]
    assert cad_codes(bad) == {"CAD-002"}


@given(bdcdyhs(), st.data())
@settings(max_examples=50, deadline=None)
def test_a_bdcdyh_of_the_wrong_length_is_cad002_alone(code, data):
    i = data.draw(st.integers(0, 27))
    short, long = code[:i] + code[i + 1:], code[:i] + "1" + code[i:]
    for bad in (short, long):
        assert one(bdcdyh_structure, bad) is not None
        assert one(zddm_part, bad, BDCDYH_LENGTH) is None  # no CAD-001 on shifted parts


@given(zddms())
def test_zero_sequence_numbers_fail(code):
    assert cad_codes(code[:14] + "00000") == {"CAD-001"}
    unit = code + "F0000" + "0101"
    assert one(bdcdyh_structure, unit) is not None and one(zrzh_structure, code + "F0000") is not None


@pytest.mark.parametrize("first, second", list(itertools.product(FIRST_LETTERS, SECOND_LETTERS)))
def test_letter_pairs(first, second):
    code = "371502001001" + first + second + "00001"
    allowed = first == "J" or second not in NEEDS_J
    assert one(zddm_structure, code) is None  # both letters are allowed on their own
    assert one(zddm_pair, code) == (None if allowed else first + second)
    assert cad_codes(code) == (set() if allowed else {"CAD-003"})


def test_pair_is_not_judged_on_a_malformed_code():
    assert one(zddm_pair, MALFORMED) is None
    assert cad_codes(MALFORMED) == {"CAD-001"}


def test_virtual_and_county():
    assert one(zddm_virtual, "371502000000GB00001") is not None
    assert one(zddm_virtual, "371502000001GB00001") is None
    assert one(zddm_county, ELSEWHERE, COUNTIES) == "371402"
    assert one(zddm_county, "371502001001GB00001", COUNTIES) is None
    assert one(zddm_county, ELSEWHERE, {}) is None  # no list, no rule
    assert one(zddm_county, "37140A001001GB00001", COUNTIES) is None  # CAD-001's


@given(st.lists(st.one_of(zddms(), bdcdyhs(), st.text(max_size=30), st.none()), min_size=1, max_size=12))
@settings(max_examples=40, deadline=None)
def test_repeated_codes_are_judged_like_distinct_ones(values):
    """The per-distinct-value shortcut (a package repeats one ZDDM thousands of times)
    gives what judging the distinct codes directly gives, row by row, in the same order."""
    series = pd.Series(values * 3, dtype="string")  # repeated: the shortcut
    distinct = pd.Series(list(dict.fromkeys(v for v in values if v is not None)), dtype="string")
    for fn in (zddm_structure, zddm_pair, zddm_virtual, bdcdyh_structure, zrzh_structure):
        together = fn(series)
        assert list(together.index) == list(series.index)
        direct = dict(zip(distinct, fn(distinct), strict=True)) if len(distinct) else {}
        for code, got in zip(series, together, strict=True):
            want = None if pd.isna(code) else direct[code]
            assert (None if pd.isna(got) else got) == (None if want is None or pd.isna(want) else want)
