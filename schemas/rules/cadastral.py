"""Cadastral survey (不动产权籍调查): CAD-001..015 of spec/rules.md.

Three groups of rules:

- **Codes** (CAD-001..005, GB/T 37346-2019): the structure of every ZDDM, BDCDYH and ZRZH
  where the package carries one — 宗地 ZDDM and BDCDYH, 界址点 / 界址线 / 自然幢 ZDDM, 自然幢
  ZRZH, 户 BDCDYH and the ZDDM of each ZD polygon in parcel.dxf — judged by the pure parsers
  of :mod:`schemas.codes`, once per place (sheet + row, or drawing + handle). The ZDDM
  part of a BDCDYH or ZRZH is judged as a ZDDM (CAD-001, 003, 004, 005), the rest as the
  unit code (CAD-002).
- **Boundary points** (CAD-006..010, 013): per parcel, from the 界址点 table in survey axes
  (X = XZBZ north, Y = YZBZ east; the CRS step has already swapped them back and stripped
  a zone prefix): numbering, orientation, north-west start, a valid ring, the parcel's area
  and the taped edge lengths of 界址线.
- **Table against drawing** (CAD-011, 012, 014, 015): the JZD points and ZD polygons of
  parcel.dxf against the table, overlapping parcels, the land unit's BDCDYH.

Each rule says nothing where another rule has already said why it cannot judge: a value
that could not be read (RPT-003/004), a row repeated whole or a repeated JZDH (RPT-006), a
point of an unknown parcel (RPT-009), an unreadable drawing (DXF-001 / PKG-008), a missing
layer (DXF-003), an invalid ZD polygon (DXF-005), a point without its label (DXF-006).
The order-dependent rules (CAD-007..010) need a parcel whose points CAD-006 can order
(at least 3 points, SXH known and unique); orientation and area also need a valid ring
(CAD-009).

Locations are in the project CRS: x = easting = YZBZ, y = northing = XZBZ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.codes import (
    BDCDYH_LENGTH,
    ZRZH_LENGTH,
    bdcdyh_structure,
    zddm_county,
    zddm_pair,
    zddm_part,
    zddm_structure,
    zddm_virtual,
    zrzh_structure,
)
from schemas.context import Context
from schemas.drawings import rep_points
from schemas.findings import Finding, Place
from schemas.rules import located

EPS = 1e-6  # rules.md: "differs by more than t" means |a − b| > t + 1e-6
PARCEL_SHEET, POINT_SHEET, LINE_SHEET = "宗地", "界址点", "界址线"
SHEET_NAMES = {"parcel": "宗地", "boundary_point": "界址点", "boundary_line": "界址线", "building": "自然幢", "unit": "户"}
# every code column judged by CAD-001..005: (sheet key, column, kind of code)
CODE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("parcel", "ZDDM", "ZDDM"),
    ("parcel", "BDCDYH", "BDCDYH"),
    ("boundary_point", "ZDDM", "ZDDM"),
    ("boundary_line", "ZDDM", "ZDDM"),
    ("building", "ZDDM", "ZDDM"),
    ("building", "ZRZH", "ZRZH"),
    ("unit", "BDCDYH", "BDCDYH"),
)
KIND_NAMES = {"ZDDM": "宗地代码", "BDCDYH": "不动产单元号", "ZRZH": "自然幢号"}
LAND_UNIT_SUFFIX = "W00000000"  # CAD-015: a parcel's land unit is ZDDM + W + 8 zeros
COORDS = "XZBZ/YZBZ"  # the field of a point's coordinates


# ---------------------------------------------------------------- shared helpers


def _columns_read(ctx: Context, sheet_key: str, *columns: str) -> bool:
    """Whether the report's sheet has these columns (else RPT-001/002 said so, and a rule
    that would read an empty column as "nothing there" must stay silent)."""
    if sheet_key not in ctx.tables.present:
        return False
    raw = ctx.package.tables.get(sheet_key)
    return raw is None or set(columns) <= set(raw.columns)


def _xy(point: Any) -> tuple[float, float] | None:
    if point is None or shapely.is_empty(point):
        return None
    x, y = shapely.get_coordinates(point)[0]
    return (float(x), float(y)) if np.isfinite(x) and np.isfinite(y) else None


def _inside_point(geom: Any) -> tuple[float, float] | None:
    """A point on a polygon (made valid first when it is not), for a finding's place."""
    if geom is None or shapely.is_empty(geom):
        return None
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    return _xy(shapely.point_on_surface(geom))


def _point_place(ctx: Context, row: int, field: str, **drawing: Any) -> Place:
    return Place(sheet=POINT_SHEET, row=int(row), key=ctx.tables.key_of("boundary_point", int(row)), field=field, **drawing)


def _parcel_rows(ctx: Context) -> pd.DataFrame:
    """宗地 rows with a ZDDM, the first of a repeated one (RPT-006 said the others), with ``row``."""
    df = ctx.tables.get("parcel")
    df = df[df["ZDDM"].notna()]
    df = df[~df["ZDDM"].duplicated(keep="first")]
    return df.assign(row=df.index.to_numpy(dtype=int))


def _zd_polygons(ctx: Context) -> pd.DataFrame:
    """Valid ZD polygons of parcel.dxf: handle, zddm, geometry (empty without a drawing)."""
    geo = ctx.geometry.parcel
    if geo is None or not len(geo.parcels):
        return pd.DataFrame({"handle": [], "zddm": [], "geometry": []})
    zd = geo.parcels[geo.parcels["valid"].astype(bool)]
    return pd.DataFrame({"handle": zd["handle"].astype(object).to_numpy(), "zddm": zd["zddm"].astype(object).to_numpy(),
                         "geometry": zd.geometry.to_numpy()})


# ---------------------------------------------------------------- CAD-001..005: codes


def code_cells(ctx: Context) -> pd.DataFrame:
    """Every code the package carries, one row per place.

    Columns: ``kind`` (ZDDM / BDCDYH / ZRZH), ``value``, ``zddm`` (the ZDDM itself or the
    leading ZDDM of a BDCDYH / ZRZH of full length, else NA), and the place: ``sheet, row,
    key, field`` for a table cell, ``file, layer, handle, x, y`` for a ZD polygon's label.
    """
    parts: list[pd.DataFrame] = []
    for sheet_key, column, kind in CODE_COLUMNS:
        df = ctx.tables.frames.get(sheet_key)
        if df is None or column not in df.columns:
            continue
        present = df[column].notna()
        if not present.any():
            continue
        sub = df[present]
        parts.append(pd.DataFrame({
            "kind": kind, "value": sub[column].astype("string"), "sheet": SHEET_NAMES[sheet_key],
            "row": sub.index.to_numpy(dtype=int), "key": ctx.tables.row_keys(sheet_key)[present], "field": column,
        }))
    geo = ctx.geometry.parcel
    if geo is not None and len(geo.parcels):
        zd = geo.parcels[geo.parcels["zddm"].notna()]
        if len(zd):
            at = rep_points(zd.geometry.to_numpy())
            parts.append(pd.DataFrame({
                "kind": "ZDDM", "value": zd["zddm"].astype("string").to_numpy(), "file": ctx.geometry.parcel_file,
                "layer": ctx.profile.layer("ZD"), "handle": zd["handle"].astype(object).to_numpy(), "x": at[:, 0], "y": at[:, 1],
            }))
    columns = ["kind", "value", "sheet", "row", "key", "field", "file", "layer", "handle", "x", "y"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}).assign(zddm=pd.Series(dtype="string"))
    cells = pd.concat(parts, ignore_index=True).reindex(columns=columns)
    cells["value"] = cells["value"].astype("string")
    zddm = cells["value"].where(cells["kind"] == "ZDDM")
    for kind, length in (("BDCDYH", BDCDYH_LENGTH), ("ZRZH", ZRZH_LENGTH)):
        own = (cells["kind"] == kind).to_numpy()
        zddm[own] = zddm_part(cells.loc[own, "value"], length)
    return cells.assign(zddm=zddm.astype("string"))


def _cell_place(cell: Any) -> dict[str, Any]:
    """The place (and location) of one code cell (a row of :func:`code_cells` as a tuple)."""
    if isinstance(cell.sheet, str):
        key = None if pd.isna(cell.key) else str(cell.key)
        return {"place": Place(sheet=cell.sheet, row=int(cell.row), key=key, field=cell.field)}
    at = (float(cell.x), float(cell.y)) if pd.notna(cell.x) and pd.notna(cell.y) else None
    return {"place": Place(file=cell.file, layer=cell.layer, handle=cell.handle), "location": at}


def _whose(cell: Any) -> str:
    """``（不动产单元号 … 的前 19 位）`` for the ZDDM part of a longer code, else ''."""
    return "" if cell.kind == "ZDDM" else f"（{KIND_NAMES[cell.kind]} {cell.value} 的前 19 位）"


def once_per_place(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells whose ZDDM part is judged: one per ZDDM value and place (a 宗地 row's
    ZDDM and the ZDDM part of its BDCDYH are one value at one place: said once, at the
    first column that carries it)."""
    place = cells[["sheet", "row", "file", "handle"]].astype(object).where(cells[["sheet", "row", "file", "handle"]].notna(), "")
    return cells[~place.assign(zddm=cells["zddm"].astype(object)).duplicated(keep="first")]


def zddm_structure_findings(cells: pd.DataFrame) -> list[Finding]:
    """CAD-001: a ZDDM (or the ZDDM part of a BDCDYH / ZRZH) not of the 19-character structure.

    ``cells``, here and in CAD-003..005: :func:`once_per_place` of :func:`code_cells`, taken
    once for the four rules."""
    reasons = zddm_structure(cells["zddm"])
    hit = reasons.notna().to_numpy()
    return [
        make("CAD-001", **_cell_place(cell), actual=str(cell.value), value=cell.zddm, reason=f"{reason}{_whose(cell)}")
        for cell, reason in zip(cells[hit].itertuples(index=False), reasons[hit], strict=True)
    ]


def unit_code_findings(cells: pd.DataFrame) -> list[Finding]:
    """CAD-002: a BDCDYH not ZDDM + 定着物特征码 + 8 digits (W → 00000000, F → 幢号 + 户号),
    or a ZRZH not ZDDM + F + 幢号; a code of the wrong length is this rule's alone."""
    reasons = pd.Series(pd.NA, index=cells.index, dtype="string")
    for kind, judge in (("BDCDYH", bdcdyh_structure), ("ZRZH", zrzh_structure)):
        own = (cells["kind"] == kind).to_numpy()
        reasons[own] = judge(cells.loc[own, "value"])
    hit = reasons.notna().to_numpy()
    return [
        make("CAD-002", **_cell_place(cell), actual=str(cell.value), value=cell.value, reason=reason, what=KIND_NAMES[cell.kind])
        for cell, reason in zip(cells[hit].itertuples(index=False), reasons[hit], strict=True)
    ]


def zddm_pair_findings(cells: pd.DataFrame) -> list[Finding]:
    """CAD-003: allowed letters in a pair that may not go together (A or C without J)."""
    pairs = zddm_pair(cells["zddm"])
    hit = pairs.notna().to_numpy()
    return [
        make("CAD-003", **_cell_place(cell), actual=str(cell.value), value=cell.zddm, pair=pair)
        for cell, pair in zip(cells[hit].itertuples(index=False), pairs[hit], strict=True)
    ]


def virtual_code_findings(cells: pd.DataFrame) -> list[Finding]:
    """CAD-004 (warning): a virtual ZDDM, 地籍区 + 地籍子区 = 000000."""
    hit = zddm_virtual(cells["zddm"]).notna().to_numpy()
    return [make("CAD-004", **_cell_place(cell), actual=str(cell.value), value=cell.zddm) for cell in cells[hit].itertuples(index=False)]


def county_findings(cells: pd.DataFrame, counties: dict[str, str], area: str) -> list[Finding]:
    """CAD-005 (warning): the county code of a ZDDM is not in the profile's list."""
    county = zddm_county(cells["zddm"], counties)
    hit = county.notna().to_numpy()
    return [
        make("CAD-005", **_cell_place(cell), actual=str(cell.value), value=cell.zddm, county=c, area=area)
        for cell, c in zip(cells[hit].itertuples(index=False), county[hit], strict=True)
    ]


def unit_codes(ctx: Context) -> list[Finding]:
    """CAD-001..005 over every code of the package, each code value judged once per place."""
    cells = code_cells(ctx)
    if not len(cells):
        return []
    once = once_per_place(cells)  # the ZDDM parts CAD-001, 003..005 judge
    return (
        zddm_structure_findings(once)
        + unit_code_findings(cells)
        + zddm_pair_findings(once)
        + virtual_code_findings(once)
        + county_findings(once, ctx.profile.counties, ctx.profile.title or ctx.profile.name)
    )


# ---------------------------------------------------------------- boundary points of a parcel


def boundary_points(ctx: Context) -> pd.DataFrame:
    """The 界址点 rows that are judged, with ``row``, ``X`` (north) and ``Y`` (east).

    A row of an unknown parcel (RPT-009) and a row repeated whole (RPT-006) are left out.
    """
    if "boundary_point" not in ctx.tables.present:
        return pd.DataFrame(columns=["ZDDM", "JZDH", "SXH", "X", "Y", "row"])
    bp = ctx.tables.get("boundary_point")
    bp = bp[bp["ZDDM"].notna()]
    if "parcel" in ctx.tables.present:
        bp = bp[bp["ZDDM"].isin(set(_parcel_rows(ctx)["ZDDM"])).fillna(False).astype(bool)]
    whole = ["ZDDM", "JZDH", "SXH", "XZBZ", "YZBZ"]
    bp = bp[~(bp["JZDH"].notna() & bp.duplicated(whole, keep="first"))]
    return pd.DataFrame({
        "ZDDM": bp["ZDDM"].astype(object), "JZDH": bp["JZDH"].astype(object), "SXH": bp["SXH"].astype(float),
        "X": bp["XZBZ"].astype(float), "Y": bp["YZBZ"].astype(float), "row": bp.index.to_numpy(dtype=int),
    }, index=bp.index)


@dataclass
class Rings:
    """The boundary points of every parcel that can be ordered, and what they form.

    ``points``: the ordered points (by ZDDM, then SXH) with ``pos`` (0-based position).
    ``parcels`` (indexed by ZDDM): ``first_row`` (the row of the first point), ``x0, y0``
    (its place: east, north), ``S`` (signed area, survey axes), ``ring`` (the polygon,
    east/north), ``reason`` (why the ring is invalid, NA when valid), ``at_x, at_y``
    (where), ``valid`` (a ring of positive area without GEOS defects; a repeated point
    alone still leaves its area and orientation meaningful).
    """

    points: pd.DataFrame
    parcels: pd.DataFrame


def _groups(bp: pd.DataFrame) -> pd.DataFrame:
    """Per parcel: point count and whether SXH and the coordinates are all known and usable."""
    key = bp["ZDDM"]
    known = (bp["SXH"].notna() & (bp["SXH"] >= 1)).groupby(key).all()
    repeated = (bp["SXH"].notna() & bp.duplicated(["ZDDM", "SXH"], keep=False)).groupby(key).any()
    return pd.DataFrame({
        "n": bp.groupby(key).size(),
        "sxh_known": known,
        "sxh_unique": ~repeated,
        "xy_known": (bp["X"].notna() & bp["Y"].notna()).groupby(key).all(),
    })


def rings(ctx: Context) -> Rings:
    """The ordered rings of the parcels whose points CAD-006 lets us order."""
    bp = boundary_points(ctx)
    empty = pd.DataFrame(columns=["first_row", "x0", "y0", "S", "ring", "reason", "at_x", "at_y", "valid"])
    if not len(bp):
        return Rings(bp.assign(pos=pd.Series(dtype=int)), empty)
    groups = _groups(bp)
    ok = groups.index[(groups["n"] >= 3) & groups["sxh_known"] & groups["sxh_unique"] & groups["xy_known"]]
    pts = bp[bp["ZDDM"].isin(set(ok))].sort_values(["ZDDM", "SXH"], kind="stable")
    if not len(pts):
        return Rings(pts.assign(pos=pd.Series(dtype=int)), empty)
    key = pts["ZDDM"]
    g = pts.groupby(key, sort=False)
    pts = pts.assign(pos=g.cumcount())
    # S = ½ Σ Xᵢ(Yᵢ₊₁ − Yᵢ₋₁), centred on the parcel's mean to keep the digits
    x = pts["X"] - g["X"].transform("mean")
    y = pts["Y"] - g["Y"].transform("mean")
    y_next = y.groupby(key, sort=False).shift(-1).fillna(y.groupby(key, sort=False).transform("first"))
    y_prev = y.groupby(key, sort=False).shift(1).fillna(y.groupby(key, sort=False).transform("last"))
    signed = (0.5 * x * (y_next - y_prev)).groupby(key, sort=False).sum()
    codes, names = pd.factorize(key, sort=False)
    polys = shapely.polygons(shapely.linearrings(pts[["Y", "X"]].to_numpy(float), indices=codes))
    reasons = pd.Series(shapely.is_valid_reason(polys), index=names, dtype=object)
    first = pts[pts["pos"] == 0].set_index("ZDDM")
    parcels = pd.DataFrame({"first_row": first["row"], "x0": first["Y"], "y0": first["X"], "S": signed,
                            "ring": pd.Series(list(polys), index=names, dtype=object)})
    geos_valid = (reasons == "Valid Geometry") & pd.Series(shapely.area(polys) > 1e-9, index=names)
    reason = reasons.map(_reason_text).where(~geos_valid)
    at = reasons.str.extract(r"\[(-?[\d.e+]+) (-?[\d.e+]+)\]").astype(float)
    parcels = parcels.assign(reason=reason.astype(object), at_x=at[0], at_y=at[1], valid=geos_valid)
    # repeated points (to the millimetre): a defect of the ring even where GEOS accepts it
    mm = pts.assign(xr=pts["X"].round(3), yr=pts["Y"].round(3))
    again = mm[mm.duplicated(["ZDDM", "xr", "yr"], keep="first")].drop_duplicates("ZDDM")
    if len(again):
        origin = mm.drop_duplicates(["ZDDM", "xr", "yr"]).set_index(["ZDDM", "xr", "yr"])["JZDH"]
        for r in again.itertuples():  # one per parcel with a repeated point (few)
            if pd.isna(parcels.at[r.ZDDM, "reason"]):
                same = origin.get((r.ZDDM, r.xr, r.yr))
                parcels.at[r.ZDDM, "reason"] = f"界址点 {r.JZDH} 与 {same} 坐标相同（重复点）"
                parcels.at[r.ZDDM, "at_x"], parcels.at[r.ZDDM, "at_y"] = r.Y, r.X
    return Rings(pts, parcels)


def _reason_text(reason: str) -> str:
    """shapely's reason, with its Chinese name in front."""
    if reason.startswith("Ring Self-intersection"):
        return f"环自相交 {reason}"
    if reason.startswith("Self-intersection"):
        return f"自相交 {reason}"
    if reason == "Valid Geometry":
        return "面积为零（界址点共线）"
    return reason


def point_numbering(ctx: Context) -> list[Finding]:
    """CAD-006: a parcel with fewer than 3 boundary points, or SXH not 1..n without gaps or
    repeats. A repeated JZDH is RPT-006's (ZDDM + JZDH is the sheet's key); an SXH that
    could not be read or is below 1 is RPT-003/004/007's, and the parcel is not judged."""
    if "boundary_point" not in ctx.tables.present:
        return []  # RPT-001 (界址点 is required)
    bp = boundary_points(ctx)
    out: list[Finding] = []
    counted = bp.groupby("ZDDM").size() if len(bp) else pd.Series(dtype=int)
    if "parcel" in ctx.tables.present and _columns_read(ctx, "boundary_point", "ZDDM"):  # a parcel without any point
        parcels = _parcel_rows(ctx)
        for r in parcels[~parcels["ZDDM"].isin(set(counted.index))].itertuples():
            place = Place(sheet=PARCEL_SHEET, row=int(r.row), key=ctx.tables.key_of("parcel", int(r.row)), field="ZDDM")
            out.append(make("CAD-006", place, actual=0, key=r.ZDDM, reason="界址点表中没有该宗地的界址点（至少 3 个）"))
    if not len(bp):
        return out
    groups = _groups(bp)
    first_rows = bp.groupby("ZDDM")["row"].min()
    for zddm in groups.index[groups["n"] < 3]:
        row = int(first_rows[zddm])
        n = int(groups.at[zddm, "n"])
        out.append(make("CAD-006", _point_place(ctx, row, "JZDH"), actual=n, key=zddm, reason=f"只有 {n} 个界址点，至少应有 3 个"))
    judged = groups.index[(groups["n"] >= 3) & groups["sxh_known"]]
    pts = bp[bp["ZDDM"].isin(set(judged))].sort_values(["ZDDM", "SXH", "row"], kind="stable")
    pts = pts.assign(rank=pts.groupby("ZDDM", sort=False).cumcount() + 1)
    off = pts[pts["SXH"] != pts["rank"]].drop_duplicates("ZDDM")  # the first point out of step
    for r in off.itertuples():  # one per parcel (few)
        sxh = pts.loc[pts["ZDDM"] == r.ZDDM, "SXH"].astype(int)
        n = len(sxh)
        repeated = sorted(set(sxh[sxh.duplicated()]))
        missing = sorted(set(range(1, n + 1)) - set(sxh))
        details = ([f"重复 {'、'.join(map(str, repeated))}"] if repeated else []) + (
            [f"缺 {'、'.join(map(str, missing))}"] if missing else [])
        reason = f"顺序号 SXH 应为 1–{n} 连续不重复" + (f"（{'，'.join(details)}）" if details else "")
        out.append(make("CAD-006", _point_place(ctx, r.row, "SXH"), expected=int(r.rank), actual=int(r.SXH), key=r.ZDDM,
                        reason=reason))
    return out


def point_order(ctx: Context) -> list[Finding]:
    """CAD-007: the points of a parcel are not clockwise: S = ½ Σ Xᵢ(Yᵢ₊₁ − Yᵢ₋₁) ≤ 0
    (survey axes, in SXH order). An invalid ring (CAD-009) has no orientation to judge."""
    r = rings(ctx)
    p = r.parcels
    hit = p[p["valid"].astype(bool) & (p["S"] <= 0)]
    return [
        make("CAD-007", _point_place(ctx, int(x.first_row), "SXH"), actual=round(float(x.S), 3),
             location=(float(x.x0), float(x.y0)), key=zddm)
        for zddm, x in hit.iterrows()
    ]


def northwest_start(ctx: Context) -> list[Finding]:
    """CAD-008 (warning): the first point (SXH order) is not the one nearest the north-west
    corner of the parcel's bounding box (max X, min Y); a tie counts as nearest."""
    pts = rings(ctx).points
    if not len(pts):
        return []
    g = pts.groupby("ZDDM", sort=False)
    d = np.hypot(pts["X"] - g["X"].transform("max"), pts["Y"] - g["Y"].transform("min"))
    pts = pts.assign(d=d)
    nearest = pts.loc[pts.groupby("ZDDM", sort=False)["d"].idxmin()].set_index("ZDDM")
    first = pts[pts["pos"] == 0].set_index("ZDDM")
    late = first["d"] > nearest.loc[first.index, "d"] + EPS
    out = []
    for zddm in first.index[late.to_numpy()]:
        f, n = first.loc[zddm], nearest.loc[zddm]
        out.append(make("CAD-008", _point_place(ctx, int(f["row"]), "SXH"), expected=str(n["JZDH"]), actual=str(f["JZDH"]),
                        location=(float(f["Y"]), float(f["X"])), key=zddm))
    return out


def ring_validity(ctx: Context) -> list[Finding]:
    """CAD-009: the points in SXH order do not form a valid polygon (shapely's reason and
    point: self-intersection, zero area), or two points of the parcel coincide."""
    p = rings(ctx).parcels
    hit = p[p["reason"].notna()]
    return [
        make("CAD-009", _point_place(ctx, int(x.first_row), COORDS), reason=str(x.reason), key=zddm,
             location=(float(x.at_x), float(x.at_y)) if pd.notna(x.at_x) and pd.notna(x.at_y) else (float(x.x0), float(x.y0)))
        for zddm, x in hit.iterrows()
    ]


def parcel_area(ctx: Context) -> list[Finding]:
    """CAD-010: ZDMJ ≠ the coordinate-method area |S| of the boundary points, beyond
    ``tolerances.zdmj_vs_coordinate_area``."""
    p = rings(ctx).parcels
    p = p[p["valid"].astype(bool)]
    parcels = _parcel_rows(ctx)
    parcels = parcels[parcels["ZDMJ"].notna() & parcels["ZDDM"].isin(set(p.index))]
    if not len(parcels):
        return []
    area = parcels["ZDDM"].map(p["S"]).astype(float).abs()
    diff = (parcels["ZDMJ"].astype(float) - area).abs()
    tol = ctx.profile.tolerances.zdmj_vs_coordinate_area
    hit = (diff > tol + EPS).to_numpy()
    return [
        make("CAD-010", Place(sheet=PARCEL_SHEET, row=int(r.row), key=ctx.tables.key_of("parcel", int(r.row)), field="ZDMJ"),
             expected=round(float(a), 3), actual=float(r.ZDMJ), tolerance=tol, diff=float(d),
             location=_inside_point(p.at[r.ZDDM, "ring"]), key=r.ZDDM)
        for r, a, d in zip(parcels[hit].itertuples(), area[hit], diff[hit], strict=True)
    ]


def taped_lengths(ctx: Context) -> list[Finding]:
    """CAD-013: a taped edge (界址线 JZXCD) differs from the length between its points'
    coordinates by more than the spacing limit of JZDJD (一级 0.10, 二级 0.15, 三级 0.20 m).
    An edge naming a point the table lacks, or a point without coordinates, is skipped."""
    lines = ctx.tables.frames.get("boundary_line")
    bp = boundary_points(ctx)
    if lines is None or not len(lines) or not len(bp):
        return []
    lines = lines[lines[["ZDDM", "QSJZDH", "ZZJZDH", "JZXCD"]].notna().all(axis=1)]
    pts = bp[bp["JZDH"].notna() & bp["X"].notna() & bp["Y"].notna()].drop_duplicates(["ZDDM", "JZDH"])
    pts = pts.set_index(["ZDDM", "JZDH"])[["X", "Y"]]
    start = pts.reindex(pd.MultiIndex.from_arrays([lines["ZDDM"].astype(object), lines["QSJZDH"].astype(object)]))
    end = pts.reindex(pd.MultiIndex.from_arrays([lines["ZDDM"].astype(object), lines["ZZJZDH"].astype(object)]))
    length = np.hypot(end["X"].to_numpy() - start["X"].to_numpy(), end["Y"].to_numpy() - start["Y"].to_numpy())
    taped = lines["JZXCD"].to_numpy(float)
    limit = ctx.profile.boundary_limit(ctx.jzdjd)
    with np.errstate(invalid="ignore"):
        hit = np.isfinite(length) & (np.abs(taped - length) > limit + EPS)
    mid_x = (start["Y"].to_numpy() + end["Y"].to_numpy()) / 2
    mid_y = (start["X"].to_numpy() + end["X"].to_numpy()) / 2
    out = []
    for i in np.flatnonzero(hit):
        row = int(lines.index[i])
        r = lines.iloc[i]
        place = Place(sheet=LINE_SHEET, row=row, key=ctx.tables.key_of("boundary_line", row), field="JZXCD")
        out.append(make("CAD-013", place, expected=round(float(length[i]), 3), actual=float(taped[i]), tolerance=limit,
                        location=(float(mid_x[i]), float(mid_y[i])), key=r["ZDDM"], edge=f"{r['QSJZDH']}–{r['ZZJZDH']}",
                        diff=abs(float(taped[i]) - float(length[i])), grade=ctx.jzdjd))
    return out


# ---------------------------------------------------------------- the table against parcel.dxf


def points_vs_drawing(ctx: Context) -> list[Finding]:
    """CAD-011: a boundary point of the table without a JZD point of the same label within
    ``tolerances.jzd_table_vs_drawing`` in parcel.dxf, or a labelled JZD point whose label
    no table point has. A JZD point without a label is DXF-006's; a drawing without any JZD
    point DXF-003's."""
    geo = ctx.geometry.parcel
    if geo is None or not len(geo.points):
        return []
    tol = ctx.profile.tolerances.jzd_table_vs_drawing
    layer, file = ctx.profile.layer("JZD"), ctx.geometry.parcel_file
    labelled = geo.points["label"].notna().to_numpy()
    unlabelled = geo.points.geometry.to_numpy()[~labelled]
    drawn = geo.points[labelled]
    drawn = pd.DataFrame({"label": drawn["label"].astype(str).to_numpy(), "handle": drawn["handle"].astype(object).to_numpy(),
                          "dx": shapely.get_x(drawn.geometry.to_numpy()), "dy": shapely.get_y(drawn.geometry.to_numpy())})
    bp = boundary_points(ctx)
    table = bp[bp["JZDH"].notna() & bp["X"].notna() & bp["Y"].notna()]
    out: list[Finding] = []
    if len(table):
        pairs = table.assign(label=table["JZDH"].astype(str)).merge(drawn, on="label", how="left")
        pairs = pairs.assign(dist=np.hypot(pairs["dx"] - pairs["Y"], pairs["dy"] - pairs["X"]))
        best = pairs.sort_values(["row", "dist"], na_position="last").drop_duplicates("row")
        bad = best[~(best["dist"] <= tol + EPS)]
        if len(bad) and len(unlabelled):  # a point drawn there without its label is DXF-006's
            near = shapely.STRtree(unlabelled).query(shapely.points(bad["Y"].to_numpy(), bad["X"].to_numpy()),
                                                     predicate="dwithin", distance=tol + EPS)[0]
            bad = bad[~np.isin(np.arange(len(bad)), near)]
        for r in bad.itertuples():
            found = pd.notna(r.handle)
            place = _point_place(ctx, r.row, COORDS, file=file, layer=layer, handle=r.handle if found else None)
            reason = (f"宗地图上同号界址点距表中坐标 {r.dist:.3f} m，超过 {tol} m" if found
                      else f"宗地图 {layer} 图层上没有点号为 {r.JZDH} 的界址点")
            out.append(make("CAD-011", place, actual=round(float(r.dist), 3) if found else None,
                            tolerance=tol, location=(float(r.Y), float(r.X)), key=r.ZDDM, label=r.JZDH, reason=reason))
    if _columns_read(ctx, "boundary_point", "JZDH"):  # a drawn point the table lacks
        known = set(ctx.tables.get("boundary_point")["JZDH"].dropna().astype(str))
        extra = drawn[~drawn["label"].isin(known)]
        owner = _owner(ctx, extra)
        for r, key in zip(extra.itertuples(), owner, strict=True):
            out.append(make("CAD-011", Place(file=file, layer=layer, handle=r.handle), location=(float(r.dx), float(r.dy)),
                            key=key, label=r.label, reason="宗地图上有此界址点，界址点表中没有"))
    return out


def _owner(ctx: Context, points: pd.DataFrame) -> list[str]:
    """The ZDDM of the nearest ZD polygon to each point (for messages), or ``宗地图``."""
    zd = _zd_polygons(ctx)
    zd = zd[zd["zddm"].notna()]
    if not len(points) or not len(zd):
        return ["宗地图"] * len(points)
    tree = shapely.STRtree(zd["geometry"].to_numpy())
    idx = tree.nearest(shapely.points(points["dx"].to_numpy(), points["dy"].to_numpy()))
    return [str(z) for z in zd["zddm"].to_numpy()[idx]]


def zd_through_points(ctx: Context) -> list[Finding]:
    """CAD-012: the ZD polygon of a parcel (matched by ZDDM) has a vertex farther than
    ``tolerances.zd_vertex_vs_points`` from every boundary point of the table, or a point
    farther than that from every vertex. One finding per polygon, at its worst place."""
    zd = _zd_polygons(ctx)
    bp = boundary_points(ctx)
    if not len(zd) or not len(bp):
        return []
    zd = zd[zd["zddm"].notna()].drop_duplicates("zddm")  # a repeated ZDDM label is DXF-007's
    groups = _groups(bp)
    usable = set(groups.index[groups["xy_known"]])
    parcels = _parcel_rows(ctx).set_index("ZDDM") if "parcel" in ctx.tables.present else None
    tol = ctx.profile.tolerances.zd_vertex_vs_points
    out = []
    for z in zd[zd["zddm"].isin(usable)].itertuples():  # one per parcel polygon (few)
        pts = bp[bp["ZDDM"] == z.zddm]
        table = pts[["Y", "X"]].to_numpy(float)
        vertices = shapely.get_coordinates(shapely.get_exterior_ring(z.geometry))[:-1]
        d = np.hypot(vertices[:, None, 0] - table[None, :, 0], vertices[:, None, 1] - table[None, :, 1])
        far_v, far_p = d.min(axis=1), d.min(axis=0)
        bad_v, bad_p = far_v > tol + EPS, far_p > tol + EPS
        if not (bad_v.any() or bad_p.any()):
            continue
        worst_v = float(far_v.max()) if bad_v.any() else -1.0
        worst_p = float(far_p.max()) if bad_p.any() else -1.0
        parts = []
        if bad_v.any():
            parts.append(f"{int(bad_v.sum())} 个顶点距最近界址点超过 {tol} m")
        if bad_p.any():
            names = "、".join(map(str, pts["JZDH"].to_numpy()[bad_p]))
            parts.append(f"界址点 {names} 距最近顶点超过 {tol} m")
        if worst_v >= worst_p:
            i = int(np.argmax(far_v))
            at, worst = (float(vertices[i, 0]), float(vertices[i, 1])), worst_v
            parts.append(f"最远顶点 ({at[0]:.3f}, {at[1]:.3f}) 距 {worst:.3f} m")
        else:
            i = int(np.argmax(far_p))
            at, worst = (float(table[i, 0]), float(table[i, 1])), worst_p
            parts.append(f"最远为界址点 {pts['JZDH'].iloc[i]}，距 {worst:.3f} m")
        table_place: dict[str, Any] = {}
        if parcels is not None and z.zddm in parcels.index:
            row = int(parcels.at[z.zddm, "row"])
            table_place = {"sheet": PARCEL_SHEET, "row": row, "key": ctx.tables.key_of("parcel", row)}
        place = Place(**table_place, file=ctx.geometry.parcel_file, layer=ctx.profile.layer("ZD"), handle=z.handle)
        out.append(make("CAD-012", place, actual=round(worst, 3), tolerance=tol, location=at, key=z.zddm, reason="；".join(parts)))
    return out


def overlapping_parcels(ctx: Context) -> list[Finding]:
    """CAD-014: two ZD polygons of parcel.dxf overlap by more than ``tolerances.parcel_overlap``.
    Two polygons with the same ZDDM are DXF-007's (the label repeats), not an overlap."""
    zd = _zd_polygons(ctx)
    if len(zd) < 2:
        return []
    geoms = zd["geometry"].to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    zddm = zd["zddm"].to_numpy()
    same = np.array([isinstance(a, str) and a == b for a, b in zip(zddm[i], zddm[j], strict=True)], dtype=bool)
    i, j = i[~same], j[~same]
    if not len(i):
        return []
    common = shapely.intersection(geoms[i], geoms[j])
    area = shapely.area(common)
    tol = ctx.profile.tolerances.parcel_overlap
    hit = area > tol + EPS
    parcels = _parcel_rows(ctx).set_index("ZDDM") if "parcel" in ctx.tables.present else pd.DataFrame()
    out = []
    for a, b, g, s in zip(i[hit], j[hit], common[hit], area[hit], strict=True):
        name_a = zddm[a] if isinstance(zddm[a], str) else f"（句柄 {zd['handle'].iloc[a]}）"
        name_b = zddm[b] if isinstance(zddm[b], str) else f"（句柄 {zd['handle'].iloc[b]}）"
        table_place: dict[str, Any] = {}
        if isinstance(zddm[b], str) and zddm[b] in parcels.index:
            row = int(parcels.at[zddm[b], "row"])
            table_place = {"sheet": PARCEL_SHEET, "row": row, "key": ctx.tables.key_of("parcel", row)}
        place = Place(**table_place, file=ctx.geometry.parcel_file, layer=ctx.profile.layer("ZD"), handle=zd["handle"].iloc[b])
        out.append(make("CAD-014", place, actual=round(float(s), 3), tolerance=tol, location=_inside_point(g),
                        key=name_b, other=name_a))
    return out


def land_unit_code(ctx: Context) -> list[Finding]:
    """CAD-015: a parcel's BDCDYH is not ZDDM + ``W00000000``. A ZDDM or BDCDYH of the
    wrong structure (CAD-001..003) is judged there, not here."""
    if "parcel" not in ctx.tables.present:
        return []
    df = ctx.tables.get("parcel")
    df = df[df["ZDDM"].notna() & df["BDCDYH"].notna()]
    zddm, code = df["ZDDM"].astype("string"), df["BDCDYH"].astype("string")
    head = zddm_part(code, BDCDYH_LENGTH)
    formed = (zddm_structure(zddm).isna() & zddm_pair(zddm).isna() & bdcdyh_structure(code).isna()
              & zddm_structure(head).isna() & zddm_pair(head).isna())
    expected = zddm + LAND_UNIT_SUFFIX
    hit = (formed & (code != expected)).fillna(False).astype(bool).to_numpy()
    return [
        make("CAD-015", Place(sheet=PARCEL_SHEET, row=int(row), key=ctx.tables.key_of("parcel", int(row)), field="BDCDYH"),
             expected=str(expected[row]), actual=str(code[row]), key=str(zddm[row]))
        for row in df.index[hit]
    ]


RULES = located([
    unit_codes,
    point_numbering,
    point_order,
    northwest_start,
    ring_validity,
    parcel_area,
    points_vs_drawing,
    zd_through_points,
    taped_lengths,
    overlapping_parcels,
    land_unit_code,
])
