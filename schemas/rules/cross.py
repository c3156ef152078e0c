"""Across the three surveys (多测合一): XSV-001..008 of spec/rules.md.

The same parcel, site and building are measured once and must agree wherever they appear:
codes (ZRZH, BDCDYH → ZDDM), the cadastral parcel (parcel.dxf ZD) against the planning red
line (site.dxf YDHX), footprints against their parcel, the 自然幢 figures against the site
drawing, the planning indicators and the floor plans.

As in every rule module, a figure or shape another rule has already reported as unreadable,
invalid or missing is skipped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.codes import bdcdyh_valid, zddm_valid
from schemas.context import Context, per_context
from schemas.findings import Finding, Place
from schemas.rules import located
from schemas.rules.planning import (
    EPS,
    building_place,
    buildings,
    indicator_place,
    matched_footprints,
    num,
    open_shapes,
    project_scz,
    reach_outside,
    representative,
    site_polygon,
)

PARCEL_SHEET = "宗地"
UNIT_SHEET = "户"
# a BDCDYH of the right structure (CAD-002 judges the rest): 19-char ZDDM, 定着物特征码, 8 digits
DENSIFY = 1.0  # m: vertices added along both rings before measuring the Hausdorff distance


def _parcels(ctx: Context) -> pd.DataFrame:
    """宗地 rows with a ZDDM (first of a repeated one), with ``row``."""
    df = ctx.tables.get("parcel")
    if "ZDDM" not in df.columns:
        return df.iloc[0:0].assign(row=pd.Series(dtype=int))
    df = df[df["ZDDM"].notna()]
    df = df[~df["ZDDM"].duplicated(keep="first")]
    return df.assign(row=df.index.to_numpy(dtype=int))


def _parcel_place(ctx: Context, row: int, field: str | None = None, **drawing) -> Place:
    return Place(sheet=PARCEL_SHEET, row=int(row), key=ctx.tables.key_of("parcel", int(row)), field=field, **drawing)


def _units(ctx: Context) -> pd.DataFrame:
    df = ctx.tables.get("unit")
    if not {"BDCDYH", "ZRZH"} <= set(df.columns):
        return df.iloc[0:0].reindex(columns=["BDCDYH", "ZRZH"])
    return df


# ---------------------------------------------------------------- XSV-001, XSV-002: codes


@per_context
def _shaped_units(ctx: Context) -> pd.Series:
    """Per row of :func:`_units`: its BDCDYH passes CAD-001..003 (XSV-001 and XSV-002 ask)."""
    return bdcdyh_valid(_units(ctx)["BDCDYH"].astype("string"))


@per_context
def _unit_outside_parcels(ctx: Context) -> pd.Series:
    """Units whose well-formed BDCDYH names no parcel while their ZRZH does (a unit of a
    building whose own ZRZH names no parcel is that building's finding, or RPT-009's)."""
    units, zddm = _units(ctx), set(_parcels(ctx)["ZDDM"].astype(object))
    code = units["BDCDYH"].astype("string")
    shaped = _shaped_units(ctx)  # a malformed code is CAD-001..003's finding
    bad = shaped & ~code.str[:19].isin(zddm).fillna(False).astype(bool)
    zrzh_ok = units["ZRZH"].isna() | units["ZRZH"].astype("string").str[:19].isin(zddm).fillna(False).astype(bool)
    return bad & zrzh_ok


def codes_without_parcel(ctx: Context) -> list[Finding]:
    """XSV-001: a ZRZH (自然幢) or BDCDYH (户) whose first 19 characters are no parcel's ZDDM."""
    if "parcel" not in ctx.tables.present:
        return []  # RPT-001
    zddm = set(_parcels(ctx)["ZDDM"].astype(object))
    if not zddm_valid(pd.Series(sorted(zddm), dtype="string")).all():
        return []  # CAD-001/003: a parcel's own code is malformed, so no code can be matched to it
    found = []
    bld = buildings(ctx)
    bad = ~bld["ZRZH"].astype("string").str[:19].isin(zddm).fillna(False).astype(bool)
    for r in bld[bad].itertuples():
        found.append(make("XSV-001", building_place(ctx, r.row, "ZRZH"), actual=r.ZRZH, what="自然幢号", value=r.ZRZH))
    units = _units(ctx)
    if len(units):
        bad = _unit_outside_parcels(ctx)
        for row in units.index[bad.to_numpy()]:
            value = units.at[row, "BDCDYH"]
            place = Place(sheet=UNIT_SHEET, row=int(row), key=str(value), field="BDCDYH")
            found.append(make("XSV-001", place, actual=str(value), what="不动产单元号", value=value))
    return found


def unit_codes(ctx: Context) -> list[Finding]:
    """XSV-002: a unit's BDCDYH[0:24] ≠ its ZRZH.

    Skipped where another rule has the defect: a BDCDYH of the wrong structure (CAD-002),
    a ZRZH that is no building (RPT-009), a BDCDYH naming no parcel (XSV-001).
    """
    units = _units(ctx)
    if not len(units):
        return []
    code = units["BDCDYH"].astype("string")
    zrzh = units["ZRZH"].astype("string")
    shaped = _shaped_units(ctx)
    known = set(buildings(ctx)["ZRZH"].astype(object))
    building_ok = zrzh.isin(known).fillna(False).astype(bool) if "building" in ctx.tables.present else zrzh.notna()
    differ = (code.str[:24] != zrzh).fillna(False).astype(bool)
    bad = shaped & building_ok & differ
    if "parcel" in ctx.tables.present:
        bad &= ~_unit_outside_parcels(ctx)
    return [
        make("XSV-002", Place(sheet=UNIT_SHEET, row=int(row), key=str(code[row]), field="BDCDYH"),
             expected=str(zrzh[row]), actual=str(code[row])[:24])
        for row in units.index[bad.to_numpy()]
    ]


# ---------------------------------------------------------------- XSV-003, XSV-004: parcel vs site


def _drawn_parcels(ctx: Context) -> tuple[pd.DataFrame, object] | None:
    """The 宗地 rows and the union of their ZD polygons (valid, matched by ZDDM), or None
    when a parcel has no valid polygon (CAD / DXF rules report it)."""
    geo = ctx.geometry.parcel
    parcels = _parcels(ctx)
    if geo is None or not len(parcels):
        return None
    zd = geo.parcels[geo.parcels["valid"].astype(bool) & geo.parcels["zddm"].notna()].drop_duplicates("zddm")
    zd = zd.set_index("zddm")
    if not set(parcels["ZDDM"].astype(object)) <= set(zd.index):
        return None
    polys = zd.geometry.loc[list(parcels["ZDDM"].astype(object))].to_numpy()
    handles = zd["handle"].loc[list(parcels["ZDDM"].astype(object))].to_numpy()
    return parcels.assign(handle=handles, geometry=polys), shapely.union_all(polys)


def _directed(a: object, b: object) -> tuple[float, tuple[float, float]]:
    """The largest distance from a point of ring ``a`` (densified) to ring ``b``, and that point."""
    coords = shapely.get_coordinates(shapely.segmentize(a, DENSIFY))
    d = shapely.distance(shapely.points(coords), b)
    i = int(np.argmax(d))
    return float(d[i]), (float(coords[i][0]), float(coords[i][1]))


def parcel_vs_site(ctx: Context) -> list[Finding]:
    """XSV-003: Hausdorff distance between the parcel (parcel.dxf ZD; several parcels as
    their union) and the red line (site.dxf YDHX) beyond the boundary-point limit of JZDJD."""
    site, _ = site_polygon(ctx.geometry.site)
    drawn = _drawn_parcels(ctx)
    if site is None or drawn is None:
        return []
    parcels, union = drawn
    a, b = shapely.boundary(union), shapely.boundary(site)
    (d1, p1), (d2, p2) = _directed(a, b), _directed(b, a)
    dist, at = (d1, p1) if d1 >= d2 else (d2, p2)
    limit = ctx.profile.boundary_limit(ctx.jzdjd)
    if dist <= limit + EPS:
        return []
    layer = ctx.profile.layer("ZD")
    if len(parcels) == 1:
        r = parcels.iloc[0]
        place = _parcel_place(ctx, r["row"], file=ctx.geometry.parcel_file, layer=layer, handle=r["handle"])
    else:
        place = Place(sheet=PARCEL_SHEET, key="、".join(parcels["ZDDM"].astype(str)), file=ctx.geometry.parcel_file, layer=layer)
    return [make("XSV-003", place, actual=round(dist, 3), tolerance=limit, location=at, grade=ctx.jzdjd)]


def coordinate_areas(ctx: Context) -> pd.Series:
    """Coordinate-method area of each parcel's boundary points (界址点, in SXH order), by
    ZDDM; NaN where a coordinate or SXH is unreadable."""
    bp = ctx.tables.get("boundary_point")
    if not {"ZDDM", "SXH", "XZBZ", "YZBZ"} <= set(bp.columns) or not len(bp):
        return pd.Series(dtype=float)
    bp = bp[bp["ZDDM"].notna()].sort_values(["ZDDM", "SXH"], kind="stable")
    x, y = bp["XZBZ"].astype(float), bp["YZBZ"].astype(float)
    by = bp["ZDDM"].astype(object)
    nx = x.groupby(by).shift(-1).fillna(x.groupby(by).transform("first"))
    ny = y.groupby(by).shift(-1).fillna(y.groupby(by).transform("first"))
    cross = (x * ny - nx * y).groupby(by).sum(min_count=1)
    unreadable = (x.isna() | y.isna() | bp["SXH"].isna()).groupby(by).any()
    return (cross.abs() / 2).where(~unreadable)


def parcel_area(ctx: Context) -> list[Finding]:
    """XSV-004: ZDMJ (Σ over the parcels) vs YDMJ (SCZ) beyond zdmj_vs_ydmj.

    Only figures each survey stands by are compared: a ZDMJ off its own boundary points
    (CAD-010) or a YDMJ off its own red line (PLN-005) is that rule's finding.
    """
    parcels = _parcels(ctx)
    got = project_scz(ctx, "YDMJ")
    if got is None or not len(parcels) or "ZDMJ" not in parcels.columns or parcels["ZDMJ"].isna().any():
        return []
    t = ctx.profile.tolerances
    own = parcels["ZDDM"].astype(object).map(coordinate_areas(ctx))
    if ((parcels["ZDMJ"].astype(float) - own).abs() > t.zdmj_vs_coordinate_area + EPS).any():
        return []  # CAD-010
    site, _ = site_polygon(ctx.geometry.site)
    if site is not None and abs(got[0]["YDMJ"] - float(shapely.area(site))) > t.ydmj_vs_drawing + EPS:
        return []  # PLN-005
    zdmj = float(parcels["ZDMJ"].astype(float).sum())
    ydmj = got[0]["YDMJ"]
    tol = t.zdmj_vs_ydmj
    if abs(zdmj - ydmj) <= tol + EPS:
        return []
    if len(parcels) == 1:
        place = _parcel_place(ctx, parcels["row"].iloc[0], "ZDMJ")
    else:
        place = Place(sheet=PARCEL_SHEET, key="、".join(parcels["ZDDM"].astype(str)), field="ZDMJ")
    return [make("XSV-004", place, expected=num(ydmj), actual=num(zdmj), tolerance=tol)]


# ---------------------------------------------------------------- XSV-005, XSV-006: buildings on the site


def outside_parcel(ctx: Context) -> list[Finding]:
    """XSV-005: a footprint reaches outside its parcel (ZDDM = ZRZH[:19]) by more than
    footprint_outside_parcel. A building whose parcel has no valid ZD polygon is skipped
    (XSV-001 / CAD / DXF say why)."""
    geo = ctx.geometry.parcel
    fp = matched_footprints(ctx)
    if geo is None or not len(fp):
        return []
    zd = geo.parcels[geo.parcels["valid"].astype(bool) & geo.parcels["zddm"].notna()].drop_duplicates("zddm")
    zd = pd.Series(zd.geometry.to_numpy(), index=zd["zddm"].to_numpy(dtype=object))
    fp = fp.assign(parcel=fp["ZRZH"].astype(str).str[:19].map(zd))
    fp = fp[fp["parcel"].notna()]
    if not len(fp):
        return []
    reach, xy = reach_outside(fp["geometry"].to_numpy(), fp["parcel"].to_numpy())
    tol = ctx.profile.tolerances.footprint_outside_parcel
    hit = reach > tol + EPS
    return [
        make("XSV-005", building_place(ctx, r.row, file=ctx.geometry.site_file, layer=ctx.profile.layer("JZJD"), handle=r.handle),
             actual=round(float(d), 3), tolerance=tol, location=(float(p[0]), float(p[1])), key=r.name)
        for r, d, p in zip(fp[hit].itertuples(), reach[hit], xy[hit], strict=True)
    ]


def footprint_vs_building(ctx: Context) -> list[Finding]:
    """XSV-006: ZZDMJ (自然幢) vs its footprint's area in site.dxf beyond the 房产 limit of
    ZZDMJ (class FCMJJD)."""
    fp = matched_footprints(ctx)
    if not len(fp) or "ZZDMJ" not in fp.columns:
        return []
    zzdmj = fp["ZZDMJ"].astype(float)
    drawn = shapely.area(fp["geometry"].to_numpy())
    limit = zzdmj.map(lambda s: ctx.profile.area_limit(s, ctx.fcmjjd) if pd.notna(s) else np.nan)
    hit = ((zzdmj - drawn).abs() > limit + EPS).fillna(False).to_numpy()
    return [
        make("XSV-006", building_place(ctx, r.row, "ZZDMJ", file=ctx.geometry.site_file, layer=ctx.profile.layer("JZJD"), handle=r.handle),
             expected=round(float(a), 3), actual=num(r.ZZDMJ), tolerance=round(float(t), 6), location=representative(r.geometry), key=r.ZRZH)
        for r, a, t in zip(fp[hit].itertuples(), drawn[hit], limit[hit], strict=True)
    ]


# ---------------------------------------------------------------- XSV-007, XSV-008: property vs planning


def property_vs_planning(ctx: Context) -> list[Finding]:
    """XSV-007 (warning): Σ building SCJZMJ vs ZJZMJ (SCZ) differ by more than
    property_vs_planning_total of ZJZMJ."""
    bld = buildings(ctx)
    got = project_scz(ctx, "ZJZMJ")
    if got is None or not len(bld) or "SCJZMJ" not in bld.columns or bld["SCJZMJ"].isna().any():
        return []
    (scz, rows), total = got, float(bld["SCJZMJ"].astype(float).sum())
    zjzmj = scz["ZJZMJ"]
    if zjzmj <= 0:
        return []
    ratio = abs(total - zjzmj) / zjzmj
    tol = ctx.profile.tolerances.property_vs_planning_total
    if ratio <= tol + EPS:
        return []
    return [make("XSV-007", indicator_place(ctx, rows["ZJZMJ"]), expected=num(zjzmj), actual=round(total, 2),
                 tolerance=tol, ratio=ratio)]


def _frames_unseen(ctx: Context, zh: str, plan) -> bool:
    """A floor frame the model cannot count: open (DXF-004), or a floor label in no frame
    (DXF-006)."""
    if open_shapes(ctx, f"floor:{zh}", "FC_C"):
        return True
    d = ctx.package.drawings.get(f"floor:{zh}")
    if d is None or not len(d.texts):
        return False
    # in arrays: pandas' per-call cost was most of this rule's time (one call per plan)
    texts = d.texts["text"].to_numpy(dtype=object)[(d.texts["layer"] == ctx.profile.layer("FC_C")).to_numpy(dtype=bool)]
    placed = sum(map(len, plan.frames["labels"].tolist())) if "labels" in plan.frames.columns else len(texts)
    return sum(bool(t) for t in texts[pd.notna(texts)]) > placed


def storeys_vs_plan(ctx: Context) -> list[Finding]:
    """XSV-008: a building's DSCS / DXCS ≠ the number of floors framed (FC_C) above / below
    ground in its floor plan. A plan with an unreadable, repeated or stray floor label
    (DXF-006 / DXF-007), an open frame (DXF-004) or no frame at all (DXF-003) is not
    counted."""
    bld = buildings(ctx)
    found = []
    layer = ctx.profile.layer("FC_C")
    for r in bld.itertuples():  # one plan per building (≤ a few dozen)
        plan = ctx.geometry.floors.get(r.zh) if isinstance(r.zh, str) else None
        if plan is None or not len(plan.frames):
            continue
        sjc = plan.frames["sjc"].to_numpy(dtype="float64", na_value=np.nan)
        if np.isnan(sjc).any() or len(np.unique(sjc)) < len(sjc) or _frames_unseen(ctx, r.zh, plan):
            continue
        framed = {"DSCS": int((sjc > 0).sum()), "DXCS": int((sjc < 0).sum())}
        for col, name in (("DSCS", "地上层数 DSCS"), ("DXCS", "地下层数 DXCS")):
            value = getattr(r, col, np.nan)
            if pd.isna(value) or float(value) == framed[col]:
                continue
            place = building_place(ctx, r.row, col, file=plan.file, layer=layer)
            found.append(make("XSV-008", place, expected=framed[col], actual=num(value), key=r.ZRZH, indicator=name))
    return found


RULES = located([
    codes_without_parcel,
    unit_codes,
    parcel_vs_site,
    parcel_area,
    outside_parcel,
    footprint_vs_building,
    property_vs_planning,
    storeys_vs_plan,
])
