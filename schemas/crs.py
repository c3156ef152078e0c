"""Coordinates: the declared CRS and whether the package's coordinates fit it (CRS-001..005).

CGCS2000 3° Gauss-Krüger only. EPSG 4513–4533 are the zone-prefixed forms (zone 25–45,
false easting zone×10⁶ + 500 000); 4534–4554 the central-meridian forms (CM 75E–135E).
Survey axes: X = northing, Y = easting; DXF x = easting, y = northing.

Three coordinate sets are judged: the 界址点 table row by row, and site.dxf and
parcel.dxf entity by entity, on the contract's layers only (:data:`CONTRACT_LAYERS`, as the
profile names them; title blocks, north arrows, legends on other layers are never judged
and never move the centre of the project).

- Swapped axes are said once per set (CRS-003) and exchanged back.
- A correct zone prefix is stripped; another zone's prefix is CRS-004 at each row or entity
  that carries it, or once for the set when every item carries the same one.
- A point or entity outside the zone is CRS-002 at its row or handle and is not measured
  afterwards (its table coordinates emptied, the entity taken out of the drawing); when
  every item of the set is outside (a wrong EPSG), one CRS-002 for the sheet or drawing,
  and such a drawing is not measured at all.

Every later rule sees the right numbers, and the firm is told every defect at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from schemas.catalogue import make
from schemas.drawings import CONTRACT_LAYERS as DRAWING_LAYERS
from schemas.drawings import PARCEL_LAYERS, SITE_LAYERS, required_layers
from schemas.findings import Finding, Place
from schemas.package import Drawing
from schemas.profile import Profile
from schemas.tables import Tables

CHINA = (73.0, 135.5, 3.5, 54.0)  # lon_min, lon_max, lat_min, lat_max
HALF_ZONE = 1.6  # degrees of longitude either side of the central meridian
# the layers CRS judges (standard names; a profile maps them): all else in a drawing — title
# blocks, north arrows, legends — is not the contract's and never judged
CONTRACT_LAYERS = {kind: DRAWING_LAYERS[kind] for kind in ("site", "parcel")}
FRAMES = ("shapes", "points", "texts")
TABLE = "界址点"
COORDS = "XZBZ/YZBZ"


@dataclass(frozen=True)
class Zone:
    declared: int | None  # the EPSG code as declared, when valid
    epsg: int  # the central-meridian EPSG code used for every computation and product
    cm: int  # central meridian, degrees east
    prefix: int  # the zone prefix a prefixed Y must carry (zone for 4513–4533, CM/3 else)


def parse_zbx(text: object) -> int | None:
    """`EPSG:4548`, `EPSG 4548`, `epsg:4548` → 4548 (any code; validity is judged apart)."""
    if text is None:
        return None
    m = re.fullmatch(r"\s*(?:EPSG\s*[:：]?\s*)?(\d{4,5})\s*", str(text), flags=re.IGNORECASE)
    return int(m.group(1)) if m else None


def zone_of(epsg: int) -> Zone | None:
    if 4513 <= epsg <= 4533:
        zone = epsg - 4488
        cm = zone * 3
        return Zone(epsg, 4534 + (cm - 75) // 3, cm, zone)
    if 4534 <= epsg <= 4554:
        cm = 75 + 3 * (epsg - 4534)
        return Zone(epsg, epsg, cm, cm // 3)
    return None


@lru_cache(maxsize=64)
def _to_lonlat(epsg: int) -> Transformer:
    """CGCS2000 3° Gauss-Krüger (no zone prefix) → longitude, latitude in degrees.

    The PROJ pipeline is what ``Transformer.from_crs(epsg, 4326)`` resolves to for these
    codes (inverse TM on GRS80, then the ballpark CGCS2000 → WGS 84, an identity), without
    its look-ups in PROJ's database: 50 ms less per process, the same numbers
    (tests/schemas/test_crs.py compares them).
    """
    zone = zone_of(epsg)
    if zone is None or zone.epsg != epsg:
        return Transformer.from_crs(epsg, 4326, always_xy=True)
    return Transformer.from_pipeline(
        f"+proj=pipeline +step +inv +proj=tmerc +lat_0=0 +lon_0={zone.cm} +k=1 +x_0=500000 +y_0=0"
        " +ellps=GRS80 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )


def lonlat(zone: Zone, east: np.ndarray, north: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = _to_lonlat(zone.epsg).transform(np.asarray(east, float), np.asarray(north, float))
    return np.asarray(lon), np.asarray(lat)


def fits(zone: Zone, east: np.ndarray, north: np.ndarray) -> np.ndarray:
    """Whether each (east, north) lies in the zone and inside China."""
    with np.errstate(invalid="ignore"):
        lon, lat = lonlat(zone, east, north)
        ok = np.isfinite(lon) & np.isfinite(lat)
        ok &= np.abs(lon - zone.cm) <= HALF_ZONE
        ok &= (lon >= CHINA[0]) & (lon <= CHINA[1]) & (lat >= CHINA[2]) & (lat <= CHINA[3])
    return ok


def strip_prefix(east: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(easting without a zone prefix, the prefix or 0 where there was none).

    Only zones 13–45 (CGCS2000 3° zones cover China at 25–45; 13–23 are the 6° zones a
    firm may confuse them with) count as prefixes; anything else is left as it is, for
    CRS-002 to judge.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        lead = np.floor(np.where(np.isfinite(east), east, 0.0) / 1e6)
    prefix = np.where((lead >= 13) & (lead <= 45), lead, 0).astype(int)
    return east - prefix * 1e6, prefix


@dataclass
class Judgment:
    """How one coordinate set is to be read, item by item (a table row, a drawing entity).

    Attributes
    ----------
    swap
        The set fits the zone only with X and Y exchanged (CRS-003): read it swapped.
    judged
        Per item: it has a finite coordinate (the others are not CRS's to judge).
    outside
        Per item: a vertex lies outside the zone once read (swapped, prefix stripped).
    wrong
        Per item: the zone prefix it carries that is not the declared zone's, else 0.
    at
        Per item: its first vertex as read (east, north); NaN for an item not judged.
    """

    swap: bool
    judged: np.ndarray
    outside: np.ndarray
    wrong: np.ndarray
    at: np.ndarray

    @property
    def whole_outside(self) -> bool:
        """Every judged item lies outside the zone: the set as a whole is off (wrong EPSG)."""
        return bool(self.judged.any() and self.outside[self.judged].all())

    @property
    def whole_wrong(self) -> bool:
        """Every judged item carries the same wrong prefix: the set was written in another zone."""
        w = self.wrong[self.judged]
        return bool(len(w) and (w != 0).all() and (w == w[0]).all())


def judge(zone: Zone, east: np.ndarray, north: np.ndarray, item: np.ndarray, items: int) -> Judgment:
    """CRS-002/003/004 of one coordinate set, vectorised over its vertices.

    ``east``/``north`` are the vertices as written, ``item[i]`` the item (row or entity,
    ``0 … items-1``) vertex ``i`` belongs to. Non-finite vertices are left to the drawing
    and report rules.
    """
    east, north, item = np.asarray(east, float), np.asarray(north, float), np.asarray(item, int)
    fin = np.isfinite(east) & np.isfinite(north)
    e, n, it = east[fin], north[fin], item[fin]
    judged = np.bincount(it, minlength=items).astype(bool)
    e1, p1 = strip_prefix(e)
    straight = fits(zone, e1, n)
    swap = False
    if len(e) and not straight.all():
        e2, p2 = strip_prefix(n)
        swapped = fits(zone, e2, e)
        if swapped.all() and swapped.mean() > straight.mean():
            swap, straight, e1, p1, n = True, swapped, e2, p2, e
    outside = np.bincount(it[~straight], minlength=items).astype(bool)
    wrong = np.zeros(items, dtype=int)
    bad = (p1 != 0) & (p1 != zone.prefix)
    wrong[it[bad][::-1]] = p1[bad][::-1]  # the first wrong prefix of each item
    at = np.full((items, 2), np.nan)
    first = np.unique(it, return_index=True)[1]  # each item's first vertex
    at[it[first]] = np.column_stack([e1[first], n[first]])
    return Judgment(swap, judged, outside, wrong, at)


def findings_of(
    j: Judgment, zone: Zone, what: str, unit: str, whole: Place, each: Callable[[int], tuple[Place, str]]
) -> list[Finding]:
    """The findings of one judged set: CRS-003 once; CRS-002 and CRS-004 once for the set
    when every item has it alike (wrong EPSG, another zone's prefix throughout), else at
    each item (``each(i)``: its place and how it is named).

    A location is given only where it means something: for a prefix, the point once
    stripped, when it lies in the zone; never for a point outside it.
    """
    out: list[Finding] = []
    declared = f"EPSG:{zone.declared or zone.epsg}（中央子午线 {zone.cm}°E）"
    if j.swap:
        out.append(make("CRS-003", whole, what=what))
    if j.whole_outside:
        n = int(j.judged.sum())
        out.append(make("CRS-002", whole, what=what, zone=declared, actual=n,
                        reason=f"全部 {n} 个{unit}都不在投影带内或换算后不在中国境内，请核对坐标系 ZBX 与坐标"))
    else:
        for i in np.flatnonzero(j.outside):
            place, name = each(int(i))
            out.append(make("CRS-002", place, what=name, zone=declared, reason="不在投影带内或换算后不在中国境内"))
    if j.whole_wrong:
        out.append(make("CRS-004", whole, what=what, actual=int(j.wrong[j.judged][0]), expected=zone.prefix))
    else:
        for i in np.flatnonzero(j.wrong):
            place, name = each(int(i))
            at = None if j.outside[i] else (float(j.at[i, 0]), float(j.at[i, 1]))
            out.append(make("CRS-004", place, location=at, what=name, actual=int(j.wrong[i]), expected=zone.prefix))
    return out


def _normalise_xy(east: np.ndarray, north: np.ndarray, swap: bool) -> tuple[np.ndarray, np.ndarray]:
    if swap:
        east, north = north, east
    return strip_prefix(east)[0], north


def _normalise_drawing(d: Drawing, swap: bool) -> None:
    def fix(coords: np.ndarray) -> np.ndarray:
        e, n = _normalise_xy(coords[:, 0], coords[:, 1], swap)
        return np.column_stack([e, n])

    for name in ("shapes", "points", "texts"):
        frame = getattr(d, name)
        if len(frame):
            frame = frame.copy()
            frame["geometry"] = shapely.transform(frame.geometry.values, fix)
            setattr(d, name, frame)


def check_crs(tables: Tables, drawings: dict[str, Drawing], profile: Profile) -> tuple[Zone, list[Finding]]:
    """Judge the CRS and normalise coordinates in place (tables' 界址点 and the project drawings).

    Returns the zone every later computation uses, and CRS-001..005 findings.
    """
    out: list[Finding] = []
    zbx = tables.project.get("ZBX")
    zbx_row = tables.project_rows.get("ZBX")
    declared = parse_zbx(zbx)
    zone = zone_of(declared) if declared is not None else None
    if zone is None and "project" in tables.present:  # no 项目信息 at all: RPT-001 / PKG-008 said it
        out.append(make("CRS-001", Place(sheet="项目信息", row=zbx_row, key="ZBX", field="ZBX"), value=zbx or ""))
    if zone is None:
        zone = zone_of(profile.epsg)
        assert zone is not None, "the profile's EPSG must be a CGCS2000 3° GK code"
        zone = Zone(None, zone.epsg, zone.cm, zone.prefix)

    found, table_xy = _check_table(tables, zone)
    out += found
    for key, layers in CONTRACT_LAYERS.items():
        d = drawings.get(key)
        if d is not None and d.readable:
            out += _check_drawing(d, zone, {profile.layer(s) for s in layers}, key, profile)

    centre = _project_centre(drawings, profile, table_xy)
    if centre is not None:
        lon, lat = lonlat(zone, np.array([centre[0]]), np.array([centre[1]]))
        a = profile.area
        if np.isfinite(lon[0]) and not (a.lon_min <= lon[0] <= a.lon_max and a.lat_min <= lat[0] <= a.lat_max):
            out.append(make("CRS-005", Place(sheet="项目信息", key="ZBX"), location=centre, lon=float(lon[0]), lat=float(lat[0]), area=profile.title or profile.name))
    return zone, out


def _check_table(tables: Tables, zone: Zone) -> tuple[list[Finding], np.ndarray]:
    """CRS-002/003/004 of the 界址点 table, row by row; the table read back swapped and
    stripped. Also the rows' points that lie in the zone (for the project centre)."""
    none = np.empty((0, 2))
    bp = tables.frames.get("boundary_point")
    if bp is None or not len(bp):
        return [], none
    ok = (bp["XZBZ"].notna() & bp["YZBZ"].notna()).to_numpy()
    if not ok.any():
        return [], none
    north = bp.loc[ok, "XZBZ"].to_numpy(float)
    east = bp.loc[ok, "YZBZ"].to_numpy(float)
    rows = bp.index[ok].to_numpy()
    j = judge(zone, east, north, np.arange(len(rows)), len(rows))

    def each(i: int) -> tuple[Place, str]:
        row = int(rows[i])
        key = tables.key_of("boundary_point", row)
        return Place(sheet=TABLE, row=row, key=key, field=COORDS), f"界址点表第 {row} 行" + (f"（{key}）" if key else "")

    # the set as a whole: the sheet, from its first row (no key: no one point is at fault)
    found = findings_of(j, zone, "界址点表", "点", Place(sheet=TABLE, row=int(rows[0]), field=COORDS), each)
    e, n = _normalise_xy(east, north, j.swap)
    # a point outside the zone is not measured by later rules (its parcel's figures skipped)
    e, n = np.where(j.outside, np.nan, e), np.where(j.outside, np.nan, n)
    bp = bp.copy()
    bp.loc[ok, "YZBZ"] = e
    bp.loc[ok, "XZBZ"] = n
    tables.frames["boundary_point"] = bp
    inside = j.judged & ~j.outside
    return found, np.column_stack([e, n])[inside]


def _contract_entities(d: Drawing, names: set[str]) -> tuple[list[tuple[str, np.ndarray]], np.ndarray, np.ndarray]:
    """The drawing's entities on the contract's layers: per frame the positions of its
    rows that are, and all their vertices with the entity (``0 …``, frame after frame)
    each belongs to."""
    rows: list[tuple[str, np.ndarray]] = []
    coords, items = [], []
    count = 0
    for name in FRAMES:
        frame = getattr(d, name)
        if not len(frame):
            continue
        pos = np.flatnonzero(frame["layer"].isin(names).to_numpy())
        if not len(pos):
            continue
        xy, idx = shapely.get_coordinates(frame.geometry.values[pos], return_index=True)
        rows.append((name, pos))
        coords.append(xy)
        items.append(idx + count)
        count += len(pos)
    if not rows:
        return [], np.empty((0, 2)), np.empty(0, dtype=int)
    return rows, np.vstack(coords), np.concatenate(items)


def _check_drawing(d: Drawing, zone: Zone, names: set[str], kind: str, profile: Profile) -> list[Finding]:
    """CRS-002/003/004 of a project drawing, judged on its contract layers entity by
    entity; the drawing read back swapped and stripped (every entity, whatever its
    layer), its entities outside the zone taken out of it (a required layer they leave
    empty is noted in ``d.emptied``). When every contract entity is outside (a wrong
    EPSG), the drawing is not measured at all (``readable`` False)."""
    rows, coords, item = _contract_entities(d, names)
    count = sum(len(pos) for _, pos in rows)
    if not count:
        _normalise_drawing(d, False)
        return []
    j = judge(zone, coords[:, 0], coords[:, 1], item, count)
    handles = np.concatenate([getattr(d, name)["handle"].to_numpy(object)[pos] for name, pos in rows])
    layers = np.concatenate([getattr(d, name)["layer"].to_numpy(object)[pos] for name, pos in rows])

    def each(i: int) -> tuple[Place, str]:
        handle = None if handles[i] is None else str(handles[i])
        layer = None if layers[i] is None else str(layers[i])
        return Place(file=d.path, layer=layer, handle=handle), f"{d.path} 图层 {layer} 的图元（句柄 {handle}）"

    found = findings_of(j, zone, d.path, "图元", Place(file=d.path), each)
    if j.whole_outside:
        d.readable = False  # outside its zone: no figure measured on it means anything
        return found
    if j.outside.any():  # out of the zone, one by one: the rules measure the rest
        missing = _missing_layers(d, kind, profile)
        start = 0
        for name, pos in rows:
            drop = pos[j.outside[start : start + len(pos)]]
            start += len(pos)
            if len(drop):
                frame = getattr(d, name)
                keep = np.ones(len(frame), dtype=bool)
                keep[drop] = False
                setattr(d, name, frame.iloc[keep].reset_index(drop=True))
        d.emptied |= _missing_layers(d, kind, profile) - missing
    _normalise_drawing(d, j.swap)
    return found


def _missing_layers(d: Drawing, kind: str, profile: Profile) -> set[str]:
    """The required layers of a site or parcel drawing that DXF-003 would call missing."""
    layers = SITE_LAYERS if kind == "site" else PARCEL_LAYERS
    return {f.object.layer for f in required_layers(d, layers, profile) if f.object.layer}


def _project_centre(drawings: dict[str, Drawing], profile: Profile, table_xy: np.ndarray) -> tuple[float, float] | None:
    """The median of the first project drawing's contract-layer coordinates (every one in
    the zone by now), else of the 界址点 in the zone; None when there are none."""
    for key, layers in CONTRACT_LAYERS.items():
        d = drawings.get(key)
        if d is not None and d.readable:
            c = _contract_entities(d, {profile.layer(s) for s in layers})[1]
            c = c[np.isfinite(c).all(axis=1)]
            if len(c):
                return float(np.median(c[:, 0])), float(np.median(c[:, 1]))
    if len(table_xy):
        return float(np.median(table_xy[:, 0])), float(np.median(table_xy[:, 1]))
    return None


def project_crs_string(zone: Zone) -> str:
    return f"EPSG:{zone.epsg}"


__all__ = ["Zone", "check_crs", "parse_zbx", "zone_of", "fits", "lonlat", "project_crs_string"]
