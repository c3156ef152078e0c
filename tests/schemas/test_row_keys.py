"""Row keys (the ``key`` of a table finding's place), made for whole sheets at once, give
byte for byte what the old per-row rule gave: the sample package, missing key fields and
any mix of cells (hypothesis), and the findings of every RPT code that names a row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.package import read_package
from schemas.fields import SHEETS_BY_KEY
from schemas.profile import load_profile
from schemas.tables import NUMERIC_KINDS, ROW_KEYS, Tables, row_keys, type_tables
from tests.schemas.test_tables import ZDDM, ZRZH, minimal

PROFILE = load_profile()


def per_row_key(sheet_key: str, row: pd.Series) -> str | None:
    """The rule ``Tables.key_of`` applied to one ``df.loc[row]`` until keys were made per
    sheet, kept word for word as the oracle."""
    cols = ROW_KEYS.get(sheet_key, ())
    vals = [row.get(c) for c in cols if c in row.index]
    vals = [str(int(v)) if isinstance(v, float) and v == v and v.is_integer() else v for v in vals]
    vals = [str(v) for v in vals if v is not None and not (isinstance(v, float) and v != v) and v is not pd.NA]
    return "/".join(vals) if vals else None


def per_row_keys(df: pd.DataFrame, sheet_key: str) -> list[str | None]:
    return [per_row_key(sheet_key, df.loc[r]) for r in df.index]


def bulk_keys(df: pd.DataFrame, sheet_key: str) -> list[str | None]:
    keys = row_keys(df, sheet_key)
    assert keys.index.equals(df.index)
    assert keys.dtype == "string"
    return [None if k is pd.NA else k for k in keys.tolist()]


def assert_same_keys(df: pd.DataFrame, sheet_key: str) -> None:
    expected = per_row_keys(df, sheet_key)
    tables = Tables(frames={sheet_key: df})
    assert [tables.key_of(sheet_key, r) for r in df.index] == expected
    assert bulk_keys(df, sheet_key) == expected
    assert [type(k) for k in expected] == [type(tables.key_of(sheet_key, r)) for r in df.index]


def typed_frame(sheet_key: str, rows: list[dict], index: list[int] | None = None) -> pd.DataFrame:
    """A frame typed as ``type_sheet`` types it: float64 numbers, string text, a non-key
    column beside the keys; key columns not named in any row are left out."""
    sheet = SHEETS_BY_KEY[sheet_key]
    named = {c for r in rows for c in r}
    cols: dict[str, pd.Series] = {}
    for c in ROW_KEYS[sheet_key]:
        if c not in named:
            continue
        values = [r.get(c) for r in rows]
        dtype = "float64" if sheet.field(c).kind in NUMERIC_KINDS else "string"
        cols[c] = pd.Series([np.nan if v is None and dtype == "float64" else v for v in values], dtype=dtype)
    cols["other"] = pd.Series([1.5] * len(rows), dtype="float64")
    df = pd.DataFrame(cols)
    df.index = pd.Index(index or list(range(2, len(rows) + 2)), name="_row")
    return df


def test_keys_of_every_sheet_of_the_sample_package_match_the_per_row_rule(sample_s, tmp_path):
    pkg = read_package(sample_s, tmp_path, PROFILE)
    tables, _ = type_tables(pkg.tables, PROFILE)
    assert set(tables.frames) == set(ROW_KEYS)  # every keyed sheet is compared
    for sheet_key, df in tables.frames.items():
        expected = per_row_keys(df, sheet_key)
        assert None not in expected, sheet_key
        assert [tables.key_of(sheet_key, r) for r in df.index] == expected, sheet_key
        assert bulk_keys(df, sheet_key) == expected, sheet_key
    assert tables.key_of("floor", int(tables["floor"].index[0])) == f"{ZRZH}/1"  # SJC 1.0 → "1"


@pytest.mark.parametrize(
    ("sheet_key", "row", "key"),
    [
        ("shared_part", {"ZRZH": ZRZH, "SJC": 3.0, "MC": "楼梯间"}, f"{ZRZH}/3/楼梯间"),
        ("shared_part", {"ZRZH": None, "SJC": 3.0, "MC": "楼梯间"}, "3/楼梯间"),
        ("shared_part", {"ZRZH": ZRZH, "SJC": None, "MC": "楼梯间"}, f"{ZRZH}/楼梯间"),
        ("shared_part", {"ZRZH": ZRZH, "SJC": None, "MC": None}, ZRZH),
        ("shared_part", {"ZRZH": None, "SJC": None, "MC": None}, None),
        ("shared_part", {"SJC": -1.0}, "-1"),  # ZRZH and MC columns absent
        ("floor", {"ZRZH": ZRZH, "SJC": -0.0}, f"{ZRZH}/0"),
        ("floor", {"ZRZH": ZRZH, "SJC": 2.5}, f"{ZRZH}/2.5"),
        ("floor", {"ZRZH": ZRZH, "SJC": 1e19}, f"{ZRZH}/10000000000000000000"),
        ("floor", {"ZRZH": ZRZH, "SJC": float("inf")}, f"{ZRZH}/inf"),
        ("boundary_line", {"ZDDM": ZDDM, "QSJZDH": None, "ZZJZDH": "J2"}, f"{ZDDM}/J2"),
        ("boundary_line", {"ZDDM": ZDDM}, ZDDM),
        ("boundary_point", {"ZDDM": None, "JZDH": "J1"}, "J1"),
        ("setback", {"ZRZH": None, "DX": None}, None),
    ],
)
def test_missing_key_fields_are_left_out(sheet_key, row, key):
    full = {c: ("x" if c not in ("SJC",) else 1.0) for c in row}  # a full row beside it
    df = typed_frame(sheet_key, [full, row])
    assert_same_keys(df, sheet_key)
    assert Tables(frames={sheet_key: df}).key_of(sheet_key, 3) == key


TEXT = st.one_of(st.none(), st.sampled_from(["J1", "0101", "楼梯间", "项目", "a/b", ZRZH]), st.text(max_size=3))
NUMBER = st.one_of(
    st.none(),
    st.integers(-5, 40).map(float),
    st.sampled_from([-0.0, 0.5, 2.5, 1e19, 2.0**63, -(2.0**63), 2.0**53 + 2, 1e-7, float("inf"), float("-inf")]),
    st.floats(),
)
ANY = st.one_of(TEXT, NUMBER, st.integers(-(2**70), 2**70), st.just(pd.NA))


@st.composite
def sheets(draw):
    """A keyed sheet with some key columns absent, missing and odd cells, typed as
    ``type_sheet`` types it — or, now and then, a key column of plain objects."""
    sheet_key = draw(st.sampled_from(sorted(ROW_KEYS)))
    sheet = SHEETS_BY_KEY[sheet_key]
    n = draw(st.integers(0, 6))
    index = draw(st.lists(st.integers(2, 10**6), min_size=n, max_size=n, unique=True))
    cols: dict[str, pd.Series] = {}
    for c in ROW_KEYS[sheet_key]:
        form = draw(st.sampled_from(["typed", "typed", "typed", "absent", "object"]))
        if form == "absent":
            continue
        if form == "object":
            cols[c] = pd.Series(draw(st.lists(ANY, min_size=n, max_size=n)), dtype=object)
        elif sheet.field(c).kind in NUMERIC_KINDS:
            values = draw(st.lists(NUMBER, min_size=n, max_size=n))
            cols[c] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            cols[c] = pd.Series(draw(st.lists(TEXT, min_size=n, max_size=n)), dtype="string")
    if draw(st.booleans()):
        cols["other"] = pd.Series([1.5] * n, dtype="float64")
    df = pd.DataFrame(cols, index=pd.RangeIndex(n))
    df.index = pd.Index(index, dtype="int64", name="_row")
    return sheet_key, df


@settings(max_examples=300, deadline=None)
@given(sheets())
def test_bulk_keys_equal_the_per_row_rule_for_any_cells(case):
    sheet_key, df = case
    assert_same_keys(df, sheet_key)


def test_key_of_a_row_or_sheet_that_is_not_there_is_none():
    df = typed_frame("floor", [{"ZRZH": ZRZH, "SJC": 1.0}])
    tables = Tables(frames={"floor": df})
    assert tables.key_of("floor", 3) is None
    assert tables.key_of("unit", 2) is None
    assert tables.row_keys("unit").empty


def test_a_replaced_frame_gets_fresh_keys():
    tables = Tables(frames={"floor": typed_frame("floor", [{"ZRZH": ZRZH, "SJC": 1.0}])})
    assert tables.key_of("floor", 2) == f"{ZRZH}/1"
    tables.frames["floor"] = typed_frame("floor", [{"ZRZH": ZRZH, "SJC": 2.0}])  # as the CRS step does
    assert tables.key_of("floor", 2) == f"{ZRZH}/2"


def test_table_findings_name_their_rows_key():
    """RPT-003, 004, 006, 007, 008 and 009 on one 层 sheet: each at its row, with the key
    the per-row rule gives for that row of the typed sheet."""
    floor = pd.DataFrame(
        {
            "ZRZH": [ZRZH, ZRZH, ZRZH, None, ZRZH, ZDDM + "F0009", ZRZH],
            "SJC": ["1", "2", "2", "3", "0", "4", "5"],
            "CG": ["3.00", "三米", "3.00", "3.00", "3.00", "3.00", "3.001"],
            "_row": [2, 3, 4, 5, 6, 7, 8],
        }
    )
    tables, found = type_tables(minimal(floor=floor), PROFILE)
    df = tables["floor"]
    on_floor = [f for f in found if f.object.sheet == "层"]
    assert {(f.code, f.object.row) for f in on_floor} >= {
        ("RPT-003", 3), ("RPT-006", 4), ("RPT-004", 5), ("RPT-007", 6), ("RPT-009", 7), ("RPT-008", 8),
    }
    for f in on_floor:
        assert f.object.key == per_row_key("floor", df.loc[f.object.row]), f
    assert next(f for f in on_floor if f.code == "RPT-004").object.key == "3"
