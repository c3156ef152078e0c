"""Reading the unified report: xlsx through calamine, and the CSV form."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from parsers.archive import Opened, open_package
from parsers.report import cell_text, read_report
from schemas.profile import Limits

ZDDM = "371502001001GB00001"
ZRZH = ZDDM + "F0001"
PARCEL_CODES = ["ZDDM", "BDCDYH", "QLR", "ZL", "ZDMJ", "YT", "QLXZ", "QLLX"]
PARCEL_NAMES = [
    "宗地代码",
    "不动产单元号",
    "权利人",
    "坐落",
    "宗地面积",
    "土地用途",
    "权利性质",
    "权利类型",
]
PARCEL_ROW = [ZDDM, ZDDM + "W00000000", "某公司", "东昌府区某路", 12000.5, "0701", "102", "3"]


def write_xlsx(
    path: Path,
    sheets: dict[str, list[list[Any]]],
    hidden: tuple[str, ...] = (),
    merges: dict[str, list[str]] | None = None,
) -> None:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for i, row in enumerate(rows, start=1):
            for j, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=i, column=j, value=value)
        if name in hidden:
            ws.sheet_state = "hidden"
        for rng in (merges or {}).get(name, []):
            ws.merge_cells(rng)
    wb.save(path)


def opened_with(
    tmp_path: Path, files: dict[str, bytes] | None = None, limits: Limits | None = None
) -> Opened:
    root = tmp_path / "pkg"
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in (files or {}).items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return open_package(root, tmp_path / "work", limits or Limits())


def read_xlsx(tmp_path: Path, sheets: dict[str, list[list[Any]]], **kw: Any):
    (tmp_path / "pkg").mkdir(parents=True, exist_ok=True)
    write_xlsx(tmp_path / "pkg" / "report.xlsx", sheets, **kw)
    return read_report(opened_with(tmp_path))


@pytest.mark.parametrize(
    "header",
    [
        PARCEL_CODES,
        PARCEL_NAMES,
        [f"{n}({c})" for n, c in zip(PARCEL_NAMES, PARCEL_CODES, strict=True)],
    ],
    ids=["code", "chinese", "both"],
)
def test_header_forms_map_to_the_same_columns(tmp_path: Path, header: list[str]) -> None:
    tables, form, findings = read_xlsx(tmp_path, {"宗地": [header, PARCEL_ROW]})
    assert form == "xlsx" and findings == []
    df = tables["parcel"]
    assert list(df.columns) == [*PARCEL_CODES, "_row"]
    assert df.iloc[0].to_dict() == {
        "ZDDM": ZDDM,
        "BDCDYH": ZDDM + "W00000000",
        "QLR": "某公司",
        "ZL": "东昌府区某路",
        "ZDMJ": "12000.5",
        "YT": "0701",
        "QLXZ": "102",
        "QLLX": "3",
        "_row": 2,
    }
    assert df.attrs["headers"] == header
    assert df.attrs["sheet_name"] == "宗地" and df.attrs["source"] == "report.xlsx"


def test_row_numbers_with_empty_rows_and_extra_columns(tmp_path: Path) -> None:
    rows = [
        ["自然幢号", "实际层", "备注", "层高"],
        [ZRZH, 1, "首层", 3.0],
        [None, None, None, None],
        [None, None, "只写了备注", None],  # no field of the table: skipped
        [ZRZH, 2, None, 2.9],
    ]
    tables, _, _ = read_xlsx(tmp_path, {"层": rows})
    df = tables["floor"]
    assert list(df.columns) == ["ZRZH", "SJC", "CG", "_row"]
    assert df["_row"].tolist() == [2, 5]
    assert df["SJC"].tolist() == ["1", "2"]
    assert df["CG"].tolist() == ["3", "2.9"]


def test_cells_are_read_as_text(tmp_path: Path) -> None:
    rows = [
        [
            "户号",
            "所在实际层",
            "实测套内建筑面积",
            "实测分摊系数",
            "不动产单元号",
            "室号部位",
            "房屋用途",
        ],
        ["0101", -1, 88.12, 0.123456, "  " + ZRZH + "0101 ", True, ""],
        [
            "0102",
            3.0,
            " 88.10 ",
            1e-7,
            ZRZH + "0102",
            dt.date(2022, 5, 6),
            dt.datetime(2022, 5, 6, 10, 30),
        ],
    ]
    tables, _, _ = read_xlsx(tmp_path, {"户": rows})
    df = tables["unit"]
    assert df["HH"].tolist() == ["0101", "0102"]  # text cells keep their leading zeros
    assert df["SJC"].tolist() == ["-1", "3"]
    assert df["SCTNJZMJ"].tolist() == ["88.12", "88.10"]  # text as written, stripped
    assert df["SCFTXS"].tolist() == ["0.123456", "0.0000001"]
    assert df["BDCDYH"].tolist() == [ZRZH + "0101", ZRZH + "0102"]
    assert df["SHBW"].tolist() == ["TRUE", "2022-05-06"]
    assert df["FWYT"].tolist() == [None, "2022-05-06"]


def test_cell_text_rendering() -> None:
    assert cell_text(3.0) == "3"
    assert cell_text(88.12) == "88.12"
    assert cell_text(88.11999999999999) == "88.12"  # float noise beyond Excel's 15 digits
    assert cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(1e20) == "100000000000000000000"
    assert cell_text(-0.0) == "0"
    assert cell_text(False) == "FALSE"
    assert cell_text("\u3000 x \u3000") == "x"
    assert cell_text("") is None and cell_text(None) is None


def test_project_long_form(tmp_path: Path) -> None:
    rows = [
        ["字段", "值"],
        ["XMBH", "LC-KFQ-2022-0137"],
        ["项目名称", "某小区"],
        ["测量日期(CLRQ)", dt.date(2022, 5, 6)],
        ["不知道的字段", "x"],
        [None, None],
        ["房产面积精度等级", None],
    ]
    tables, _, _ = read_xlsx(tmp_path, {"项目信息": rows})
    df = tables["project"]
    assert list(df.columns) == ["field", "value", "_row"]
    assert df.values.tolist() == [
        ["XMBH", "LC-KFQ-2022-0137", 2],
        ["XMMC", "某小区", 3],
        ["CLRQ", "2022-05-06", 4],
        ["FCMJJD", None, 7],
    ]
    assert df.attrs["header_guess_row"] == 1


def test_hidden_sheet_and_sheet_name_variants(tmp_path: Path) -> None:
    sheets = {
        " 户 ": [["BDCDYH"], [ZRZH + "0101"]],
        "Floor": [["ZRZH", "SJC", "CG"], [ZRZH, 1, 3]],
        "ZRZ": [["ZRZH"], [ZRZH]],
        "说明": [["随便写点什么"]],
    }
    tables, _, findings = read_xlsx(tmp_path, sheets, hidden=("Floor",))
    assert findings == []
    assert set(tables) == {"unit", "floor", "building"}
    assert tables["floor"].attrs["hidden"] is True
    assert tables["floor"]["SJC"].tolist() == ["1"]
    assert tables["unit"].attrs["sheet_name"] == " 户 "


def test_exact_name_wins_over_a_variant(tmp_path: Path) -> None:
    sheets = {"unit": [["BDCDYH"], ["variant"]], "户": [["BDCDYH"], ["exact"]]}
    tables, _, _ = read_xlsx(tmp_path, sheets)
    assert tables["unit"]["BDCDYH"].tolist() == ["exact"]
    assert tables["unit"].attrs["also_matched"] == ["unit"]


def test_header_not_in_row_one_is_noted(tmp_path: Path) -> None:
    rows = [["宗地信息表"], PARCEL_NAMES, PARCEL_ROW]
    tables, _, _ = read_xlsx(tmp_path, {"宗地": rows})
    df = tables["parcel"]
    assert list(df.columns) == ["_row"] and len(df) == 0  # row 1 is the header, per contract
    assert df.attrs["header_guess_row"] == 2
    assert df.attrs["headers"] == ["宗地信息表"]


def test_vertical_merges_are_filled_down(tmp_path: Path) -> None:
    rows = [["自然幢号", "实际层", "层高"], [ZRZH, 1, 3], [None, 2, 3], [None, 3, 3]]
    tables, _, _ = read_xlsx(tmp_path, {"层": rows}, merges={"层": ["A2:A4"]})
    df = tables["floor"]
    assert df["ZRZH"].tolist() == [ZRZH] * 3
    assert df.attrs["merged_filled"] == 1


@pytest.mark.parametrize(
    "content",
    [
        b"ZDDM,BDCDYH\n1,2\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
        b"PK\x03\x04broken",
        None,
    ],
    ids=["csv-renamed", "xls", "corrupt", "zip-not-workbook"],
)
def test_unreadable_workbook_is_one_finding(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "pkg" / "report.xlsx"
    path.parent.mkdir(parents=True)
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("readme.txt", "not a workbook")
    else:
        path.write_bytes(content)
    tables, form, findings = read_report(opened_with(tmp_path))
    assert tables == {} and form is None
    assert [(f.code, f.object.file) for f in findings] == [("PKG-008", "report.xlsx")]


def test_sheet_too_large_for_calamine_is_refused(tmp_path: Path) -> None:
    sheets = {"户": [["BDCDYH"], [ZRZH + "0101"]], "层": [["ZRZH", "SJC", "CG"], [ZRZH, 1, 3]]}
    write_path = tmp_path / "pkg" / "report.xlsx"
    write_path.parent.mkdir(parents=True)
    write_xlsx(write_path, sheets)
    wb = openpyxl.load_workbook(write_path)
    wb["户"].cell(row=2000, column=16384, value="far away")  # 2000 x 16384 = 32.8 M cells
    wb.save(write_path)
    tables, form, findings = read_report(opened_with(tmp_path))
    assert form == "xlsx"
    assert [(f.code, f.object.file, f.object.sheet) for f in findings] == [
        ("PKG-008", "report.xlsx", "户")
    ]
    assert set(tables) == {"floor"}


def test_csv_form(tmp_path: Path) -> None:
    files = {
        "report/户.csv": "BDCDYH,HH,SJC\n" + f'{ZRZH}0101,0101, 1 \n\n{ZRZH}0102,="0102",1\n',
        "report/宗地.csv": "\ufeff宗地代码,宗地面积\n" + f"{ZDDM},12000.50\n",
        "report/项目信息.csv": "字段,值\n项目编号,LC-1\n坐标系,EPSG:4548\n",
        "report/notes.csv": "a,b\n",
    }
    raw = {k: v.encode("utf-8") for k, v in files.items()}
    raw["report/自然幢.csv"] = f"自然幢号,建筑物名称\n{ZRZH},1#楼\n".encode("gbk")
    tables, form, findings = read_report(opened_with(tmp_path, raw))
    assert form == "csv" and findings == []
    assert set(tables) == {"unit", "parcel", "project", "building"}
    unit = tables["unit"]
    assert unit["HH"].tolist() == ["0101", "0102"]
    assert unit["SJC"].tolist() == ["1", "1"]
    assert unit["_row"].tolist() == [2, 4]
    assert unit.attrs["source"] == "report/户.csv"
    assert tables["parcel"].iloc[0][["ZDDM", "ZDMJ"]].tolist() == [ZDDM, "12000.50"]
    assert tables["parcel"].attrs["encoding"] == "utf-8-sig"
    assert tables["building"]["JZWMC"].tolist() == ["1#楼"]
    assert tables["building"].attrs["encoding"] == "gb18030"
    assert tables["project"][["field", "value"]].values.tolist() == [
        ["XMBH", "LC-1"],
        ["ZBX", "EPSG:4548"],
    ]


def test_both_forms_read_the_workbook(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "report").mkdir(parents=True)
    (tmp_path / "pkg" / "report" / "户.csv").write_text("BDCDYH\nfrom-csv\n", encoding="utf-8")
    write_xlsx(tmp_path / "pkg" / "report.xlsx", {"户": [["BDCDYH"], ["from-xlsx"]]})
    tables, form, findings = read_report(opened_with(tmp_path))
    assert form == "xlsx" and findings == []
    assert tables["unit"]["BDCDYH"].tolist() == ["from-xlsx"]


def test_no_report_and_unopened_package(tmp_path: Path) -> None:
    assert read_report(opened_with(tmp_path, {"manifest.json": b"{}"})) == ({}, None, [])
    unopened = open_package(tmp_path / "nope.zip", tmp_path / "w", Limits())
    assert read_report(unopened) == ({}, None, [])


def test_a_large_sheet_reads_fast(tmp_path: Path) -> None:
    header = [
        "不动产单元号",
        "自然幢号",
        "所在实际层",
        "户号",
        "室号部位",
        "房屋用途",
        "实测套内建筑面积",
        "实测分摊建筑面积",
        "实测建筑面积",
        "实测分摊系数",
        "预测建筑面积",
    ]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("户")
    ws.append(header)
    n = 13_000
    for i in range(n):
        hh = f"{i % 9999 + 1:04d}"
        ws.append(
            [ZRZH + hh, ZRZH, i % 30 + 1, hh, f"1-{i}", "11", 88.12, 12.34, 100.46, 0.140036, 100.0]
        )
    (tmp_path / "pkg").mkdir()
    wb.save(tmp_path / "pkg" / "report.xlsx")
    opened = opened_with(tmp_path)
    tables, _, _ = read_report(opened)
    assert len(tables["unit"]) == n
    assert tables["unit"]["_row"].iloc[-1] == n + 1
    # its time (~0.2 s) is benchmarks/bench_check.py's to report, never asserted here


def test_cells_placed_by_position_are_measured_too(tmp_path: Path) -> None:
    """OOXML allows cells without ``r``: the size guard must still see the used range."""
    import re

    path = tmp_path / "pkg" / "report.xlsx"
    path.parent.mkdir(parents=True)
    write_xlsx(
        tmp_path / "src.xlsx", {"户": [["BDCDYH"], [ZRZH + "0101"]], "层": [["ZRZH"], [ZRZH]]}
    )
    far = b'<row r="1048576">' + b"<c><v>1</v></c>" * 30 + b"</row>"  # 1 048 576 x 30 cells
    with zipfile.ZipFile(tmp_path / "src.xlsx") as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<c) r="[A-Z]+[0-9]+"', rb"\1", data)
                data = data.replace(b"</sheetData>", far + b"</sheetData>")
            out.writestr(info, data)
    tables, _, findings = read_report(opened_with(tmp_path))
    assert [(f.code, f.object.sheet) for f in findings] == [("PKG-008", "户")]
    assert set(tables) == {"floor"}


def test_workbook_parts_are_held_to_the_package_limits(tmp_path: Path) -> None:
    """A part of the xlsx over the compression ratio the package was opened under: one
    PKG-007 for the workbook, nothing read; under a higher limit the same reads."""
    path = tmp_path / "pkg" / "report.xlsx"
    path.parent.mkdir(parents=True)
    write_xlsx(tmp_path / "src.xlsx", {"宗地": [PARCEL_CODES, PARCEL_ROW]})
    with zipfile.ZipFile(tmp_path / "src.xlsx") as src:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in src.infolist():
                out.writestr(info, src.read(info), zipfile.ZIP_DEFLATED)
            out.writestr("xl/media/padding.bin", b" " * (3 << 20), zipfile.ZIP_DEFLATED)
    tables, form, findings = read_report(opened_with(tmp_path, limits=Limits(max_ratio=50)))
    assert tables == {} and form is None
    assert [(f.code, f.object.file) for f in findings] == [("PKG-007", "report.xlsx")]
    assert "xl/media/padding.bin" in findings[0].message
    tables, form, findings = read_report(opened_with(tmp_path, limits=Limits(max_ratio=5000)))
    assert form == "xlsx" and findings == [] and set(tables) == {"parcel"}


def test_csv_cell_longer_than_pythons_default_field_limit(tmp_path: Path) -> None:
    note = "备注" * 100_000  # 200 000 characters; csv's default limit is 131 072
    raw = {"report/户.csv": f"BDCDYH,SHBW\n{ZRZH}0101,{note}\n".encode()}
    tables, form, findings = read_report(opened_with(tmp_path, raw))
    assert form == "csv" and findings == []
    assert tables["unit"]["SHBW"].tolist() == [note]


def test_columns_keep_the_header_as_written_and_its_excel_letter(tmp_path: Path) -> None:
    header = ["备注", "宗地代码(ZDDM)", "不动产单元号", "zdmj"] + [f"x{i}" for i in range(24)] + ["土地用途"]
    row = ["n", ZDDM, ZDDM + "W00000000", 1.5] + [None] * 24 + ["0701"]
    tables, _, findings = read_xlsx(tmp_path, {"宗地": [header, row]})
    assert findings == []
    assert tables["parcel"].attrs["columns"] == {
        "ZDDM": ("宗地代码(ZDDM)", "B"),
        "BDCDYH": ("不动产单元号", "C"),
        "ZDMJ": ("zdmj", "D"),
        "YT": ("土地用途", "AC"),  # the 29th column, as Excel names it
    }


def test_project_fields_name_their_label_and_the_value_column(tmp_path: Path) -> None:
    rows = [["字段", "值"], ["项目编号", "LC-1"], ["坐标系(ZBX)", "EPSG:4548"]]
    tables, _, _ = read_xlsx(tmp_path, {"项目信息": rows})
    assert tables["project"].attrs["columns"] == {"XMBH": ("项目编号", "B"), "ZBX": ("坐标系(ZBX)", "B")}


def test_csv_columns_are_lettered_as_excel_opens_them(tmp_path: Path) -> None:
    raw = {"report/户.csv": f"序号,不动产单元号,户号\n1,{ZRZH}0101,0101\n".encode()}
    tables, _, _ = read_report(opened_with(tmp_path, raw))
    assert tables["unit"].attrs["columns"] == {"BDCDYH": ("不动产单元号", "B"), "HH": ("户号", "C")}


def test_column_letters() -> None:
    from parsers.report import column_letter

    assert [column_letter(j) for j in (0, 25, 26, 51, 52, 701, 702, 16383)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"
    ]


def test_a_blank_filled_header_or_sheet_name_is_not_matched_and_does_not_hang(tmp_path: Path) -> None:
    """``a`` + 60 000 spaces + ``b`` (34 s with the old backtracking pattern): over the
    256-character limit, so it names no field and no sheet; ``名称 (CODE)`` with long blanks
    inside the limit still matches."""
    from parsers.report import match_sheet
    from schemas.fields import SHEETS_BY_KEY, header_to_code

    hostile = "a" + " " * 60_000 + "b"
    unit = SHEETS_BY_KEY["unit"]
    assert header_to_code(unit, hostile) is None
    assert header_to_code(unit, "户号" + " " * 60_000 + "(HH)") is None  # over the limit
    assert header_to_code(unit, "户号" + " " * 200 + "（HH ）") == "HH"
    assert header_to_code(unit, "(" * 200 + "HH)") is None
    assert match_sheet(hostile) is None
    assert match_sheet("户" + " " * 60_000 + "(H)") is None
    assert match_sheet("户 " + " " * 100 + "(h)") == ("unit", 2)
    raw = {"report/户.csv": (hostile + ",户号\n1,0101\n").encode()}
    tables, _, findings = read_report(opened_with(tmp_path, raw))
    assert findings == []
    assert tables["unit"].attrs["columns"] == {"HH": ("户号", "B")}
    assert tables["unit"].attrs["headers"][0] == hostile  # kept as written, not matched


def test_a_long_sheet_name_in_a_workbook_is_no_sheet(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns past Excel's 31 characters
        tables, _, findings = read_xlsx(tmp_path, {"户" + " " * 300 + "(H)": [["HH"], ["0101"]], "层": [["SJC"], [1]]})
    assert findings == []
    assert list(tables) == ["floor"]
