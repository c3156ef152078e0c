"""Modelspace entities → the frames of :class:`schemas.package.Drawing`.

Used by the ezdxf reader (:mod:`parsers.dxf`) and, for the shared pieces (closing rings,
building frames), by the GDAL fast path (:mod:`parsers.dxf_fast`), so that both give the
same rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryArray

from parsers.bulge import arc_points, flatten, ocs_to_wcs
from parsers.dxf_encoding import Decoder
from parsers.mtext import plain_mtext, plain_text
from schemas.package import POINT_COLUMNS, SHAPE_COLUMNS, TEXT_COLUMNS, empty_frame

if TYPE_CHECKING:  # ezdxf is imported only where a drawing is read with it
    from ezdxf.entities import DXFGraphic

CLOSE_TOLERANCE = 1e-9  # m: a last vertex this close to the first closes the ring
NOT_FINITE = "坐标非数值"  # DXF-005 reasons for entities left out
UNREADABLE = "实体数据损坏，无法读取"
EMPTY_LINE = shapely.from_wkt("LINESTRING EMPTY")
_OPEN = ("LINE", "ARC")  # never closed, whatever their ends (a full-circle ARC included)


@dataclass
class Rows:
    """Column lists of the three frames, filled entity by entity."""

    shapes: dict[str, list] = field(default_factory=lambda: {c: [] for c in SHAPE_COLUMNS})
    points: dict[str, list] = field(default_factory=lambda: {c: [] for c in POINT_COLUMNS})
    texts: dict[str, list] = field(default_factory=lambda: {c: [] for c in TEXT_COLUMNS})
    bad: list[tuple[str, str, str]] = field(default_factory=list)  # left out: layer, handle, why

    def add_shape(self, handle, layer, dxftype, xy: np.ndarray, closed_flag: bool, xdata):
        if dxftype in _OPEN:
            closed = False
        else:
            xy, closed = finish_ring(xy, closed_flag)
        s = self.shapes
        s["handle"].append(handle)
        s["layer"].append(layer)
        s["dxftype"].append(dxftype)
        s["closed"].append(closed)
        s["xdata"].append(xdata)
        s["geometry"].append(xy)

    def add_point(self, handle, layer, dxftype, xy) -> None:
        p = self.points
        p["handle"].append(handle)
        p["layer"].append(layer)
        p["dxftype"].append(dxftype)
        p["geometry"].append(xy)

    def add_text(self, handle, layer, dxftype, text: str, xy) -> None:
        t = self.texts
        t["handle"].append(handle)
        t["layer"].append(layer)
        t["dxftype"].append(dxftype)
        t["text"].append(text.strip())
        t["geometry"].append(xy)

    def frames(self) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """The shapes, points and texts frames (vectorised geometry construction)."""
        return (
            frame(self.shapes, SHAPE_COLUMNS, linestrings(self.shapes["geometry"])),
            frame(self.points, POINT_COLUMNS, points_of(self.points["geometry"])),
            frame(self.texts, TEXT_COLUMNS, points_of(self.texts["geometry"])),
        )


def finish_ring(xy: np.ndarray, closed_flag: bool) -> tuple[np.ndarray, bool]:
    """Closed = the closed flag, or a last vertex repeating the first; the repeated
    closing vertex is dropped."""
    if len(xy) >= 2 and np.abs(xy[-1] - xy[0]).max() <= CLOSE_TOLERANCE:
        return xy[:-1], True
    return xy, bool(closed_flag)


def linestrings(coords: list[np.ndarray]) -> np.ndarray:
    """LineStrings from a list of (n, 2) arrays in one shapely call; fewer than two
    vertices give an empty LineString."""
    out = np.full(len(coords), EMPTY_LINE, dtype=object)
    if not coords:
        return out
    counts = np.fromiter((len(c) for c in coords), dtype=np.int64, count=len(coords))
    ok = counts >= 2
    if ok.any():
        stacked = np.concatenate([c for c, k in zip(coords, ok, strict=True) if k])
        index = np.repeat(np.arange(int(ok.sum())), counts[ok])
        out[ok] = shapely.linestrings(stacked, indices=index)
    return out


def points_of(xys: list) -> np.ndarray:
    """Points from a list of (x, y) in one shapely call."""
    if not xys:
        return np.empty(0, dtype=object)
    return shapely.points(np.asarray(xys, dtype=float).reshape(-1, 2))


_EMPTY: dict[tuple[str, ...], gpd.GeoDataFrame] = {}


def frame(cols: dict[str, list], columns: list[str], geoms: np.ndarray) -> gpd.GeoDataFrame:
    """A Drawing frame with exactly ``columns``: object columns (``closed`` bool), no CRS."""
    if not len(geoms):
        key = tuple(columns)
        if key not in _EMPTY:  # built once: a GeoDataFrame costs ≈ 1 ms, its copy ≈ 0.1 ms
            _EMPTY[key] = empty_frame(columns)
        return _EMPTY[key].copy()
    data = {
        c: pd.Series(cols[c], dtype=bool if c == "closed" else object)
        for c in columns
        if c != "geometry"
    }
    # assembled column by column without copies: half the cost of GeoDataFrame(data, geometry=…)
    data["geometry"] = pd.Series(GeometryArray(np.asarray(geoms, dtype=object)), copy=False)
    return gpd.GeoDataFrame(pd.DataFrame(data, copy=False), geometry="geometry", copy=False)


def _is_ocs(entity: DXFGraphic) -> bool:
    ext = entity.dxf.get("extrusion")
    return ext is not None and not (abs(ext[0]) < 1e-12 and abs(ext[1]) < 1e-12 and ext[2] > 0)


def _xy(point) -> tuple[float, float]:
    return float(point[0]), float(point[1])


def _wcs_xy(entity: DXFGraphic, point) -> tuple[float, float]:
    if _is_ocs(entity):
        point = entity.ocs().to_wcs(point)
    return _xy(point)


def _to_wcs(entity: DXFGraphic, xy: np.ndarray, elevation: float) -> np.ndarray:
    """OCS vertices (at ``elevation``) of a 2D entity to WCS x, y."""
    if not _is_ocs(entity) or not len(xy):
        return xy
    ocs = entity.ocs()
    return np.array([_xy(ocs.to_wcs((x, y, elevation))) for x, y in xy], dtype=float)


def _xdata(entity: DXFGraphic, decode: Decoder, layer: str, handle: str) -> tuple[str, ...] | None:
    """Every group code 1000 string of every XDATA application, in file order (CASS writes
    its feature code first and the 宗地代码 later under ``SOUTH``), or None."""
    xdata = entity.xdata
    if not xdata:
        return None
    strings = tuple(
        decode(str(value), layer, handle)
        for tags in xdata.data.values()
        for code, value in tags
        if code == 1000
    )
    return strings or None


def read_entities(entities: Iterable[DXFGraphic], decode: Decoder) -> tuple[Rows, int]:
    """Collect the rows of every supported modelspace entity.

    Returns the rows and the number of entities seen (of any type). Entities with
    non-finite coordinates, or that ezdxf cannot give us, are left out and listed in
    ``Rows.bad`` with the reason (the reader turns them into DXF-005).
    """
    rows = Rows()
    seen = 0
    for entity in entities:
        seen += 1
        dxftype = entity.dxftype()
        if dxftype not in _READERS:
            continue
        handle = entity.dxf.handle or ""
        layer = decode(entity.dxf.layer, "", handle)
        try:
            ok = _READERS[dxftype](entity, rows, handle, layer, decode)
        except Exception:  # noqa: BLE001 — one damaged entity must not stop the drawing
            rows.bad.append((layer, handle, UNREADABLE))
            continue
        if not ok:
            rows.bad.append((layer, handle, NOT_FINITE))
    return rows, seen


def _finite(xy) -> bool:
    return bool(np.isfinite(np.asarray(xy, dtype=float)).all())


def _lwpolyline(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    values = e.lwpoints.values
    xy = np.array(values[:, :2], dtype=float)
    if len(values) and values[:, 4].any():
        xy = flatten(xy, values[:, 4], e.closed)
    xy = _to_wcs(e, xy, e.dxf.elevation)
    if not _finite(xy):
        return False
    rows.add_shape(handle, layer, "LWPOLYLINE", xy, e.closed, _xdata(e, decode, layer, handle))
    return True


def _polyline(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    if not (e.is_2d_polyline or e.is_3d_polyline):
        return True  # polyface and polygon meshes are not shapes
    vertices = [v for v in e.vertices if not v.dxf.flags & 16]  # skip spline frame points
    xy = np.array([_xy(v.dxf.location) for v in vertices], dtype=float).reshape(-1, 2)
    if e.is_2d_polyline:
        bulges = np.array([v.dxf.bulge for v in vertices], dtype=float)
        if bulges.any():
            xy = flatten(xy, bulges, e.is_closed)
        xy = _to_wcs(e, xy, e.dxf.elevation.z)
    if not _finite(xy):
        return False
    rows.add_shape(handle, layer, "POLYLINE", xy, e.is_closed, _xdata(e, decode, layer, handle))
    return True


def _line(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    xy = np.array([_xy(e.dxf.start), _xy(e.dxf.end)], dtype=float)
    if not _finite(xy):
        return False
    rows.add_shape(handle, layer, "LINE", xy, False, _xdata(e, decode, layer, handle))
    return True


def _arc(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    centre = e.dxf.center
    xy, _ = arc_points(
        np.array([_xy(centre)]), np.array([e.dxf.radius]), e.dxf.start_angle, e.dxf.end_angle
    )
    extrusion = np.array([tuple(e.dxf.get("extrusion", (0.0, 0.0, 1.0)))], dtype=float)
    xy = ocs_to_wcs(xy, np.full(len(xy), float(centre[2])), np.repeat(extrusion, len(xy), axis=0))
    if not _finite(xy):
        return False
    rows.add_shape(handle, layer, "ARC", xy, False, _xdata(e, decode, layer, handle))
    return True


def _point_like(attr: str, ocs: bool):
    def read(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
        point = e.dxf.get(attr)
        xy = _wcs_xy(e, point) if ocs else _xy(point)
        if not _finite(xy):
            return False
        rows.add_point(handle, layer, e.dxftype(), xy)
        return True

    return read


_PLAIN_SAFE = re.compile(r"[\\{}%^\r\n]")


def label_text(dxftype: str, raw: str) -> str:
    """The plain text of a TEXT or MTEXT content (:mod:`parsers.mtext`: what ezdxf's
    ``plain_text`` / ``fast_plain_mtext`` give, in linear time), stripped of surrounding
    white space. Shared by both readers."""
    if _PLAIN_SAFE.search(raw) is None:
        return raw.strip()  # nothing to interpret
    return (plain_mtext(raw) if dxftype == "MTEXT" else plain_text(raw)).strip()


def _text(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    xy = _wcs_xy(e, e.dxf.insert)
    if not _finite(xy):
        return False
    rows.add_text(handle, layer, "TEXT", label_text("TEXT", decode(e.dxf.text, layer, handle)), xy)
    return True


def _mtext(e, rows: Rows, handle: str, layer: str, decode: Decoder) -> bool:
    xy = _xy(e.dxf.insert)
    if not _finite(xy):
        return False
    # columns (R2000-R2013: linked MTEXT entities, which ezdxf takes out of the modelspace;
    # R2018: one text) are one text: the content of all columns, as in R2018
    raw = e.all_columns_raw_content() if e.has_columns else e.text
    rows.add_text(handle, layer, "MTEXT", label_text("MTEXT", decode(raw, layer, handle)), xy)
    return True


_READERS = {
    "LWPOLYLINE": _lwpolyline,
    "POLYLINE": _polyline,
    "LINE": _line,
    "ARC": _arc,
    "CIRCLE": _point_like("center", ocs=True),
    "POINT": _point_like("location", ocs=False),
    "INSERT": _point_like("insert", ocs=True),
    "TEXT": _text,
    "MTEXT": _mtext,
}
