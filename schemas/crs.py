"""Coordinates: the declared CRS and whether the package's coordinates fit it (CRS-001..005).

CGCS2000 3° Gauss-Krüger only. EPSG 4513–4533 are the zone-prefixed forms (zone 25–45,
false easting zone×10⁶ + 500 000); 4534–4554 the central-meridian forms (CM 75E–135E).
Survey axes: X = northing, Y = easting; DXF x = easting, y = northing.

Each coordinate set (the 界址点 table, site.dxf, parcel.dxf) is judged once, as a whole:
a correct zone prefix is stripped (CRS-004 when it names another zone), swapped axes are
said plainly (CRS-003) and exchanged back, so that every later rule still sees the right
numbers and the firm is told every defect at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import Drawing
from schemas.profile import Profile
from schemas.tables import Tables

CHINA = (73.0, 135.5, 3.5, 54.0)  # lon_min, lon_max, lat_min, lat_max
HALF_ZONE = 1.6  # degrees of longitude either side of the central meridian


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
class Outcome:
    """How one coordinate set is to be read: swapped?, prefix stripped, and its findings."""

    swap: bool
    findings: list[Finding]


def judge_set(
    zone: Zone, east: np.ndarray, north: np.ndarray, what: str, first: Place, at: tuple[float, float] | None
) -> Outcome:
    """CRS-002/003/004 for one coordinate set (vectorised over its points)."""
    out: list[Finding] = []
    finite = np.isfinite(east) & np.isfinite(north)
    e, n = east[finite], north[finite]
    if not len(e):
        return Outcome(False, out)
    e1, p1 = strip_prefix(e)
    straight = fits(zone, e1, n)
    swap = False
    if not straight.all():
        e2, p2 = strip_prefix(n)
        swapped = fits(zone, e2, e)
        if swapped.mean() > straight.mean() and swapped.all():
            swap = True
            out.append(make("CRS-003", first, location=at, what=what))
            e1, p1 = e2, p2
        else:
            bad = int((~straight).sum())
            out.append(
                make(
                    "CRS-002", first, location=None, what=what, zone=f"EPSG:{zone.declared or zone.epsg}（中央子午线 {zone.cm}°E）",
                    reason=f"{bad} 个点不在投影带内或换算后不在中国境内",
                    actual=bad,
                )
            )
    wrong = np.unique(p1[(p1 != 0) & (p1 != zone.prefix)])
    if len(wrong):
        out.append(make("CRS-004", first, location=None, what=what, actual=int(wrong[0]), expected=zone.prefix))
    return Outcome(swap, out)


def _normalise_xy(east: np.ndarray, north: np.ndarray, swap: bool) -> tuple[np.ndarray, np.ndarray]:
    if swap:
        east, north = north, east
    return strip_prefix(east)[0], north


def _drawing_coords(d: Drawing) -> np.ndarray:
    parts = [shapely.get_coordinates(f.geometry.values) for f in (d.shapes, d.points, d.texts) if len(f)]
    return np.vstack(parts) if parts else np.empty((0, 2))


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

    bp = tables.frames.get("boundary_point")
    if bp is not None and len(bp):
        ok = bp["XZBZ"].notna() & bp["YZBZ"].notna()
        if ok.any():
            north = bp.loc[ok, "XZBZ"].to_numpy(float)
            east = bp.loc[ok, "YZBZ"].to_numpy(float)
            row = int(bp.index[ok.to_numpy()][0])
            first = Place(sheet="界址点", row=row, key=tables.key_of("boundary_point", row), field="XZBZ/YZBZ")
            res = judge_set(zone, east, north, "界址点表", first, None)
            out += res.findings
            e, n = _normalise_xy(east, north, res.swap)
            bp = bp.copy()
            bp.loc[ok, "YZBZ"] = e
            bp.loc[ok, "XZBZ"] = n
            tables.frames["boundary_point"] = bp

    for key in ("site", "parcel"):
        d = drawings.get(key)
        if d is None or not d.readable:
            continue
        coords = _drawing_coords(d)
        if not len(coords):
            continue
        handle, layer = _first_entity(d)
        first = Place(file=d.path, layer=layer, handle=handle)
        res = judge_set(zone, coords[:, 0], coords[:, 1], d.path, first, None)
        out += res.findings
        if any(f.code == "CRS-002" for f in res.findings):
            d.readable = False  # outside its zone: no figure measured on it means anything
            continue
        _normalise_drawing(d, res.swap)

    centre = _project_centre(tables, drawings)
    placed = not any(f.code == "CRS-002" for f in out)  # outside the zone, a location means nothing
    if centre is not None and placed:
        lon, lat = lonlat(zone, np.array([centre[0]]), np.array([centre[1]]))
        a = profile.area
        if np.isfinite(lon[0]) and not (a.lon_min <= lon[0] <= a.lon_max and a.lat_min <= lat[0] <= a.lat_max):
            out.append(make("CRS-005", Place(sheet="项目信息", key="ZBX"), location=centre, lon=float(lon[0]), lat=float(lat[0]), area=profile.title or profile.name))
    return zone, out


def _first_entity(d: Drawing) -> tuple[str | None, str | None]:
    for frame in (d.shapes, d.points, d.texts):
        if len(frame):
            return str(frame["handle"].iloc[0]), str(frame["layer"].iloc[0])
    return None, None


def _project_centre(tables: Tables, drawings: dict[str, Drawing]) -> tuple[float, float] | None:
    for key in ("site", "parcel"):
        d = drawings.get(key)
        if d is not None and d.readable:
            c = _drawing_coords(d)
            c = c[np.isfinite(c).all(axis=1)]
            if len(c):
                return float(np.median(c[:, 0])), float(np.median(c[:, 1]))
    bp = tables.frames.get("boundary_point")
    if bp is not None and len(bp):
        sub = bp[["YZBZ", "XZBZ"]].dropna()
        if len(sub):
            return float(sub["YZBZ"].median()), float(sub["XZBZ"].median())
    return None


def project_crs_string(zone: Zone) -> str:
    return f"EPSG:{zone.epsg}"


__all__ = ["Zone", "check_crs", "parse_zbx", "zone_of", "fits", "lonlat", "project_crs_string"]
