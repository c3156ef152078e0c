"""Seeded report defects: RPT-001..009 (spec/rules.md, RPT).

A wrong value is seeded in the model (stage ``model``), so that it reaches the report in
either form (xlsx or csv) exactly as a firm would have typed it. A missing sheet, column or
field row cannot be said by the model; those seeders edit the written report (stage
``files``), in either form. Rows are the spreadsheet rows a person sees (header = row 1).

Each seeder picks a cell whose defect no survey rule needs to see again: a rule that
cannot read a figure stays silent about it (RPT-003 has said so).
"""

from __future__ import annotations

import copy
import csv
import io
import zipfile
from collections.abc import Callable
from datetime import UTC
from typing import Any

import openpyxl
from openpyxl.writer.excel import ExcelWriter

from sample_data.defects import defect
from sample_data.model import ProjectModel
from sample_data.report_writers import repack_zip
from sample_data.tables import PROJECT_FIELDS, SHEETS

Files = dict[str, bytes]
XLSX = "report.xlsx"


# ---------------------------------------------------------------- where a cell is


def project_row(code: str) -> int:
    """The row of a 项目信息 field (long form: one field per row)."""
    return 2 + [c for c, _ in PROJECT_FIELDS].index(code)


def _unit_row(model: ProjectModel, unit: Any) -> int:
    """The 户 row of a unit (units are written in model order, from row 2)."""
    return 2 + next(i for i, u in enumerate(model.units()) if u is unit)


def column_header(sheet: str, code: str) -> str:
    """A column's header as the sample writes it (Chinese name, code, or both)."""
    form, spec = SHEETS[sheet]
    name = next(n for c, n, _ in spec if c == code)
    return {"name": name, "code": code, "both": f"{name}({code})"}[form]


# ---------------------------------------------------------------- editing the written report


def _load(files: Files) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(files[XLSX]))


def _save(files: Files, wb: openpyxl.Workbook, model: ProjectModel) -> None:
    """Write the workbook back with the sample's pinned timestamps (same bytes every run)."""
    wb.properties.modified = model.created.astimezone(UTC).replace(tzinfo=None)
    buffer = io.BytesIO()
    ExcelWriter(wb, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()
    files[XLSX] = repack_zip(buffer.getvalue(), model.created)


def _edit_rows(
    files: Files,
    model: ProjectModel,
    sheet: str,
    edit: Callable[[list[list[Any]]], list[int] | None],
) -> None:
    """Edit one sheet of the written report, whichever form it has.

    ``edit`` gets the sheet as a list of rows (header first). For xlsx it may return the
    0-based column indexes to delete, or delete rows by emptying them to ``[]``; the
    workbook keeps every other cell, type and format. For csv the rows are rewritten.
    """
    if XLSX in files:
        wb = _load(files)
        ws = wb[sheet]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        drop_cols = edit(rows) or []
        for i in sorted((i for i, r in enumerate(rows) if r == []), reverse=True):
            ws.delete_rows(i + 1)
        for j in sorted(drop_cols, reverse=True):
            ws.delete_cols(j + 1)
        _save(files, wb, model)
        return
    path = f"report/{sheet}.csv"
    rows = list(csv.reader(io.StringIO(files[path].decode("utf-8-sig"), newline="")))
    dropped = set(edit(rows) or [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        if row != []:
            writer.writerow([v for j, v in enumerate(row) if j not in dropped])
    files[path] = out.getvalue().encode("utf-8-sig")


def edit_cells(
    files: Files, model: ProjectModel, sheet: str, edit: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    """Change cells of every data row of a written sheet, whichever form the report has.

    ``edit`` gets a row as ``{header: value}`` (numbers as float, text as str) and returns
    the cells to change; the workbook keeps every other cell, type and format.
    """
    if XLSX in files:
        wb = _load(files)
        ws = wb[sheet]
        headers = [c.value for c in ws[1]]
        for cells in ws.iter_rows(min_row=2):
            for header, value in edit(
                {h: c.value for h, c in zip(headers, cells, strict=False)}
            ).items():
                cells[headers.index(header)].value = value
        _save(files, wb, model)
        return
    path = f"report/{sheet}.csv"
    rows = list(csv.reader(io.StringIO(files[path].decode("utf-8-sig"), newline="")))
    headers = rows[0]

    def typed(text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows[1:]:
        for header, value in edit(
            {h: typed(v) for h, v in zip(headers, row, strict=False)}
        ).items():
            row[headers.index(header)] = repr(value) if isinstance(value, float) else str(value)
        writer.writerow(row)
    files[path] = out.getvalue().encode("utf-8-sig")


def _remove_sheet(files: Files, model: ProjectModel, sheet: str) -> None:
    if XLSX in files:
        wb = _load(files)
        del wb[sheet]
        _save(files, wb, model)
    else:
        del files[f"report/{sheet}.csv"]


# ---------------------------------------------------------------- RPT-001..002 structure


@defect("RPT-001", stage="files")
def sheet_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The 退让 (setback) sheet left out of the report."""
    _remove_sheet(files, model, "退让")
    return {"sheet": "退让"}


@defect("RPT-002", stage="files")
def column_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """自然幢 without its 建筑物名称 (JZWMC) column."""
    header = column_header("自然幢", "JZWMC")
    _edit_rows(files, model, "自然幢", lambda rows: [rows[0].index(header)])
    return {"sheet": "自然幢", "field": "JZWMC"}


@defect("RPT-002", variant="project-field", stage="files")
def project_field_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """项目信息 without its 测绘资质证书编号 (CHZZ) row."""
    row = project_row("CHZZ")

    def drop(rows: list[list[Any]]) -> None:
        rows[row - 1] = []

    _edit_rows(files, model, "项目信息", drop)
    return {"sheet": "项目信息", "field": "CHZZ"}


# ---------------------------------------------------------------- RPT-003..008 values


@defect("RPT-003")
def text_in_number_cell(model: ProjectModel) -> dict[str, Any]:
    """A unit's 实测套内建筑面积 written in words: 户 row 7, SCTNJZMJ = "八十八点一"."""
    unit = model.buildings[0].units[5]
    unit.sctnjzmj = "八十八点一"  # type: ignore[assignment]  # the defect: text, not a number
    return {"sheet": "户", "row": _unit_row(model, unit), "field": "SCTNJZMJ", "key": unit.bdcdyh}


@defect("RPT-003", variant="date")
def unreadable_date(model: ProjectModel) -> dict[str, Any]:
    """测量日期 without its day: 项目信息 CLRQ = "2022年5月"."""
    model.info.clrq = "2022年5月"  # type: ignore[assignment]
    return {"sheet": "项目信息", "row": project_row("CLRQ"), "field": "CLRQ"}


@defect("RPT-003", variant="integer")
def unreadable_integer(model: ProjectModel) -> dict[str, Any]:
    """总层数 in words: 自然幢 row 2, ZCS = "六层"."""
    building = model.buildings[0]
    building.zcs = "六层"  # type: ignore[assignment]
    return {"sheet": "自然幢", "row": 2, "field": "ZCS", "key": building.zrzh}


@defect("RPT-004")
def required_value_empty(model: ProjectModel) -> dict[str, Any]:
    """A unit without its 房屋用途: 户 row 5, FWYT empty."""
    unit = model.buildings[0].units[3]
    unit.fwyt = None  # type: ignore[assignment]
    return {"sheet": "户", "row": _unit_row(model, unit), "field": "FWYT", "key": unit.bdcdyh}


@defect("RPT-005")
def value_outside_code_list(model: ProjectModel) -> dict[str, Any]:
    """房屋结构 "9", which GB/T's list (1..6) does not have: 自然幢 row 2, FWJG."""
    building = model.buildings[0]
    building.fwjg = "9"
    return {"sheet": "自然幢", "row": 2, "field": "FWJG", "key": building.zrzh}


@defect("RPT-005", variant="grade")
def grade_outside_code_list(model: ProjectModel) -> dict[str, Any]:
    """房产面积精度等级 "四级" (only 一级..三级 exist): 项目信息 FCMJJD."""
    model.info.fcmjjd = "四级"
    return {"sheet": "项目信息", "row": project_row("FCMJJD"), "field": "FCMJJD"}


@defect("RPT-006")
def duplicate_key(model: ProjectModel) -> dict[str, Any]:
    """The 机动车位 (JDCW) project indicator written twice: the second row repeats ZBDM+FW."""
    first = next(
        i for i, ind in enumerate(model.indicators) if ind.zbdm == "JDCW" and ind.fw == "项目"
    )
    model.indicators.append(copy.deepcopy(model.indicators[first]))
    return {"sheet": "规划指标", "row": len(model.indicators) + 1, "field": "ZBDM+FW"}


@defect("RPT-007")
def length_not_positive(model: ProjectModel) -> dict[str, Any]:
    """A setback requirement with a sign typed by mistake: 退让 row 2, GHYQ = -5.00."""
    setback = model.setbacks[0]
    setback.ghyq = -setback.ghyq
    return {"sheet": "退让", "row": 2, "field": "GHYQ"}


@defect("RPT-008")
def too_many_decimals(model: ProjectModel) -> dict[str, Any]:
    """宗地面积 with three decimals (areas have two): 宗地 row 2, ZDMJ (a warning).

    Written as text, as it was typed, so that neither the xlsx number format nor the csv
    writer's two decimals hide it. The extra 4 mm² stays far inside every area tolerance."""
    model.parcel.zdmj = f"{model.parcel.zdmj + 0.004:.3f}"  # type: ignore[assignment]
    return {"sheet": "宗地", "row": 2, "field": "ZDMJ", "key": model.parcel.zddm}


# ---------------------------------------------------------------- RPT-009 references


@defect("RPT-009")
def unknown_building(model: ProjectModel) -> dict[str, Any]:
    """A setback row naming a building the 自然幢 sheet does not have (幢号 0002)."""
    setback = model.setbacks[0]
    setback.zrzh = model.parcel.zddm + "F0002"
    return {"sheet": "退让", "row": 2, "field": "ZRZH"}


@defect("RPT-009", variant="floor")
def unknown_floor(model: ProjectModel) -> dict[str, Any]:
    """A shared part on floor 9 of a six-storey building (no such 层 row)."""
    part = model.buildings[0].shared_parts[0]
    part.sjc = 9
    return {"sheet": "共有部位", "row": 2, "field": "SJC"}


@defect("RPT-001", variant="project", stage="files")
def project_sheet_missing(files: Files, model: ProjectModel) -> dict[str, Any]:
    """The 项目信息 sheet left out: RPT-001 says so once; what it would have held (ZBX,
    XMBH …) is not reported again field by field."""
    _remove_sheet(files, model, "项目信息")
    return {"sheet": "项目信息"}
