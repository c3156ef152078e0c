"""PLN-001..014 on small scenes built in code, asserted by code and place.

:class:`Scene` is a consistent little project (one building on a 100 m × 80 m site, one
green, one road line, one parcel equal to the red line); each test breaks one thing. The
report cells go through the real ``type_tables`` so the frames are typed as in a run.
The cross-survey tests (test_cross.py) use the same scene.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Polygon

from schemas.context import Context
from schemas.crs import Zone
from schemas.drawings import BUILDING_LABEL, FloorPlan, Geometry, ParcelGeometry, SiteGeometry
from schemas.findings import Finding
from schemas.package import Drawing, Package
from schemas.profile import Profile, load_profile
from schemas.rules import planning
from schemas.tables import type_tables

PROFILE = load_profile()
ZDDM = "371502001001GB00001"
ZRZH = ZDDM + "F0001"
E0, N0 = 414800.0, 4039200.0
SITE = "drawings/site.dxf"
PARCEL = "drawings/parcel.dxf"


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(E0 + x0, N0 + y0), (E0 + x1, N0 + y0), (E0 + x1, N0 + y1), (E0 + x0, N0 + y1)]


def shifted(ring, dx: float = 0.0, dy: float = 0.0):
    return [(x + dx, y + dy) for x, y in ring]


def text(v) -> str | None:
    if v is None:
        return None
    return str(v)


def raw(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame([{k: text(v) for k, v in r.items()} for r in rows])
    df["_row"] = range(2, 2 + len(rows))
    return df


@dataclass
class Scene:
    """A consistent project; every list is rows / shapes that a test may change."""

    # 规划指标: (ZBDM, FW, GHZ, SCZ)
    indicators: list[list] = field(default_factory=lambda: [
        ["YDMJ", "项目", 8000, 8000],
        ["ZJZMJ", "项目", 3000, 2700],
        ["JRMJ", "项目", 3000, 2700],
        ["RJL", "项目", 0.4, 0.34],        # 2700 / 8000 = 0.3375
        ["JZMD", "项目", 10, 6.0],         # 480 / 8000 × 100
        ["LDL", "项目", 20, 22.5],         # 1800 / 8000 × 100
        ["JDMJ", "项目", 500, 480],
        ["JZGD", "项目", 20, 18.6],
        ["DSCS", "项目", 6, 6],
        ["DXCS", "项目", 0, 0],
        ["JDCW", "项目", 20, 26],
        ["DSCS", ZRZH, 6, 6],
        ["JZGD", ZRZH, 20, 18.6],
    ])
    buildings: list[dict] = field(default_factory=lambda: [
        {"ZRZH": ZRZH, "ZDDM": ZDDM, "JZWMC": "1#楼", "FWJG": "3", "ZCS": 6, "DSCS": 6, "DXCS": 0,
         "JZWGD": 18.6, "ZZDMJ": 480, "SCJZMJ": 2700},
    ])
    setbacks: list[list] = field(default_factory=lambda: [[ZRZH, "用地红线", 5, 20.0], [ZRZH, "道路红线", 8, 23.0]])
    parcels: list[dict] = field(default_factory=lambda: [
        {"ZDDM": ZDDM, "BDCDYH": ZDDM + "W00000000", "ZL": "某路", "ZDMJ": 8000, "YT": "0701", "QLLX": "4", "QLXZ": "102"},
    ])
    # 界址点 in survey axes (X north, Y east), clockwise from the north-west point
    points: list[list] = field(default_factory=lambda: [
        [ZDDM, "J1", 1, N0 + 80, E0], [ZDDM, "J2", 2, N0 + 80, E0 + 100],
        [ZDDM, "J3", 3, N0, E0 + 100], [ZDDM, "J4", 4, N0, E0],
    ])
    units: list[dict] = field(default_factory=lambda: [
        {"BDCDYH": ZRZH + f"{100 * f + i:04d}", "ZRZH": ZRZH, "SJC": f, "HH": f"{100 * f + i:04d}", "FWYT": "11",
         "SCTNJZMJ": 100, "SCFTJZMJ": 12.5, "SCJZMJ": 112.5, "SCFTXS": 0.125}
        for f in range(1, 7) for i in range(1, 5)
    ])
    fcmjjd: str = "二级"
    jzdjd: str = "二级"
    omit: set[str] = field(default_factory=set)  # sheets left out of the report
    # drawings
    boundary: list | None = field(default_factory=lambda: rect(0, 0, 100, 80))
    footprints: list[tuple[str | None, list]] = field(default_factory=lambda: [("1#", rect(20, 20, 50, 36))])
    roads: list[list] = field(default_factory=lambda: [[(E0 - 10, N0 - 3), (E0 + 110, N0 - 3)]])
    greens: list[list] = field(default_factory=lambda: [rect(60, 10, 90, 70)])
    zd: list[tuple[str, list]] = field(default_factory=lambda: [(ZDDM, rect(0, 0, 100, 80))])
    frames: dict[str, list[str]] = field(default_factory=lambda: {"0001": [f"{k}层" for k in range(1, 7)]})
    site_drawing: Drawing | None = None  # raw shapes/texts for the rules that look at them
    floor_drawings: dict[str, Drawing] = field(default_factory=dict)
    profile: Profile = field(default_factory=lambda: PROFILE)
    has_site: bool = True
    has_parcel: bool = True

    # ---------------------------------------------------------------- building the context

    def tables(self):
        raws = {
            "project": pd.DataFrame({"field": ["XMBH", "FCMJJD", "JZDJD"], "value": ["P", self.fcmjjd, self.jzdjd],
                                     "_row": [2, 3, 4]}),
            "parcel": raw(self.parcels),
            "boundary_point": raw([dict(zip(["ZDDM", "JZDH", "SXH", "XZBZ", "YZBZ"], p, strict=True)) for p in self.points]),
            "building": raw(self.buildings),
            "unit": raw(self.units),
            "planning_indicator": raw([dict(zip(["ZBDM", "FW", "GHZ", "SCZ"], r, strict=True)) for r in self.indicators]),
            "setback": raw([dict(zip(["ZRZH", "DX", "GHYQ", "SCZ"], r, strict=True)) for r in self.setbacks]),
        }
        for key in self.omit:
            raws.pop(key, None)
        tables, _ = type_tables(raws, self.profile)
        return tables

    def site(self) -> SiteGeometry:
        b = [Polygon(self.boundary)] if self.boundary else []
        boundary = gpd.GeoDataFrame({"handle": ["B1"][: len(b)], "valid": shapely.is_valid(b)}, geometry=b)
        fp_geoms = [Polygon(r) for _, r in self.footprints]
        labels = [label for label, _ in self.footprints]
        zh = []
        for label in labels:
            m = BUILDING_LABEL.match(label) if label else None
            zh.append(f"{int(m.group(1)):04d}" if m else None)
        footprints = gpd.GeoDataFrame(
            {"handle": [f"F{i}" for i in range(len(fp_geoms))], "valid": shapely.is_valid(fp_geoms) & (shapely.area(fp_geoms) > 0),
             "label": labels, "zh": zh},
            geometry=fp_geoms,
        )
        roads = gpd.GeoDataFrame({"handle": [f"R{i}" for i in range(len(self.roads))]},
                                 geometry=[LineString(r) for r in self.roads])
        g = [Polygon(r) for r in self.greens]
        green = gpd.GeoDataFrame({"handle": [f"G{i}" for i in range(len(g))], "valid": shapely.is_valid(g)}, geometry=g)
        return SiteGeometry(boundary, roads, footprints, green)

    def parcel(self) -> ParcelGeometry:
        g = [Polygon(r) for _, r in self.zd]
        parcels = gpd.GeoDataFrame({"handle": [f"P{i}" for i in range(len(g))], "valid": shapely.is_valid(g),
                                    "zddm": [z for z, _ in self.zd]}, geometry=g)
        points = gpd.GeoDataFrame({"handle": pd.Series(dtype=object), "label": pd.Series(dtype=object)},
                                  geometry=gpd.GeoSeries([], dtype="geometry"))
        return ParcelGeometry(parcels, points)

    def floors(self) -> dict[str, FloorPlan]:
        out = {}
        for zh, labels in self.frames.items():
            geoms = [Polygon([(0, 40 * k), (40, 40 * k), (40, 40 * k + 30), (0, 40 * k + 30)]) for k in range(len(labels))]
            sjc = []
            for label in labels:
                digits = label.replace("层", "").replace("地下", "-").replace("第", "") if label else ""
                try:
                    sjc.append(int(digits))
                except ValueError:
                    sjc.append(pd.NA)
            frames = gpd.GeoDataFrame(
                {"handle": [f"C{k}" for k in range(len(labels))], "valid": True, "label": labels,
                 "labels": [[x] if x else [] for x in labels], "sjc": pd.array(sjc, dtype="Int64")},
                geometry=geoms,
            )
            empty = gpd.GeoDataFrame({"handle": pd.Series(dtype=object)}, geometry=gpd.GeoSeries([], dtype="geometry"))
            out[zh] = FloorPlan(f"drawings/floors/{zh}.dxf", frames, empty, empty, empty)
        return out

    def ctx(self) -> Context:
        drawings = dict(self.floor_drawings)
        if self.site_drawing is not None:
            drawings["site"] = self.site_drawing
        geometry = Geometry(
            site=self.site() if self.has_site else None,
            parcel=self.parcel() if self.has_parcel else None,
            floors=self.floors(),
            site_file=SITE if self.has_site else None,
            parcel_file=PARCEL if self.has_parcel else None,
        )
        return Context(Package("test", drawings=drawings), self.tables(), geometry, Zone(4548, 4548, 117, 39), self.profile)

    # ---------------------------------------------------------------- editing

    def row_of(self, zbdm: str, fw: str = "项目") -> int:
        return 2 + next(i for i, r in enumerate(self.indicators) if r[0] == zbdm and r[1] == fw)

    def set(self, zbdm: str, ghz=None, scz=None, fw: str = "项目") -> None:
        r = self.indicators[self.row_of(zbdm, fw) - 2]
        if ghz is not None:
            r[2] = ghz
        if scz is not None:
            r[3] = scz


def with_tolerances(**values) -> Profile:
    return PROFILE.model_copy(update={"tolerances": PROFILE.tolerances.model_copy(update=values)})


def drawing(path: str, shapes: Sequence[tuple[str, list, bool]] = (), texts: Sequence[tuple[str, str, tuple]] = ()) -> Drawing:
    """A parsed drawing with the given (layer, vertices, closed) shapes and (layer, text, at) texts."""
    d = Drawing(path)
    if shapes:
        d.shapes = gpd.GeoDataFrame(
            {"handle": [f"S{i}" for i in range(len(shapes))], "layer": [s[0] for s in shapes],
             "dxftype": "LWPOLYLINE", "closed": [s[2] for s in shapes], "xdata": None},
            geometry=[LineString(s[1]) for s in shapes],
        )
    if texts:
        d.texts = gpd.GeoDataFrame(
            {"handle": [f"T{i}" for i in range(len(texts))], "layer": [t[0] for t in texts], "dxftype": "TEXT",
             "text": [t[1] for t in texts]},
            geometry=[shapely.Point(t[2]) for t in texts],
        )
    return d


def run(scene: Scene, rules=None):
    ctx = scene.ctx()
    out: list[Finding] = []
    for rule in rules or planning.RULES:
        out += rule(ctx)
    return out


def codes(found) -> list[str]:
    return sorted(f.code for f in found)


def at(found, code: str) -> list[dict]:
    return [f.object.as_dict() for f in found if f.code == code]


# ---------------------------------------------------------------- the clean scene


def test_clean_scene_gives_nothing():
    assert run(Scene()) == []


def test_no_site_drawing_skips_the_drawing_rules_silently():
    s = Scene(has_site=False)
    s.set("JDMJ", scz=999)  # would be PLN-006 with a drawing
    s.set("JZMD", ghz=15, scz=12.49)
    assert run(s) == []


# ---------------------------------------------------------------- PLN-001


def test_missing_project_indicator_is_pln001():
    s = Scene()
    del s.indicators[s.row_of("JZMD") - 2]
    found = run(s)
    assert codes(found) == ["PLN-001"]
    assert at(found, "PLN-001") == [{"sheet": "规划指标", "key": "JZMD/项目", "field": "ZBDM"}]


def test_building_scope_row_does_not_stand_in_for_the_project_one():
    s = Scene()
    del s.indicators[s.row_of("DSCS") - 2]
    assert [f.object.key for f in run(s) if f.code == "PLN-001"] == ["DSCS/项目"]


def test_optional_indicators_may_be_missing():
    s = Scene()
    s.indicators = [r for r in s.indicators if r[0] not in ("DXCS", "JDCW")]
    assert run(s) == []


def test_unreadable_code_may_be_the_missing_indicator():
    s = Scene()
    s.indicators[s.row_of("JZMD") - 2][0] = "建筑密度率"  # RPT-005: not reported again as missing
    assert "PLN-001" not in codes(run(s))


def test_more_missing_than_unreadable_rows_are_reported():
    s = Scene()
    s.indicators[s.row_of("JZMD") - 2][0] = "XX"
    del s.indicators[s.row_of("LDL") - 2]
    assert sorted(f.object.key for f in run(s) if f.code == "PLN-001") == ["JZMD/项目", "LDL/项目"]


def test_indicator_with_empty_scope_is_not_reported_missing():
    s = Scene()
    s.indicators[s.row_of("RJL") - 2][1] = None  # RPT-004 on FW
    assert "PLN-001" not in codes(run(s))


def test_absent_indicator_sheet_is_rpt001_not_pln001():
    s = Scene(omit={"planning_indicator"})
    assert run(s) == []


# ---------------------------------------------------------------- PLN-002


@pytest.mark.parametrize("zbdm, ghz, ok, over", [("RJL", 0.34, 0.34, 0.35), ("JZMD", 6.0, 6.0, 6.01)])
def test_ratio_maxima(zbdm, ghz, ok, over):
    s = Scene()
    s.set(zbdm, ghz=ghz)
    assert run(s, [planning.maxima]) == []
    s.set(zbdm, ghz=round(ghz - (over - ok), 2))
    found = run(s, [planning.maxima])
    assert codes(found) == ["PLN-002"] and found[0].object.row == s.row_of(zbdm)


@pytest.mark.parametrize("scz, hit", [(20.10, False), (20.11, True)])
def test_height_allows_jzgd_over(scz, hit):
    s = Scene()
    s.set("JZGD", scz=scz)
    found = run(s, [planning.maxima])
    assert bool(found) is hit
    if hit:
        assert found[0].object.row == s.row_of("JZGD") and found[0].tolerance == pytest.approx(0.10)


def test_building_scope_height_over_is_reported_at_its_row():
    s = Scene()
    s.set("JZGD", scz=20.5, fw=ZRZH)
    found = run(s, [planning.maxima])
    assert [f.object.row for f in found] == [s.row_of("JZGD", ZRZH)]


@pytest.mark.parametrize(
    "ghz, allowed",
    [
        (800.0, 24.0),        # ≤ 1000: 3 %
        (1000.0, 30.0),       # the tier boundary belongs to the lower tier
        (1000.5, 20.01),      # just above: 2 %
        (5000.0, 100.0),
        (8000.0, 120.0),      # ≤ 10000: 1.5 %
        (20000.0, 260.0),     # above: 1.3 %
        (50000.0, 500.0),     # 650 capped at 500 m²
    ],
)
@pytest.mark.parametrize("zbdm", ["JRMJ", "ZJZMJ"])
def test_floor_area_tiers_and_cap(zbdm, ghz, allowed):
    s = Scene()
    s.set(zbdm, ghz=ghz, scz=round(ghz + allowed, 2))
    assert run(s, [planning.maxima]) == []
    s.set(zbdm, scz=round(ghz + allowed + 0.01, 2))
    found = run(s, [planning.maxima])
    assert codes(found) == ["PLN-002"] and found[0].object.row == s.row_of(zbdm)
    assert found[0].tolerance == pytest.approx(allowed)


def test_profile_overrides_cap_and_height_tolerance():
    s = Scene(profile=with_tolerances(area_cap=100.0, jzgd_over=0.5))
    s.set("JRMJ", ghz=20000, scz=20150)  # 1.3 % = 260 allowed by default, 100 with this cap
    s.set("JZGD", scz=20.4)  # within 0.5
    found = run(s, [planning.maxima])
    assert [f.object.row for f in found] == [s.row_of("JRMJ")]


def test_unreadable_figures_are_skipped_silently():
    s = Scene()
    s.set("RJL", scz="0,9x")  # RPT-003
    s.set("JZMD", ghz="")  # RPT-004
    assert run(s, [planning.maxima, planning.plot_ratio, planning.density]) == []


# ---------------------------------------------------------------- PLN-003, PLN-004


@pytest.mark.parametrize("zbdm, ghz", [("LDL", 22.51), ("JDCW", 27)])
def test_minima(zbdm, ghz):
    s = Scene()
    s.set(zbdm, ghz=ghz)
    found = run(s)
    assert codes(found) == ["PLN-003"] and found[0].object.row == s.row_of(zbdm)


def test_minimum_met_exactly_is_fine():
    s = Scene()
    s.set("LDL", ghz=22.5)
    s.set("JDCW", ghz=26)
    assert run(s) == []


@pytest.mark.parametrize("zbdm, fw", [("DSCS", "项目"), ("DXCS", "项目"), ("DSCS", ZRZH)])
def test_storeys_must_equal(zbdm, fw):
    s = Scene()
    s.set(zbdm, ghz=7 if zbdm == "DSCS" else 1, fw=fw)
    found = run(s)
    assert codes(found) == ["PLN-004"] and found[0].object.row == s.row_of(zbdm, fw)


# ---------------------------------------------------------------- PLN-005, PLN-006


@pytest.mark.parametrize("scz, hit", [(8000.10, False), (7999.90, False), (8000.11, True)])
def test_site_area_vs_red_line(scz, hit):
    s = Scene()
    s.set("YDMJ", scz=scz)
    found = run(s, [planning.site_area])
    assert bool(found) is hit
    if hit:
        assert at(found, "PLN-005") == [{"sheet": "规划指标", "row": 2, "key": "YDMJ/项目", "field": "SCZ",
                                         "file": SITE, "layer": "YDHX", "handle": "B1"}]
        assert found[0].location is not None


def test_invalid_red_line_is_dxf005s():
    s = Scene()
    s.boundary = [(E0, N0), (E0 + 100, N0 + 80), (E0 + 100, N0), (E0, N0 + 80)]  # bow-tie
    s.set("YDMJ", scz=1)
    assert run(s, [planning.site_area, planning.green_ratio, planning.outside_site, planning.setback_rules]) == []


def test_footprint_area_limit_by_class():
    limit = PROFILE.area_limit(480, "二级")
    s = Scene()
    s.set("JDMJ", scz=round(480 + limit - 0.005, 2))
    s.set("JZMD", scz=round((480 + limit - 0.005) / 8000 * 100, 2))
    assert run(s) == []
    s.fcmjjd = "一级"  # tighter: the same figure is now over
    found = run(s, [planning.footprint_area])
    assert codes(found) == ["PLN-006"] and found[0].tolerance == pytest.approx(PROFILE.area_limit(480, "一级"))
    assert found[0].object.row == s.row_of("JDMJ")


def test_footprint_sum_not_judged_when_a_footprint_is_missing_or_broken():
    s = Scene()
    s.set("JDMJ", scz=600)
    s.footprints = [("1#", [(E0 + 20, N0 + 20), (E0 + 50, N0 + 36), (E0 + 50, N0 + 20), (E0 + 20, N0 + 36)])]
    assert run(s, [planning.footprint_area]) == []  # DXF-005
    s.footprints = []
    assert run(s, [planning.footprint_area]) == []  # DXF-003
    s.footprints = [("2#", rect(20, 20, 50, 36))]
    assert run(s, [planning.footprint_area]) == []  # PLN-013
    s.footprints = [("1#", rect(20, 20, 50, 36))]
    s.site_drawing = drawing(SITE, [("JZJD", rect(60, 20, 70, 30), False)])
    assert run(s, [planning.footprint_area]) == []  # DXF-004


# ---------------------------------------------------------------- PLN-007..009


@pytest.mark.parametrize("rule, zbdm, good", [(planning.density, "JZMD", 6.0), (planning.plot_ratio, "RJL", 0.34),
                                              (planning.green_ratio, "LDL", 22.5)])
def test_recomputed_ratios(rule, zbdm, good):
    s = Scene()
    s.set(zbdm, scz=round(good + 0.01, 2))
    assert run(s, [rule]) == []
    s.set(zbdm, scz=round(good - 0.02, 2))
    found = run(s, [rule])
    assert len(found) == 1 and found[0].object.row == s.row_of(zbdm)
    assert found[0].expected == pytest.approx(good) and found[0].actual == pytest.approx(good - 0.02)


def test_ratios_use_reported_figures_not_the_drawing():
    s = Scene()
    s.set("JDMJ", scz=800)  # PLN-006 — JZMD is checked against 800, not the drawing
    s.set("JZMD", scz=10.0)
    assert codes(run(s)) == ["PLN-006"]


def test_green_counts_only_inside_the_red_line():
    s = Scene()
    s.greens = [rect(60, 10, 90, 70), rect(90, 10, 120, 20)]  # the second half outside: +100 m²
    s.set("LDL", scz=23.75)  # (1800 + 100) / 8000 × 100
    assert run(s, [planning.green_ratio]) == []


def test_green_ratio_not_judged_with_a_broken_green():
    s = Scene()
    s.greens = [rect(60, 10, 90, 70), [(E0 + 1, N0 + 1), (E0 + 5, N0 + 5), (E0 + 5, N0 + 1), (E0 + 1, N0 + 5)]]
    s.set("LDL", scz=50)
    assert run(s, [planning.green_ratio]) == []
    s.greens = [rect(60, 10, 90, 70)]
    s.site_drawing = drawing(SITE, [("LDFW", rect(1, 1, 5, 5), False)])
    assert run(s, [planning.green_ratio]) == []


def test_ratios_skip_when_a_figure_is_missing():
    s = Scene()
    del s.indicators[s.row_of("YDMJ") - 2]
    assert codes(run(s)) == ["PLN-001"]


# ---------------------------------------------------------------- PLN-010


@pytest.mark.parametrize("beyond, hit", [(0.05, False), (0.06, True), (2.0, True)])
def test_footprint_outside_red_line(beyond, hit):
    s = Scene()
    s.footprints = [("1#", rect(70, 20, 100 + beyond, 36))]
    found = run(s, [planning.outside_site])
    assert bool(found) is hit
    if hit:
        f = found[0]
        assert f.actual == pytest.approx(beyond, abs=1e-6)
        assert f.object.as_dict() == {"sheet": "自然幢", "row": 2, "key": ZRZH, "file": SITE, "layer": "JZJD", "handle": "F0"}
        assert f.location[0] == pytest.approx(E0 + 100 + beyond)


def test_reach_is_the_farthest_point_not_the_area():
    s = Scene()
    # a slanted footprint: one corner 1.2 m out, the rest inside
    s.footprints = [("1#", [(E0 + 80, N0 + 20), (E0 + 101.2, N0 + 28), (E0 + 80, N0 + 36)])]
    found = run(s, [planning.outside_site])
    assert found[0].actual == pytest.approx(1.2) and found[0].location == pytest.approx((E0 + 101.2, N0 + 28))


def test_unlabelled_footprint_outside_is_still_reported_by_handle():
    s = Scene()
    s.footprints.append((None, rect(95, 50, 105, 60)))
    found = run(s, [planning.outside_site])
    assert [f.object.as_dict() for f in found] == [{"file": SITE, "layer": "JZJD", "handle": "F1"}]


def test_profile_sets_the_outside_tolerance():
    s = Scene(profile=with_tolerances(footprint_outside_site=0.5))
    s.footprints = [("1#", rect(70, 20, 100.4, 36))]
    assert run(s, [planning.outside_site]) == []


# ---------------------------------------------------------------- PLN-011, PLN-012


@pytest.mark.parametrize("row, scz, hit", [(0, 20.05, False), (0, 19.94, True), (1, 23.05, False), (1, 23.06, True)])
def test_setback_vs_drawing(row, scz, hit):
    s = Scene()
    s.setbacks[row][3] = scz
    found = run(s)
    assert codes(found) == (["PLN-011"] if hit else [])
    if hit:
        f = found[0]
        assert (f.object.sheet, f.object.row, f.object.field) == ("退让", 2 + row, "SCZ")
        assert f.expected == pytest.approx(20.0 if row == 0 else 23.0) and f.location is not None


@pytest.mark.parametrize("ghyq, hit", [(20.10, False), (20.11, True)])
def test_setback_below_requirement(ghyq, hit):
    s = Scene()
    s.setbacks[0][2] = ghyq
    found = run(s)
    assert codes(found) == (["PLN-012"] if hit else [])
    if hit:
        assert (found[0].object.sheet, found[0].object.row) == ("退让", 2)


def test_setback_to_the_nearest_road_and_closed_road_by_its_ring():
    s = Scene()
    s.roads = [[(E0 - 10, N0 - 3), (E0 + 110, N0 - 3)], [(E0 - 10, N0 + 90), (E0 + 110, N0 + 90)]]
    assert run(s) == []
    # a closed road polygon around the site: its ring counts, the footprint inside is 23 m from it
    s.roads = [[(E0 - 3, N0 - 3), (E0 + 103, N0 - 3), (E0 + 103, N0 + 83), (E0 - 3, N0 + 83), (E0 - 3, N0 - 3)]]
    assert run(s) == []


def test_setback_without_road_line_or_footprint_is_skipped():
    s = Scene()
    s.roads = []  # DXF-003
    s.setbacks[1][3] = 99
    assert run(s) == []
    s = Scene()
    s.footprints = [("3#", rect(20, 20, 50, 36))]
    s.setbacks[0][3] = 99
    assert codes(run(s)) == ["PLN-013", "PLN-013"]


def test_red_line_setback_of_a_footprint_outside_is_pln010s():
    s = Scene()
    s.footprints = [("1#", rect(-1, 20, 29, 36))]
    s.setbacks = [[ZRZH, "用地红线", 5, 20.0], [ZRZH, "道路红线", 8, 23.0]]
    assert codes(run(s)) == ["PLN-010"]


def test_setback_profile_tolerances():
    s = Scene(profile=with_tolerances(setback_vs_drawing=0.5, setback_below_requirement=1.0))
    s.setbacks[0][3] = 20.4
    s.setbacks[1][2] = 23.9
    assert run(s) == []


# ---------------------------------------------------------------- PLN-013


def test_building_without_footprint_and_footprint_without_building():
    s = Scene()
    s.footprints = [("1#", rect(20, 20, 50, 36)), ("2#", rect(60, 40, 70, 50))]
    s.buildings.append({**s.buildings[0], "ZRZH": ZDDM + "F0003", "JZWMC": "3#楼"})
    found = run(s, [planning.building_footprints])
    assert sorted(((f.object.sheet, f.object.row, f.object.handle) for f in found), key=str) == [
        ("自然幢", 3, None),
        (None, None, "F1"),
    ]


def test_unparsable_footprint_label_is_a_footprint_without_building():
    s = Scene()
    s.footprints.append(("综合楼", rect(60, 40, 70, 50)))
    found = run(s, [planning.building_footprints])
    assert [f.object.handle for f in found] == ["F1"]


def test_unlabelled_or_orphan_labelled_footprint_explains_a_missing_building():
    s = Scene()
    s.footprints = [(None, rect(20, 20, 50, 36))]  # DXF-006: the polygon has no label
    assert run(s, [planning.building_footprints]) == []
    s.footprints = [("9#", rect(60, 40, 70, 50))]
    s.site_drawing = drawing(SITE, texts=[("JZJD", "1#", (E0 + 30, N0 + 90))])  # DXF-006: label in no polygon
    found = run(s, [planning.building_footprints])
    assert [f.object.handle for f in found] == ["F0"]  # only the stray 9#


def test_no_footprint_at_all_is_dxf003():
    s = Scene()
    s.footprints = []
    assert run(s, [planning.building_footprints]) == []


# ---------------------------------------------------------------- PLN-014


@pytest.mark.parametrize("zbdm, scz", [("DSCS", 7), ("JZGD", 18.7)])
def test_building_scope_indicator_vs_building_sheet(zbdm, scz):
    s = Scene()
    s.set(zbdm, scz=scz, ghz=scz, fw=ZRZH)
    found = run(s)
    assert codes(found) == ["PLN-014"]
    assert (found[0].object.sheet, found[0].object.row) == ("规划指标", s.row_of(zbdm, ZRZH))


def test_building_scope_indicator_of_unknown_building_is_rpt009s():
    s = Scene()
    s.indicators.append(["DSCS", ZDDM + "F0009", 6, 3])
    assert codes(run(s)) == ["PLN-004"]


# ---------------------------------------------------------------- helpers


def test_reach_outside_is_vectorised_and_pairwise():
    inner = shapely.box(0, 0, 10, 10)
    geoms = np.array([shapely.box(1, 1, 2, 2), shapely.box(9, 1, 12, 2), shapely.box(20, 20, 21, 21)])
    reach, xy = planning.reach_outside(geoms, np.array([inner, inner, inner]))
    assert reach[0] == 0 and np.isnan(xy[0]).all()
    assert reach[1] == pytest.approx(2.0)
    assert reach[2] == pytest.approx(math.hypot(11, 11))
