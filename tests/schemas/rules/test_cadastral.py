"""CAD-001..015 on small packages built in code: codes and places, not message text.

Each test writes the report cells as text (as the parser hands them over) and parcel.dxf
as entity frames, then goes the real way: typed tables, CRS normalisation, geometry model,
and calls the cadastral rules alone.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from schemas.context import Context
from schemas.crs import check_crs
from schemas.drawings import drawing_geometry
from schemas.package import Drawing, Package
from schemas.profile import Profile, load_profile
from schemas.rules import cadastral
from schemas.tables import type_tables

PROFILE = load_profile()
ZDDM = "371502001001GB00001"
ZRZH = ZDDM + "F0001"
FILE = "drawings/parcel.dxf"
E0, N0 = (round(v) for v in Transformer.from_crs(4326, 4548, always_xy=True).transform(116.05, 36.48))
# a 60 m × 50 m parcel, clockwise from the north-west point: (east, north) offsets
SQUARE = [(0.0, 50.0), (60.0, 50.0), (60.0, 0.0), (0.0, 0.0)]
AREA = 3000.0


def en(offsets: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(E0 + e, N0 + n) for e, n in offsets]


def frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    return df.assign(_row=range(2, 2 + len(df)))


def point_rows(offsets=SQUARE, zddm=ZDDM, sxh=None, names=None) -> list[dict]:
    out = []
    for i, (e, n) in enumerate(en(offsets)):
        out.append({"ZDDM": zddm, "JZDH": names[i] if names else f"J{i + 1}",
                    "SXH": str(sxh[i]) if sxh else str(i + 1), "XZBZ": f"{n:.3f}", "YZBZ": f"{e:.3f}"})
    return out


def line_rows(offsets=SQUARE, zddm=ZDDM, lengths=None) -> list[dict]:
    pts = en(offsets)
    out = []
    for i, (p, q) in enumerate(zip(pts, pts[1:] + pts[:1], strict=True)):
        length = lengths[i] if lengths else shapely.Point(p).distance(shapely.Point(q))
        out.append({"ZDDM": zddm, "QSJZDH": f"J{i + 1}", "ZZJZDH": f"J{(i + 1) % len(pts) + 1}", "JZXCD": f"{length:.2f}"})
    return out


def raw_tables(*, zddm=ZDDM, bdcdyh=None, zdmj=AREA, points=None, lines=None, zrzh=ZRZH, units=None, jzdjd="二级",
               extra_parcels=()) -> dict[str, pd.DataFrame]:
    parcel = {"ZDDM": zddm, "BDCDYH": bdcdyh if bdcdyh is not None else f"{zddm}W00000000", "ZL": "某路",
              "ZDMJ": None if zdmj is None else f"{zdmj:.2f}", "YT": "0701", "QLLX": "4", "QLXZ": "102"}
    building = {"ZRZH": zrzh, "ZDDM": zddm, "JZWMC": "1#楼", "FWJG": "3", "ZCS": "6", "DSCS": "6", "DXCS": "0",
                "JZWGD": "18.6", "ZZDMJ": "500", "SCJZMJ": "3000"}
    unit_codes = units if units is not None else [f"{zrzh}0101"]
    return {
        "project": pd.DataFrame({"field": ["XMBH", "ZBX", "JZDJD"], "value": ["T-1", "EPSG:4548", jzdjd], "_row": [2, 3, 4]}),
        "parcel": frame([parcel, *extra_parcels]),
        "boundary_point": frame(point_rows() if points is None else points),
        "boundary_line": frame(line_rows() if lines is None else lines),
        "building": frame([building]),
        "unit": frame([{"BDCDYH": u, "ZRZH": zrzh, "SJC": "1", "HH": u[-4:], "FWYT": "11", "SCTNJZMJ": "80",
                        "SCFTJZMJ": "10", "SCJZMJ": "90", "SCFTXS": "0.125"} for u in unit_codes]),
    }


def parcel_dxf(rings=None, labels=None, jzd=None, unlabelled=()) -> Drawing:
    """ZD polygons (each ``(ring_en, label)``) and JZD circles (``(label, (e, n))``)."""
    rings = [(en(SQUARE), ZDDM)] if rings is None else rings
    jzd = [(f"J{i + 1}", p) for i, p in enumerate(en(SQUARE))] if jzd is None else jzd
    handles = iter(f"{k:X}" for k in range(0x30, 0x300))
    shapes, points, texts = [], [], []
    for ring, label in rings:
        shapes.append({"handle": next(handles), "layer": "ZD", "dxftype": "LWPOLYLINE", "closed": True, "xdata": None,
                       "geometry": shapely.LineString(ring)})
        if label is not None:
            at = shapely.Polygon(ring).representative_point()
            texts.append({"handle": next(handles), "layer": "ZD", "dxftype": "TEXT", "text": label, "geometry": at})
    for label, (e, n) in jzd:
        points.append({"handle": next(handles), "layer": "JZD", "dxftype": "CIRCLE", "geometry": shapely.Point(e, n)})
        texts.append({"handle": next(handles), "layer": "JZD", "dxftype": "TEXT", "text": label,
                      "geometry": shapely.Point(e + 0.7, n + 0.7)})
    for e, n in unlabelled:
        points.append({"handle": next(handles), "layer": "JZD", "dxftype": "CIRCLE", "geometry": shapely.Point(e, n)})
    d = Drawing(FILE)
    for name, rows in (("shapes", shapes), ("points", points), ("texts", texts)):
        if rows:
            setattr(d, name, gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry"))
    return d


def context(raw: dict[str, pd.DataFrame] | None = None, drawing: Drawing | None | bool = True,
            profile: Profile = PROFILE) -> Context:
    raw = raw_tables() if raw is None else raw
    pkg = Package(source="test", root=Path("."), tables=raw, report_form="xlsx")
    if drawing is True:
        drawing = parcel_dxf()
    if drawing:
        pkg.drawings["parcel"] = drawing
    tables, _ = type_tables(pkg.tables, profile)
    zone, _ = check_crs(tables, pkg.drawings, profile)
    geometry, _ = drawing_geometry(pkg, profile)
    return Context(pkg, tables, geometry, zone, profile)


def run(ctx: Context, *codes: str) -> list:
    found = [f for rule in cadastral.RULES for f in rule(ctx)]
    return [f for f in found if not codes or f.code in codes]


def places(found) -> list[tuple]:
    return sorted((f.code, f.object.sheet or f.object.file, f.object.row or f.object.handle, f.object.field) for f in found)


def with_tolerance(**values) -> Profile:
    return PROFILE.model_copy(update={"tolerances": PROFILE.tolerances.model_copy(update=values)})


# ---------------------------------------------------------------- a clean parcel


def test_clean_parcel_gives_nothing():
    assert run(context()) == []


def test_swapped_and_prefixed_table_is_judged_after_normalising():
    pts = point_rows()
    for p in pts:  # X and Y exchanged, and the east with its zone prefix 39
        p["XZBZ"], p["YZBZ"] = f"{39_000_000 + float(p['YZBZ']):.3f}", p["XZBZ"]
    assert run(context(raw_tables(points=pts))) == []


def test_no_drawing_skips_drawing_rules_silently():
    assert run(context(drawing=False)) == []


# ---------------------------------------------------------------- CAD-001..005: codes


@pytest.mark.parametrize(
    "code, expected",
    [
        ("3715O2001001GB00001", "CAD-001"),  # letter O in the county
        ("371502001001GK00001", "CAD-001"),  # K is no 宗地特征码 letter
        ("371502001001gb00001", "CAD-001"),
        ("371502001001GB00000", "CAD-001"),  # 顺序号 from 00001
        ("371502001001GA00001", "CAD-003"),  # allowed letters, forbidden pair
        ("371502001001ZC00001", "CAD-003"),
        ("371502001001JA00001", None),
        ("371502001001JC00001", None),
    ],
)
def test_parcel_code_structure(code, expected):
    raw = raw_tables(zddm=code, zrzh=code + "F0001", points=point_rows(zddm=code), lines=line_rows(zddm=code))
    found = run(context(raw, parcel_dxf(rings=[(en(SQUARE), code)])), "CAD-001", "CAD-002", "CAD-003")
    assert {f.code for f in found} == ({expected} if expected else set())
    if expected:
        assert ("宗地", 2, "ZDDM") in {(f.object.sheet, f.object.row, f.object.field) for f in found}
        # one finding per place: the 宗地 row's BDCDYH carries the same ZDDM, said once
        assert not [f for f in found if f.object.sheet == "宗地" and f.object.field == "BDCDYH"]
        # every place that carries the code: points, lines, building, unit, the ZD label
        assert {f.object.sheet or f.object.file for f in found} == {"宗地", "界址点", "界址线", "自然幢", "户", FILE}
        assert len([f for f in found if f.object.sheet == "界址点"]) == 4


def test_short_parcel_code_makes_its_unit_codes_short_too():
    code = "371502001001GB0001"  # 18 characters: a ZDDM cell is CAD-001, longer codes CAD-002 (length)
    raw = raw_tables(zddm=code, zrzh=code + "F0001", points=point_rows(zddm=code), lines=line_rows(zddm=code))
    found = run(context(raw, parcel_dxf(rings=[(en(SQUARE), code)])), "CAD-001", "CAD-002", "CAD-003")
    by_place = {(f.object.sheet or f.object.file, f.object.row, f.object.field): f.code for f in found}
    assert by_place[("宗地", 2, "ZDDM")] == "CAD-001" and by_place[("宗地", 2, "BDCDYH")] == "CAD-002"
    assert by_place[("自然幢", 2, "ZDDM")] == "CAD-001" and by_place[("自然幢", 2, "ZRZH")] == "CAD-002"
    assert by_place[("户", 2, "BDCDYH")] == "CAD-002" and by_place[(FILE, None, None)] == "CAD-001"
    assert len(found) == len(by_place)  # one finding per place


def test_unit_code_zddm_part_is_cad001_and_tail_is_cad002():
    units = [ZRZH + "0101", "3715O2001001GB00001F00010102", ZRZH + "0000", ZRZH + "010", ZDDM + "X00010105"]
    found = run(context(raw_tables(units=units)), "CAD-001", "CAD-002", "CAD-003")
    assert places(found) == [
        ("CAD-001", "户", 3, "BDCDYH"),
        ("CAD-002", "户", 4, "BDCDYH"),
        ("CAD-002", "户", 5, "BDCDYH"),  # wrong length: the length alone, no CAD-001 on shifted parts
        ("CAD-002", "户", 6, "BDCDYH"),
    ]
    assert next(f for f in found if f.code == "CAD-001").object.key == units[1]


@pytest.mark.parametrize("zrzh", [ZDDM + "G0001", ZDDM + "F0000", ZDDM + "F001"])
def test_building_code_tail_is_cad002(zrzh):
    found = run(context(raw_tables(zrzh=zrzh, units=[])), "CAD-001", "CAD-002")
    assert places(found) == [("CAD-002", "自然幢", 2, "ZRZH")]


def test_drawing_label_is_judged_at_its_handle():
    ctx = context(drawing=parcel_dxf(rings=[(en(SQUARE), "371502001001GB0001")]))
    found = run(ctx, "CAD-001")
    assert len(found) == 1
    f = found[0]
    assert (f.object.file, f.object.layer) == (FILE, "ZD") and f.object.handle and f.location is not None
    assert shapely.Polygon(en(SQUARE)).contains(shapely.Point(f.location))


def test_virtual_code_is_a_warning_everywhere():
    code = "371502000000GB00001"
    raw = raw_tables(zddm=code, zrzh=code + "F0001", points=point_rows(zddm=code), lines=line_rows(zddm=code))
    found = run(context(raw, parcel_dxf(rings=[(en(SQUARE), code)])))
    assert {f.code for f in found} == {"CAD-004"} and {f.severity for f in found} == {"warning"}
    # 宗地 (once), 4 points, 4 lines, 自然幢 (once for ZDDM + ZRZH), 1 unit, the ZD label
    assert len(found) == 1 + 4 + 4 + 1 + 1 + 1


def test_county_follows_the_profile():
    code = "371402001001GB00001"
    raw = raw_tables(zddm=code, zrzh=code + "F0001", points=point_rows(zddm=code), lines=line_rows(zddm=code))
    drawing = parcel_dxf(rings=[(en(SQUARE), code)])
    assert {f.code for f in run(context(raw, drawing))} == {"CAD-005"}
    dezhou = PROFILE.model_copy(update={"counties": {**PROFILE.counties, "371402": "德城区"}})
    assert run(context(raw, drawing, dezhou)) == []
    assert run(context(raw, drawing, PROFILE.model_copy(update={"counties": {}}))) == []


def test_missing_codes_say_nothing_here():
    raw = raw_tables(units=[""])
    assert run(context(raw), "CAD-001", "CAD-002", "CAD-003", "CAD-004", "CAD-005") == []


# ---------------------------------------------------------------- CAD-006: numbering


def test_two_points_are_too_few():
    pts = point_rows()[:2]
    found = run(context(raw_tables(points=pts, lines=[])), "CAD-006")
    assert places(found) == [("CAD-006", "界址点", 2, "JZDH")]


def test_parcel_without_points():
    found = run(context(raw_tables(points=point_rows(zddm="371502001001GB00002"), lines=[],
                                   extra_parcels=[{**raw_tables()["parcel"].iloc[0].drop("_row").to_dict(),
                                                   "ZDDM": "371502001001GB00002", "BDCDYH": "371502001001GB00002W00000000"}])),
                "CAD-006")
    assert places(found) == [("CAD-006", "宗地", 2, "ZDDM")]


@pytest.mark.parametrize("sxh, row", [([1, 2, 4, 5], 4), ([1, 2, 2, 3], 4), ([2, 3, 4, 5], 2)])
def test_sxh_not_one_to_n(sxh, row):
    found = run(context(raw_tables(points=point_rows(sxh=sxh))), "CAD-006")
    assert places(found) == [("CAD-006", "界址点", row, "SXH")]


def test_unreadable_sxh_and_repeated_jzdh_are_other_rules():
    pts = point_rows()
    pts[1]["SXH"] = "二"  # RPT-003
    assert run(context(raw_tables(points=pts)), "CAD-006") == []
    pts = point_rows(names=["J1", "J2", "J2", "J4"])  # RPT-006 (ZDDM + JZDH)
    assert run(context(raw_tables(points=pts)), "CAD-006") == []


def test_row_repeated_whole_is_rpt006_alone():
    pts = point_rows()
    assert run(context(raw_tables(points=[*pts, pts[2]]))) == []


# ---------------------------------------------------------------- CAD-007..010: order, start, ring, area


def test_counter_clockwise():
    ccw = [SQUARE[0], SQUARE[3], SQUARE[2], SQUARE[1]]
    raw = raw_tables(points=point_rows(ccw), lines=line_rows(ccw))
    found = run(context(raw, parcel_dxf(jzd=[(f"J{i + 1}", p) for i, p in enumerate(en(ccw))])))
    assert places(found) == [("CAD-007", "界址点", 2, "SXH")]
    assert found[0].location == pytest.approx(en(SQUARE)[0]) and found[0].actual == pytest.approx(-AREA)


def test_start_not_north_west_is_a_warning():
    turned = SQUARE[1:] + SQUARE[:1]
    raw = raw_tables(points=point_rows(turned), lines=line_rows(turned))
    found = run(context(raw, parcel_dxf(jzd=[(f"J{i + 1}", p) for i, p in enumerate(en(turned))])))
    assert places(found) == [("CAD-008", "界址点", 2, "SXH")]
    assert found[0].severity == "warning" and found[0].expected == "J4"


def test_start_tied_with_the_north_west_corner_is_fine():
    # a diamond: north and west points equally far from the bounding box's NW corner
    diamond = [(0.0, 30.0), (30.0, 60.0), (60.0, 30.0), (30.0, 0.0)]
    raw = raw_tables(points=point_rows(diamond), lines=line_rows(diamond), zdmj=1800.0)
    drawing = parcel_dxf(rings=[(en(diamond), ZDDM)], jzd=[(f"J{i + 1}", p) for i, p in enumerate(en(diamond))])
    assert run(context(raw, drawing)) == []


def test_crossed_ring_is_cad009_alone():
    crossed = [SQUARE[0], SQUARE[1], SQUARE[3], SQUARE[2]]
    raw = raw_tables(points=point_rows(crossed), lines=line_rows(crossed))
    found = run(context(raw, parcel_dxf(jzd=[(f"J{i + 1}", p) for i, p in enumerate(en(crossed))])))
    assert places(found) == [("CAD-009", "界址点", 2, "XZBZ/YZBZ")]
    assert found[0].location == pytest.approx((E0 + 30.0, N0 + 25.0))  # where the edges cross


def test_repeated_point_is_cad009_at_the_point():
    five = [SQUARE[0], SQUARE[1], SQUARE[1], SQUARE[2], SQUARE[3]]
    raw = raw_tables(points=point_rows(five), lines=line_rows(five))
    drawing = parcel_dxf(jzd=[(f"J{i + 1}", p) for i, p in enumerate(en(five))])
    found = run(context(raw, drawing), "CAD-007", "CAD-009", "CAD-010")
    assert places(found) == [("CAD-009", "界址点", 2, "XZBZ/YZBZ")]
    assert found[0].location == pytest.approx(en(SQUARE)[1])


def test_collinear_points_are_no_ring():
    line = [(0.0, 0.0), (30.0, 0.0), (60.0, 0.0)]
    raw = raw_tables(points=point_rows(line), lines=[], zdmj=1.0)
    found = run(context(raw, drawing=False))
    assert [f.code for f in found] == ["CAD-009"]


@pytest.mark.parametrize("zdmj, hit", [(AREA + 0.1, False), (AREA - 0.1, False), (AREA + 0.11, True), (AREA - 0.5, True)])
def test_zdmj_against_coordinate_area(zdmj, hit):
    found = run(context(raw_tables(zdmj=zdmj)), "CAD-010")
    assert places(found) == ([("CAD-010", "宗地", 2, "ZDMJ")] if hit else [])
    if hit:
        assert found[0].expected == pytest.approx(AREA) and found[0].tolerance == 0.1


def test_zdmj_tolerance_from_the_profile_and_unreadable_zdmj():
    assert run(context(raw_tables(zdmj=AREA + 0.5), profile=with_tolerance(zdmj_vs_coordinate_area=1.0)), "CAD-010") == []
    raw = raw_tables()
    raw["parcel"].loc[0, "ZDMJ"] = "三千"  # RPT-003
    assert run(context(raw), "CAD-010") == []


# ---------------------------------------------------------------- CAD-011, 012: table against parcel.dxf


def jzd_moved(de: float, k: int = 1) -> list:
    pts = [(f"J{i + 1}", p) for i, p in enumerate(en(SQUARE))]
    label, (e, n) = pts[k]
    pts[k] = (label, (e + de, n))
    return pts


@pytest.mark.parametrize("de, hit", [(0.01, False), (0.0105, True), (0.5, True)])
def test_table_point_against_jzd(de, hit):
    found = run(context(drawing=parcel_dxf(jzd=jzd_moved(de))))
    assert places(found) == ([("CAD-011", "界址点", 3, "XZBZ/YZBZ")] if hit else [])
    if hit:
        assert (found[0].object.file, found[0].object.layer) == (FILE, "JZD") and found[0].object.handle
        assert found[0].location == pytest.approx(en(SQUARE)[1])


def test_jzd_tolerance_from_the_profile():
    assert run(context(drawing=parcel_dxf(jzd=jzd_moved(0.05)), profile=with_tolerance(jzd_table_vs_drawing=0.1))) == []


def test_point_missing_from_the_drawing_and_point_missing_from_the_table():
    pts = [(f"J{i + 1}", p) for i, p in enumerate(en(SQUARE))]
    extra = ("J9", (E0 + 30.0, N0 + 50.0))
    found = run(context(drawing=parcel_dxf(jzd=[*pts[:3], extra])))
    drawn = next(f for f in found if f.object.sheet is None)
    assert places(found) == [("CAD-011", FILE, drawn.object.handle, None), ("CAD-011", "界址点", 5, "XZBZ/YZBZ")]
    assert drawn.object.layer == "JZD" and drawn.location == pytest.approx(extra[1])


def test_point_drawn_without_label_is_dxf006s():
    pts = [(f"J{i + 1}", p) for i, p in enumerate(en(SQUARE))]
    found = run(context(drawing=parcel_dxf(jzd=pts[:3], unlabelled=[en(SQUARE)[3]])))
    assert found == []


def test_drawing_without_jzd_points_is_dxf003s():
    assert run(context(drawing=parcel_dxf(jzd=[])), "CAD-011") == []


@pytest.mark.parametrize("de, hit", [(0.01, False), (0.02, True)])
def test_zd_polygon_through_the_points(de, hit):
    ring = en(SQUARE)
    ring[2] = (ring[2][0] + de, ring[2][1])
    found = run(context(drawing=parcel_dxf(rings=[(ring, ZDDM)])), "CAD-012")
    assert places(found) == ([("CAD-012", "宗地", 2, None)] if hit else [])
    if hit:
        assert (found[0].object.file, found[0].object.layer) == (FILE, "ZD") and found[0].location == pytest.approx(ring[2])


def test_zd_polygon_missing_a_point():
    ring = en(SQUARE)[:3]  # a triangle: J4 is no vertex
    found = run(context(drawing=parcel_dxf(rings=[(ring, ZDDM)])), "CAD-012")
    assert len(found) == 1 and found[0].location == pytest.approx(en(SQUARE)[3])


def test_invalid_zd_polygon_is_dxf005s():
    ring = en(SQUARE)
    bow = [ring[0], ring[2], ring[1], ring[3]]
    assert run(context(drawing=parcel_dxf(rings=[(bow, ZDDM)])), "CAD-012", "CAD-014") == []


# ---------------------------------------------------------------- CAD-013: taped lengths


@pytest.mark.parametrize(
    "grade, off, hit", [("二级", 0.15, False), ("二级", 0.16, True), ("一级", 0.11, True), ("一级", 0.10, False), ("三级", 0.19, False)]
)
def test_taped_length_by_class(grade, off, hit):
    lengths = [60.0 + off, 50.0, 60.0, 50.0]
    found = run(context(raw_tables(lines=line_rows(lengths=lengths), jzdjd=grade)), "CAD-013")
    assert places(found) == ([("CAD-013", "界址线", 2, "JZXCD")] if hit else [])
    if hit:
        assert found[0].tolerance == PROFILE.boundary_limit(grade)
        assert found[0].location == pytest.approx((E0 + 30.0, N0 + 50.0))


def test_taped_length_of_an_unknown_point_or_unreadable_is_skipped():
    lines = line_rows(lengths=[61.0, 51.0, 60.0, 50.0])
    lines[0]["ZZJZDH"] = "J7"
    lines[1]["JZXCD"] = "五十"
    assert run(context(raw_tables(lines=lines)), "CAD-013") == []


# ---------------------------------------------------------------- CAD-014, 015


def test_overlapping_parcels():
    neighbour = en([(55.0, 40.0), (90.0, 40.0), (90.0, 10.0), (55.0, 10.0)])
    drawing = parcel_dxf(rings=[(en(SQUARE), ZDDM), (neighbour, "371502001001GB00002")])
    found = run(context(drawing=drawing))
    assert [f.code for f in found] == ["CAD-014"]
    assert found[0].actual == pytest.approx(150.0) and found[0].object.layer == "ZD"
    assert shapely.box(E0 + 55, N0 + 10, E0 + 60, N0 + 40).contains(shapely.Point(found[0].location))


def test_touching_parcels_and_a_repeated_label_are_no_overlap():
    neighbour = en([(60.0, 50.0), (90.0, 50.0), (90.0, 0.0), (60.0, 0.0)])
    assert run(context(drawing=parcel_dxf(rings=[(en(SQUARE), ZDDM), (neighbour, "371502001001GB00002")]))) == []
    inner = en([(40.0, 45.0), (58.0, 45.0), (58.0, 30.0), (40.0, 30.0)])  # away from the outer label
    assert run(context(drawing=parcel_dxf(rings=[(en(SQUARE), ZDDM), (inner, ZDDM)])), "CAD-014") == []


def test_overlap_tolerance_from_the_profile():
    neighbour = en([(59.99, 40.0), (90.0, 40.0), (90.0, 10.0), (59.99, 10.0)])  # 0.3 m²
    drawing = parcel_dxf(rings=[(en(SQUARE), ZDDM), (neighbour, "371502001001GB00002")])
    assert [f.code for f in run(context(drawing=drawing))] == ["CAD-014"]
    assert run(context(drawing=drawing, profile=with_tolerance(parcel_overlap=0.5))) == []


def test_land_unit_code():
    found = run(context(raw_tables(bdcdyh="371502001001GB00002W00000000")))
    assert places(found) == [("CAD-015", "宗地", 2, "BDCDYH")]
    assert found[0].expected == ZDDM + "W00000000"


def test_malformed_land_unit_code_is_cad002_alone():
    found = run(context(raw_tables(bdcdyh=ZDDM + "W00000001")))
    assert places(found) == [("CAD-002", "宗地", 2, "BDCDYH")]


def test_two_parcels_are_judged_each_on_its_own():
    other = "371502001001GB00002"
    east = [(e + 100.0, n) for e, n in SQUARE]  # 40 m east of the first parcel
    ccw = [east[0], east[3], east[2], east[1]]
    raw = raw_tables(points=[*point_rows(), *point_rows(ccw, zddm=other)],
                     lines=[*line_rows(), *line_rows(ccw, zddm=other)],
                     extra_parcels=[{"ZDDM": other, "BDCDYH": other + "W00000000", "ZL": "某路", "ZDMJ": "3000.00",
                                     "YT": "0701", "QLLX": "4", "QLXZ": "102"}])
    jzd = [(f"J{i + 1}", p) for i, p in enumerate(en(SQUARE))] + [(f"J{i + 1}", p) for i, p in enumerate(en(ccw))]
    drawing = parcel_dxf(rings=[(en(SQUARE), ZDDM), (en(east), other)], jzd=jzd)
    found = run(context(raw, drawing))
    assert places(found) == [("CAD-007", "界址点", 6, "SXH")]
    assert found[0].object.key == f"{other}/J1"
