"""Property survey (房产测绘, GB/T 17986.1-2000): PRP-001..013 of spec/rules.md.

Two sources meet here: the report's 户 / 层 / 自然幢 / 共有部位 sheets, and the floor plans
(分层分户图, ``drawings/floors/<幢号>.dxf``, local metres). A unit row is matched to its FC_H
polygon by building (幢号 = ZRZH[20:24] → the plan), floor (SJC → the FC_C frame the polygon
lies in) and 户号 (HH, or BDCDYH[24:28] where the two differ: PRP-012 reports that).

Apportionment (共有部位分摊)
---------------------------
Per building K = Σ 共有部位 MJ / Σ unit SCTNJZMJ, the exact ratio. Each rule reports its own
finding and never repeats another's, so that one wrong cell gives the findings about that
cell only:

- a unit's inner area that cannot be read (RPT-003/004/007) enters K as SCJZMJ − SCFTJZMJ;
- where K disagrees with the coefficient the building's units carry (the SCFTXS most of
  them give) and the units whose figures do not add up (PRP-001) explain it — K computed
  with their inner area taken as SCJZMJ − SCFTJZMJ agrees — their SCTNJZMJ is the wrong
  cell: K uses those areas, and PRP-001 / PRP-006 report the units, not PRP-002 every unit;
- a unit whose SCFTJZMJ is wrong (PRP-003) while its SCJZMJ equals SCTNJZMJ + the right
  apportioned area gives no PRP-001: the sum is right, the apportioned area is not;
- the building sums (PRP-004, PRP-005) are reported only when the units already reported
  (PRP-001 / PRP-003, or a unit apportioned off the building's own coefficient) do not
  explain the difference: the sum taken with those units at their expected figures must
  be off as well.

When the shared parts themselves are wrong, K is off for every unit: PRP-002 / PRP-003 then
fire on every unit of the building (each unit's figures are wrong against the report) and
PRP-004 names the building.

Figures another rule reported as unreadable, empty or ≤ 0 (RPT-003/004/007), polygons that
are invalid (DXF-005) and plans that are missing or unreadable (PKG-008 / DXF-001) are
skipped silently.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.context import Context, per_context
from schemas.drawings import rep_points
from schemas.findings import Finding, Place
from schemas.rules import located
from schemas.rules.planning import open_shapes

EPS = 1e-6  # rules.md: "differs by more than t" means |a − b| > t + 1e-6
UNIT_SHEET = "户"
FLOOR_SHEET = "层"
BUILDING_SHEET = "自然幢"
SHARED_SHEET = "共有部位"
BALCONY_KINDS = {"封闭": 1.0, "未封闭": 0.5}
# a BDCDYH of the right structure for a house unit (CAD-002 judges the rest)
UNIT_CODE = r"^[0-9]{6}[0-9A-Z]{6}[A-Z]{2}[0-9]{5}F[0-9]{8}$"
# Tolerances fixed by rules.md (not marked cfg). Read from the profile when it carries them
# (``[tolerances]`` names on the left), so a city can still change them.


def tolerance(ctx: Context, name: str) -> float:
    """A PRP tolerance of the profile (``tolerances.<name>``; rules.md values by default)."""
    return float(getattr(ctx.profile.tolerances, name))


# ---------------------------------------------------------------- reading the tables


def _text(df: pd.DataFrame, col: str) -> pd.Series:
    """A code column as object (str or None), stripped."""
    if col not in df.columns:
        return pd.Series(None, index=df.index, dtype=object)
    s = df[col]
    out = [None if t is None else t.strip() for t in _texts(s)]
    return pd.Series(out, index=s.index, dtype=object, name=s.name)


def _number(df: pd.DataFrame, col: str, *, positive: bool = True) -> pd.Series:
    """A numeric column; NaN where unreadable, empty or out of range (> 0, or ≥ 0): RPT-003/
    004/007 reported those."""
    if col not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    s = pd.to_numeric(df[col], errors="coerce").astype(float)
    return s.where(s > 0) if positive else s.where(s >= 0)


def _hh(s: pd.Series) -> pd.Series:
    """户号 as matched (object, None where missing): stripped; 1–3 digits padded to 4
    (`101` → `0101`).

    One list pass (pandas' string methods, value by value, were most of the time)."""
    out = [None if t is None else _one_hh(t) for t in _texts(s)]
    return pd.Series(out, index=s.index, dtype=object, name=s.name)


_SHORT_HH = re.compile(r"\d{1,3}")


def _one_hh(text: str) -> str | None:
    t = text.strip()
    return t.zfill(4) if _SHORT_HH.fullmatch(t) else t or None


@per_context
def units(ctx: Context) -> pd.DataFrame:
    """Every 户 row: ``row, BDCDYH, ZRZH, HH, SJC, S (SCTNJZMJ), F (SCFTJZMJ), J (SCJZMJ),
    X (SCFTXS), Y (YCJZMJ), zh (ZRZH[20:24]), code_hh (BDCDYH[24:28] of a well-formed code)``."""
    df = ctx.tables.get("unit")
    bdcdyh = _text(df, "BDCDYH")
    zrzh = _text(df, "ZRZH")
    out = pd.DataFrame(
        {
            "row": df.index.to_numpy(dtype=int),
            "BDCDYH": bdcdyh,
            "ZRZH": zrzh,
            "HH": _hh(_text(df, "HH")),
            "SJC": pd.to_numeric(df["SJC"], errors="coerce").astype(float)
            if "SJC" in df.columns
            else np.nan,
            "S": _number(df, "SCTNJZMJ"),
            "F": _number(df, "SCFTJZMJ"),
            "J": _number(df, "SCJZMJ"),
            "X": _number(df, "SCFTXS", positive=False),
            "Y": _number(df, "YCJZMJ"),
        },
        index=df.index,
    )
    out["SJC"] = out["SJC"].where(out["SJC"] != 0)
    # one list pass each (pandas' string methods cost several times more)
    out["zh"] = pd.Series([None if z is None or len(z) < 24 else z[20:24] for z in zrzh.tolist()], index=df.index, dtype=object)
    shaped = re.compile(UNIT_CODE).match
    out["code_hh"] = pd.Series(
        [None if b is None or not shaped(b) else b[24:28] for b in bdcdyh.tolist()], index=df.index, dtype=object
    )
    return out


@per_context
def buildings(ctx: Context) -> pd.DataFrame:
    """自然幢 rows with a ZRZH, the first of a repeated one (RPT-006 reported the others):
    ``row, ZRZH, DSCS, DXCS, SCJZMJ`` (NaN where unreadable)."""
    df = ctx.tables.get("building")
    zrzh = _text(df, "ZRZH")
    keep = zrzh.notna() & ~zrzh.duplicated(keep="first")
    return pd.DataFrame(
        {
            "row": df.index.to_numpy(dtype=int),
            "ZRZH": zrzh,
            "DSCS": _number(df, "DSCS"),
            "DXCS": _number(df, "DXCS", positive=False),
            "SCJZMJ": _number(df, "SCJZMJ"),
        },
        index=df.index,
    )[keep.to_numpy()]


def floors(ctx: Context) -> pd.DataFrame:
    """层 rows: ``row, ZRZH, SJC, CG`` and ``first`` (not a repeated ZRZH + SJC)."""
    df = ctx.tables.get("floor")
    out = pd.DataFrame(
        {
            "row": df.index.to_numpy(dtype=int),
            "ZRZH": _text(df, "ZRZH"),
            "SJC": pd.to_numeric(df["SJC"], errors="coerce").astype(float)
            if "SJC" in df.columns
            else np.nan,
            "CG": _number(df, "CG"),
        },
        index=df.index,
    )
    out["SJC"] = out["SJC"].where(out["SJC"] != 0)
    out["first"] = ~(
        out[["ZRZH", "SJC"]].notna().all(axis=1) & out.duplicated(["ZRZH", "SJC"], keep="first")
    )
    return out


def known_buildings(ctx: Context, u: pd.DataFrame) -> set[str]:
    """The ZRZH a unit may belong to: the 自然幢 sheet's (a unit naming another is RPT-009's),
    or the units' own when that sheet is missing (RPT-001)."""
    if "building" in ctx.tables.present:
        return set(buildings(ctx)["ZRZH"])
    return set(u["ZRZH"].dropna())


def unit_place(row: pd.Series | Any, field: str | None = None, **drawing: Any) -> Place:
    r = int(row.row)
    key = row.BDCDYH if isinstance(row.BDCDYH, str) else None
    return Place(sheet=UNIT_SHEET, row=r, key=key, field=field, **drawing)


def _num(v: Any) -> float | None:
    if v is None or pd.isna(v):
        return None
    f = float(v)
    return int(f) if f.is_integer() else round(f, 6)


# ---------------------------------------------------------------- apportionment (PRP-001..005)


@per_context
def apportionment(ctx: Context) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The units of known buildings with their building's coefficient, and the buildings.

    Returns
    -------
    (units, per_building)
        ``units``: the columns of :func:`units` plus ``first`` (not a repeated BDCDYH),
        ``disagree`` (PRP-001's sum is off), ``K``, ``c`` (the building's carried
        coefficient), ``S_used`` (inner area as K uses it), ``expF`` = round(K × S_used, 2),
        ``prp003``, ``f_wrong`` (the wrong cell is SCFTJZMJ) and ``deviates`` (apportioned
        off the building's carried coefficient). ``per_building``, indexed by ZRZH:
        ``n, mj, K, c, alt`` (K was taken with the PRP-001 units' implied inner areas).
    """
    t1, tk, t3 = (
        tolerance(ctx, "unit_area_sum"),
        tolerance(ctx, "apportion_coefficient"),
        tolerance(ctx, "apportion_area"),
    )
    u = units(ctx)
    u = u[u["ZRZH"].isin(known_buildings(ctx, u))].copy()
    u["first"] = u["BDCDYH"].isna() | ~u["BDCDYH"].duplicated(keep="first")
    implied = (u["J"] - u["F"]).where(lambda v: v > 0)
    u["disagree"] = ((u["J"] - (u["S"] + u["F"])).abs() > t1 + EPS).fillna(False)
    base = u[u["first"]]
    s0 = base["S"].fillna(implied[base.index])
    s_alt = s0.where(~base["disagree"], implied[base.index])
    g = base["ZRZH"]
    b = pd.DataFrame(index=pd.Index(pd.unique(g), name="ZRZH"))
    b["n"] = base.groupby(g).size()
    inner = s0.groupby(g).sum().where(~s0.isna().groupby(g).any())
    inner_alt = s_alt.groupby(g).sum().where(~s_alt.isna().groupby(g).any())
    if "shared_part" in ctx.tables.present:
        sums = _shared_sums(ctx)  # a building without shared parts has none to apportion
        b["mj"] = sums.reindex(b.index).where(b.index.isin(sums.index), 0.0)
    else:
        b["mj"] = np.nan  # RPT-001
    k_rep = (b["mj"] / inner.where(inner > 0)).reindex(b.index)
    k_alt = (b["mj"] / inner_alt.where(inner_alt > 0)).reindex(b.index)
    b["c"] = _carried(base)
    off = (k_rep - b["c"]).abs() > tk + EPS
    fits = (k_alt - b["c"]).abs() <= tk + EPS
    b["alt"] = (
        (off & fits & base["disagree"].groupby(g).any().reindex(b.index)).fillna(False).astype(bool)
    )
    b["K"] = k_alt.where(b["alt"], k_rep)
    u["K"] = u["ZRZH"].map(b["K"]).astype(float)
    u["c"] = u["ZRZH"].map(b["c"]).astype(float)
    taken = u["ZRZH"].map(b["alt"]).fillna(False).astype(bool) & u["disagree"]
    u["S_used"] = u["S"].where(~taken, implied)
    u["expF"] = np.round(u["K"] * u["S_used"], 2)
    u["prp003"] = ((u["F"] - u["expF"]).abs() > t3 + EPS).fillna(False)
    u["f_wrong"] = u["prp003"] & ((u["J"] - (u["S"] + u["expF"])).abs() <= t1 + EPS).fillna(False)
    carried = np.round(u["c"].fillna(u["K"]) * u["S_used"], 2)
    u["deviates"] = ((u["F"] - carried).abs() > t3 + EPS).fillna(False)
    return u, b


def _shared_sums(ctx: Context) -> pd.Series:
    """Σ 共有部位 MJ per ZRZH; NaN for a building with an unreadable MJ."""
    df = ctx.tables.get("shared_part")
    zrzh = _text(df, "ZRZH")
    mj = _number(df, "MJ")
    has = zrzh.notna()
    total = mj[has].groupby(zrzh[has]).sum()
    return total.where(~mj[has].isna().groupby(zrzh[has]).any())


def _carried(base: pd.DataFrame) -> pd.Series:
    """The coefficient a building's units carry: the SCFTXS most of them give."""
    x = base[base["X"].notna()]
    if not len(x):
        return pd.Series(dtype=float)
    counts = x.groupby(["ZRZH", "X"]).size().rename("n").reset_index()
    counts = counts.sort_values(
        ["ZRZH", "n"], ascending=[True, False], kind="stable"
    ).drop_duplicates("ZRZH")
    return counts.set_index("ZRZH")["X"]


def unit_sum(ctx: Context) -> list[Finding]:
    """PRP-001: SCJZMJ ≠ SCTNJZMJ + SCFTJZMJ beyond unit_area_sum.

    Not reported where the wrong cell is SCFTJZMJ (PRP-003 reports it and SCJZMJ equals
    SCTNJZMJ plus the right apportioned area).
    """
    t1 = tolerance(ctx, "unit_area_sum")
    u = units(ctx)
    bad = ((u["J"] - (u["S"] + u["F"])).abs() > t1 + EPS).fillna(False)
    if "shared_part" in ctx.tables.present and bad.any():
        ap, _ = apportionment(ctx)
        bad &= ~ap["f_wrong"].reindex(u.index).fillna(False).astype(bool)
    return [
        make(
            "PRP-001",
            unit_place(r, "SCJZMJ"),
            expected=round(r.S + r.F, 2),
            actual=_num(r.J),
            tolerance=t1,
        )
        for r in u[bad.to_numpy()].itertuples()
    ]


def coefficient(ctx: Context) -> list[Finding]:
    """PRP-002: a unit's SCFTXS differs from its building's K by more than apportion_coefficient."""
    if "shared_part" not in ctx.tables.present:
        return []  # RPT-001: no K
    tk = tolerance(ctx, "apportion_coefficient")
    u, _ = apportionment(ctx)
    bad = ((u["X"] - u["K"]).abs() > tk + EPS).fillna(False)
    return [
        make(
            "PRP-002",
            unit_place(r, "SCFTXS"),
            expected=round(float(r.K), 9),
            actual=_num(r.X),
            tolerance=tk,
        )
        for r in u[bad.to_numpy()].itertuples()
    ]


def apportioned_area(ctx: Context) -> list[Finding]:
    """PRP-003: SCFTJZMJ ≠ round(K × SCTNJZMJ, 2) beyond apportion_area."""
    if "shared_part" not in ctx.tables.present:
        return []
    t3 = tolerance(ctx, "apportion_area")
    u, _ = apportionment(ctx)
    u = u[u["prp003"] & u["S"].notna()]
    return [
        make(
            "PRP-003",
            unit_place(r, "SCFTJZMJ"),
            expected=float(r.expF),
            actual=_num(r.F),
            tolerance=t3,
        )
        for r in u.itertuples()
    ]


def _building_sum_tolerance(ctx: Context, n: pd.Series) -> pd.Series:
    return tolerance(ctx, "building_sum_per_unit") * n + tolerance(ctx, "building_sum_base")


def _building_place(ctx: Context, zrzh: str, field: str | None = None) -> Place:
    bld = buildings(ctx)
    hit = bld[bld["ZRZH"] == zrzh]
    if len(hit):
        return Place(sheet=BUILDING_SHEET, row=int(hit["row"].iloc[0]), key=zrzh, field=field)
    return Place(sheet=SHARED_SHEET, key=zrzh)


def shared_total(ctx: Context) -> list[Finding]:
    """PRP-004: |Σ unit SCFTJZMJ − Σ 共有部位 MJ| > 0.005 × units + 0.01 for a building, and
    not explained by units apportioned off the building's own coefficient (PRP-003)."""
    if "shared_part" not in ctx.tables.present:
        return []
    u, b = apportionment(ctx)
    base = u[u["first"]]
    f0 = base["F"].fillna((base["J"] - base["S"]).where(lambda v: v > 0))
    f_fix = f0.where(~base["deviates"] | base["expF"].isna(), base["expF"])
    g = base["ZRZH"]
    ok = ~f0.isna().groupby(g).any()
    rep, fix = f0.groupby(g).sum(), f_fix.groupby(g).sum()
    tol = _building_sum_tolerance(ctx, b["n"])
    mj = b["mj"]
    hit = ok & ((rep - mj).abs() > tol + EPS) & ((fix - mj).abs() > tol + EPS) & mj.notna()
    return [
        make(
            "PRP-004",
            _building_place(ctx, z),
            expected=round(float(mj[z]), 2),
            actual=round(float(rep[z]), 2),
            tolerance=round(float(tol[z]), 6),
            key=z,
        )
        for z in hit.index[hit.fillna(False).to_numpy()]
    ]


def building_total(ctx: Context) -> list[Finding]:
    """PRP-005: |自然幢 SCJZMJ − Σ unit SCJZMJ| > 0.005 × units + 0.01, and not explained by
    units already reported (PRP-001 / PRP-003): the sum with those at SCTNJZMJ + the
    apportioned area must be off as well."""
    if "unit" not in ctx.tables.present:
        return []
    u, b = apportionment(ctx)
    base = u[u["first"]]
    j0 = base["J"].fillna(base["S"] + base["F"])
    expected_j = base["S_used"] + base["expF"]
    flagged = base["disagree"] | base["prp003"]
    j_fix = j0.where(~flagged | expected_j.isna(), expected_j)
    g = base["ZRZH"]
    ok = ~j0.isna().groupby(g).any()
    rep, fix = j0.groupby(g).sum(), j_fix.groupby(g).sum()
    tol = _building_sum_tolerance(ctx, b["n"])
    out = []
    for r in buildings(ctx).itertuples():  # one per building (≤ a few dozen)
        z = r.ZRZH
        if z not in b.index or pd.isna(r.SCJZMJ) or not ok.get(z, False):
            continue
        t = float(tol[z])
        if abs(r.SCJZMJ - rep[z]) > t + EPS and abs(r.SCJZMJ - fix[z]) > t + EPS:
            place = Place(sheet=BUILDING_SHEET, row=int(r.row), key=z, field="SCJZMJ")
            out.append(
                make(
                    "PRP-005",
                    place,
                    expected=round(float(rep[z]), 2),
                    actual=_num(r.SCJZMJ),
                    tolerance=round(t, 6),
                )
            )
    return out


# ---------------------------------------------------------------- floor plans (PRP-006..008, 013)


def _layer_frames(ctx: Context, kind: str, columns: list[str]) -> pd.DataFrame:
    """One part (``units``, ``balconies``, …) of every readable plan as one frame, with ``zh``
    and ``file``, on a fresh RangeIndex."""
    combined = {id(plan.combined) for plan in ctx.geometry.floors.values()}
    if len(combined) == 1 and (whole := next(iter(ctx.geometry.floors.values())).combined) is not None:
        return _combined_frame(ctx, whole[kind], columns)
    plans = [(zh, plan) for zh, plan in ctx.geometry.floors.items() if len(getattr(plan, kind))]
    if not plans:
        return pd.DataFrame(columns=["zh", "file", *columns])
    frame = pd.concat([pd.DataFrame(getattr(plan, kind)) for _, plan in plans], ignore_index=True)
    sizes = [len(getattr(plan, kind)) for _, plan in plans]
    out = pd.DataFrame(
        {
            "zh": np.repeat([zh for zh, _ in plans], sizes),
            "file": np.repeat([plan.file for _, plan in plans], sizes),
        }
    )
    for c in columns:
        out[c] = frame[c].to_numpy()
    return out


def _combined_frame(ctx: Context, whole: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """:func:`_layer_frames` from the plans' model as judged together: the rows of the
    readable plans, plan by plan in ``ctx.geometry.floors`` order, without re-joining them."""
    rank = {plan.file: k for k, plan in enumerate(ctx.geometry.floors.values())}
    zh_of = {plan.file: zh for zh, plan in ctx.geometry.floors.items()}
    files = whole["file"].to_numpy(dtype=object) if len(whole) else np.empty(0, dtype=object)
    ranks = np.array([rank.get(f, -1) for f in files], dtype=np.int64)
    keep = np.flatnonzero(ranks >= 0)
    keep = keep[np.argsort(ranks[keep], kind="stable")]
    if not len(keep):
        return pd.DataFrame(columns=["zh", "file", *columns])
    out = pd.DataFrame({"zh": [zh_of[f] for f in files[keep]], "file": files[keep]})
    for c in columns:
        out[c] = whole[c].to_numpy()[keep]
    return out


@per_context
def plan_units(ctx: Context) -> pd.DataFrame:
    """Every FC_H polygon of every readable plan: ``zh, file, handle, geometry, valid, sjc
    (Int64), hh (first label, padded), labels, area, inner_area``.

    ``inner_area`` is the geometry model's: the polygon's area plus its balconies (封闭 in
    full, 未封闭 at half). Units with a doubtful balcony are left out of PRP-006 (see
    :func:`_uncertain_units`).
    """
    p = _layer_frames(
        ctx, "units", ["handle", "geometry", "valid", "sjc", "label", "labels", "label_handles", "area", "inner_area"]
    )
    if not len(p):
        return p.assign(hh=[], area=[], inner_area=[])
    p["valid"] = p["valid"].astype(bool)
    p["sjc"] = pd.array(p["sjc"], dtype="Int64")
    p["hh"] = _hh(p["label"])
    p["area"] = p["area"].astype(float)
    p["inner_area"] = p["inner_area"].astype(float)
    return p


def _key(zh: pd.Series, sjc: pd.Series | None, hh: pd.Series | None) -> pd.Series:
    """``zh|sjc|hh`` as string (NA where a part is missing); a part given as None is left out.

    One list pass (pandas string concatenation was a tenth of the property rules' time)."""
    parts = [_texts(zh)]
    if sjc is not None:
        parts.append(_floor_texts(sjc))
    if hh is not None:
        parts.append(_texts(pd.Series(hh.to_numpy(dtype=object), index=zh.index)))
    return pd.Series(_joined(parts), index=zh.index, dtype="string")


def _joined(parts: list[list[str | None]]) -> list[str | None]:
    """Row by row, the parts joined with ``|``; None where a part is missing."""
    return [None if None in row else "|".join(row) for row in zip(*parts, strict=True)]


def _floor_texts(sjc: pd.Series) -> list[str | None]:
    """Each floor number as integer text, None where missing."""
    floors = sjc.to_numpy(dtype="float64", na_value=np.nan).tolist()
    return [None if f != f else str(int(f)) for f in floors]


def _texts(s: pd.Series) -> list[str | None]:
    """Each value as text, None where missing (what ``astype("string")`` gives)."""
    return [None if gone else str(v) for v, gone in zip(s.tolist(), s.isna().tolist(), strict=True)]


@per_context
def unit_keys(ctx: Context) -> pd.DataFrame:
    """:func:`_key` of every row of :func:`units`, built once per check from its parts (the
    property rules match rows on several of them): ``floor`` (zh|SJC); for ``hh`` in
    ``HH, code_hh``: ``hh`` (zh|SJC|户号) and ``plan_`` + ``hh`` (zh|户号)."""
    u = units(ctx)
    zh, sjc = _texts(u["zh"]), _floor_texts(u["SJC"])
    keys = {"floor": _joined([zh, sjc])}
    for hh in ("HH", "code_hh"):
        texts = _texts(pd.Series(u[hh].to_numpy(dtype=object), index=u.index))
        keys[hh] = _joined([zh, sjc, texts])
        keys[f"plan_{hh}"] = _joined([zh, texts])
    return pd.DataFrame({name: pd.Series(k, index=u.index, dtype="string") for name, k in keys.items()}, index=u.index)


@per_context
def _polygon_keys(ctx: Context) -> pd.Series:
    """:func:`_key` (zh|sjc|hh) of every row of :func:`plan_units`."""
    polys = plan_units(ctx)
    return _key(polys["zh"], polys["sjc"], polys["hh"])


@per_context
def match_units(ctx: Context) -> pd.Series:
    """For each row of :func:`units`, the position in :func:`plan_units` of its polygon
    (-1 if none): same plan, same floor frame, label = HH (or BDCDYH[24:28] where they
    differ)."""
    u, polys = units(ctx), plan_units(ctx)
    if not len(polys) or not len(u):
        return pd.Series(-1, index=u.index, dtype=int)
    pk = _polygon_keys(ctx)
    first = (pk.notna() & ~pk.duplicated(keep="first")).to_numpy()
    position = pd.Series(np.flatnonzero(first), index=pk[first].to_numpy())
    keys = unit_keys(ctx)
    by_hh = keys["HH"].map(position)
    by_code = keys["code_hh"].map(position)
    return by_hh.fillna(by_code).fillna(-1).astype(int)


@per_context
def _balconies(ctx: Context) -> pd.DataFrame:
    """Every FC_YT polygon: ``zh, file, handle, geometry, valid, labels, unit_handle``,
    ``kinds`` (how many of 封闭 / 未封闭 its labels name), ``bad_label`` (neither or both)
    and ``factor`` (the share its kind counts)."""
    b = _layer_frames(ctx, "balconies", ["handle", "geometry", "valid", "labels", "unit_handle"])
    if not len(b):
        return b.assign(kinds=[], bad_label=[], factor=[])
    b["valid"] = b["valid"].astype(bool)
    texts = b["labels"].explode().astype("string").str.strip()
    known = texts.where(texts.isin(list(BALCONY_KINDS)))
    b["kinds"] = known.groupby(level=0).nunique().reindex(b.index, fill_value=0).to_numpy(dtype=int)
    b["factor"] = (
        known.map(BALCONY_KINDS).groupby(level=0).first().reindex(b.index).to_numpy(dtype=float)
    )
    b["bad_label"] = b["kinds"] != 1
    return b


def _uncertain_units(ctx: Context, balconies: pd.DataFrame) -> set[str]:
    """``file|handle`` of units whose drawn inner area cannot be known: a balcony attached
    to them is invalid (DXF-005) or its kind is unknown (PRP-013), or a balcony touching no
    unit (PRP-013) lies nearest to them."""
    if not len(balconies):
        return set()
    attached = balconies[balconies["unit_handle"].notna()]
    doubtful = attached[~attached["valid"] | attached["bad_label"]]
    out = set((doubtful["file"] + "|" + doubtful["unit_handle"].astype(str)).tolist())
    loose = balconies[balconies["unit_handle"].isna() & balconies["valid"]]
    for zh, group in loose.groupby("zh"):  # one per plan with a loose balcony
        plan = ctx.geometry.floors[zh]
        if not len(plan.units):
            continue
        tree = shapely.STRtree(plan.units.geometry.to_numpy())
        _, near = tree.query_nearest(group["geometry"].to_numpy(), all_matches=False)
        out |= {f"{plan.file}|{h}" for h in plan.units["handle"].to_numpy()[near]}
    return out


def drawn_area(ctx: Context) -> list[Finding]:
    """PRP-006: drawn inner area (FC_H polygon + balconies, 未封闭 at half) differs from
    SCTNJZMJ by more than the area limit of SCTNJZMJ at class FCMJJD."""
    u = units(ctx)
    polys = plan_units(ctx)
    if not len(polys) or not len(u):
        return []
    at = match_units(ctx)
    u = u[(at >= 0).to_numpy() & u["S"].notna().to_numpy()]
    at = at[u.index]
    p = polys.iloc[at.to_numpy()].set_index(u.index)
    skip = _uncertain_units(ctx, _balconies(ctx))
    usable = (
        p["valid"].to_numpy(dtype=bool)
        & ~(p["file"] + "|" + p["handle"].astype(str)).isin(skip).to_numpy()
    )
    u, p = u[usable], p[usable]
    drawn = p["inner_area"].astype(float)
    limit = area_limits(ctx, u["S"])
    diff = (drawn - u["S"]).abs()
    hit = (diff > limit + EPS).to_numpy()
    layer = ctx.profile.layer("FC_H")
    xy = rep_points(p["geometry"].to_numpy()[hit])
    return [
        make(
            "PRP-006",
            unit_place(r, "SCTNJZMJ", file=q.file, layer=layer, handle=q.handle),
            expected=_num(r.S),
            actual=round(float(d), 2),
            tolerance=round(float(t), 4),
            local=(float(pt[0]), float(pt[1])),
            diff=abs(float(d) - r.S),
            grade=ctx.fcmjjd,
        )
        for r, q, d, t, pt in zip(
            u[hit].itertuples(), p[hit].itertuples(), drawn[hit], limit[hit], xy, strict=True
        )
    ]


def area_limits(ctx: Context, s: pd.Series) -> pd.Series:
    """:meth:`Profile.area_limit` over a Series of areas (a·√S + b·S at class FCMJJD)."""
    classes = ctx.profile.area_class
    a, b = classes.get(ctx.fcmjjd, classes["二级"])
    s = s.astype(float).clip(lower=0.0)
    return a * np.sqrt(s) + b * s


def _orphan_labels(ctx: Context) -> set[str]:
    """``zh|户号`` of the FC_H texts inside no FC_H polygon of their plan (DXF-006; e.g. the
    label of a unit drawn open, DXF-004), all plans at once."""
    loose = _layer_frames(ctx, "loose_labels", ["text"])
    return set(_key(loose["zh"], None, _hh(loose["text"])).dropna())


def unit_polygons(ctx: Context) -> list[Finding]:
    """PRP-007: a 户 row without its FC_H polygon (its plan, its floor frame, its 户号), or a
    polygon without a row.

    Skipped where another rule has said why: the plan is missing or unreadable (PKG-008 /
    DXF-001) or has no FC_H polygon (DXF-003); the row's 户号 is a label inside no polygon
    (DXF-006 / DXF-004); its floor has an unlabelled polygon (DXF-006); a polygon lies in no
    floor frame (PRP-008) or holds two labels (DXF-007). A unit whose floor or 户号 cannot be
    read (RPT-003/004) is matched by what can be read.
    """
    if "unit" not in ctx.tables.present:
        return []
    u = units(ctx)
    polys = plan_units(ctx)
    layer = ctx.profile.layer("FC_H")
    out: list[Finding] = []
    if not len(polys):
        return out
    n_labels = polys["labels"].str.len()
    # every label of every polygon (by plan, floor and 户号), and those of polygons in no frame
    exploded = polys[n_labels > 0].explode("labels")
    labels = pd.Series(_hh(exploded["labels"]).to_numpy(dtype=object), index=exploded.index)
    drawn = set(_key(exploded["zh"], exploded["sjc"], labels).dropna())
    no_frame = exploded["sjc"].isna().to_numpy()
    loose_labels = set(_key(exploded["zh"][no_frame], None, labels[no_frame]).dropna())
    loose_labels |= _orphan_labels(ctx)
    unlabelled = polys[(n_labels == 0).to_numpy()]
    blind_floors = set(_key(unlabelled["zh"], unlabelled["sjc"], None).dropna())
    blind_plans = set(unlabelled.loc[unlabelled["sjc"].isna(), "zh"])

    # rows without a polygon
    listed = u["zh"].isin(set(polys["zh"])) & u["SJC"].notna() & (u["HH"].notna() | u["code_hh"].notna())
    rows, row_keys = u[listed], unit_keys(ctx)[listed]
    found = row_keys["floor"].isin(blind_floors) | rows["zh"].isin(blind_plans)
    for hh in ("HH", "code_hh"):
        found |= row_keys[hh].isin(drawn)
        found |= row_keys[f"plan_{hh}"].isin(loose_labels)
    files = {zh: plan.file for zh, plan in ctx.geometry.floors.items()}
    for r in rows[~found.fillna(False).to_numpy(dtype=bool)].itertuples():
        hh = r.HH if isinstance(r.HH, str) else r.code_hh
        out.append(
            make(
                "PRP-007",
                unit_place(r, "HH", file=files[r.zh], layer=layer),
                reason=f"户 {r.BDCDYH}（第 {int(r.SJC)} 层，户号 {hh}）在分层分户图 {files[r.zh]} 中没有户图形",
            )
        )

    # polygons without a row: those with one label, in a frame, of a plan the report knows
    all_keys = unit_keys(ctx)
    keys: set[str] = set()
    for hh in ("HH", "code_hh"):
        keys |= set(all_keys[hh].dropna())
    unread_floor = u["SJC"].isna().to_numpy()
    floorless = set(all_keys["plan_HH"][unread_floor].dropna())
    reported = set(u["zh"].dropna()) | {z[20:24] for z in buildings(ctx)["ZRZH"] if len(z) >= 24}
    chosen = ((n_labels == 1) & polys["sjc"].notna() & polys["zh"].isin(reported)).to_numpy(dtype=bool)
    candidates = polys[chosen]
    without = ~_polygon_keys(ctx)[chosen].isin(keys)
    without &= ~_key(candidates["zh"], None, candidates["hh"]).isin(floorless)
    hit = candidates[without.fillna(False).to_numpy(dtype=bool)]
    xy = rep_points(hit["geometry"].to_numpy())
    for q, pt in zip(hit.itertuples(), xy, strict=True):
        out.append(
            make(
                "PRP-007",
                Place(file=q.file, layer=layer, handle=q.handle),
                local=(float(pt[0]), float(pt[1])),
                reason=f"{q.file} 第 {int(q.sjc)} 层的户图形（户号 {q.hh}，句柄 {q.handle}）在「户」表中没有对应的户",
            )
        )
    return out


def unit_positions(ctx: Context) -> list[Finding]:
    """PRP-008: a valid FC_H polygon lies in no floor frame or reaches outside its frame by
    more than unit_overlap m², or overlaps another unit of its floor by more than that.

    A polygon in no frame is not judged on a plan whose frames another rule reported: none
    (DXF-003), an invalid one (DXF-005) or one drawn open (DXF-004)."""
    t = tolerance(ctx, "unit_overlap")
    layer, frame_layer = ctx.profile.layer("FC_H"), ctx.profile.layer("FC_C")
    u = units(ctx)
    polys = plan_units(ctx)
    if not len(polys):
        return []
    rows_at = match_units(ctx)
    row_of = pd.Series(rows_at.index, index=rows_at.to_numpy())
    row_of = row_of[row_of.index >= 0]
    row_of = row_of[~row_of.index.duplicated(keep="first")]
    out: list[Finding] = []

    def place(i: int) -> Place:
        q = polys.iloc[i]
        drawing = {"file": q["file"], "layer": layer, "handle": q["handle"]}
        if i in row_of.index:
            return unit_place(u.loc[row_of[i]], None, **drawing)
        return Place(**drawing)

    def name(i: int) -> str:
        q = polys.iloc[i]
        return f"户 {q['hh'] or '（无户号）'}（句柄 {q['handle']}）"

    def found(
        at: np.ndarray, where: np.ndarray, reasons: list[str], excess: np.ndarray | None = None
    ) -> list[Finding]:
        """PRP-008 on the polygons at positions ``at``, each located at a point of its
        geometry in ``where`` and, for a spill or an overlap, with its ``excess`` m²."""
        xy = rep_points(where)
        actual = [None] * len(at) if excess is None else [round(float(a), 4) for a in excess]
        return [
            make(
                "PRP-008",
                place(i),
                actual=a,
                tolerance=None if excess is None else t,
                local=(float(x), float(y)),
                reason=r,
            )
            for i, a, (x, y), r in zip(at, actual, xy, reasons, strict=True)
        ]

    valid = polys["valid"].to_numpy(dtype=bool)
    of_plan = polys[valid].groupby("zh", sort=False).indices  # zh → positions among the valid
    positions = np.flatnonzero(valid)
    all_geoms = polys["geometry"].to_numpy()
    for zh, plan in ctx.geometry.floors.items():  # one pass per plan (≤ a few dozen)
        mine = positions[of_plan[zh]] if zh in of_plan else np.empty(0, dtype=np.intp)
        if not len(mine):
            continue
        geoms = all_geoms[mine]
        fr = plan.frames
        frame_geoms = (
            fr.geometry.to_numpy()[fr["valid"].to_numpy(dtype=bool)] if len(fr) else np.array([], dtype=object)
        )
        owner = np.full(len(mine), -1)
        if len(frame_geoms):
            pts = shapely.points(rep_points(geoms))
            ip, jf = shapely.STRtree(frame_geoms).query(pts, predicate="within")
            if len(ip):
                order = np.lexsort((shapely.area(frame_geoms[jf]), ip))
                first = np.unique(ip[order], return_index=True)[1]
                owner[ip[order][first]] = jf[order][first]
        lost = np.flatnonzero(owner < 0)
        # not judged where another rule reported the frames: none at all (DXF-003), an
        # invalid one (DXF-005), one drawn open (DXF-004)
        if len(lost) and (len(frame_geoms) < len(plan.frames) or not len(plan.frames) or open_shapes(ctx, f"floor:{zh}", "FC_C")):
            lost = np.array([], dtype=int)
        out += found(
            mine[lost],
            geoms[lost],
            [f"{plan.file}：{name(i)} 不在任何层框（{frame_layer}）内" for i in mine[lost]],
        )
        inside = np.flatnonzero(owner >= 0)
        inside = inside[~shapely.covered_by(geoms[inside], frame_geoms[owner[inside]])]
        rest = shapely.difference(geoms[inside], frame_geoms[owner[inside]])
        spill = shapely.area(rest)
        big = spill > t + EPS
        spilt = mine[inside[big]]
        out += found(
            spilt,
            rest[big],
            [
                f"{plan.file}：{name(i)} 超出所在层框 {float(a):.2f} m²"
                for i, a in zip(spilt, spill[big], strict=True)
            ],
            spill[big],
        )
        # overlaps between units of the same floor
        sjc = polys["sjc"].to_numpy(dtype="float64", na_value=np.nan)[mine]
        # candidate pairs of one floor whose bounding boxes share more than t (neighbours
        # that only touch share none): only these can overlap by more than t
        ia, ib = shapely.STRtree(geoms).query(geoms)
        box = shapely.bounds(geoms)
        wide = np.minimum(box[ia, 2], box[ib, 2]) - np.maximum(box[ia, 0], box[ib, 0])
        high = np.minimum(box[ia, 3], box[ib, 3]) - np.maximum(box[ia, 1], box[ib, 1])
        keep = (
            (ia < ib)
            & (sjc[ia] == sjc[ib])
            & (np.clip(wide, 0, None) * np.clip(high, 0, None) > t + EPS)
        )
        ia, ib = ia[keep], ib[keep]  # NaN (in no frame) is no floor
        if not len(ia):
            continue
        common = shapely.intersection(geoms[ia], geoms[ib])
        shared = shapely.area(common)
        big = shared > t + EPS
        ia, ib = ia[big], ib[big]
        out += found(
            mine[ia],
            common[big],
            [
                f"{plan.file} 第 {int(sjc[a])} 层：{name(mine[a])} 与 {name(mine[b])} 重叠 {float(x):.2f} m²"
                for a, b, x in zip(ia, ib, shared[big], strict=True)
            ],
            shared[big],
        )
    return out


def balconies(ctx: Context) -> list[Finding]:
    """PRP-013: a balcony (FC_YT) without a 封闭 / 未封闭 label (or with both), or a valid
    balcony touching no unit polygon."""
    bal = _balconies(ctx)
    if not len(bal):
        return []
    loose = bal["valid"].astype(bool) & bal["unit_handle"].isna()
    hit = bal[(bal["bad_label"] | loose).to_numpy()]
    layer = ctx.profile.layer("FC_YT")
    xy = rep_points(hit["geometry"].to_numpy())
    out = []
    for (i, q), pt in zip(hit.iterrows(), xy, strict=True):
        reasons = []
        if q["bad_label"]:
            text = "、".join(q["labels"]) if len(q["labels"]) else "无注记"
            reasons.append(f"注记应为“封闭”或“未封闭”之一（现为：{text}）")
        if loose[i]:
            reasons.append("未与任何户图形相接")
        out.append(
            make(
                "PRP-013",
                Place(file=q["file"], layer=layer, handle=q["handle"]),
                local=(float(pt[0]), float(pt[1])),
                reason=f"{q['file']} 阳台（句柄 {q['handle']}）：" + "；".join(reasons),
            )
        )
    return out


# ---------------------------------------------------------------- table rules (PRP-009..012)


def presale(ctx: Context) -> list[Finding]:
    """PRP-009 (warning): |SCJZMJ − YCJZMJ| / YCJZMJ > presale_ratio."""
    tol = ctx.profile.tolerances.presale_ratio
    u = units(ctx)
    ratio = (u["J"] - u["Y"]).abs() / u["Y"]
    hit = (ratio > tol + EPS).fillna(False).to_numpy()
    return [
        make(
            "PRP-009",
            unit_place(r, "SCJZMJ"),
            expected=_num(r.Y),
            actual=_num(r.J),
            tolerance=tol,
            ratio=float(q),
        )
        for r, q in zip(u[hit].itertuples(), ratio[hit], strict=True)
    ]


def low_floors(ctx: Context) -> list[Finding]:
    """PRP-010: a 层 row with CG below min_floor_height on which units carry area."""
    minimum = ctx.profile.tolerances.min_floor_height
    fl = floors(ctx)
    fl = fl[fl["first"] & (fl["CG"] < minimum - EPS).fillna(False)]
    if not len(fl):
        return []
    u = units(ctx)
    carrying = u[(u["S"].notna() | u["J"].notna()) & u["SJC"].notna() & u["ZRZH"].notna()]
    count = carrying.groupby(["ZRZH", "SJC"]).size()
    out = []
    for r in fl.itertuples():  # only the low floors
        if (r.ZRZH, r.SJC) not in count.index:
            continue
        place = Place(
            sheet=FLOOR_SHEET,
            row=int(r.row),
            key=ctx.tables.key_of("floor", int(r.row)),
            field="CG",
        )
        out.append(
            make(
                "PRP-010", place, expected=minimum, actual=_num(r.CG), key=r.ZRZH, floor=int(r.SJC)
            )
        )
    return out


def _ranges(values: list[int]) -> str:
    """``[-1, 1, 2, 3, 5]`` → ``-1, 1..3, 5``."""
    runs: list[tuple[int, int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in runs)


def floor_table(ctx: Context) -> list[Finding]:
    """PRP-011: the 层 sheet does not hold exactly floors 1..DSCS and −1..−DXCS of a
    building. A 层 row whose SJC cannot be read may be a missing floor: missing floors are
    reported only when there are more of them than such rows."""
    if "floor" not in ctx.tables.present:
        return []
    fl = floors(ctx)
    # the 层 rows of each building, found once (not a comparison over all rows per building)
    of_building = fl.groupby("ZRZH", sort=False).indices if len(fl) else {}
    all_sjc = fl["SJC"].to_numpy(dtype=float)
    out = []
    for r in buildings(ctx).itertuples():  # one per building
        if pd.isna(r.DSCS) or pd.isna(r.DXCS):
            continue
        if isinstance(r.ZRZH, str):
            mine = all_sjc[of_building.get(r.ZRZH, np.empty(0, dtype=np.intp))]
        else:
            mine = fl[fl["ZRZH"] == r.ZRZH]["SJC"].to_numpy(dtype=float)
        unread = np.isnan(mine)
        have = {int(v) for v in mine[~unread]}
        want = set(range(1, int(r.DSCS) + 1)) | set(range(-int(r.DXCS), 0))
        missing, extra = sorted(want - have), sorted(have - want)
        if len(missing) <= int(unread.sum()):
            missing = []
        if not missing and not extra:
            continue
        reason = []
        if missing:
            reason.append(f"缺少第 {_ranges(missing)} 层")
        if extra:
            reason.append(f"多出第 {_ranges(extra)} 层")
        reason.append(
            f"应为地上 1..{int(r.DSCS)} 层" + (f"、地下 -{int(r.DXCS)}..-1 层" if r.DXCS else "")
        )
        place = Place(sheet=BUILDING_SHEET, row=int(r.row), key=r.ZRZH)
        out.append(
            make(
                "PRP-011",
                place,
                expected=_ranges(sorted(want)),
                actual=_ranges(sorted(have)),
                reason="；".join(reason),
            )
        )
    return out


def unit_number(ctx: Context) -> list[Finding]:
    """PRP-012: HH ≠ BDCDYH[24:28] (for a BDCDYH of the right structure: CAD-002 judges it)."""
    u = units(ctx)
    raw = _text(ctx.tables.get("unit"), "HH")
    hit = (u["code_hh"].notna() & raw.notna() & (raw != u["code_hh"])).to_numpy()
    return [
        make("PRP-012", unit_place(r, "HH"), expected=r.code_hh, actual=h)
        for r, h in zip(u[hit].itertuples(), raw[hit], strict=True)
    ]


RULES = located([
    unit_sum,
    coefficient,
    apportioned_area,
    shared_total,
    building_total,
    drawn_area,
    unit_polygons,
    unit_positions,
    presale,
    low_floors,
    floor_table,
    unit_number,
    balconies,
])
