"""Department products (成果共享): one GeoPackage per department with the layer names of
results.md, and the archive's files. Each builder writes into a folder the store then
publishes atomically; builders only reshape the check result, they judge nothing.

Every layer has a fixed schema (:mod:`outputs.gpkg`): the same fields and geometry type
whatever the content, figures as REAL, counts as INTEGER, missing places as NULL
geometry, the project id and revision on every row, Chinese aliases, a default QGIS style
and the provenance of the check. The report's own columns keep their standard codes
(``ZDDM``, ``SCJZMJ`` …) with the sheet's Chinese name as alias; ``report_row`` is the row
of the report the firm sees (header = row 1).
"""

from __future__ import annotations

import json
import numbers
import shutil
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from outputs.gpkg import Category, Column, Layer, Provenance, Style, write_gpkg
from outputs.html_report import render_html
from outputs.opinion import PERMIT_CODES, SETBACK_CODES, code_lists, render_opinion, row_verdicts
from outputs.results import dumps, findings_document
from outputs.revisions import Comparison, diff_document
from schemas.catalogue import CATALOGUE
from schemas.check import CheckResult
from schemas.fields import SHEETS_BY_KEY
from schemas.measure import setbacks

__all__ = ["DEPARTMENTS", "GPKG", "Provenance", "builders", "provenance_of", "write_findings_gpkg"]

DEPARTMENTS = ("planning", "registration", "housing", "archive")
GPKG = {"planning": "planning.gpkg", "registration": "registration.gpkg", "housing": "housing.gpkg"}

# ---------------------------------------------------------------- the layers' schemas

_KIND = {"int": "integer", "area": "real", "length": "real", "coord": "real", "ratio": "real", "number": "real"}
_UNIT = {"area": "（m²）", "length": "（m）", "coord": "（m）"}

PROJECT = (
    Column("project_id", "text", "项目编号", "成果包 manifest 的项目编号"),
    Column("revision", "integer", "成果版本", "该项目第几次提交（预检时为空）"),
)
REPORT_ROW = Column("report_row", "integer", "报表行号", "成果报表（report.xlsx）中该行的行号，表头为第 1 行")
HANDLE = Column("handle", "text", "图元句柄", "DXF 图元句柄（在 CAD 中可按句柄定位）")
VALID = Column("valid", "integer", "图形有效", "1 = 图形闭合有效，0 = 无效（自相交、未闭合等）")
AREA = Column("area", "real", "图形面积（m²）", "由图形量算的面积")
VERDICT = Column("verdict", "text", "核实结论", "符合 / 不符合 / 无法核实：不符合仅指该行自身数值不满足规划要求")
NOTE = Column("note", "text", "其他问题", "该行的其他检查问题（如表间一致性），不改变核实结论")
ZH = Column("zh", "text", "幢号", "自然幢号第 21–24 位")

SEVERITY_NAMES = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_COLORS = {"error": "215,25,28,255", "warning": "253,141,60,255", "info": "49,130,189,255"}
VERDICT_COLORS = {"符合": "26,150,65,255", "不符合": "215,25,28,255", "无法核实": "130,130,130,255"}


def sheet_columns(key: str, *skip: str) -> tuple[Column, ...]:
    """The report sheet's columns: standard code, storage by kind, the sheet's Chinese name."""
    sheet = SHEETS_BY_KEY[key]
    return tuple(
        Column(f.code, _KIND.get(f.kind, "text"), f.name + _UNIT.get(f.kind, ""),
               f"{sheet.name}表「{f.name}」（{f.code}）", f.codelist)
        for f in sheet.fields
        if f.code not in skip
    )


FINDING_COLUMNS = (
    *PROJECT,
    Column("code", "text", "规则代码", "检查规则代码（见规则目录）"),
    Column("severity", "text", "严重程度", "error 错误 / warning 警告 / info 提示", "SEVERITY"),
    Column("title", "text", "问题名称", "规则名称"),
    Column("domain", "text", "检查类别", "问题所属的测绘类别", "DOMAIN"),
    Column("tolerated", "integer", "容缺", "1 = 本城市配置允许容缺受理的错误"),
    Column("message", "text", "问题说明"),
    Column("sheet", "text", "报表工作表"),
    Column("row", "integer", "报表行号", "报表中的行号，表头为第 1 行"),
    Column("cell", "text", "单元格", "Excel 单元格（如 户!F5）"),
    Column("field", "text", "字段", "字段代码"),
    Column("header", "text", "表头", "字段在成果报表中的表头原文"),
    Column("object_key", "text", "对象", "行的键（如不动产单元号）"),
    Column("file", "text", "图纸文件"),
    Column("layer", "text", "图层"),
    HANDLE,
    Column("expected", "real", "应为（数值）", "规则比较的期望数值"),
    Column("actual", "real", "实际（数值）", "规则比较的实际数值"),
    Column("tolerance", "real", "限差"),
    Column("expected_text", "text", "应为", "期望值（原文）"),
    Column("actual_text", "text", "实际", "实际值（原文）"),
    Column("local_x", "real", "分层图局部 X", "分层平面图上的局部坐标（无坐标系）"),
    Column("local_y", "real", "分层图局部 Y", "分层平面图上的局部坐标（无坐标系）"),
)
FINDINGS_STYLE = Style(
    by="severity", size=3.2,
    categories=tuple(Category(k, SEVERITY_NAMES[k], SEVERITY_COLORS[k]) for k in ("error", "warning", "info")),
    label="code",
)


def findings_spec(title: str = "检查问题") -> Layer:
    return Layer("findings", title,
                 "检查发现的问题：每条一个点（有图上位置时），按严重程度着色，注记规则代码；无位置的问题几何为空",
                 FINDING_COLUMNS, "Point", FINDINGS_STYLE)


BUILDING = sheet_columns("building")
INDICATORS = Layer(
    "indicators", "规划指标核实",
    "规划指标表每行：规划许可值、实测值与核实结论（不符合仅指实测值不满足规划许可，即 PLN-002/003/004）",
    (*PROJECT, REPORT_ROW, *sheet_columns("planning_indicator")[:1],
     Column("ZBMC", "text", "指标名称", "指标代码的名称"), *sheet_columns("planning_indicator")[1:], VERDICT, NOTE),
)
SITE_BOUNDARY = Layer("site_boundary", "用地红线", "规划总平面图用地红线（YDHX），只画轮廓",
                      (*PROJECT, HANDLE, VALID, AREA), "MultiPolygon",
                      Style(color="230,0,0,255", fill=False, width=0.8))
ROAD_RED_LINES = Layer("road_red_lines", "道路红线", "规划总平面图道路红线（DLHX）",
                       (*PROJECT, HANDLE), "MultiLineString",
                       Style(color="200,0,120,255", width=0.6, dashed=True))
FOOTPRINTS = Layer("footprints", "建筑基底", "建筑基底（JZJD）及其自然幢表数据（按幢号对应）",
                   (*PROJECT, HANDLE, Column("label", "text", "图上注记"), ZH, VALID, *BUILDING), "MultiPolygon",
                   Style(color="90,90,90,255", width=0.4, label='coalesce("JZWMC", "label")', label_expression=True))
GREEN_AREAS = Layer("green_areas", "绿地", "绿地范围（LDFW）", (*PROJECT, HANDLE, VALID, AREA), "MultiPolygon",
                    Style(color="51,160,44,255", width=0.3))
SETBACKS = Layer(
    "setbacks", "退让距离",
    "退让表每行：规划要求、报表实测与图上量算的最短距离（线为最短连线）及核实结论（不符合仅指 PLN-012 退让不足）",
    (*PROJECT, REPORT_ROW, *sheet_columns("setback"), ZH,
     Column("computed", "real", "图上量算距离（m）", "建筑基底至红线的最短距离"), VERDICT, NOTE),
    "LineString",
    Style(by="verdict", width=0.6, categories=tuple(Category(k, k, c) for k, c in VERDICT_COLORS.items()),
          label="\"DX\" || ' ' || format_number(\"computed\", 2) || ' m'", label_expression=True),
)
PARCELS = Layer("parcels", "宗地", "宗地表（ZDJBXX）及宗地图形（按宗地代码对应）",
                (*PROJECT, REPORT_ROW, *sheet_columns("parcel")), "MultiPolygon",
                Style(color="230,120,0,255", fill=False, width=0.7, label="ZDDM"))
BOUNDARY_POINTS = Layer("boundary_points", "界址点", "界址点表（JZD），点位取报表坐标",
                        (*PROJECT, REPORT_ROW, *sheet_columns("boundary_point")), "Point",
                        Style(color="20,20,20,255", size=1.8, label="JZDH"))
BUILDINGS = Layer("buildings", "自然幢", "自然幢表（ZRZ）及建筑基底图形（按幢号对应）",
                  (*PROJECT, REPORT_ROW, *BUILDING, ZH), "MultiPolygon",
                  Style(color="90,90,90,255", width=0.4, label="JZWMC"))
FLOORS = Layer("floors", "层", "层表（C）", (*PROJECT, REPORT_ROW, *sheet_columns("floor")))
UNITS = Layer("units", "户", "户表（H）：不动产单元号与实测、预测面积", (*PROJECT, REPORT_ROW, *sheet_columns("unit")))
HOUSING_UNITS = Layer(
    "units", "户（面积）", "户表：实测与预测建筑面积及面积误差比（实测 − 预测）/ 预测",
    (*PROJECT, REPORT_ROW, *sheet_columns("unit"),
     Column("error_ratio", "real", "面积误差比", "（实测建筑面积 − 预测建筑面积）/ 预测建筑面积")),
)
SHARED_PARTS = Layer("shared_parts", "共有部位", "共有部位表", (*PROJECT, REPORT_ROW, *sheet_columns("shared_part")))

PLANNING_DOMAINS = {"planning", "cross", "crs", "drawing", "report", "package"}
REGISTRATION_DOMAINS = {"cadastral", "property", "cross", "crs", "drawing", "report", "package"}
HOUSING_DOMAINS = {"property", "report", "package"}


# ---------------------------------------------------------------- provenance


def provenance_of(result: CheckResult, comparison: Comparison | None = None) -> Provenance:
    """What the result itself says of its provenance. The revision is known only from a
    comparison (the one after the revision compared with; 1 when there was none to
    compare with); without one (a pre-check) it is None."""
    revision = None
    if comparison is not None:
        revision = comparison.previous_revision + 1 if comparison.previous_revision else (
            1 if not comparison.has_previous else None)
    return Provenance(
        project=result.package.project_id,
        revision=revision,
        sha256=result.package.sha256,
        ruleset=result.ruleset_version,
        profile=result.profile.name,
        created=result.checked_at,
    )


# ---------------------------------------------------------------- frames


def _crs(result: CheckResult) -> str:
    return f"EPSG:{result.zone.epsg}"


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Typed report frame → its rows with ``report_row`` (dates as text)."""
    out = df.reset_index().rename(columns={"_row": "report_row"})
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return out


def _zh(zrzh: pd.Series) -> pd.Series:
    return zrzh.astype("string").str[20:24].astype(object)


def findings_frame(result: CheckResult, domains: set[str] | None) -> gpd.GeoDataFrame:
    rows = [f for f in result.findings if domains is None or f.domain in domains]
    tolerated = set(result.profile.tolerated.codes)

    def number(v):
        return float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool) else None

    def text(v):
        return None if v is None else str(v)

    data = pd.DataFrame(
        {
            "code": [f.code for f in rows],
            "severity": [f.severity for f in rows],
            "title": [CATALOGUE[f.code].title if f.code in CATALOGUE else None for f in rows],
            "domain": [f.domain for f in rows],
            "tolerated": [int(f.severity == "error" and f.code in tolerated) for f in rows],
            "message": [f.message for f in rows],
            "sheet": [f.object.sheet for f in rows],
            "row": [f.object.row for f in rows],
            "cell": [getattr(f.object, "cell", None) for f in rows],
            "field": [f.object.field for f in rows],
            "header": [getattr(f.object, "header", None) for f in rows],
            "object_key": [f.object.key for f in rows],
            "file": [f.object.file for f in rows],
            "layer": [f.object.layer for f in rows],
            "handle": [f.object.handle for f in rows],
            "expected": [number(f.expected) for f in rows],
            "actual": [number(f.actual) for f in rows],
            "tolerance": [f.tolerance for f in rows],
            "expected_text": [text(f.expected) for f in rows],
            "actual_text": [text(f.actual) for f in rows],
            "local_x": [f.local[0] if f.local else None for f in rows],
            "local_y": [f.local[1] if f.local else None for f in rows],
        },
        dtype=object,
    )
    geom = [shapely.Point(f.location) if f.location is not None else None for f in rows]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geom, crs=_crs(result)), crs=_crs(result))


def _empty(crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _with_area(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.assign(area=shapely.area(frame.geometry.values))


# ---------------------------------------------------------------- planning 规划


def indicator_frame(result: CheckResult) -> pd.DataFrame:
    ind = result.tables.get("planning_indicator")
    names = code_lists(result).get("ZBDM", {})
    verdict, note = row_verdicts(result.findings, "规划指标", ind.index, PERMIT_CODES,
                                 unknown=ind["GHZ"].isna() | ind["SCZ"].isna())
    return _plain(ind.assign(ZBMC=ind["ZBDM"].astype(object).map(names.get), verdict=verdict, note=note))


def build_planning(result: CheckResult, out: Path, provenance: Provenance) -> None:
    crs, t = _crs(result), result.tables
    site = result.geometry.site
    layers: list[tuple[Layer, pd.DataFrame]] = [(INDICATORS, indicator_frame(result))]
    if site is not None:
        bld = _plain(t.get("building")).assign(zh=lambda d: _zh(d["ZRZH"])).drop(columns=["report_row"])
        fp = site.footprints[["handle", "label", "zh", "valid", "geometry"]].merge(bld, on="zh", how="left")
        sb = _plain(t.get("setback")).assign(zh=lambda d: _zh(d["ZRZH"]))
        measured = setbacks(site, sb["zh"]).rename(columns={"distance": "computed"})
        sb = gpd.GeoDataFrame(sb.merge(measured, on=["zh", "DX"], how="left"), geometry="geometry")
        verdict, note = row_verdicts(result.findings, "退让", pd.Index(sb["report_row"]), SETBACK_CODES,
                                     unknown=pd.Series(sb["computed"].isna().to_numpy() | sb["GHYQ"].isna().to_numpy(),
                                                       index=pd.Index(sb["report_row"])))
        sb["verdict"], sb["note"] = verdict.to_numpy(), note.to_numpy()
        layers += [
            (SITE_BOUNDARY, _with_area(site.boundary)),
            (ROAD_RED_LINES, site.roads),
            (FOOTPRINTS, gpd.GeoDataFrame(fp, geometry="geometry")),
            (GREEN_AREAS, _with_area(site.green)),
            (SETBACKS, sb),
        ]
    else:
        layers += [(spec, _empty(crs)) for spec in (SITE_BOUNDARY, ROAD_RED_LINES, FOOTPRINTS, GREEN_AREAS, SETBACKS)]
    layers.append((findings_spec(), findings_frame(result, PLANNING_DOMAINS)))
    write_gpkg(out / GPKG["planning"], layers, crs, provenance, code_lists(result))


# ---------------------------------------------------------------- registration 不动产登记


def build_registration(result: CheckResult, out: Path, provenance: Provenance) -> None:
    crs, t, geo = _crs(result), result.tables, result.geometry
    parcels = _plain(t.get("parcel"))
    if geo.parcel is not None and len(geo.parcel.parcels):
        shapes = geo.parcel.parcels[["zddm", "geometry"]].dropna(subset=["zddm"]).drop_duplicates("zddm")
        parcels = parcels.merge(shapes, left_on="ZDDM", right_on="zddm", how="left")
    else:
        parcels["geometry"] = None
    bp = _plain(t.get("boundary_point"))
    bp["geometry"] = [
        shapely.Point(y, x) if pd.notna(x) and pd.notna(y) else None
        for x, y in zip(bp["XZBZ"].astype(float), bp["YZBZ"].astype(float), strict=True)
    ]
    bld = _plain(t.get("building")).assign(zh=lambda d: _zh(d["ZRZH"]))
    if geo.site is not None:
        fp = geo.site.footprints
        bld = bld.merge(fp[fp["zh"].notna()].drop_duplicates("zh")[["zh", "geometry"]], on="zh", how="left")
    else:
        bld["geometry"] = None
    layers = [
        (PARCELS, parcels),
        (BOUNDARY_POINTS, bp),
        (BUILDINGS, bld),
        (FLOORS, _plain(t.get("floor"))),
        (UNITS, _plain(t.get("unit"))),
        (findings_spec(), findings_frame(result, REGISTRATION_DOMAINS)),
    ]
    write_gpkg(out / GPKG["registration"], layers, crs, provenance, code_lists(result))


# ---------------------------------------------------------------- housing 住建/房产


def build_housing(result: CheckResult, out: Path, provenance: Provenance) -> None:
    t = result.tables
    units = _plain(t.get("unit"))
    pred = pd.to_numeric(units["YCJZMJ"], errors="coerce")
    units["error_ratio"] = ((pd.to_numeric(units["SCJZMJ"], errors="coerce") - pred) / pred).where(pred > 0)
    layers = [
        (HOUSING_UNITS, units),
        (SHARED_PARTS, _plain(t.get("shared_part"))),
        (findings_spec(), findings_frame(result, HOUSING_DOMAINS)),
    ]
    write_gpkg(out / GPKG["housing"], layers, _crs(result), provenance, code_lists(result))


# ---------------------------------------------------------------- archive 城建档案


def build_archive(result: CheckResult, out: Path, raw: Path, comparison: Comparison | None,
                  provenance: Provenance) -> None:
    """The original package byte for byte, its checksums, findings.json, the firm's report
    (质检报告, with fixed / new / open against the previous revision) and the diff."""
    target = out / "package" / raw.name
    if raw.is_dir():
        shutil.copytree(raw, target, symlinks=False)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw, target)
    checksums = {
        "package_sha256": result.package.sha256,
        "manifest_files": (result.package.manifest or {}).get("files", []),
    }
    (out / "checksums.json").write_bytes(json.dumps(checksums, ensure_ascii=False, indent=2).encode())
    (out / "findings.json").write_bytes(dumps(findings_document(result)))
    previous = comparison.as_previous_map() if comparison is not None else None
    (out / "report.html").write_text(render_html(result, previous), encoding="utf-8")
    if comparison is not None:
        doc = diff_document(comparison, result.package.project_id, provenance.revision)
        (out / "revision_diff.json").write_bytes(dumps(doc))


# ---------------------------------------------------------------- the findings alone, and the builders


def write_findings_gpkg(result: CheckResult, path: Path, provenance: Provenance | None = None) -> None:
    """Every finding as one GeoPackage layer ``findings`` (``duoce check --gpkg F``), styled
    and described as in the department products."""
    provenance = provenance or provenance_of(result)
    layers = [(findings_spec(f"检查问题 {result.package.project_id or ''}".strip()), findings_frame(result, None))]
    write_gpkg(Path(path), layers, _crs(result), provenance, code_lists(result))


def _with_opinion(result: CheckResult, provenance: Provenance,
                  build: Callable[[Path], None]) -> Callable[[Path], None]:
    """Every department's product carries the joint opinion (联合验收意见)."""

    def run(out: Path) -> None:
        build(out)
        (out / "opinion.html").write_text(render_opinion(result, provenance), encoding="utf-8")

    return run


def builders(
    result: CheckResult, raw: Path, comparison: Comparison | None = None, provenance: Provenance | None = None
) -> dict[str, Callable[[Path], None]]:
    """The department products due for this result (registration and housing only when
    the verdict is not ``rejected``). Without ``provenance`` it is derived from the result
    (and the revision from ``comparison``: see :func:`provenance_of`)."""
    p = provenance or provenance_of(result, comparison)
    out: dict[str, Callable[[Path], None]] = {
        "planning": lambda d: build_planning(result, d, p),
        "archive": lambda d: build_archive(result, d, raw, comparison, p),
    }
    if result.verdict.verdict != "rejected":
        out["registration"] = lambda d: build_registration(result, d, p)
        out["housing"] = lambda d: build_housing(result, d, p)
    return {dep: _with_opinion(result, p, build) for dep, build in out.items()}

