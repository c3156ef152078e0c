"""XSV-001..008 on the scene of test_planning.py, asserted by code and place."""

from __future__ import annotations

import pytest

from schemas.findings import Finding
from schemas.rules import cross
from tests.schemas.rules.test_planning import (
    E0,
    N0,
    PARCEL,
    PROFILE,
    SITE,
    ZDDM,
    ZRZH,
    Scene,
    codes,
    drawing,
    rect,
    with_tolerances,
)

OTHER = "371502001001GB00002"


def run(scene: Scene, rules=None):
    ctx = scene.ctx()
    out: list[Finding] = []
    for rule in rules or cross.RULES:
        out += rule(ctx)
    return out


def places(found, code: str) -> list[tuple]:
    return sorted((f.object.sheet, f.object.row, f.object.field) for f in found if f.code == code)


def test_clean_scene_gives_nothing():
    assert run(Scene()) == []


# ---------------------------------------------------------------- XSV-001, XSV-002


def test_building_code_of_no_parcel():
    s = Scene()
    zrzh = OTHER + "F0001"
    s.buildings[0]["ZRZH"] = zrzh
    for u in s.units:  # the building's units follow it: they are not reported one by one
        u["ZRZH"] = zrzh
        u["BDCDYH"] = zrzh + u["HH"]
    found = run(s, [cross.codes_without_parcel, cross.unit_codes])
    assert codes(found) == ["XSV-001"] and places(found, "XSV-001") == [("自然幢", 2, "ZRZH")]


def test_unit_code_of_no_parcel_is_xsv001_not_xsv002():
    s = Scene()
    s.units[3]["BDCDYH"] = OTHER + s.units[3]["BDCDYH"][19:]
    found = run(s)
    assert codes(found) == ["XSV-001"] and places(found, "XSV-001") == [("户", 5, "BDCDYH")]


def test_malformed_parcel_code_is_cad001s():
    s = Scene()
    s.parcels[0]["ZDDM"] = ZDDM[:-1]  # 18 characters
    assert run(s, [cross.codes_without_parcel]) == []


def test_absent_parcel_sheet_is_rpt001s():
    s = Scene(omit={"parcel"})
    assert run(s, [cross.codes_without_parcel, cross.parcel_area]) == []


def test_unit_under_another_building():
    s = Scene()
    s.units[0]["BDCDYH"] = ZDDM + "F0002" + s.units[0]["HH"]
    found = run(s)
    assert codes(found) == ["XSV-002"] and places(found, "XSV-002") == [("户", 2, "BDCDYH")]
    assert found[0].expected == ZRZH and found[0].actual == ZDDM + "F0002"


def test_malformed_unit_code_or_unknown_building_is_another_rules():
    s = Scene()
    s.units[0]["BDCDYH"] = ZDDM + "X0002" + s.units[0]["HH"]  # CAD-002
    s.units[1]["ZRZH"] = ZDDM + "F0009"  # RPT-009
    assert run(s, [cross.unit_codes, cross.codes_without_parcel]) == []


# ---------------------------------------------------------------- XSV-003, XSV-004


@pytest.mark.parametrize("grade, shift, hit", [("二级", 0.15, False), ("二级", 0.16, True), ("一级", 0.11, True), ("三级", 0.20, False)])
def test_parcel_vs_red_line_hausdorff(grade, shift, hit):
    s = Scene(jzdjd=grade)
    s.zd = [(ZDDM, [(E0, N0), (E0 + 100 + shift, N0), (E0 + 100 + shift, N0 + 80), (E0, N0 + 80)])]
    found = run(s, [cross.parcel_vs_site])
    assert bool(found) is hit
    if hit:
        f = found[0]
        assert f.object.as_dict() == {"sheet": "宗地", "row": 2, "key": ZDDM, "file": PARCEL, "layer": "ZD", "handle": "P0"}
        assert f.actual == pytest.approx(shift, abs=1e-6) and f.tolerance == PROFILE.boundary_limit(grade)
        assert f.location[0] == pytest.approx(E0 + 100 + shift)


def test_hausdorff_sees_the_far_side_of_either_ring():
    s = Scene()
    # the red line has a 0.3 m notch the parcel lacks: only the red line's vertex is far
    s.boundary = [(E0, N0), (E0 + 50, N0 + 0.3), (E0 + 100, N0), (E0 + 100, N0 + 80), (E0, N0 + 80)]
    found = run(s, [cross.parcel_vs_site])
    assert found and found[0].actual == pytest.approx(0.3) and found[0].location == pytest.approx((E0 + 50, N0 + 0.3))


def test_several_parcels_are_compared_as_their_union():
    s = Scene()
    other = OTHER
    s.parcels = [{**s.parcels[0], "ZDMJ": 4000}, {**s.parcels[0], "ZDDM": other, "BDCDYH": other + "W00000000", "ZDMJ": 4000}]
    s.points = [[ZDDM, "J1", 1, N0 + 80, E0], [ZDDM, "J2", 2, N0 + 80, E0 + 50], [ZDDM, "J3", 3, N0, E0 + 50], [ZDDM, "J4", 4, N0, E0],
                [other, "J1", 1, N0 + 80, E0 + 50], [other, "J2", 2, N0 + 80, E0 + 100], [other, "J3", 3, N0, E0 + 100],
                [other, "J4", 4, N0, E0 + 50]]
    s.zd = [(ZDDM, rect(0, 0, 50, 80)), (other, rect(50, 0, 100, 80))]
    assert run(s) == []
    s.zd[1] = (other, rect(50, 0, 100, 79))
    found = run(s, [cross.parcel_vs_site])
    assert codes(found) == ["XSV-003"] and found[0].object.sheet == "宗地" and found[0].object.row is None


def test_parcel_without_polygon_is_not_compared():
    s = Scene()
    s.zd = [(OTHER, rect(0, 0, 90, 80))]
    assert run(s, [cross.parcel_vs_site]) == []


@pytest.mark.parametrize("zdmj, ydmj, hit", [(7999.95, 8000.05, False), (7999.94, 8000.06, True)])
def test_parcel_area_vs_site_area(zdmj, ydmj, hit):
    s = Scene()
    s.parcels[0]["ZDMJ"] = zdmj
    s.set("YDMJ", scz=ydmj)
    found = run(s)
    assert codes(found) == (["XSV-004"] if hit else [])
    if hit:
        assert places(found, "XSV-004") == [("宗地", 2, "ZDMJ")]
        assert found[0].actual == pytest.approx(zdmj) and found[0].expected == pytest.approx(ydmj)


def test_area_off_its_own_survey_is_that_surveys_finding():
    s = Scene()
    s.parcels[0]["ZDMJ"] = 8001  # CAD-010: off the boundary points
    assert run(s, [cross.parcel_area]) == []
    s = Scene()
    s.set("YDMJ", scz=8001)  # PLN-005: off the red line
    assert run(s, [cross.parcel_area]) == []


def test_zdmj_vs_ydmj_profile_tolerance():
    s = Scene(profile=with_tolerances(zdmj_vs_ydmj=0.5))
    s.parcels[0]["ZDMJ"] = 7999.94
    s.set("YDMJ", scz=8000.06)
    assert run(s, [cross.parcel_area]) == []


def test_coordinate_area_follows_sxh_not_row_order():
    s = Scene()
    s.points = [s.points[2], s.points[0], s.points[3], s.points[1]]
    area = cross.coordinate_areas(s.ctx())
    assert area[ZDDM] == pytest.approx(8000.0)


# ---------------------------------------------------------------- XSV-005, XSV-006


@pytest.mark.parametrize("beyond, hit", [(0.05, False), (0.06, True)])
def test_footprint_outside_its_parcel(beyond, hit):
    s = Scene()
    s.zd = [(ZDDM, rect(0, 0, 60, 80))]  # (also XSV-003, not asked here)
    s.footprints = [("1#", rect(20, 20, 60 + beyond, 36))]
    found = run(s, [cross.outside_parcel])
    assert bool(found) is hit
    if hit:
        f = found[0]
        assert f.object.as_dict() == {"sheet": "自然幢", "row": 2, "key": ZRZH, "file": SITE, "layer": "JZJD", "handle": "F0"}
        assert f.actual == pytest.approx(beyond, abs=1e-6) and f.location[0] == pytest.approx(E0 + 60 + beyond)


def test_footprint_of_a_building_without_parcel_polygon_is_skipped():
    s = Scene()
    s.zd = [(OTHER, rect(0, 0, 10, 10))]
    assert run(s, [cross.outside_parcel]) == []


@pytest.mark.parametrize("grade", ["一级", "二级", "三级"])
def test_building_footprint_area_limit(grade):
    limit = PROFILE.area_limit(480, grade)
    s = Scene(fcmjjd=grade)
    s.buildings[0]["ZZDMJ"] = round(480 + limit - 0.005, 2)
    assert run(s, [cross.footprint_vs_building]) == []
    s.buildings[0]["ZZDMJ"] = round(480 + PROFILE.area_limit(round(480 + limit + 0.02, 2), grade) + 0.01, 2)
    found = run(s, [cross.footprint_vs_building])
    assert places(found, "XSV-006") == [("自然幢", 2, "ZZDMJ")] and found[0].object.handle == "F0"
    assert found[0].expected == pytest.approx(480)


def test_invalid_or_missing_footprint_is_not_measured():
    s = Scene()
    s.buildings[0]["ZZDMJ"] = 900
    s.footprints = [("1#", [(E0 + 20, N0 + 20), (E0 + 50, N0 + 36), (E0 + 50, N0 + 20), (E0 + 20, N0 + 36)])]
    assert run(s, [cross.footprint_vs_building, cross.outside_parcel]) == []
    s.footprints = []
    assert run(s, [cross.footprint_vs_building, cross.outside_parcel]) == []


# ---------------------------------------------------------------- XSV-007


@pytest.mark.parametrize("zjzmj, hit", [(2700 / 1.03, False), (2600.0, True), (2785.0, True)])
def test_property_total_vs_planning_total_is_a_warning(zjzmj, hit):
    s = Scene()
    s.set("ZJZMJ", scz=round(zjzmj, 2) if not hit else zjzmj)
    found = run(s, [cross.property_vs_planning])
    assert bool(found) is hit
    if hit:
        f = found[0]
        assert f.severity == "warning" and (f.object.sheet, f.object.row) == ("规划指标", s.row_of("ZJZMJ"))


def test_property_total_ratio_boundary():
    s = Scene()
    s.set("ZJZMJ", scz=2700 / 1.03 + 0.01)  # 2.99 %
    assert run(s, [cross.property_vs_planning]) == []
    s = Scene(profile=with_tolerances(property_vs_planning_total=0.01))
    s.set("ZJZMJ", scz=2700 * 1.02)
    assert [f.code for f in run(s, [cross.property_vs_planning])] == ["XSV-007"]


def test_unreadable_building_area_skips_the_total():
    s = Scene()
    s.buildings[0]["SCJZMJ"] = "n/a"
    s.set("ZJZMJ", scz=100)
    assert run(s, [cross.property_vs_planning]) == []


# ---------------------------------------------------------------- XSV-008


def test_extra_floor_framed():
    s = Scene()
    s.frames["0001"].append("7层")
    found = run(s)
    assert codes(found) == ["XSV-008"] and places(found, "XSV-008") == [("自然幢", 2, "DSCS")]
    assert found[0].object.file == "drawings/floors/0001.dxf" and found[0].expected == 7 and found[0].actual == 6


def test_basement_framed_but_not_declared():
    s = Scene()
    s.frames["0001"].insert(0, "地下1层")
    found = run(s)
    assert places(found, "XSV-008") == [("自然幢", 2, "DXCS")]


def test_floor_count_not_judged_on_unreadable_repeated_or_open_frames():
    s = Scene()
    s.frames["0001"][5] = "屋顶"  # DXF-006
    assert run(s, [cross.storeys_vs_plan]) == []
    s.frames["0001"][5] = "5层"  # DXF-007
    assert run(s, [cross.storeys_vs_plan]) == []
    s = Scene()
    del s.frames["0001"][5]
    s.floor_drawings["floor:0001"] = drawing("drawings/floors/0001.dxf", [("FC_C", [(0, 200), (40, 200), (40, 230)], False)])
    assert run(s, [cross.storeys_vs_plan]) == []  # DXF-004
    s.floor_drawings["floor:0001"] = drawing("drawings/floors/0001.dxf", texts=[("FC_C", f"{k}层", (1, 40 * k)) for k in range(7)])
    assert run(s, [cross.storeys_vs_plan]) == []  # a label in no frame: DXF-006


def test_building_without_floor_plan_is_pkg008s():
    s = Scene()
    s.frames = {}
    assert run(s, [cross.storeys_vs_plan]) == []
