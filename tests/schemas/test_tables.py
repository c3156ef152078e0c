"""RPT-001..009: typed reading of report cells and the pandera schemas, asserted by code and place."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import tables
from schemas.profile import load_profile
from schemas.tables import read_numbers, type_tables

PROFILE = load_profile()
ZDDM = "371502001001GB00001"
ZRZH = ZDDM + "F0001"


def unit_rows(**override) -> pd.DataFrame:
    base = {
        "BDCDYH": [ZRZH + "0101", ZRZH + "0102"],
        "ZRZH": [ZRZH, ZRZH],
        "SJC": ["1", "1"],
        "HH": ["0101", "0102"],
        "FWYT": ["11", "11"],
        "SCTNJZMJ": ["88.12", "90.00"],
        "SCFTJZMJ": ["10.00", "10.21"],
        "SCJZMJ": ["98.12", "100.21"],
        "SCFTXS": ["0.113482", "0.113482"],
        "_row": [2, 3],
    }
    base.update(override)
    return pd.DataFrame(base)


def minimal(**sheets) -> dict[str, pd.DataFrame]:
    raw = {
        "project": pd.DataFrame({"field": ["XMBH", "ZBX"], "value": ["P", "EPSG:4548"], "_row": [2, 3]}),
        "building": pd.DataFrame(
            {"ZRZH": [ZRZH], "ZDDM": [ZDDM], "JZWMC": ["1#楼"], "FWJG": ["3"], "ZCS": ["1"], "DSCS": ["1"],
             "DXCS": ["0"], "JZWGD": ["3.45"], "ZZDMJ": ["200"], "SCJZMJ": ["198.33"], "_row": [2]}
        ),
        "floor": pd.DataFrame({"ZRZH": [ZRZH], "SJC": ["1"], "CG": ["3.00"], "_row": [2]}),
        "unit": unit_rows(),
    }
    raw.update(sheets)
    return raw


def codes_at(findings, code):
    return [(f.object.sheet, f.object.row, f.object.field) for f in findings if f.code == code]


def test_text_in_number_cell_is_rpt003_at_sheet_and_row():
    _, found = type_tables(minimal(unit=unit_rows(SCTNJZMJ=["88.12", "八十"])), PROFILE)
    assert codes_at(found, "RPT-003") == [("户", 3, "SCTNJZMJ")]
    assert not codes_at(found, "RPT-004")  # one finding per cell


def test_fullwidth_digits_spaces_and_thousands_separators_read_as_numbers():
    tables, found = type_tables(minimal(unit=unit_rows(SCTNJZMJ=[" ８８．１２ ", "1,090.00"])), PROFILE)
    assert not codes_at(found, "RPT-003")
    assert tables["unit"]["SCTNJZMJ"].tolist() == [88.12, 1090.0]


def test_missing_sheet_is_rpt001_and_optional_sheet_is_not():
    _, found = type_tables(minimal(), PROFILE)
    missing = {f.object.sheet for f in found if f.code == "RPT-001"}
    assert "宗地" in missing and "界址点" in missing
    assert "界址线" not in missing


def test_missing_column_is_rpt002():
    _, found = type_tables(minimal(unit=unit_rows().drop(columns=["SCFTXS"])), PROFILE)
    assert [c for c in codes_at(found, "RPT-002") if c[0] == "户"] == [("户", None, "SCFTXS")]


def test_empty_required_value_is_rpt004():
    _, found = type_tables(minimal(unit=unit_rows(HH=["0101", None])), PROFILE)
    assert codes_at(found, "RPT-004") == [("户", 3, "HH")]


def test_code_list_values_accept_code_name_or_both():
    b = minimal()["building"]
    for spelled in ("3", "钢筋混凝土结构", "3 钢筋混凝土结构"):
        tables, found = type_tables(minimal(building=b.assign(FWJG=[spelled])), PROFILE)
        assert not codes_at(found, "RPT-005")
        assert tables["building"]["FWJG"].iloc[0] == "3"
    _, found = type_tables(minimal(building=b.assign(FWJG=["钢木"])), PROFILE)
    assert codes_at(found, "RPT-005") == [("自然幢", 2, "FWJG")]


def test_profile_extends_a_code_list(tmp_path):
    extra = tmp_path / "p.toml"
    extra.write_text('base = "liaocheng"\nname = "x"\n[code_lists.FWYT]\n"86" = "储藏室"\n', encoding="utf-8")
    prof = load_profile(extra)
    raw = minimal(unit=unit_rows(FWYT=["86", "11"]))
    assert codes_at(type_tables(raw, PROFILE)[1], "RPT-005") == [("户", 2, "FWYT")]
    assert not codes_at(type_tables(raw, prof)[1], "RPT-005")


def test_duplicate_key_flags_the_second_row():
    _, found = type_tables(minimal(unit=unit_rows(BDCDYH=[ZRZH + "0101", ZRZH + "0101"])), PROFILE)
    assert codes_at(found, "RPT-006") == [("户", 3, "BDCDYH")]


@pytest.mark.parametrize(
    ("sheet", "column", "value"),
    [("unit", "SCTNJZMJ", "0"), ("unit", "SCTNJZMJ", "-3"), ("building", "DSCS", "0"), ("building", "DXCS", "-1"), ("unit", "SJC", "0")],
)
def test_out_of_range_is_rpt007(sheet, column, value):
    raw = minimal()
    raw[sheet] = raw[sheet].copy()
    raw[sheet].loc[0, column] = value
    _, found = type_tables(raw, PROFILE)
    row = int(raw[sheet]["_row"].iloc[0])
    assert (SHEET_NAMES[sheet], row, column) in codes_at(found, "RPT-007")


SHEET_NAMES = {"unit": "户", "building": "自然幢"}


def test_basement_floor_and_zero_underground_count_are_allowed():
    raw = minimal(floor=pd.DataFrame({"ZRZH": [ZRZH, ZRZH], "SJC": ["1", "-1"], "CG": ["3", "3"], "_row": [2, 3]}))
    _, found = type_tables(raw, PROFILE)
    assert not codes_at(found, "RPT-007")


def test_too_many_decimals_is_rpt008_warning():
    _, found = type_tables(minimal(unit=unit_rows(SCFTJZMJ=["10.001", "10.210"])), PROFILE)
    assert codes_at(found, "RPT-008") == [("户", 2, "SCFTJZMJ")]  # trailing zeros do not count
    assert {f.severity for f in found if f.code == "RPT-008"} == {"warning"}


def test_reference_to_missing_building_and_floor_is_rpt009():
    raw = minimal(unit=unit_rows(ZRZH=[ZRZH, ZDDM + "F0009"], SJC=["1", "1"]))
    raw["unit"].loc[0, "SJC"] = "7"  # a floor the 层 sheet lacks
    _, found = type_tables(raw, PROFILE)
    assert sorted(codes_at(found, "RPT-009")) == [("户", 2, "SJC"), ("户", 3, "ZRZH")]


def test_project_sheet_long_form():
    raw = minimal(project=pd.DataFrame({"field": ["XMBH", "CLRQ", "FCMJJD"], "value": ["P", "2022年5月6日", "四级"], "_row": [2, 3, 4]}))
    tables, found = type_tables(raw, PROFILE)
    assert str(tables.project["CLRQ"]) == "2022-05-06"
    assert codes_at(found, "RPT-005") == [("项目信息", 4, "FCMJJD")]
    assert ("项目信息", None, "XMMC") in codes_at(found, "RPT-002")


@given(st.decimals(min_value=-10**9, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_number_cells_round_trip_in_every_spelling(d):
    plain = f"{d:.2f}"
    grouped = f"{d:,.2f}"
    wide = plain.translate(str.maketrans("0123456789.-", "０１２３４５６７８９．－"))
    values, bad = read_numbers(pd.Series([plain, grouped, f"  {plain} ", wide]))
    assert not bad.any()
    assert values.tolist() == pytest.approx([float(d)] * 4)


def test_header_below_row_one_is_one_rpt002_naming_the_row():
    raw = unit_rows().drop(columns=["BDCDYH", "SCTNJZMJ"])
    raw.attrs["header_guess_row"] = 3
    _, found = type_tables(minimal(unit=raw), PROFILE)
    hits = [f for f in found if f.object.sheet == "户"]
    assert [(f.code, f.object.row, f.object.field) for f in hits] == [("RPT-002", 1, None)]


def test_checking_does_not_load_hypothesis(sample_s):
    """pandera's test-data strategies (and hypothesis with them) stay out of a check."""
    import subprocess
    import sys

    code = (
        "import sys, tempfile; from pathlib import Path\n"
        "from engine.precheck import precheck\n"
        "from schemas.profile import load_profile\n"
        "r = precheck(Path(sys.argv[1]), load_profile(), Path(tempfile.mkdtemp()))\n"
        "assert r.counts['error'] == 0, r.counts\n"
        "print('hypothesis' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(sample_s)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


_CELLS = st.one_of(st.none(), st.just(float("nan")), st.floats(allow_nan=False), st.integers(), st.booleans(), st.text(alphabet=" \u3000\t0123456789.,，０１２abc测"))


@given(st.lists(_CELLS, max_size=30))
def test_clean_text_is_the_cell_by_cell_rule(cells):
    """The list-pass ``clean_text`` gives what ``Series.map`` of the rule gives, dtype included."""
    s = pd.Series(cells, dtype=object)
    mapped = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v).replace("\u3000", " ").strip())
    expected = mapped.where(mapped != "", None)
    got = tables.clean_text(s)
    assert got.dtype == expected.dtype
    assert got.equals(expected)


@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789.,-+ ０１２．٣e\n"), st.floats(allow_nan=False).map(str)), max_size=30))
def test_decimals_are_the_regex_rule(cells):
    """The list-pass decimal count is the regex rule it replaced, cell for cell."""
    text = tables.clean_text(pd.Series(cells, dtype=object))
    folded = text.astype("string").str.translate(tables._FULLWIDTH)
    frac = folded.str.extract(r"\.(\d+)$", expand=False)
    expected = frac.str.rstrip("0").str.len().fillna(0).astype(int)
    got = tables._decimals(text)
    assert got.tolist() == expected.tolist() and got.index.equals(expected.index)


def _pandera_cases(sheet, typed) -> list[tuple[str, str, tuple]]:
    import pandera.errors

    try:
        tables.pandera_schema(sheet).validate(typed, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        out = []
        for check, column, case, index in cases[["check", "column", "failure_case", "index"]].itertuples(index=False):
            if check == "column_in_dataframe":  # the missing column is the case
                out.append((check, str(case), ()))
            else:
                out.append((str(check), str(column), int(index)))
        cells = {}
        for check, column, index in out:
            if index != ():
                cells.setdefault((check, column), []).append(index)
        missing = [case for case in out if case[2] == ()]
        return sorted(missing + [(c, col, tuple(sorted(rows))) for (c, col), rows in cells.items()])
    return []


@pytest.mark.parametrize("sheet_key", ["unit", "floor", "building", "parcel", "planning_indicator"])
@settings(deadline=None)  # the first case imports pandera: no deadline decides this test
@given(data=st.data())
def test_numpy_validation_is_the_pandera_schema(sheet_key, data):
    """The check validates in numpy; the same schema stated in pandera finds the same cases."""
    from schemas.fields import SHEETS_BY_KEY

    sheet = SHEETS_BY_KEY[sheet_key]
    n = data.draw(st.integers(1, 6))
    cell = st.one_of(st.none(), st.sampled_from(["0", "-1", "1", "2.5", "-0.5", "x", "1e400", "-1e400"]))
    cols = {}
    for f in sheet.fields:
        if data.draw(st.integers(0, 9)) == 0:
            continue  # a missing column
        cols[f.code] = data.draw(st.lists(cell, min_size=n, max_size=n))
    raw = pd.DataFrame(cols, index=range(n)).assign(_row=range(2, n + 2))
    rows = pd.Index(raw["_row"].astype(int))
    typed = pd.DataFrame(index=rows)
    for f in sheet.fields:
        if f.code in raw.columns:
            typed[f.code] = tables._type_column(f, raw[f.code].set_axis(rows), PROFILE)[0]
    ours = sorted(
        (check, column, tuple(int(r) for r in typed.index[at]) if check != "column_in_dataframe" else ())
        for check, column, at in tables.validate_sheet(sheet, typed)
    )
    theirs = [(c, col, idx) for c, col, idx in _pandera_cases(sheet, typed)]
    assert ours == theirs


def _written(df: pd.DataFrame, sheet_name: str, columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    df.attrs.update(sheet_name=sheet_name, columns=columns)
    return df


def test_a_table_finding_names_the_header_as_written_and_its_cell():
    unit = _written(
        unit_rows(FWYT=["11", None], SCTNJZMJ=["88.12", "八十"]), "户 (H)",
        {"BDCDYH": ("不动产单元号", "A"), "FWYT": ("房屋用途", "F"), "SCTNJZMJ": ("套内面积(SCTNJZMJ)", "H")},
    )
    tables, found = type_tables(minimal(unit=unit), PROFILE)
    empty = next(f for f in found if f.code == "RPT-004")
    assert (empty.object.field, empty.object.header, empty.object.cell) == ("FWYT", "房屋用途", "'户 (H)'!F3")
    assert empty.message == "「户」第 3 行 「房屋用途」（'户 (H)'!F3） 为空"
    bad = next(f for f in found if f.code == "RPT-003")
    assert bad.object.cell == "'户 (H)'!H3" and "「套内面积(SCTNJZMJ)」" in bad.message
    assert bad.as_dict()["object"]["cell"] == "'户 (H)'!H3"  # findings.json: added keys only
    assert tables.where("unit", "FWYT", 7) == ("房屋用途", "'户 (H)'!F7")


def test_a_column_the_reader_did_not_letter_keeps_its_code():
    _, found = type_tables(minimal(unit=unit_rows(FWYT=["11", None])), PROFILE)
    empty = next(f for f in found if f.code == "RPT-004")
    assert empty.object.cell is None and empty.message == "「户」第 3 行 FWYT 为空"


def test_a_project_field_is_located_in_its_value_column():
    project = _written(
        pd.DataFrame({"field": ["XMBH", "FCMJJD"], "value": ["P", "四级"], "_row": [2, 4]}),
        "项目信息", {"XMBH": ("项目编号", "B"), "FCMJJD": ("房产面积精度等级", "B")},
    )
    _, found = type_tables(minimal(project=project), PROFILE)
    bad = next(f for f in found if f.code == "RPT-005")
    assert bad.object.cell == "项目信息!B4" and "「房产面积精度等级」（项目信息!B4）" in bad.message


def test_rule_findings_about_a_cell_are_located_once():
    from schemas.catalogue import make
    from schemas.findings import Place

    unit = _written(unit_rows(), "户", {"SCJZMJ": ("实测建筑面积", "I"), "BDCDYH": ("不动产单元号", "A")})
    tables, _ = type_tables(minimal(unit=unit), PROFILE)
    f = make("PRP-001", Place(sheet="户", row=2, key="k", field="SCJZMJ"), expected=98.0, actual=98.12)
    drawn = make("PRP-007", Place(file="drawings/floors/0001.dxf", layer="FC_H"), reason="r")
    located = tables.locate([f, drawn])
    assert located[1] is drawn
    assert located[0].object.cell == "户!I2" and located[0].object.header == "实测建筑面积"
    assert located[0].message == "户 k 实测建筑面积 98.12 m² ≠ 套内 + 分摊 98.00 m²，相差 0.12 m²（实测建筑面积，户!I2）"
    assert tables.locate(located) == located  # never twice
