"""The sample-package generator: determinism, envelope, and every reported figure
recomputed from the written files (ezdxf + shapely + openpyxl), independently of the
generator's own helpers."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import subprocess
import sys
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ezdxf
import openpyxl
import pyproj
import pytest
from ezdxf import recover
from ezdxf.entities import Circle, Line, LWPolyline, MText, Text
from shapely.geometry import LineString, Point, Polygon

from sample_data import build_model, make_package, write_package
from sample_data.__main__ import main as cli_main

S_ID = "LC-KFQ-2022-0137"
L_ID = "LC-KFQ-2022-0999"
ROOT = Path(__file__).resolve().parents[2]

# deliverable.md: sheet → field codes and Chinese names, in the spec's order.
SPEC_FIELDS: dict[str, list[tuple[str, str]]] = {
    "宗地": [("ZDDM", "宗地代码"), ("BDCDYH", "不动产单元号"), ("QLR", "权利人"), ("ZL", "坐落"),
           ("ZDMJ", "宗地面积"), ("YT", "土地用途"), ("QLLX", "权利类型"), ("QLXZ", "权利性质")],
    "界址点": [("ZDDM", "宗地代码"), ("JZDH", "界址点号"), ("SXH", "顺序号"), ("XZBZ", "X坐标"),
            ("YZBZ", "Y坐标"), ("JBLX", "界标类型")],
    "界址线": [("ZDDM", "宗地代码"), ("QSJZDH", "起始界址点号"), ("ZZJZDH", "终止界址点号"),
            ("JZXCD", "勘丈边长")],
    "自然幢": [("ZRZH", "自然幢号"), ("ZDDM", "宗地代码"), ("JZWMC", "建筑物名称"), ("FWJG", "房屋结构"),
            ("ZCS", "总层数"), ("DSCS", "地上层数"), ("DXCS", "地下层数"), ("JZWGD", "建筑物高度"),
            ("ZZDMJ", "幢占地面积"), ("SCJZMJ", "实测建筑面积")],
    "层": [("ZRZH", "自然幢号"), ("SJC", "实际层"), ("CG", "层高")],
    "户": [("BDCDYH", "不动产单元号"), ("ZRZH", "自然幢号"), ("SJC", "所在实际层"), ("HH", "户号"),
          ("SHBW", "室号部位"), ("FWYT", "房屋用途"), ("SCTNJZMJ", "实测套内建筑面积"),
          ("SCFTJZMJ", "实测分摊建筑面积"), ("SCJZMJ", "实测建筑面积"), ("SCFTXS", "实测分摊系数"),
          ("YCJZMJ", "预测建筑面积")],
    "共有部位": [("ZRZH", "自然幢号"), ("SJC", "所在层"), ("MC", "名称"), ("MJ", "面积")],
    "规划指标": [("ZBDM", "指标代码"), ("FW", "范围"), ("GHZ", "规划许可值"), ("SCZ", "实测值"),
             ("DW", "单位")],
    "退让": [("ZRZH", "自然幢号"), ("DX", "退让对象"), ("GHYQ", "规划要求最小距离"), ("SCZ", "实测距离")],
}
SHEETS = ["项目信息", *SPEC_FIELDS]
PROJECT_FIELDS = {
    "项目编号": "XMBH", "项目名称": "XMMC", "坐落": "ZL", "建设单位": "JSDW", "测绘单位": "CHDW",
    "测绘资质证书编号": "CHZZ", "测量日期": "CLRQ", "坐标系": "ZBX", "高程基准": "GCJZ",
    "房产面积精度等级": "FCMJJD", "界址点精度等级": "JZDJD", "建设工程规划许可证号": "GHXKZH",
}
ZDDM_RE = re.compile(r"^\d{6}\d{3}\d{3}[GJZ][ABSXCDEFHGWYLN]\d{5}$")


def limit(area: float) -> float:
    """GB/T 17986.1 二级 area limit."""
    return 0.04 * math.sqrt(area) + 0.002 * area


def sha256_tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


# ---------------------------------------------------------------- readers (test side) --
def header_code(sheet: str, header: str) -> str:
    """Map a header in any of the three forms to the field code, or fail."""
    for code, name in SPEC_FIELDS[sheet]:
        if header in (code, name, f"{name}({code})"):
            return code
    raise AssertionError(f"{sheet}: unknown header {header!r}")


Rows = dict[str, list[dict[str, Any]]]


def read_workbook(path: Path) -> Rows:
    """Sheet → rows as {field code: value}; 项目信息 as one row {code: value}."""
    wb = openpyxl.load_workbook(path)
    out: Rows = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if ws.title == "项目信息":
            out[ws.title] = [{PROJECT_FIELDS[k]: v for k, v in rows[1:]}]
            continue
        codes = [header_code(ws.title, h) for h in rows[0]]
        out[ws.title] = [dict(zip(codes, r, strict=True)) for r in rows[1:]]
    return out


@dataclass
class Dxf:
    """A drawing reduced to what the checks need: shapes and labels per layer."""

    doc: ezdxf.document.Drawing
    polygons: dict[str, list[Polygon]] = field(default_factory=lambda: defaultdict(list))
    lines: dict[str, list[LineString]] = field(default_factory=lambda: defaultdict(list))
    circles: dict[str, list[Point]] = field(default_factory=lambda: defaultdict(list))
    texts: dict[str, list[tuple[str, Point]]] = field(default_factory=lambda: defaultdict(list))
    xdata: dict[str, list[str | None]] = field(default_factory=lambda: defaultdict(list))

    def labelled(self, layer: str) -> list[tuple[Polygon, list[str]]]:
        """Each polygon of ``layer`` with the labels whose insertion point lies in it
        (a label belongs to the smallest containing polygon)."""
        polys = self.polygons[layer]
        labels: list[list[str]] = [[] for _ in polys]
        for text, at in self.texts[layer]:
            inside = [i for i, p in enumerate(polys) if p.contains(at)]
            assert inside, f"{layer}: label {text!r} inside no polygon"
            labels[min(inside, key=lambda i: polys[i].area)].append(text)
        return list(zip(polys, labels, strict=True))


def read_dxf(path: Path) -> Dxf:
    doc = ezdxf.readfile(path)
    d = Dxf(doc)
    for e in doc.modelspace():
        layer = e.dxf.layer
        if isinstance(e, LWPolyline):
            pts = [tuple(p) for p in e.get_points("xy")]
            if e.closed:
                d.polygons[layer].append(Polygon(pts))
                xd = e.get_xdata("SOUTH") if e.has_xdata("SOUTH") else None
                d.xdata[layer].append(xd[0].value if xd else None)
            else:
                d.lines[layer].append(LineString(pts))
        elif isinstance(e, Line):
            d.lines[layer].append(LineString([tuple(e.dxf.start)[:2], tuple(e.dxf.end)[:2]]))
        elif isinstance(e, Circle):
            d.circles[layer].append(Point(tuple(e.dxf.center)[:2]))
        elif isinstance(e, Text):
            d.texts[layer].append((str(e.dxf.text).strip(), Point(tuple(e.dxf.insert)[:2])))
        elif isinstance(e, MText):
            d.texts[layer].append((str(e.plain_text()).strip(), Point(tuple(e.dxf.insert)[:2])))
    return d


def floor_number(label: str) -> int:
    m = re.fullmatch(r"(?:第)?(-?\d+)层", label) or re.fullmatch(r"地下(\d+)层", label)
    assert m, f"floor label {label!r}"
    n = int(m.group(1))
    return -n if label.startswith("地下") else n


# ------------------------------------------------------------------------- fixtures --
@pytest.fixture(scope="module")
def s_pkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_package(tmp_path_factory.mktemp("s"), "S")


@pytest.fixture(scope="module")
def report(s_pkg: Path) -> Rows:
    return read_workbook(s_pkg / "report.xlsx")


@pytest.fixture(scope="module")
def site(s_pkg: Path) -> Dxf:
    return read_dxf(s_pkg / "drawings" / "site.dxf")


@pytest.fixture(scope="module")
def parcel(s_pkg: Path) -> Dxf:
    return read_dxf(s_pkg / "drawings" / "parcel.dxf")


def indicator(report: Rows, code: str, scope: str = "项目") -> dict[str, Any]:
    (row,) = [r for r in report["规划指标"] if r["ZBDM"] == code and r["FW"] == scope]
    return row


# ---------------------------------------------------------------- envelope and form --
def test_same_arguments_give_byte_identical_files(tmp_path: Path, s_pkg: Path) -> None:
    again = make_package(tmp_path / "a", "S")
    assert sha256_tree(again) == sha256_tree(s_pkg)
    zips = [make_package(tmp_path / d, "S", as_zip=True, dxf_version="R2000", dxf_encoding="gbk")
            for d in ("z1", "z2")]
    assert zips[0].read_bytes() == zips[1].read_bytes()
    assert sha256_tree(make_package(tmp_path / "c", "S", seed=1)) != sha256_tree(s_pkg)


def test_files_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    trees = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-m", "sample_data", "--out", str(tmp_path / seed)],
                       check=True, cwd=ROOT, env=env, capture_output=True)
        trees.append(sha256_tree(tmp_path / seed / S_ID))
    assert trees[0] == trees[1]


def test_manifest_lists_every_other_file_with_its_checksum(s_pkg: Path) -> None:
    manifest = json.loads((s_pkg / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["spec_version"] == "1"
    assert manifest["project_id"] == S_ID == s_pkg.name
    assert manifest["survey_org"] == "聊城市某测绘有限公司"
    assert manifest["created"] == "2022-05-06T10:00:00+08:00"
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = sha256_tree(s_pkg)
    del on_disk["manifest.json"]
    assert listed == on_disk
    assert set(on_disk) == {"report.xlsx", "drawings/site.dxf", "drawings/parcel.dxf",
                            "drawings/floors/0001.dxf"}


def test_workbook_has_the_ten_sheets_and_their_headers(s_pkg: Path) -> None:
    wb = openpyxl.load_workbook(s_pkg / "report.xlsx")
    assert wb.sheetnames == SHEETS
    assert [c.value for c in wb["项目信息"][1]] == ["字段", "值"]
    forms = set()
    for sheet, fields in SPEC_FIELDS.items():
        headers = [c.value for c in wb[sheet][1]]
        assert [header_code(sheet, h) for h in headers] == [c for c, _ in fields]
        forms |= {"code" if h == c else "both" if "(" in h else "name"
                  for h, (c, _) in zip(headers, fields, strict=True)}
    assert forms == {"code", "name", "both"}
    props = wb.properties
    assert props.created == props.modified and props.created.year == 2022


def test_codes_are_text_cells_and_dates_are_date_cells(s_pkg: Path, report: Rows) -> None:
    wb = openpyxl.load_workbook(s_pkg / "report.xlsx")
    ws = wb["户"]
    for row in ws.iter_rows(min_row=2):
        bdcdyh, zrzh, hh, fwyt = row[0], row[1], row[3], row[5]
        assert {bdcdyh.data_type, zrzh.data_type, hh.data_type, fwyt.data_type} == {"s"}
        assert len(bdcdyh.value) == 28 and bdcdyh.value[:24] == zrzh.value
        assert hh.value == bdcdyh.value[24:28]
    (parcel_row,) = list(wb["宗地"].iter_rows(min_row=2))
    assert [c.value for c in parcel_row[5:8]] == ["0701", "4", "102"]
    assert all(c.data_type == "s" for c in parcel_row[5:8])
    clrq = next(r[1] for r in wb["项目信息"].iter_rows(min_row=2) if r[0].value == "测量日期")
    assert clrq.is_date and clrq.value.date().isoformat() == "2022-05-06"
    info = report["项目信息"][0]
    assert info["XMBH"] == S_ID and info["ZBX"] == "EPSG:4548"
    assert info["FCMJJD"] == info["JZDJD"] == "二级"


def test_unit_codes_follow_the_code_rules(report: Rows) -> None:
    (p,) = report["宗地"]
    zddm = p["ZDDM"]
    assert zddm == "371502001001GB00001" and ZDDM_RE.match(zddm)
    assert p["BDCDYH"] == zddm + "W00000000"
    for b in report["自然幢"]:
        assert re.fullmatch(zddm + r"F\d{4}", b["ZRZH"])
    units = report["户"]
    assert len(units) == 24 and len({u["BDCDYH"] for u in units}) == 24
    for u in units:
        assert u["HH"] == f"{u['SJC'] * 100 + int(u['HH'][2:]):04d}"


# ------------------------------------------------------------------ cadastral survey --
def test_boundary_points_clockwise_from_the_north_west(report: Rows) -> None:
    pts = sorted(report["界址点"], key=lambda r: r["SXH"])
    assert [p["JZDH"] for p in pts] == [f"J{i}" for i in range(1, len(pts) + 1)]
    assert 5 <= len(pts) <= 8
    xy = [(p["XZBZ"], p["YZBZ"]) for p in pts]  # survey axes: X north, Y east
    n = len(xy)
    signed = 0.5 * sum(xy[i][0] * (xy[(i + 1) % n][1] - xy[i - 1][1]) for i in range(n))
    assert signed > 0
    nw = (max(x for x, _ in xy), min(y for _, y in xy))
    nearest = min(range(n), key=lambda i: math.hypot(xy[i][0] - nw[0], xy[i][1] - nw[1]))
    assert nearest == 0
    ring = Polygon([(y, x) for x, y in xy])
    assert ring.is_valid
    assert report["宗地"][0]["ZDMJ"] == pytest.approx(round(ring.area, 2), abs=1e-9)
    for edge in report["界址线"]:
        a, b = (next(p for p in pts if p["JZDH"] == k) for k in (edge["QSJZDH"], edge["ZZJZDH"]))
        length = math.hypot(a["XZBZ"] - b["XZBZ"], a["YZBZ"] - b["YZBZ"])
        assert edge["JZXCD"] == pytest.approx(round(length, 2), abs=1e-9)
    assert len(report["界址线"]) == n


def test_parcel_drawing_matches_the_boundary_points(report: Rows, parcel: Dxf) -> None:
    pts = {p["JZDH"]: (p["YZBZ"], p["XZBZ"]) for p in report["界址点"]}
    (zd,) = parcel.polygons["ZD"]
    assert list(zd.exterior.coords)[:-1] == [pts[f"J{i}"] for i in range(1, len(pts) + 1)]
    assert parcel.xdata["ZD"] == [report["宗地"][0]["ZDDM"]]
    assert [label for _, label in parcel.labelled("ZD")] == [[report["宗地"][0]["ZDDM"]]]
    circles = parcel.circles["JZD"]
    assert sorted((c.x, c.y) for c in circles) == sorted(pts.values())
    for name, at in parcel.texts["JZD"]:
        nearest = min(circles, key=at.distance)
        assert at.distance(nearest) <= 2.0 and (nearest.x, nearest.y) == pts[name]
    assert len(parcel.lines["JZX"]) == len(pts)


# --------------------------------------------------------------- planning verification --
def test_site_figures_recomputed_from_the_drawing(report: Rows, site: Dxf, parcel: Dxf) -> None:
    (ydhx,) = site.polygons["YDHX"]
    (zd,) = parcel.polygons["ZD"]
    assert list(ydhx.exterior.coords) == list(zd.exterior.coords)
    ydmj = indicator(report, "YDMJ")["SCZ"]
    assert ydmj == pytest.approx(round(ydhx.area, 2), abs=1e-9)
    assert report["宗地"][0]["ZDMJ"] == ydmj
    footprints = site.labelled("JZJD")
    jdmj = indicator(report, "JDMJ")["SCZ"]
    assert jdmj == pytest.approx(round(sum(p.area for p, _ in footprints), 2), abs=1e-9)
    buildings = {b["JZWMC"]: b for b in report["自然幢"]}
    for poly, (label,) in footprints:
        assert ydhx.contains(poly)
        assert buildings[label + "楼"]["ZZDMJ"] == pytest.approx(round(poly.area, 2), abs=1e-9)
    greens = site.polygons["LDFW"]
    assert all(ydhx.contains(g) and not any(g.intersects(p) for p, _ in footprints) for g in greens)
    ldl = round(sum(g.intersection(ydhx).area for g in greens) / ydmj * 100, 2)
    assert indicator(report, "LDL")["SCZ"] == pytest.approx(ldl, abs=1e-9)
    jrmj, zjzmj = indicator(report, "JRMJ")["SCZ"], indicator(report, "ZJZMJ")["SCZ"]
    assert indicator(report, "RJL")["SCZ"] == pytest.approx(round(jrmj / ydmj, 2), abs=1e-9)
    assert indicator(report, "JZMD")["SCZ"] == pytest.approx(round(jdmj / ydmj * 100, 2), abs=1e-9)
    assert zjzmj == pytest.approx(round(sum(b["SCJZMJ"] for b in report["自然幢"]), 2), abs=1e-6)
    assert jrmj <= zjzmj
    assert all(line.distance(ydhx) > 0 for line in site.lines["DLHX"])


def test_permitted_values_are_met(report: Rows) -> None:
    ind = {r["ZBDM"]: r for r in report["规划指标"] if r["FW"] == "项目"}
    assert set(ind) == {"YDMJ", "ZJZMJ", "JRMJ", "RJL", "JZMD", "LDL", "JDMJ", "JZGD", "DSCS",
                        "DXCS", "JDCW"}
    for code in ("RJL", "JZMD", "JZGD", "JRMJ", "ZJZMJ"):
        assert ind[code]["SCZ"] <= ind[code]["GHZ"], code
    for code in ("LDL", "JDCW"):
        assert ind[code]["SCZ"] >= ind[code]["GHZ"], code
    for code in ("DSCS", "DXCS"):
        assert ind[code]["SCZ"] == ind[code]["GHZ"], code
    assert ind["RJL"]["DW"] is None and ind["LDL"]["DW"] == "%" and ind["YDMJ"]["DW"] == "m²"
    for b in report["自然幢"]:
        assert indicator(report, "DSCS", b["ZRZH"])["SCZ"] == b["DSCS"]
        assert indicator(report, "JZGD", b["ZRZH"])["SCZ"] == b["JZWGD"]
        assert b["ZCS"] == b["DSCS"] + b["DXCS"]


def test_setbacks_are_shapely_distances(report: Rows, site: Dxf) -> None:
    (ydhx,) = site.polygons["YDHX"]
    footprint = {label[0]: poly for poly, label in site.labelled("JZJD")}
    number = {b["ZRZH"]: b["JZWMC"].removesuffix("楼") for b in report["自然幢"]}
    rows = report["退让"]
    assert len(rows) == 2 * len(number)
    for row in rows:
        poly = footprint[number[row["ZRZH"]]]
        if row["DX"] == "用地红线":
            d = poly.distance(ydhx.exterior)
        else:
            d = min(poly.distance(line) for line in site.lines["DLHX"])
        assert row["SCZ"] == pytest.approx(d, abs=0.01)
        assert row["SCZ"] >= row["GHYQ"]


def test_site_lies_at_liaocheng(site: Dxf) -> None:
    (ydhx,) = site.polygons["YDHX"]
    c = ydhx.centroid
    assert 400_000 < c.x < 430_000 and 4_030_000 < c.y < 4_045_000  # no zone prefix
    lon, lat = pyproj.Transformer.from_crs(4548, 4326, always_xy=True).transform(c.x, c.y)
    assert lon == pytest.approx(116.05, abs=0.001) and lat == pytest.approx(36.48, abs=0.001)


# --------------------------------------------------------------------- property survey --
def check_floor_plan(plan: Dxf, zrzh: str, report: Rows) -> int:
    """Recompute every unit's inner area and every shared part's MJ from the plan;
    returns the number of units checked."""
    frames = {floor_number(label): poly for poly, (label,) in plan.labelled("FC_C")}
    floors = {r["SJC"] for r in report["层"] if r["ZRZH"] == zrzh}
    assert set(frames) == floors
    units = {(u["SJC"], u["HH"]): u for u in report["户"] if u["ZRZH"] == zrzh}
    balconies = plan.labelled("FC_YT")
    drawn: dict[tuple[int, str], float] = {}
    for poly, (hh,) in plan.labelled("FC_H"):
        (sjc,) = [s for s, f in frames.items() if f.contains(poly)]
        mine = [(b, kind) for b, (kind,) in balconies if b.touches(poly)]
        drawn[(sjc, hh)] = poly.area + sum(b.area * {"封闭": 1.0, "未封闭": 0.5}[k] for b, k in mine)
    assert set(drawn) == set(units)
    for sjc in frames:
        polys = [p for p, _ in plan.labelled("FC_H") if frames[sjc].contains(p)]
        assert all(a.intersection(b).area <= 0.01 for i, a in enumerate(polys) for b in polys[i + 1:])
    assert any(len(Polygon(p.exterior).exterior.coords) > 5 for p in plan.polygons["FC_H"])  # L-shapes
    for key, area in drawn.items():
        assert abs(units[key]["SCTNJZMJ"] - area) <= limit(area) / 2
    shared = defaultdict(list)
    for poly, (name,) in plan.labelled("FC_GY"):
        (sjc,) = [s for s, f in frames.items() if f.contains(poly)]
        shared[sjc].append((name, round(poly.area, 2)))
    reported = defaultdict(list)
    for r in report["共有部位"]:
        if r["ZRZH"] == zrzh:
            reported[r["SJC"]].append((r["MC"], r["MJ"]))
    assert {k: sorted(v) for k, v in shared.items()} == {k: sorted(v) for k, v in reported.items()}
    return len(drawn)


def test_floor_plan_areas_match_the_report(s_pkg: Path, report: Rows) -> None:
    (b,) = report["自然幢"]
    plan = read_dxf(s_pkg / "drawings" / "floors" / f"{b['ZRZH'][-4:]}.dxf")
    assert check_floor_plan(plan, b["ZRZH"], report) == 24
    assert b["DSCS"] == 6 and b["DXCS"] == 0 and len(plan.polygons["FC_C"]) == 6


def test_apportionment_identities(report: Rows) -> None:
    for b in report["自然幢"]:
        units = [u for u in report["户"] if u["ZRZH"] == b["ZRZH"]]
        shared = sum(r["MJ"] for r in report["共有部位"] if r["ZRZH"] == b["ZRZH"])
        k = shared / sum(u["SCTNJZMJ"] for u in units)
        for u in units:
            assert abs(u["SCJZMJ"] - (u["SCTNJZMJ"] + u["SCFTJZMJ"])) <= 0.01 + 1e-6  # PRP-001
            assert abs(u["SCFTXS"] - k) <= 1e-6  # PRP-002
            assert abs(u["SCFTJZMJ"] - round(k * u["SCTNJZMJ"], 2)) <= 0.01 + 1e-6  # PRP-003
            assert abs(u["SCJZMJ"] - u["YCJZMJ"]) / u["YCJZMJ"] < 0.01  # < 1 %, PRP-009 at 3 %
        n = len(units)
        assert abs(sum(u["SCFTJZMJ"] for u in units) - shared) <= 0.005 * n + 0.01  # PRP-004
        assert abs(b["SCJZMJ"] - sum(u["SCJZMJ"] for u in units)) <= 0.005 * n + 0.01  # PRP-005
        assert 0.05 < k < 0.25


# ----------------------------------------------------------------------------- options --
def test_gbk_r2000_drawings(tmp_path: Path) -> None:
    pkg = make_package(tmp_path, "S", dxf_version="R2000", dxf_encoding="gbk")
    raw = (pkg / "drawings" / "floors" / "0001.dxf").read_bytes()
    assert "层".encode("gbk") in raw and "封闭".encode("gbk") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    plan = read_dxf(pkg / "drawings" / "floors" / "0001.dxf")
    assert plan.doc.header["$DWGCODEPAGE"] == "ANSI_936"
    assert plan.doc.dxfversion == "AC1015"
    assert sorted(t for t, _ in plan.texts["FC_C"]) == sorted(f"{i}层" for i in range(1, 7))
    assert read_dxf(pkg / "drawings" / "site.dxf").doc.header["$DWGCODEPAGE"] == "ANSI_936"
    default = make_package(tmp_path / "default", "S", dxf_version="R2000")
    assert read_dxf(default / "drawings" / "parcel.dxf").doc.header["$DWGCODEPAGE"] == "ANSI_1252"


def _sections(raw: bytes) -> list[str]:
    lines = raw.decode("utf-8").split("\r\n")
    return [lines[i + 3] for i in range(0, len(lines) - 3, 2)
            if lines[i].strip() == "0" and lines[i + 1] == "SECTION" and lines[i + 2].strip() == "2"]


def test_autocad_style_drawings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--out", str(tmp_path / "acad"), "--autocad"]) == 0
    pkg = tmp_path / "acad" / S_ID
    assert str(pkg) in capsys.readouterr().out
    plain = make_package(tmp_path / "plain", "S", dxf_version="R2013")
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    on_disk = sha256_tree(pkg)
    del on_disk["manifest.json"]
    assert {f["path"]: f["sha256"] for f in manifest["files"]} == on_disk
    assert on_disk.keys() == {k for k in sha256_tree(plain) if k != "manifest.json"}
    for name in [k for k in on_disk if k.endswith(".dxf")]:
        raw = (pkg / name).read_bytes()
        assert raw.count(b"\n") == raw.count(b"\r\n") > 0  # CRLF, no bare LF
        raw.decode("utf-8")  # R2007+: UTF-8 text although the code page is ANSI_936
        assert _sections(raw) == ["HEADER", "CLASSES", "TABLES", "BLOCKS", "ENTITIES", "OBJECTS",
                                  "THUMBNAILIMAGE", "ACDSDATA"]
        doc, auditor = recover.readfile(pkg / name)
        assert not auditor.errors and not auditor.fixes
        assert doc.dxfversion == "AC1027" and doc.header["$DWGCODEPAGE"] == "ANSI_936"
        assert [e.dxftype() for e in doc.acdsdata.entities] == ["ACDSSCHEMA"] * 5 + ["ACDSRECORD"]
        (record,) = doc.acdsdata.acdsrecords
        assert record.get_section("AcDbDs::ID").get_first_value(320) == \
            doc.layouts.get("Model").dxf_layout.dxf.handle
        # the same drawing as the plain R2013 one but for the code page and the envelope
        text = raw.decode("utf-8").replace("\r\n", "\n")
        text = text[: text.index("  0\nSECTION\n  2\nTHUMBNAILIMAGE")] + "  0\nEOF\n"
        expected = (plain / name).read_text("utf-8")
        assert text == expected.replace("$DWGCODEPAGE\n  3\nANSI_1252", "$DWGCODEPAGE\n  3\nANSI_936", 1)
        assert len(ezdxf.readfile(pkg / name).modelspace()) == len(ezdxf.readfile(plain / name).modelspace())
    plan = read_dxf(pkg / "drawings" / "floors" / "0001.dxf")
    assert sorted(t for t, _ in plan.texts["FC_C"]) == sorted(f"{i}层" for i in range(1, 7))
    again = make_package(tmp_path / "again", "S", dxf_version="R2013", autocad=True)
    assert sha256_tree(again) == sha256_tree(pkg)
    with pytest.raises(ValueError):
        make_package(tmp_path / "bad", "S", dxf_version="R2010", autocad=True)
    with pytest.raises(SystemExit):
        cli_main(["--out", str(tmp_path / "bad"), "--autocad", "--gbk"])


def test_csv_form_has_one_file_per_sheet(tmp_path: Path, s_pkg: Path) -> None:
    pkg = make_package(tmp_path, "S", report_format="csv")
    assert not (pkg / "report.xlsx").exists()
    names = sorted(p.name for p in (pkg / "report").iterdir())
    assert names == sorted(f"{s}.csv" for s in SHEETS)
    wb = openpyxl.load_workbook(s_pkg / "report.xlsx")
    for sheet in SHEETS:
        raw = (pkg / "report" / f"{sheet}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0] == [c.value for c in wb[sheet][1]]
        assert len(rows) == wb[sheet].max_row
    units = list(csv.DictReader(io.StringIO((pkg / "report" / "户.csv").read_text("utf-8-sig"))))
    assert units[0]["户号"] == "0101" and re.fullmatch(r"\d+\.\d\d", units[0]["实测套内建筑面积"])
    project = dict(csv.reader(io.StringIO((pkg / "report" / "项目信息.csv").read_text("utf-8-sig"))))
    assert project["测量日期"] == "2022-05-06"
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    assert {f["path"] for f in manifest["files"]} >= {f"report/{s}.csv" for s in SHEETS}


def test_zip_has_one_top_folder(tmp_path: Path, s_pkg: Path) -> None:
    path = make_package(tmp_path, "S", as_zip=True)
    assert path == tmp_path / f"{S_ID}.zip" and not (tmp_path / S_ID).exists()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        assert all(i.filename.startswith(f"{S_ID}/") and not i.is_dir() for i in infos)
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(2022, 5, 6, 10, 0, 0)}
        inner = {i.filename.removeprefix(f"{S_ID}/"): hashlib.sha256(zf.read(i)).hexdigest()
                 for i in infos}
    assert inner == sha256_tree(s_pkg)


def test_rewrite_replaces_a_previous_package(tmp_path: Path) -> None:
    make_package(tmp_path, "S")
    pkg = make_package(tmp_path, "S", report_format="csv")
    assert not (pkg / "report.xlsx").exists()
    assert [p.name for p in tmp_path.iterdir()] == [S_ID]  # no staging left behind


def test_writers_write_the_model_as_it_is(tmp_path: Path) -> None:
    model = build_model("S")
    model.buildings[0].units[0].sctnjzmj = 999.99
    model.buildings[0].floors[0].label.text = "第1层"
    pkg = write_package(model, tmp_path)
    rows = read_workbook(pkg / "report.xlsx")["户"]
    assert rows[0]["SCTNJZMJ"] == 999.99
    plan = read_dxf(pkg / "drawings" / "floors" / "0001.dxf")
    assert "第1层" in [t for t, _ in plan.texts["FC_C"]]


@pytest.mark.parametrize(
    "kwargs",
    [{"report_format": "pdf"}, {"dxf_version": "R12"},
     {"dxf_version": "R2010", "dxf_encoding": "gbk"}, {"dxf_version": "R2000", "dxf_encoding": "koi8_u"}],
)
def test_bad_options_are_refused(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        make_package(tmp_path, "S", **kwargs)
    with pytest.raises(ValueError):
        build_model("M")


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--out", str(tmp_path), "--zip", "--gbk", "--csv"]) == 0
    assert str(tmp_path / f"{S_ID}.zip") in capsys.readouterr().out
    with zipfile.ZipFile(tmp_path / f"{S_ID}.zip") as zf:
        assert f"{S_ID}/report/户.csv" in zf.namelist()
        assert b"ANSI_936" in zf.read(f"{S_ID}/drawings/site.dxf")


# --------------------------------------------------------------------------- size L --
def test_large_model_is_consistent() -> None:
    model = build_model("L")
    assert model.project_id == L_ID and len(model.buildings) == 40
    units = model.units()
    assert len(units) == 9600 and len({u.bdcdyh for u in units}) == 9600
    assert max(int(u.hh) for u in units) == 3008
    for b in model.buildings:
        assert sorted(f.sjc for f in b.floors) == [-1, *range(1, 31)]
        assert len({f.label.text for f in b.floors}) == 31
        per_floor = defaultdict(set)
        for u in b.units:
            per_floor[u.sjc].add(u.hh)
            assert u.bdcdyh[24:] == u.hh and u.bdcdyh[:24] == b.zrzh
            assert abs(u.sctnjzmj - u.drawn_area) <= limit(u.drawn_area) / 2
        assert all(len(hh) == 8 for hh in per_floor.values()) and len(per_floor) == 30
        k = sum(p.mj for p in b.shared_parts) / sum(u.sctnjzmj for u in b.units)
        assert all(abs(u.scftxs - k) <= 1e-6 for u in b.units)
        assert abs(sum(u.scftjzmj for u in b.units) - sum(p.mj for p in b.shared_parts)) <= 0.005 * 240 + 0.01
    labels = {f.label.text for b in model.buildings for f in b.floors}
    assert {"1层", "第2层", "-1层", "地下1层"} <= labels
    assert any(f.label.mtext for f in model.buildings[0].floors)
    site = Polygon(model.site.boundary)
    footprints = [Polygon(b.footprint) for b in model.buildings]
    assert all(site.contains(f) for f in footprints)
    assert not any(a.intersects(b) for i, a in enumerate(footprints) for b in footprints[i + 1:])
    ind = {(i.zbdm, i.fw): i for i in model.indicators}
    assert ind[("RJL", "项目")].scz <= ind[("RJL", "项目")].ghz
    assert ind[("LDL", "项目")].scz >= ind[("LDL", "项目")].ghz
    assert ind[("DXCS", "项目")].scz == 1
    assert all(s.scz >= s.ghyq for s in model.setbacks) and len(model.setbacks) == 80


def test_large_package_is_written_in_well_under_a_minute(tmp_path: Path) -> None:
    start = time.perf_counter()
    pkg = make_package(tmp_path, "L")
    assert time.perf_counter() - start < 60
    manifest = json.loads((pkg / "manifest.json").read_text("utf-8"))
    assert len(manifest["files"]) == 43  # report, site, parcel, 40 floor plans
    plan = read_dxf(pkg / "drawings" / "floors" / "0040.dxf")
    assert len(plan.polygons["FC_C"]) == 31 and len(plan.polygons["FC_H"]) == 240
    site = read_dxf(pkg / "drawings" / "site.dxf")
    assert sorted(label for _, (label,) in site.labelled("JZJD")) == sorted(f"{n}#" for n in range(1, 41))
