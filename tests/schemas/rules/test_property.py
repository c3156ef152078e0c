"""PRP-001..013 on a small scene built in code, asserted by code and place.

:class:`Scene` is one building of ``floors`` floors with ``per_floor`` units of 10 m × 10 m
each, a balcony on each (封闭 9 m² in full on odd units, 未封闭 9 m² at half on even ones)
and a 楼梯间 of 15 m² per floor. The report cells go through the real ``type_tables`` and
the floor plan through the real ``schemas.drawings.floor_plans``, so the frames are what a
run sees. Each test breaks one thing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from schemas.context import Context
from schemas.crs import Zone
from schemas.drawings import Geometry, floor_plans
from schemas.findings import Finding
from schemas.package import Drawing, Package
from schemas.profile import Profile, load_profile
from schemas.rules import property as prp
from schemas.tables import type_tables

PROFILE = load_profile()
ZDDM = "371502001001GB00001"
ZRZH = ZDDM + "F0001"
PLAN = "drawings/floors/0001.dxf"
PITCH = 40.0
Ring = list[tuple[float, float]]


def box(x0: float, y0: float, x1: float, y1: float) -> Ring:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def area(ring: Ring) -> float:
    return 0.5 * abs(
        sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
    )


def raw(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame([{k: (None if v is None else str(v)) for k, v in r.items()} for r in rows])
    df["_row"] = range(2, 2 + len(rows))
    return df


def with_tolerances(**values) -> Profile:
    return PROFILE.model_copy(update={"tolerances": PROFILE.tolerances.model_copy(update=values)})


class Scene:
    """A consistent building: report rows (dicts a test may change) and the floor plan."""

    def __init__(self, floors: int = 2, per_floor: int = 2) -> None:
        self.profile = PROFILE
        self.fcmjjd = "二级"
        self.omit: set[str] = set()
        self.building = {
            "ZRZH": ZRZH,
            "ZDDM": ZDDM,
            "JZWMC": "1#楼",
            "FWJG": "3",
            "ZCS": floors,
            "DSCS": floors,
            "DXCS": 0,
            "JZWGD": 3.0 * floors + 0.6,
            "ZZDMJ": 10.0 * per_floor * 10,
            "SCJZMJ": 0.0,
        }
        self.floors = [{"ZRZH": ZRZH, "SJC": f, "CG": 3.0} for f in range(1, floors + 1)]
        self.shared = [
            {"ZRZH": ZRZH, "SJC": f, "MC": "楼梯间", "MJ": 15.0} for f in range(1, floors + 1)
        ]
        self.frames = {
            f: box(-2.0, PITCH * (f - 1) - 3.0, 10.0 * per_floor + 2.0, PITCH * (f - 1) + 12.0)
            for f in range(1, floors + 1)
        }
        self.frame_labels = {f: f"{f}层" for f in self.frames}
        self.geo: dict[str, dict] = {}
        self.units: list[dict] = []
        for f in range(1, floors + 1):
            base = PITCH * (f - 1)
            for i in range(1, per_floor + 1):
                hh = f"{100 * f + i:04d}"
                x0 = 10.0 * (i - 1)
                kind = "封闭" if i % 2 else "未封闭"
                self.geo[hh] = {
                    "ring": box(x0, base, x0 + 10.0, base + 10.0),
                    "label": hh,
                    "at": (x0 + 5.0, base + 5.0),
                    "balconies": [
                        [box(x0 + 2.0, base - 1.5, x0 + 8.0, base), kind, (x0 + 5.0, base - 0.75)]
                    ],
                }
                drawn = 100.0 + 9.0 * (1.0 if i % 2 else 0.5)
                self.units.append(
                    {
                        "BDCDYH": ZRZH + hh,
                        "ZRZH": ZRZH,
                        "SJC": f,
                        "HH": hh,
                        "FWYT": "11",
                        "SCTNJZMJ": drawn,
                        "SCFTJZMJ": 0.0,
                        "SCJZMJ": 0.0,
                        "SCFTXS": 0.0,
                        "YCJZMJ": None,
                    }
                )
        self.apportion()

    # ---------------------------------------------------------------- figures

    def apportion(self) -> None:
        """The figures a careful firm reports: K, SCFTXS, SCFTJZMJ, SCJZMJ, building total."""
        k = math.fsum(s["MJ"] for s in self.shared) / math.fsum(u["SCTNJZMJ"] for u in self.units)
        for u in self.units:
            u["SCFTXS"] = round(k, 6)
            u["SCFTJZMJ"] = round(k * u["SCTNJZMJ"], 2)
            u["SCJZMJ"] = round(u["SCTNJZMJ"] + u["SCFTJZMJ"], 2)
            u["YCJZMJ"] = u["SCJZMJ"]
        self.building["SCJZMJ"] = round(math.fsum(u["SCJZMJ"] for u in self.units), 2)

    def unit(self, hh: str) -> dict:
        return next(u for u in self.units if u["HH"] == hh)

    def row(self, hh: str) -> int:
        return 2 + next(i for i, u in enumerate(self.units) if u["HH"] == hh)

    # ---------------------------------------------------------------- context

    def drawing(self) -> Drawing:
        shapes: list[tuple[str, Ring]] = []
        texts: list[tuple[str, str, tuple[float, float]]] = []
        for f, ring in self.frames.items():
            shapes.append(("FC_C", ring))
            if self.frame_labels.get(f):
                texts.append(("FC_C", self.frame_labels[f], (ring[0][0] + 0.5, ring[2][1] - 1.0)))
        for g in self.geo.values():
            shapes.append(("FC_H", g["ring"]))
            if g["label"]:
                texts.append(("FC_H", g["label"], g["at"]))
            for ring, kind, at in g["balconies"]:
                shapes.append(("FC_YT", ring))
                if kind:
                    texts.append(("FC_YT", kind, at))
        d = Drawing(PLAN)
        d.shapes = gpd.GeoDataFrame(
            {
                "handle": [f"{i + 16:X}" for i in range(len(shapes))],
                "layer": [s[0] for s in shapes],
                "dxftype": "LWPOLYLINE",
                "closed": True,
                "xdata": None,
            },
            geometry=[LineString(s[1]) for s in shapes],
        )
        d.texts = gpd.GeoDataFrame(
            {
                "handle": [f"T{i}" for i in range(len(texts))],
                "layer": [t[0] for t in texts],
                "dxftype": "TEXT",
                "text": [t[1] for t in texts],
            },
            geometry=[Point(t[2]) for t in texts],
        )
        return d

    def ctx(self, plan: bool = True) -> Context:
        raws = {
            "project": pd.DataFrame(
                {"field": ["XMBH", "FCMJJD"], "value": ["P", self.fcmjjd], "_row": [2, 3]}
            ),
            "building": raw([self.building]),
            "floor": raw(self.floors),
            "unit": raw(self.units),
            "shared_part": raw(self.shared),
        }
        for key in self.omit:
            raws.pop(key, None)
        tables, _ = type_tables(raws, self.profile)
        drawings, floors = {}, {}
        if plan:
            d = self.drawing()
            model, _ = floor_plans([d], self.profile)
            drawings["floor:0001"] = d
            floors["0001"] = model[PLAN]
        return Context(
            Package("test", drawings=drawings),
            tables,
            Geometry(floors=floors),
            Zone(4548, 4548, 117, 39),
            self.profile,
        )


def run(scene: Scene, rules: list[Callable] | None = None, plan: bool = True) -> list[Finding]:
    ctx = scene.ctx(plan)
    out: list[Finding] = []
    for rule in rules or prp.RULES:
        out += rule(ctx)
    return out


def codes(found: list[Finding]) -> list[str]:
    return sorted(f.code for f in found)


def at(found: list[Finding], code: str) -> list[tuple]:
    return sorted((f.object.sheet, f.object.row, f.object.field) for f in found if f.code == code)


def test_clean_scene_gives_nothing():
    assert run(Scene()) == []
    assert run(Scene(floors=3, per_floor=4)) == []


# ---------------------------------------------------------------- PRP-001


def test_unit_sum_off():
    s = Scene()
    s.unit("0102")["SCJZMJ"] += 0.5
    found = run(s)
    assert codes(found) == ["PRP-001"] and at(found, "PRP-001") == [("户", 3, "SCJZMJ")]
    assert found[0].object.key == ZRZH + "0102"


@pytest.mark.parametrize(("delta", "fires"), [(0.01, False), (0.0111, True)])
def test_unit_sum_tolerance(delta, fires):
    s = Scene()
    s.unit("0101")["SCJZMJ"] = round(s.unit("0101")["SCJZMJ"] + delta, 4)
    assert ("PRP-001" in codes(run(s, [prp.unit_sum]))) is fires


def test_unit_sum_tolerance_from_profile():
    s = Scene()
    s.unit("0101")["SCJZMJ"] += 0.05
    s.profile = with_tolerances(unit_area_sum=0.1)
    assert run(s, [prp.unit_sum]) == []


def test_large_unit_total_error_is_not_the_buildings():
    s = Scene()
    s.unit("0201")["SCJZMJ"] += 3.0  # the building's total is right: PRP-005 stays silent
    assert codes(run(s)) == ["PRP-001"]


def test_wrong_inner_area_is_the_units_alone():
    """One SCTNJZMJ written 2 m² too large (its other figures right): PRP-001 and PRP-006 on
    that unit, no PRP-002 on every unit, no PRP-003."""
    s = Scene()
    s.unit("0102")["SCTNJZMJ"] += 2.0
    found = run(s)
    assert codes(found) == ["PRP-001", "PRP-006"]
    assert {f.object.key for f in found} == {ZRZH + "0102"}


# ---------------------------------------------------------------- PRP-002, PRP-003


@pytest.mark.parametrize(("delta", "fires"), [(0.000002, True), (0.0000005, False)])
def test_coefficient(delta, fires):
    s = Scene()
    s.unit("0201")["SCFTXS"] = round(s.unit("0201")["SCFTXS"] + delta, 7)
    found = run(s)
    assert codes(found) == (["PRP-002"] if fires else [])
    if fires:
        assert at(found, "PRP-002") == [("户", 4, "SCFTXS")]


def test_coefficient_tolerance_from_profile():
    s = Scene()
    s.unit("0201")["SCFTXS"] += 0.0001
    s.profile = with_tolerances(apportion_coefficient=0.001)
    assert run(s, [prp.coefficient]) == []


def test_apportioned_area_wrong_gives_prp003_only():
    s = Scene()
    s.unit("0202")["SCFTJZMJ"] += 0.5  # its SCJZMJ was computed from the right figure
    found = run(s)
    assert codes(found) == ["PRP-003"] and at(found, "PRP-003") == [("户", 5, "SCFTJZMJ")]
    assert found[0].expected == pytest.approx(found[0].actual - 0.5)


def test_apportioned_area_and_total_both_wrong():
    s = Scene()
    s.unit("0202")["SCFTJZMJ"] += 0.5
    s.unit("0202")["SCJZMJ"] += 0.5  # carried into the unit's total, not the building's
    assert codes(run(s)) == ["PRP-003"]


def test_apportioned_area_within_a_cent():
    s = Scene()
    s.unit("0202")["SCFTJZMJ"] = round(s.unit("0202")["SCFTJZMJ"] + 0.01, 2)
    s.unit("0202")["SCJZMJ"] = round(s.unit("0202")["SCJZMJ"] + 0.01, 2)
    s.building["SCJZMJ"] = round(s.building["SCJZMJ"] + 0.01, 2)
    assert run(s) == []


def test_shared_part_wrong_fires_every_unit_and_the_building():
    s = Scene()
    s.shared[0]["MJ"] = 25.0
    found = run(s)
    assert codes(found) == ["PRP-002"] * 4 + ["PRP-003"] * 4 + ["PRP-004"]
    assert at(found, "PRP-004") == [("自然幢", 2, None)]


# ---------------------------------------------------------------- PRP-004, PRP-005


def test_apportionment_rounded_up_everywhere():
    s = Scene(floors=3, per_floor=4)  # 12 units: limit 0.005 × 12 + 0.01 = 0.07
    for u in s.units:
        u["SCFTJZMJ"] = round(u["SCFTJZMJ"] + 0.01, 2)
        u["SCJZMJ"] = round(u["SCJZMJ"] + 0.01, 2)
    s.building["SCJZMJ"] = round(s.building["SCJZMJ"] + 0.12, 2)
    found = run(s)
    assert codes(found) == ["PRP-004"]
    assert found[0].object.key == ZRZH and found[0].tolerance == pytest.approx(0.07)


def test_building_total_off():
    s = Scene()
    s.building["SCJZMJ"] += 1.0
    found = run(s)
    assert codes(found) == ["PRP-005"] and at(found, "PRP-005") == [("自然幢", 2, "SCJZMJ")]


@pytest.mark.parametrize(
    ("delta", "fires"), [(0.03, False), (0.0301, True)]
)  # 4 units: 0.005 × 4 + 0.01
def test_building_total_tolerance(delta, fires):
    s = Scene()
    s.building["SCJZMJ"] = round(s.building["SCJZMJ"] + delta, 4)
    assert ("PRP-005" in codes(run(s, [prp.building_total]))) is fires


# ---------------------------------------------------------------- unreadable and missing figures


def test_unreadable_inner_area_is_taken_from_the_other_figures():
    s = Scene()
    s.unit("0101")["SCTNJZMJ"] = "abc"  # RPT-003: K still known, no finding here
    s.unit("0202")["SCJZMJ"] = None  # RPT-004: the building sum uses SCTNJZMJ + SCFTJZMJ
    assert run(s) == []


def test_area_not_above_zero_is_rpt007s():
    s = Scene()
    s.unit("0101")["SCTNJZMJ"] = -109.0
    s.unit("0102")["SCFTJZMJ"] = 0
    assert run(s) == []


def test_without_shared_part_sheet_no_coefficient_rules():
    s = Scene()
    s.omit = {"shared_part"}
    s.unit("0101")["SCFTXS"] = 0.5
    assert run(s, [prp.coefficient, prp.apportioned_area, prp.shared_total]) == []


def test_unreadable_shared_area_skips_the_building():
    s = Scene()
    s.shared[0]["MJ"] = "x"
    assert run(s) == []


def test_repeated_unit_row_does_not_shift_k():
    s = Scene()
    s.units.append(dict(s.units[0]))  # RPT-006
    assert (
        run(s, [prp.coefficient, prp.apportioned_area, prp.shared_total, prp.building_total]) == []
    )


def test_unit_of_unknown_building_is_rpt009s():
    s = Scene()
    s.units.append({**s.units[0], "ZRZH": ZDDM + "F0009", "BDCDYH": ZDDM + "F00090101"})
    found = run(s, [prp.coefficient, prp.apportioned_area, prp.shared_total, prp.building_total])
    assert found == []


# ---------------------------------------------------------------- PRP-006


def test_drawn_area_too_large():
    s = Scene()
    ring = s.geo["0201"]["ring"]
    s.geo["0201"]["ring"] = [(x, y + 0.2 if y == ring[2][1] else y) for x, y in ring]  # +2 m²
    found = run(s)
    assert codes(found) == ["PRP-006"]
    f = found[0]
    o = f.object
    assert (o.sheet, o.row, o.key, o.field, o.file, o.layer) == (
        "户",
        4,
        ZRZH + "0201",
        "SCTNJZMJ",
        PLAN,
        "FC_H",
    )
    assert o.handle and f.local is not None and f.location is None
    assert f.actual == pytest.approx(111.0) and f.expected == pytest.approx(109.0)
    assert f.tolerance == pytest.approx(PROFILE.area_limit(109.0, "二级"), abs=1e-4)


@pytest.mark.parametrize(("grade", "fires"), [("二级", False), ("一级", True)])
def test_drawn_area_limit_by_class(grade, fires):
    s = Scene()
    s.fcmjjd = grade
    u = s.unit("0101")
    u["SCTNJZMJ"] = 108.5  # 0.5 m² below the drawing: 二级 limit 0.64, 一级 0.27
    u["SCJZMJ"] = round(u["SCTNJZMJ"] + u["SCFTJZMJ"], 2)
    assert ("PRP-006" in codes(run(s, [prp.drawn_area]))) is fires


def test_area_limits_follow_the_profile():
    ctx = Scene().ctx(plan=False)
    s = pd.Series([0.0, 1.0, 57.3, 109.0, 10000.0])
    for grade in ("一级", "二级", "三级"):
        ctx.tables.project["FCMJJD"] = grade
        expected = [PROFILE.area_limit(v, grade) for v in s]
        assert np.allclose(prp.area_limits(ctx, s).to_numpy(), expected)


def test_invalid_unit_polygon_is_dxf005s():
    s = Scene()
    x0, y0 = s.geo["0101"]["ring"][0]
    s.geo["0101"]["ring"] = [(x0, y0), (x0 + 10, y0 + 10), (x0 + 10, y0), (x0, y0 + 10)]  # bow-tie
    assert "PRP-006" not in codes(run(s, [prp.drawn_area]))


# ---------------------------------------------------------------- PRP-007


def test_row_without_polygon():
    s = Scene()
    del s.geo["0202"]
    found = run(s, [prp.unit_polygons])
    assert codes(found) == ["PRP-007"]
    o = found[0].object
    assert (o.sheet, o.row, o.key, o.field, o.file, o.layer) == (
        "户",
        5,
        ZRZH + "0202",
        "HH",
        PLAN,
        "FC_H",
    )


def test_polygon_without_row():
    s = Scene()
    s.units = [u for u in s.units if u["HH"] != "0102"]
    found = run(s, [prp.unit_polygons])
    assert codes(found) == ["PRP-007"]
    o = found[0].object
    assert (
        (o.sheet, o.file, o.layer) == (None, PLAN, "FC_H")
        and o.handle
        and found[0].local is not None
    )


def test_wrong_label_gives_both_sides():
    s = Scene()
    s.geo["0101"]["label"] = "0109"
    found = run(s, [prp.unit_polygons])
    assert codes(found) == ["PRP-007", "PRP-007"]
    assert {f.object.sheet for f in found} == {"户", None}


def test_label_padded_to_four_digits():
    s = Scene()
    s.geo["0101"]["label"] = "101"
    assert run(s, [prp.unit_polygons, prp.drawn_area]) == []


def test_unit_on_the_wrong_floor_frame():
    s = Scene()
    s.unit("0101")["SJC"] = 2  # the report says floor 2; the polygon 0101 is in frame 1层
    found = run(s, [prp.unit_polygons])
    assert codes(found) == ["PRP-007", "PRP-007"]


def test_missing_plan_is_pkg008s():
    assert run(Scene(), [prp.unit_polygons, prp.drawn_area, prp.unit_positions], plan=False) == []


def test_unlabelled_polygon_is_dxf006s():
    s = Scene()
    s.geo["0202"]["label"] = None
    assert run(s, [prp.unit_polygons]) == []


def test_polygon_labelled_twice_is_dxf007s():
    """Polygon 0101 is gone and its label 0101 sits in polygon 0102 beside 0102's own: the
    row 0101 finds a polygon labelled 0101 (DXF-007 reports the two labels)."""
    s = Scene()
    del s.geo["0101"]
    x, y = s.geo["0102"]["at"]
    plain = s.drawing

    def drawing() -> Drawing:
        d = plain()
        add = gpd.GeoDataFrame(
            {"handle": ["TX"], "layer": ["FC_H"], "dxftype": ["TEXT"], "text": ["0101"]},
            geometry=[Point(x + 1.0, y + 1.0)],
        )
        d.texts = pd.concat([d.texts, add], ignore_index=True)
        return d

    s.drawing = drawing
    assert run(s, [prp.unit_polygons]) == []


def test_open_unit_polyline_is_dxf004s():
    s = Scene()
    plain = s.drawing

    def drawing() -> Drawing:
        d = plain()
        hit = d.shapes.index[(d.shapes["layer"] == "FC_H")][2]  # unit 0201
        d.shapes.loc[hit, "closed"] = False
        return d

    s.drawing = drawing
    assert run(s, [prp.unit_polygons]) == []


def test_hh_differing_from_code_still_matches_by_code():
    s = Scene()
    s.unit("0102")["HH"] = "0120"
    found = run(s)
    assert codes(found) == ["PRP-012"] and at(found, "PRP-012") == [("户", 3, "HH")]


# ---------------------------------------------------------------- PRP-008


def test_unit_outside_every_frame():
    s = Scene()
    g = s.geo["0202"]
    g["ring"] = [(x + 500.0, y) for x, y in g["ring"]]
    g["at"] = (g["at"][0] + 500.0, g["at"][1])
    g["balconies"] = []
    found = run(s, [prp.unit_positions])
    assert codes(found) == ["PRP-008"]
    o = found[0].object
    assert (o.file, o.layer) == (PLAN, "FC_H") and o.handle and found[0].local[0] > 500


def test_unit_reaching_outside_its_frame():
    s = Scene()
    f = s.frames[1]
    s.frames[1] = [(x if x < 0 else 19.9, y) for x, y in f]  # the frame cuts 0.1 m off unit 0102
    found = run(s, [prp.unit_positions])
    assert codes(found) == ["PRP-008"] and at(found, "PRP-008") == [("户", 3, None)]
    assert found[0].actual == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("dx", "fires"), [(0.0009, False), (0.002, True)]
)  # × 10 m edge vs 0.01 m²
def test_unit_overlap_tolerance(dx, fires):
    s = Scene()
    ring = s.geo["0101"]["ring"]
    s.geo["0101"]["ring"] = [(x + dx if x == 10.0 else x, y) for x, y in ring]
    found = run(s, [prp.unit_positions])
    assert codes(found) == (["PRP-008"] if fires else [])
    if fires:
        assert found[0].object.key == ZRZH + "0101"


def test_unit_inside_another():
    s = Scene()
    s.geo["0103"] = {"ring": box(2, 2, 4, 4), "label": "0103", "at": (3, 3), "balconies": []}
    found = run(s, [prp.unit_positions])
    assert codes(found) == ["PRP-008"]


def test_invalid_frame_is_dxf005s():
    s = Scene()
    g = s.geo["0202"]
    g["ring"] = [(x + 500.0, y) for x, y in g["ring"]]
    g["at"] = (g["at"][0] + 500.0, g["at"][1])
    g["balconies"] = []
    x0, y0, x1, y1 = -2.0, -3.0, 22.0, 12.0
    s.frames[1] = [(x0, y0), (x1, y1), (x1, y0), (x0, y1)]  # bow-tie
    assert run(s, [prp.unit_positions]) == []


# ---------------------------------------------------------------- PRP-009..012


@pytest.mark.parametrize(("ratio", "fires"), [(1.04, True), (1.02, False)])
def test_presale(ratio, fires):
    s = Scene()
    u = s.unit("0201")
    u["YCJZMJ"] = round(u["SCJZMJ"] / ratio, 2)
    found = run(s)
    assert codes(found) == (["PRP-009"] if fires else [])
    if fires:
        assert found[0].severity == "warning" and at(found, "PRP-009") == [("户", 4, "SCJZMJ")]


def test_presale_optional():
    s = Scene()
    s.unit("0201")["YCJZMJ"] = None
    assert run(s, [prp.presale]) == []


def test_presale_ratio_from_profile():
    s = Scene()
    u = s.unit("0201")
    u["YCJZMJ"] = round(u["SCJZMJ"] / 1.04, 2)
    s.profile = with_tolerances(presale_ratio=0.05)
    assert run(s, [prp.presale]) == []


@pytest.mark.parametrize(("cg", "fires"), [(2.10, True), (2.20, False)])
def test_low_floor(cg, fires):
    s = Scene()
    s.floors[1]["CG"] = cg
    found = run(s)
    assert codes(found) == (["PRP-010"] if fires else [])
    if fires:
        assert at(found, "PRP-010") == [("层", 3, "CG")]
        assert found[0].object.key == f"{ZRZH}/2"


def test_low_floor_without_units():
    s = Scene()
    s.floors.append(
        {"ZRZH": ZRZH, "SJC": 3, "CG": 2.0}
    )  # a floor without units (PRP-011 says it is extra)
    assert run(s, [prp.low_floors]) == []


def test_low_floor_height_from_profile():
    s = Scene()
    s.floors[0]["CG"] = 2.5
    s.profile = with_tolerances(min_floor_height=2.6)
    assert codes(run(s, [prp.low_floors])) == ["PRP-010"]


def test_floor_table_extra_floor():
    s = Scene()
    s.floors.append({"ZRZH": ZRZH, "SJC": -1, "CG": 3.6})
    found = run(s)
    assert codes(found) == ["PRP-011"] and at(found, "PRP-011") == [("自然幢", 2, None)]
    assert found[0].object.key == ZRZH and "-1" in found[0].message


def test_floor_table_missing_floors():
    s = Scene(floors=3)
    s.building["DXCS"] = 1
    s.building["ZCS"] = 4
    s.floors = [f for f in s.floors if f["SJC"] != 3]
    found = run(s, [prp.floor_table])
    assert codes(found) == ["PRP-011"]
    assert "3" in found[0].message and "-1" in found[0].message


def test_floor_table_unreadable_sjc_may_be_the_missing_floor():
    s = Scene()
    s.floors[1]["SJC"] = "二"  # RPT-003
    assert run(s, [prp.floor_table]) == []


def test_unit_number():
    s = Scene()
    s.unit("0201")["HH"] = "0210"
    found = run(s)
    assert codes(found) == ["PRP-012"] and found[0].expected == "0201" and found[0].actual == "0210"


def test_unit_number_of_malformed_code_is_cad002s():
    s = Scene()
    u = s.unit("0201")
    u["BDCDYH"] = u["BDCDYH"][:-1]
    assert run(s, [prp.unit_number]) == []


# ---------------------------------------------------------------- PRP-013


def test_balcony_without_kind():
    s = Scene()
    s.geo["0101"]["balconies"][0][1] = "阳台"
    found = run(s)
    assert codes(found) == ["PRP-013"]  # the unit's drawn area is not judged
    o = found[0].object
    assert (o.file, o.layer) == (PLAN, "FC_YT") and o.handle and found[0].local is not None


def test_balcony_with_both_kinds():
    s = Scene()
    x, y = s.geo["0102"]["balconies"][0][2]
    plain = s.drawing

    def drawing() -> Drawing:
        d = plain()
        add = gpd.GeoDataFrame(
            {"handle": ["TX"], "layer": ["FC_YT"], "dxftype": ["TEXT"], "text": ["封闭"]},
            geometry=[Point(x + 1.0, y)],
        )
        d.texts = pd.concat([d.texts, add], ignore_index=True)
        return d

    s.drawing = drawing
    assert codes(run(s)) == ["PRP-013"]


def test_balcony_touching_no_unit():
    s = Scene()
    ring, kind, at_ = s.geo["0201"]["balconies"][0]
    s.geo["0201"]["balconies"][0] = [[(x, y - 0.5) for x, y in ring], kind, (at_[0], at_[1] - 0.5)]
    found = run(s)
    # the unit it was drawn for is not judged by PRP-006 (its drawn area is uncertain)
    assert codes(found) == ["PRP-013"]
    assert "相接" in found[0].message


def test_unlabelled_balcony_counts_nothing():
    s = Scene()
    s.geo["0202"]["balconies"][0][1] = None
    found = run(s)
    assert codes(found) == ["PRP-013"]


def test_overlap_tolerance_from_profile():
    s = Scene()
    ring = s.geo["0101"]["ring"]
    s.geo["0101"]["ring"] = [(x + 0.002 if x == 10.0 else x, y) for x, y in ring]  # 0.02 m²
    s.profile = with_tolerances(unit_overlap=0.05)
    assert run(s, [prp.unit_positions]) == []


def _moved_away(s: Scene, hh: str) -> None:
    g = s.geo[hh]
    g["ring"] = [(x + 500.0, y) for x, y in g["ring"]]
    g["at"] = (g["at"][0] + 500.0, g["at"][1])
    g["balconies"] = []


def test_plan_without_frames_is_dxf003s():
    s = Scene()
    s.frames = {}
    assert run(s, [prp.unit_positions, prp.unit_polygons]) == []


def test_open_frame_is_dxf004s():
    s = Scene()
    _moved_away(s, "0202")
    plain = s.drawing

    def drawing() -> Drawing:
        d = plain()
        d.shapes.loc[d.shapes.index[d.shapes["layer"] == "FC_C"][1], "closed"] = (
            False  # floor 2's frame
        )
        return d

    s.drawing = drawing
    assert run(s, [prp.unit_positions, prp.unit_polygons]) == []


# ---------------------------------------------------------------- properties of the apportionment

AREAS = st.integers(min_value=2000, max_value=30000).map(lambda c: c / 100)  # 20.00 .. 300.00 m²
INNER = st.lists(AREAS, min_size=4, max_size=4)  # the 4 units of the default Scene
SHARED = st.lists(AREAS, min_size=2, max_size=2)  # its 2 shared parts
WHICH = st.integers(min_value=0, max_value=3)  # one of the units
DELTA = st.integers(min_value=2, max_value=5000).map(lambda c: c / 100)  # 0.02 .. 50.00 m²
FIGURE_RULES = [prp.unit_sum, prp.coefficient, prp.apportioned_area, prp.shared_total, prp.building_total]


def consistent(inner: list[float], shared: list[float] | None = None) -> Scene:
    """A Scene whose units have these inner areas (and shared parts these areas), apportioned."""
    s = Scene()
    for u, a in zip(s.units, inner, strict=True):
        u["SCTNJZMJ"] = a
    if shared is not None:
        for p, a in zip(s.shared, shared, strict=True):
            p["MJ"] = a
    s.apportion()
    return s


def one_cell_off(s: Scene, which: int, field: str, delta: float) -> list[Finding]:
    """The figure rules' findings once ``field`` of unit ``which`` is off by ``delta``."""
    s.units[which][field] = round(s.units[which][field] + delta, 2)
    return run(s, FIGURE_RULES, plan=False)


@settings(max_examples=40, deadline=None)
@given(inner=INNER, shared=SHARED)
def test_any_consistent_building_is_clean(inner, shared):
    assert run(consistent(inner, shared), FIGURE_RULES, plan=False) == []


@settings(max_examples=40, deadline=None)
@given(inner=INNER, which=WHICH, delta=DELTA)
def test_one_wrong_total_is_that_units_only(inner, which, delta):
    found = one_cell_off(consistent(inner), which, "SCJZMJ", delta)
    assert codes(found) == ["PRP-001"] and found[0].object.row == 2 + which


@settings(max_examples=40, deadline=None)
@given(inner=INNER, which=WHICH, delta=DELTA)
def test_one_wrong_apportioned_area_is_prp003_only(inner, which, delta):
    found = one_cell_off(consistent(inner), which, "SCFTJZMJ", delta)
    assert codes(found) == ["PRP-003"] and found[0].object.row == 2 + which


@settings(max_examples=40, deadline=None)
@given(inner=INNER, shared=SHARED, which=WHICH, delta=DELTA)
def test_one_wrong_inner_area_is_prp001_only(inner, shared, which, delta):
    """Without the drawing (PRP-006 aside): one SCTNJZMJ off gives PRP-001 on that unit and
    no PRP-002 / PRP-003 on any unit."""
    found = one_cell_off(consistent(inner, shared), which, "SCTNJZMJ", delta)
    assert codes(found) == ["PRP-001"] and found[0].object.row == 2 + which


@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(["0001", "0002", "12"])),
            st.one_of(st.none(), st.integers(-3, 40)),
            st.one_of(st.none(), st.just(float("nan")), st.sampled_from(["0101", "101", "A-2"]), st.integers(1, 999)),
        ),
        max_size=20,
    )
)
def test_unit_keys_are_the_string_concatenation_rule(rows):
    """``_key`` in one list pass gives what pandas string concatenation gave."""
    from schemas.rules.property import _key

    index = pd.Index(range(3, 3 + len(rows)))
    zh = pd.Series([r[0] for r in rows], index=index, dtype=object)
    sjc = pd.Series(pd.array([r[1] for r in rows], dtype="Int64"), index=index)
    hh = pd.Series([r[2] for r in rows], index=index, dtype=object)

    def reference(zh, sjc, hh):
        key = zh.astype("string")
        if sjc is not None:
            floor = pd.Series(sjc.to_numpy(dtype="float64", na_value=np.nan), index=zh.index)
            key = key + "|" + floor.astype("Int64").astype("string")
        if hh is not None:
            key = key + "|" + pd.Series(hh.to_numpy(dtype=object), index=zh.index).astype("string")
        return key

    for args in ((zh, sjc, hh), (zh, None, hh), (zh, sjc, None), (zh, None, None)):
        got, want = _key(*args), reference(*args)
        assert got.dtype == want.dtype and got.index.equals(want.index)
        assert got.fillna("<NA>").tolist() == want.fillna("<NA>").tolist()
