"""Floor labels (FC_C) and report headers: every spelling a firm's CAD or Excel produces."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.fields import SHEETS, header_to_code
from schemas.floor_labels import chinese_number, parse_floor_label

CN = "零一二三四五六七八九"


def to_chinese(n: int) -> str:
    """12 → 十二, 20 → 二十, 101 → 一百零一 (the way a drafter writes floor numbers)."""
    if n < 10:
        return CN[n]
    if n < 20:
        return "十" + (CN[n % 10] if n % 10 else "")
    if n < 100:
        return CN[n // 10] + "十" + (CN[n % 10] if n % 10 else "")
    rest = n % 100
    tail = "" if rest == 0 else ("零" + CN[rest] if rest < 10 else ("一" + to_chinese(rest) if rest < 20 else to_chinese(rest)))
    return CN[n // 100] + "百" + tail


@given(st.integers(min_value=1, max_value=199))
def test_every_spelling_of_an_above_ground_floor(n):
    for label in (f"{n}层", f"第{n}层", f" {n} 层", f"{n}F", f"第{to_chinese(n)}层", f"{to_chinese(n)}层"):
        assert parse_floor_label(label) == n, label
    wide = str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert parse_floor_label(f"{wide}层") == n


@given(st.integers(min_value=1, max_value=9))
def test_every_spelling_of_a_basement(n):
    for label in (f"-{n}层", f"地下{n}层", f"地下{to_chinese(n)}层", f"B{n}", f"负{n}层", f"第-{n}层"):
        assert parse_floor_label(label) == -n, label


@given(st.integers(min_value=0, max_value=999))
def test_chinese_numbers_round_trip(n):
    assert chinese_number(to_chinese(n)) == n


@given(st.text(max_size=12))
def test_any_text_gives_a_floor_or_none_never_raises(text):
    out = parse_floor_label(text)
    assert out is None or (isinstance(out, int) and out != 0)


def test_labels_that_name_no_floor():
    for text in ("屋顶", "0层", "层", "", "1-2层", None, 3):
        assert parse_floor_label(text) is None


@given(st.sampled_from([(s, f) for s in SHEETS for f in s.fields]), st.sampled_from(["code", "name", "both", "both-wide", "lower"]),
       st.sampled_from(["", " ", "\u3000"]))
def test_every_header_form_maps_to_its_field(sheet_field, form, pad):
    sheet, field = sheet_field
    header = {
        "code": field.code,
        "name": field.name,
        "both": f"{field.name}({field.code})",
        "both-wide": f"{field.name}（{field.code}）",
        "lower": field.code.lower(),
    }[form]
    assert header_to_code(sheet, pad + header + pad) == field.code


@given(st.text(max_size=20))
def test_unknown_headers_are_ignored_never_raise(text):
    for sheet in SHEETS:
        code = header_to_code(sheet, text)
        assert code is None or code in {f.code for f in sheet.fields}
