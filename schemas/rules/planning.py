"""Planning verification (竣工规划条件核实): PLN-001..014 of spec/rules.md.

The 规划指标 sheet is long form: one row per indicator code (ZBDM) and scope (FW: ``项目``
for the project, or a ZRZH for one building). Each rule reads the rows it needs and, where
the rule compares them with the site drawing (site.dxf: YDHX red line, DLHX road lines,
JZJD footprints, LDFW green), the geometry model of ``schemas.drawings``.

A rule says nothing where another rule has already said why it cannot judge: a missing
indicator (PLN-001), an unreadable figure (RPT-003/004), an open or invalid polygon
(DXF-004 / DXF-005), a label in no polygon (DXF-006), a building without its footprint
(PLN-013), an unreadable or missing drawing (DXF-001 / PKG-008).
Findings about an indicator carry ``Place(sheet="规划指标", row=<its row>)``; setback
findings ``Place(sheet="退让", row=...)``: the planning product marks rows by them.

Helpers used by the cross-survey rules (``schemas.rules.cross``) are public here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.context import Context
from schemas.drawings import BUILDING_LABEL, SiteGeometry
from schemas.fields import CODE_LISTS
from schemas.findings import Finding, Place
from schemas.measure import setbacks
from schemas.outlines import loose_count
from schemas.rules import located

EPS = 1e-6  # rules.md: "differs by more than t" means |a − b| > t + 1e-6
PROJECT = "项目"  # FW of a project-scope indicator
INDICATOR_SHEET = "规划指标"
SETBACK_SHEET = "退让"
BUILDING_SHEET = "自然幢"
REQUIRED = ("YDMJ", "ZJZMJ", "JRMJ", "RJL", "JZMD", "LDL", "JDMJ", "JZGD", "DSCS")  # PLN-001
DENSIFY = 1.0  # m: vertices added along the outside part of a footprint before measuring its reach


# ---------------------------------------------------------------- shared helpers


def num(value: Any) -> float | int | None:
    """A figure as reported, for messages and findings: whole numbers as int, else 6 dp."""
    if value is None or pd.isna(value):
        return None
    f = float(value)
    return int(f) if f.is_integer() else round(f, 6)


def indicator_name(code: str) -> str:
    """``容积率(RJL)``."""
    return f"{CODE_LISTS['ZBDM'].get(code, code)}({code})"


def indicators(ctx: Context) -> pd.DataFrame:
    """The readable 规划指标 rows (ZBDM and FW known), the first of a repeated key only
    (RPT-006 reported the others). Columns ZBDM, FW, GHZ, SCZ (NaN where unreadable or
    absent), ``row`` (spreadsheet row) and ``project`` (FW = 项目)."""
    df = ctx.tables.get("planning_indicator")
    if not {"ZBDM", "FW"} <= set(df.columns):
        df = df.iloc[0:0]
    df = df.reindex(columns=["ZBDM", "FW", "GHZ", "SCZ"])
    df = df[df["ZBDM"].notna() & df["FW"].notna()]
    df = df[~df.duplicated(["ZBDM", "FW"], keep="first")]
    out = pd.DataFrame(
        {
            "ZBDM": df["ZBDM"].astype(object),
            "FW": df["FW"].astype(object),
            "GHZ": pd.to_numeric(df["GHZ"], errors="coerce").astype(float),
            "SCZ": pd.to_numeric(df["SCZ"], errors="coerce").astype(float),
            "row": df.index.to_numpy(dtype=int),
        },
        index=df.index,
    )
    return out.assign(project=out["FW"] == PROJECT)


def project_indicators(ctx: Context) -> pd.DataFrame:
    """Project-scope indicators indexed by ZBDM."""
    ind = indicators(ctx)
    return ind[ind["project"]].set_index("ZBDM")


def project_scz(ctx: Context, *codes: str) -> tuple[dict[str, float], dict[str, int]] | None:
    """The reported SCZ of project indicators ``codes`` and their rows, or None when one is
    missing (PLN-001) or unreadable (RPT-003/004)."""
    proj = project_indicators(ctx)
    if not set(codes) <= set(proj.index):
        return None
    scz = proj.loc[list(codes), "SCZ"]
    if scz.isna().any():
        return None
    return {c: float(scz[c]) for c in codes}, {c: int(proj.at[c, "row"]) for c in codes}


# each indicator's unit in a message and the decimals its figures are shown with
INDICATOR_UNITS: dict[str, tuple[str, int]] = {
    "YDMJ": (" m²", 2), "ZJZMJ": (" m²", 2), "JRMJ": (" m²", 2), "JDMJ": (" m²", 2),
    "RJL": ("", 2), "JZMD": ("%", 2), "LDL": ("%", 2), "JZGD": (" m", 2),
    "DSCS": (" 层", 0), "DXCS": (" 层", 0), "JDCW": (" 个", 0),
}


def unit_of(zbdm: str) -> dict[str, Any]:
    """``unit`` and ``digits`` of an indicator for its message (2 decimals, no unit if unknown)."""
    unit, digits = INDICATOR_UNITS.get(zbdm, ("", 2))
    return {"unit": unit, "digits": digits}


def indicator_place(ctx: Context, row: int, field: str = "SCZ", **drawing: Any) -> Place:
    return Place(
        sheet=INDICATOR_SHEET,
        row=int(row),
        key=ctx.tables.key_of("planning_indicator", int(row)),
        field=field,
        **drawing,
    )


def scope_text(fw: str) -> str:
    return "项目" if fw == PROJECT else f"幢 {fw}"


def buildings(ctx: Context) -> pd.DataFrame:
    """自然幢 rows with a ZRZH (the first of a repeated one), with ``row``, ``zh`` (幢号 =
    ZRZH[20:24]) and ``name`` (JZWMC, else ZRZH) for messages."""
    df = ctx.tables.get("building")
    if "ZRZH" not in df.columns:
        df = df.iloc[0:0]
    df = df[df["ZRZH"].notna()]
    df = df[~df["ZRZH"].duplicated(keep="first")]
    zrzh = df["ZRZH"].astype(object)
    name = df["JZWMC"].astype(object) if "JZWMC" in df.columns else pd.Series(None, index=df.index, dtype=object)
    name = name.where(name.notna(), zrzh)
    return df.assign(row=df.index.to_numpy(dtype=int), zh=zrzh.str[20:24], name=name)


def building_place(ctx: Context, row: int, field: str | None = None, **drawing: Any) -> Place:
    return Place(sheet=BUILDING_SHEET, row=int(row), key=ctx.tables.key_of("building", int(row)), field=field, **drawing)


def site_polygon(site: SiteGeometry | None) -> tuple[Any, str | None]:
    """The first valid YDHX polygon and its handle (the same red line as
    ``schemas.measure.site_ring``), or (None, None)."""
    if site is None:
        return None, None
    b = site.boundary[site.boundary["valid"].astype(bool)]
    if not len(b):
        return None, None
    return b.geometry.values[0], b["handle"].iloc[0]


def representative(geom: Any) -> tuple[float, float] | None:
    if geom is None or shapely.is_empty(geom):
        return None
    p = shapely.point_on_surface(geom)
    return float(p.x), float(p.y)


def reach_outside(geoms: np.ndarray, containers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each geometry reaches outside its container: the largest distance from a
    point of ``geom − container`` to the container's boundary, and that farthest point.

    Pairs are element-wise (``containers`` aligned with ``geoms``). Returns ``(reach,
    xy)``: reach 0 and xy NaN where nothing lies outside.
    """
    geoms = np.asarray(geoms, dtype=object)
    reach = np.zeros(len(geoms))
    xy = np.full((len(geoms), 2), np.nan)
    if not len(geoms):
        return reach, xy
    containers = np.asarray(containers, dtype=object)
    outside = shapely.segmentize(shapely.difference(geoms, containers), DENSIFY)
    coords, idx = shapely.get_coordinates(outside, return_index=True)
    if not len(coords):
        return reach, xy
    d = shapely.distance(shapely.points(coords), shapely.boundary(containers)[idx])
    order = np.lexsort((-d, idx))  # per geometry, the farthest point first
    first = order[np.unique(idx[order], return_index=True)[1]]
    reach[idx[first]] = d[first]
    xy[idx[first]] = coords[first]
    return reach, xy


def matched_footprints(ctx: Context) -> pd.DataFrame:
    """Valid labelled footprints joined to their building (by 幢号), one per 幢号:
    columns handle, geometry, label, zh and the building's ZRZH, row, name, …"""
    site = ctx.geometry.site
    bld = buildings(ctx)
    if site is None or not len(bld):
        return pd.DataFrame(columns=["handle", "geometry", "label", "zh", "ZRZH", "row", "name"])
    fp = site.footprints
    fp = fp[fp["valid"].astype(bool) & fp["zh"].notna()].drop_duplicates("zh", keep="first")
    fp = pd.DataFrame({"handle": fp["handle"].to_numpy(), "geometry": fp.geometry.to_numpy(),
                       "label": fp["label"].to_numpy(), "zh": fp["zh"].to_numpy(dtype=object)})
    bld = bld.drop_duplicates("zh", keep="first").drop(columns=["geometry"], errors="ignore")
    return fp.merge(bld, on="zh", how="inner")


def open_shapes(ctx: Context, drawing: str, std: str) -> int:
    """Open pieces on a polygon layer of a drawing (``"site"``, ``"floor:0001"``) that close
    no ring (schemas.outlines): shapes DXF-004 reported and the geometry model leaves out."""
    d = ctx.package.drawings.get(drawing)
    if d is None:
        return 0
    return loose_count(d, ctx.profile.layer(std), ctx.profile.tolerances.outline_snap)


def _recompute_tolerance(ctx: Context) -> float:
    """rules.md PLN-007..009 "beyond 0.01": one unit of the reported second decimal."""
    return ctx.profile.tolerances.indicator_recompute


# ---------------------------------------------------------------- PLN-001..004: the permit


def missing_indicators(ctx: Context) -> list[Finding]:
    """PLN-001: a required project indicator has no row.

    A row whose ZBDM or FW could not be read (RPT-003/004/005) may be the missing one:
    such indicators are not reported again.
    """
    if "planning_indicator" not in ctx.tables.present:
        return []  # RPT-001
    df = ctx.tables.get("planning_indicator")
    if not {"ZBDM", "FW"} <= set(df.columns):
        return []  # RPT-002
    ind = indicators(ctx)
    present = set(ind.loc[ind["project"], "ZBDM"])
    missing = [c for c in REQUIRED if c not in present]
    # an indicator whose scope is unreadable: RPT-004 told the firm
    unscoped = set(df.loc[df["FW"].isna() & df["ZBDM"].notna(), "ZBDM"].astype(object))
    missing = [c for c in missing if c not in unscoped]
    unknown = int((df["ZBDM"].isna() & (df["FW"].isna() | (df["FW"] == PROJECT))).sum())
    if len(missing) <= unknown:
        return []  # each may be one of the rows whose code could not be read
    return [
        make("PLN-001", Place(sheet=INDICATOR_SHEET, key=f"{c}/{PROJECT}", field="ZBDM"), indicator=indicator_name(c))
        for c in missing
    ]


def maxima(ctx: Context) -> list[Finding]:
    """PLN-002: RJL, JZMD over GHZ; JZGD over GHZ + jzgd_over; JRMJ / ZJZMJ over GHZ by
    more than the tier of GHZ (capped), any scope."""
    ind = indicators(ctx)
    code = ind["ZBDM"]
    tol = pd.Series(np.nan, index=ind.index)
    tol[code.isin(["RJL", "JZMD"])] = 0.0
    tol[code == "JZGD"] = ctx.profile.tolerances.jzgd_over
    areas = code.isin(["JRMJ", "ZJZMJ"]) & ind["GHZ"].notna()
    tol[areas] = ind.loc[areas, "GHZ"].map(ctx.profile.area_tier_tolerance)
    over = (ind["SCZ"] - ind["GHZ"]) > tol + EPS  # NaN compares False
    out = []
    for r in ind[over.fillna(False)].itertuples():
        out.append(
            make("PLN-002", indicator_place(ctx, r.row), expected=num(r.GHZ), actual=num(r.SCZ),
                 tolerance=round(float(tol[r.Index]), 6), scope=scope_text(r.FW), indicator=indicator_name(r.ZBDM),
                 **unit_of(r.ZBDM))
        )
    return out


def minima(ctx: Context) -> list[Finding]:
    """PLN-003: LDL or JDCW under GHZ, any scope."""
    ind = indicators(ctx)
    under = ind["ZBDM"].isin(["LDL", "JDCW"]) & (ind["SCZ"] < ind["GHZ"] - EPS)
    return [
        make("PLN-003", indicator_place(ctx, r.row), expected=num(r.GHZ), actual=num(r.SCZ),
             scope=scope_text(r.FW), indicator=indicator_name(r.ZBDM), **unit_of(r.ZBDM))
        for r in ind[under].itertuples()
    ]


def storeys(ctx: Context) -> list[Finding]:
    """PLN-004: DSCS or DXCS measured ≠ permitted, any scope."""
    ind = indicators(ctx)
    differ = ind["ZBDM"].isin(["DSCS", "DXCS"]) & ((ind["SCZ"] - ind["GHZ"]).abs() > EPS)
    return [
        make("PLN-004", indicator_place(ctx, r.row), expected=num(r.GHZ), actual=num(r.SCZ),
             scope=scope_text(r.FW), indicator=indicator_name(r.ZBDM))
        for r in ind[differ].itertuples()
    ]


# ---------------------------------------------------------------- PLN-005..009: the figures


def site_area(ctx: Context) -> list[Finding]:
    """PLN-005: YDMJ (SCZ) vs the area of the YDHX polygon, beyond ydmj_vs_drawing."""
    got = project_scz(ctx, "YDMJ")
    poly, handle = site_polygon(ctx.geometry.site)
    if got is None or poly is None:
        return []
    (scz, rows), drawn = got, float(shapely.area(poly))
    tol = ctx.profile.tolerances.ydmj_vs_drawing
    if abs(scz["YDMJ"] - drawn) <= tol + EPS:
        return []
    place = indicator_place(ctx, rows["YDMJ"], file=ctx.geometry.site_file, layer=ctx.profile.layer("YDHX"), handle=handle)
    return [make("PLN-005", place, expected=round(drawn, 3), actual=num(scz["YDMJ"]), tolerance=tol,
                 location=representative(poly))]


def unmatched_buildings(ctx: Context) -> pd.DataFrame:
    """自然幢 rows without any labelled footprint of their 幢号 (PLN-013's first half).

    A building is not reported where a drawing rule already explains the gap: its ``n#``
    label is drawn but in no footprint (DXF-006 / DXF-007: an open outline, a label
    misplaced), or there are at least as many footprints the model cannot name (unlabelled:
    DXF-006; open: DXF-004) as buildings without one. No footprint at all is DXF-003.
    """
    site = ctx.geometry.site
    bld = buildings(ctx)
    if site is None or "building" not in ctx.tables.present or not len(site.footprints):
        return bld.iloc[0:0]
    fp = site.footprints
    missing = bld[~bld["zh"].isin(set(fp["zh"].dropna()))]
    drawing = ctx.package.drawings.get("site")
    if drawing is not None and len(drawing.texts):
        texts = drawing.texts.loc[drawing.texts["layer"] == ctx.profile.layer("JZJD"), "text"].astype("string")
        numbers = texts.str.extract(BUILDING_LABEL.pattern, expand=False).dropna()
        drawn_labels = {f"{int(n):04d}" for n in numbers}
        missing = missing[~missing["zh"].isin(drawn_labels)]
    unnamed = int(fp["label"].isna().sum()) + open_shapes(ctx, "site", "JZJD")
    return missing.iloc[0:0] if len(missing) <= unnamed else missing


def footprint_area(ctx: Context) -> list[Finding]:
    """PLN-006: JDMJ (SCZ) vs Σ JZJD footprint areas, beyond the 房产 limit of that sum.

    Not judged while a footprint is invalid (DXF-005) or open (DXF-004), or a building
    has none (PLN-013): the sum would be incomplete for a reason already reported.
    """
    site = ctx.geometry.site
    got = project_scz(ctx, "JDMJ")
    if got is None or site is None or not len(site.footprints):
        return []
    if not site.footprints["valid"].astype(bool).all() or open_shapes(ctx, "site", "JZJD"):
        return []  # DXF-005 / DXF-004: a footprint the sum cannot take
    if len(unmatched_buildings(ctx)):
        return []  # PLN-013
    scz, rows = got
    total = float(shapely.area(site.footprints.geometry.values).sum())
    limit = ctx.profile.area_limit(total, ctx.fcmjjd)
    if abs(scz["JDMJ"] - total) <= limit + EPS:
        return []
    place = indicator_place(ctx, rows["JDMJ"], file=ctx.geometry.site_file, layer=ctx.profile.layer("JZJD"))
    return [make("PLN-006", place, expected=round(total, 3), actual=num(scz["JDMJ"]), tolerance=round(limit, 6))]


def _ratio_finding(ctx: Context, code: str, reported: float, computed: float, row: int, **drawing: Any) -> list[Finding]:
    tol = _recompute_tolerance(ctx)
    if abs(reported - computed) <= tol + EPS:
        return []
    return [make(code, indicator_place(ctx, row, **drawing), expected=num(computed), actual=num(reported), tolerance=tol)]


def density(ctx: Context) -> list[Finding]:
    """PLN-007: JZMD ≠ round(JDMJ / YDMJ × 100, 2), all three as reported."""
    got = project_scz(ctx, "JZMD", "JDMJ", "YDMJ")
    if got is None or got[0]["YDMJ"] <= 0:
        return []
    scz, rows = got
    computed = round(scz["JDMJ"] / scz["YDMJ"] * 100, 2)
    return _ratio_finding(ctx, "PLN-007", scz["JZMD"], computed, rows["JZMD"])


def green_ratio(ctx: Context) -> list[Finding]:
    """PLN-008: LDL (SCZ) ≠ round(Σ area(LDFW ∩ YDHX) / YDMJ (SCZ) × 100, 2).

    Not judged while a green or the red line is invalid (DXF-005), a green is open
    (DXF-004) or the LDFW layer is empty (DXF-003).
    """
    site = ctx.geometry.site
    got = project_scz(ctx, "LDL", "YDMJ")
    poly, _ = site_polygon(site)
    if site is None or got is None or poly is None or got[0]["YDMJ"] <= 0 or not len(site.green):
        return []
    if not site.green["valid"].astype(bool).all() or open_shapes(ctx, "site", "LDFW"):
        return []  # DXF-005 / DXF-004: a green the sum cannot take
    scz, rows = got
    inside = float(shapely.area(shapely.intersection(site.green.geometry.values, poly)).sum())
    computed = round(inside / scz["YDMJ"] * 100, 2)
    return _ratio_finding(ctx, "PLN-008", scz["LDL"], computed, rows["LDL"],
                          file=ctx.geometry.site_file, layer=ctx.profile.layer("LDFW"))


def plot_ratio(ctx: Context) -> list[Finding]:
    """PLN-009: RJL ≠ round(JRMJ / YDMJ, 2), all three as reported."""
    got = project_scz(ctx, "RJL", "JRMJ", "YDMJ")
    if got is None or got[0]["YDMJ"] <= 0:
        return []
    scz, rows = got
    computed = round(scz["JRMJ"] / scz["YDMJ"], 2)
    return _ratio_finding(ctx, "PLN-009", scz["RJL"], computed, rows["RJL"])


# ---------------------------------------------------------------- PLN-010..013: the site drawing


def _outside_site(ctx: Context) -> pd.DataFrame:
    """Valid footprints reaching outside the red line beyond footprint_outside_site:
    handle, geometry, label, zh, reach, x, y."""
    site = ctx.geometry.site
    poly, _ = site_polygon(site)
    cols = ["handle", "geometry", "label", "zh", "reach", "x", "y"]
    if site is None or poly is None or not len(site.footprints):
        return pd.DataFrame(columns=cols)
    fp = site.footprints[site.footprints["valid"].astype(bool)]
    geoms = fp.geometry.to_numpy()
    reach, xy = reach_outside(geoms, np.full(len(geoms), poly, dtype=object))
    out = pd.DataFrame({"handle": fp["handle"].to_numpy(), "geometry": geoms, "label": fp["label"].to_numpy(),
                        "zh": fp["zh"].to_numpy(dtype=object), "reach": reach, "x": xy[:, 0], "y": xy[:, 1]})
    return out[out["reach"] > ctx.profile.tolerances.footprint_outside_site + EPS]


def outside_site(ctx: Context) -> list[Finding]:
    """PLN-010: a footprint reaches outside YDHX by more than footprint_outside_site,
    measured as the farthest point of its outside part from the red line."""
    out_ = _outside_site(ctx)
    if not len(out_):
        return []
    bld = buildings(ctx).drop_duplicates("zh").set_index("zh")
    tol = ctx.profile.tolerances.footprint_outside_site
    layer = ctx.profile.layer("JZJD")
    found = []
    for r in out_.itertuples():
        b = bld.loc[r.zh] if isinstance(r.zh, str) and r.zh in bld.index else None
        drawing = {"file": ctx.geometry.site_file, "layer": layer, "handle": r.handle}
        if b is not None:
            place = building_place(ctx, b["row"], **drawing)
            name = b["name"]
        else:
            label = r.label if isinstance(r.label, str) else None
            place = Place(key=label, **drawing)
            name = f"建筑基底 {label}" if label else f"建筑基底（句柄 {r.handle}）"
        found.append(make("PLN-010", place, actual=round(float(r.reach), 3), tolerance=tol,
                          location=(float(r.x), float(r.y)), key=name))
    return found


def setback_rules(ctx: Context) -> list[Finding]:
    """PLN-011 (SCZ vs the distance measured on the drawing) and PLN-012 (measured distance
    below GHYQ − setback_below_requirement) for every 退让 row.

    Distances come from ``schemas.measure.setbacks`` (the planning product shows the same
    figures). A row without a measurable distance (no footprint: PLN-013; no road line:
    DXF-003) is skipped, and so is the red-line setback of a footprint that reaches outside
    the red line (PLN-010 said it).
    """
    site = ctx.geometry.site
    sb = ctx.tables.get("setback")
    if site is None or not len(sb) or not {"ZRZH", "DX"} <= set(sb.columns):
        return []
    sb = sb.reindex(columns=["ZRZH", "DX", "GHYQ", "SCZ"])
    sb = sb[sb["ZRZH"].notna() & sb["DX"].notna()]
    sb = pd.DataFrame({"ZRZH": sb["ZRZH"].astype(object), "DX": sb["DX"].astype(object),
                       "GHYQ": sb["GHYQ"].astype(float), "SCZ": sb["SCZ"].astype(float),
                       "row": sb.index.to_numpy(dtype=int)})
    sb["zh"] = sb["ZRZH"].str[20:24]
    measured = setbacks(site, sb["zh"])
    if not len(measured):
        return []
    measured = pd.DataFrame({"zh": measured["zh"].to_numpy(dtype=object), "DX": measured["DX"].to_numpy(dtype=object),
                             "distance": measured["distance"].to_numpy(dtype=float), "line": measured.geometry.to_numpy()})
    sb = sb.merge(measured, on=["zh", "DX"], how="left")
    outside = set(_outside_site(ctx)["zh"].dropna())
    sb = sb[sb["distance"].notna() & ~((sb["DX"] == "用地红线") & sb["zh"].isin(outside))]
    t = ctx.profile.tolerances
    wrong = (sb["SCZ"] - sb["distance"]).abs() > t.setback_vs_drawing + EPS
    short = sb["distance"] < sb["GHYQ"] - t.setback_below_requirement - EPS
    names = buildings(ctx).set_index("ZRZH")["name"]
    found = []
    for r in sb[wrong | short].itertuples():
        place = Place(sheet=SETBACK_SHEET, row=int(r.row), key=ctx.tables.key_of("setback", int(r.row)), field="SCZ",
                      file=ctx.geometry.site_file, layer=ctx.profile.layer("JZJD"))
        start = shapely.get_coordinates(r.line)
        at = (float(start[0][0]), float(start[0][1])) if len(start) else None
        name = names.get(r.ZRZH, r.ZRZH)
        if wrong[r.Index]:
            found.append(make("PLN-011", place, expected=round(r.distance, 3), actual=num(r.SCZ),
                              tolerance=t.setback_vs_drawing, location=at, key=name, target=r.DX))
        if short[r.Index]:
            found.append(make("PLN-012", place, expected=num(r.GHYQ), actual=round(r.distance, 3),
                              tolerance=t.setback_below_requirement, location=at, key=name, target=r.DX))
    return found


def building_footprints(ctx: Context) -> list[Finding]:
    """PLN-013: a 自然幢 without a footprint (labelled ``n#``) in site.dxf, or a labelled
    footprint whose 幢号 is no building's. Unlabelled footprints are DXF-006's."""
    site = ctx.geometry.site
    if site is None or "building" not in ctx.tables.present:
        return []
    layer = ctx.profile.layer("JZJD")
    found = []
    for r in unmatched_buildings(ctx).itertuples():
        label = f"{int(r.zh)}#" if isinstance(r.zh, str) and r.zh.isdigit() else "?"
        found.append(make("PLN-013", building_place(ctx, r.row, "ZRZH", file=ctx.geometry.site_file, layer=layer),
                          reason=f"自然幢 {r.ZRZH}（{r.name}）在总平面图 {layer} 图层上没有基底（应注记 {label}）"))
    fp = site.footprints
    known = set(buildings(ctx)["zh"].dropna())
    labelled = fp["label"].notna()
    stray = fp[labelled & ~fp["zh"].isin(known)]
    reps = shapely.point_on_surface(shapely.make_valid(stray.geometry.values)) if len(stray) else []
    for r, p in zip(stray.itertuples(), reps, strict=True):
        found.append(make("PLN-013", Place(key=r.label, file=ctx.geometry.site_file, layer=layer, handle=r.handle),
                          location=(float(p.x), float(p.y)),
                          reason=f"总平面图基底 “{r.label}”（句柄 {r.handle}）没有对应的自然幢"))
    return found


# ---------------------------------------------------------------- PLN-014: building-scope indicators


def building_indicators(ctx: Context) -> list[Finding]:
    """PLN-014: a building-scope DSCS / JZGD indicator (SCZ) ≠ the 自然幢 DSCS / JZWGD.
    An FW that is no building is RPT-009's."""
    ind = indicators(ctx)
    ind = ind[~ind["project"] & ind["ZBDM"].isin(["DSCS", "JZGD"])]
    bld = buildings(ctx)
    if not len(ind) or not len(bld):
        return []
    column = {"DSCS": "DSCS", "JZGD": "JZWGD"}
    table = pd.concat(
        [pd.DataFrame({"FW": bld["ZRZH"].astype(object), "ZBDM": code,
                       "value": bld[col].astype(float) if col in bld.columns else np.nan})
         for code, col in column.items()],
        ignore_index=True,
    )
    both = ind.merge(table, on=["FW", "ZBDM"], how="inner")
    differ = (both["SCZ"] - both["value"]).abs() > EPS  # NaN on either side: RPT said it
    return [
        make("PLN-014", indicator_place(ctx, r.row), expected=num(r.value), actual=num(r.SCZ),
             key=r.FW, indicator=indicator_name(r.ZBDM))
        for r in both[differ].itertuples()
    ]


RULES = located([
    missing_indicators,
    maxima,
    minima,
    storeys,
    site_area,
    footprint_area,
    density,
    green_ratio,
    plot_ratio,
    outside_site,
    setback_rules,
    building_footprints,
    building_indicators,
])
