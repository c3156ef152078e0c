"""Drawings → the geometry model the rules read, and the drawing rules DXF-003..007, 009.

Each drawing of a package becomes named GeoDataFrames: the site's red line, road lines,
footprints and green areas; the parcel's polygons and boundary points; each floor plan's
frames, units, shared parts and balconies. Outlines drawn as separate pieces are assembled
by ``schemas.outlines`` and labels joined by ``schemas.labels``; here we judge: required
layers present (DXF-003), shapes closed (DXF-004: each piece that closes no ring), outlines
drawn in pieces (DXF-009), polygons valid (DXF-005), every polygon labelled and every label
placed (DXF-006; a ZDDM in XDATA counts), identifying labels unique (DXF-007). Everything is
vectorised over whole layers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.floor_labels import parse_floor_labels
from schemas.labels import join, nearest_labels, rings_to_polygons
from schemas.outlines import outlines, xdata_strings
from schemas.package import Drawing, Package
from schemas.profile import Profile

SITE_LAYERS = ("YDHX", "DLHX", "JZJD", "LDFW")
PARCEL_LAYERS = ("ZD", "JZD")
FLOOR_LAYERS = ("FC_C", "FC_H")  # FC_GY and FC_YT may be absent in a plan
# every layer the contract names, per drawing (standard names; the profile may rename them)
CONTRACT_LAYERS = {
    "site": SITE_LAYERS,
    "parcel": (*PARCEL_LAYERS, "JZX"),
    "floor": (*FLOOR_LAYERS, "FC_GY", "FC_YT"),
}
POLYGON_LAYERS = {"YDHX", "JZJD", "LDFW", "ZD", "FC_C", "FC_H", "FC_GY", "FC_YT"}
# layers whose polygons must carry one identifying label (balconies: PRP-013)
LABELLED_LAYERS = {"JZJD": "幢号注记 n#", "ZD": "宗地代码", "FC_C": "层号注记", "FC_H": "户号", "FC_GY": "名称"}
IDENTIFYING = {"JZJD", "ZD", "FC_C", "FC_H"}
SHAPE_NAMES = {"LWPOLYLINE": "多段线", "POLYLINE": "多段线", "LINE": "直线段", "ARC": "圆弧"}
BUILDING_LABEL = re.compile(r"^\s*(\d{1,4})\s*[#＃]")
ZDDM_LIKE = re.compile(r"^[0-9]{6}[0-9A-Z]{6}[A-Z]{2}[0-9]{5}$")


def _geo(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype="object") for c in columns}, geometry=gpd.GeoSeries([], dtype="geometry"))


@dataclass
class SiteGeometry:
    boundary: gpd.GeoDataFrame  # YDHX: handle, geometry, valid
    roads: gpd.GeoDataFrame  # DLHX: handle, geometry (lines; a closed road line as its ring)
    footprints: gpd.GeoDataFrame  # JZJD: handle, geometry, valid, label, zh (4-digit 幢号)
    green: gpd.GeoDataFrame  # LDFW: handle, geometry, valid


@dataclass
class ParcelGeometry:
    parcels: gpd.GeoDataFrame  # ZD: handle, geometry, valid, zddm
    points: gpd.GeoDataFrame  # JZD: handle, geometry, label


PLAN_PARTS = ("frames", "units", "shared", "balconies", "loose_labels")


class FloorPlan:
    """One floor plan's model: its layers as frames.

    - ``frames``: FC_C — handle, geometry, valid, label, sjc
    - ``units``: FC_H — handle, geometry, valid, hh, sjc, area, balcony_area, inner_area
    - ``shared``: FC_GY — handle, geometry, valid, name, sjc
    - ``balconies``: FC_YT — handle, geometry, valid, label, factor, unit_handle
    - ``loose_labels``: the FC_H texts inside no FC_H polygon — handle, layer, dxftype, text,
      geometry (their insertion points)

    Built either from its own frames, or (:func:`floor_plans`) as a view of ``combined``:
    every plan judged together, one frame per part with a ``file`` column. A view cuts its
    rows out only when a part is asked for, and rules that want all plans at once take
    ``combined`` as it is instead of joining the plans again.
    """

    def __init__(
        self,
        file: str,
        frames: gpd.GeoDataFrame | None = None,
        units: gpd.GeoDataFrame | None = None,
        shared: gpd.GeoDataFrame | None = None,
        balconies: gpd.GeoDataFrame | None = None,
        loose_labels: gpd.GeoDataFrame | None = None,
        *,
        combined: dict[str, gpd.GeoDataFrame] | None = None,
        rows: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.file = file
        self.combined = combined
        self._rows = rows or {}
        self._parts: dict[str, gpd.GeoDataFrame] = {
            name: part
            for name, part in zip(PLAN_PARTS, (frames, units, shared, balconies, loose_labels), strict=True)
            if part is not None
        }

    def _part(self, name: str) -> gpd.GeoDataFrame:
        if name not in self._parts:
            if self.combined is None:
                raise AttributeError(f"floor plan {self.file} has no {name}")
            whole = self.combined[name]
            self._parts[name] = whole.iloc[self._rows.get(name, np.empty(0, dtype=np.intp))]
        return self._parts[name]

    frames = property(lambda self: self._part("frames"))
    units = property(lambda self: self._part("units"))
    shared = property(lambda self: self._part("shared"))
    balconies = property(lambda self: self._part("balconies"))
    loose_labels = property(lambda self: self._part("loose_labels"))


@dataclass
class Geometry:
    site: SiteGeometry | None = None
    parcel: ParcelGeometry | None = None
    floors: dict[str, FloorPlan] = field(default_factory=dict)
    site_file: str | None = None
    parcel_file: str | None = None


# ---------------------------------------------------------------- generic drawing judgments


def rep_points(geoms: gpd.GeoSeries | np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """A point on each geometry (NaN where there is none); invalid ones are made valid first.

    ``valid`` may mark geometries already known valid (``shapely.is_valid`` of these very
    objects): only the others are checked again."""
    values = np.asarray(geoms.values if hasattr(geoms, "values") else geoms, dtype=object)
    if not len(values):
        return np.empty((0, 2))
    if valid is None:
        bad = ~shapely.is_valid(values)
    else:
        bad = np.zeros(len(values), dtype=bool)
        unknown = np.flatnonzero(~valid)
        bad[unknown] = ~shapely.is_valid(values[unknown])
    if bad.any():
        values = values.copy()
        values[bad] = shapely.make_valid(values[bad])
    pts = shapely.point_on_surface(values)
    out = np.full((len(values), 2), np.nan)
    ok = ~shapely.is_empty(pts) & ~shapely.is_missing(pts)
    out[ok] = shapely.get_coordinates(pts[ok])
    return out


def _rep(polys: gpd.GeoDataFrame, i: int | np.integer) -> tuple[float, float]:
    """The representative point of one polygon (for a finding's place)."""
    return tuple(rep_points(polys.geometry.values[i : i + 1])[0])


class _Where:
    """Places of a drawing's entities: project coordinates, or floor-plan-local ones.

    Floor plans are checked together as one drawing in which plan ``f`` is shifted east by
    ``offsets[f]``; a place names its own file and gives its point with the shift removed.
    """

    def __init__(self, drawing: Drawing, local: bool, offsets: dict[str, float] | None = None):
        self.file = drawing.path
        self.local = local
        self.offsets = offsets or {}

    def at(self, layer: str, handle: str | None, xy: tuple[float, float] | None, file: str | None = None, **kw) -> dict:
        file = file if isinstance(file, str) else self.file
        place = Place(file=file, layer=layer, handle=handle, **kw)
        if xy is None or not (math.isfinite(xy[0]) and math.isfinite(xy[1])):
            return {"place": place}
        xy = (float(xy[0]) - self.offsets.get(file, 0.0), float(xy[1]))
        return {"place": place, "local": xy} if self.local else {"place": place, "location": xy}


def _file(row) -> str | None:
    return row.get("file") if hasattr(row, "get") else getattr(row, "file", None)


def required_layers(drawing: Drawing, layers: tuple[str, ...], profile: Profile) -> list[Finding]:
    """DXF-003: a required layer is missing or holds nothing of what it should."""
    out = []
    for std in layers:
        name = profile.layer(std)
        if std in POLYGON_LAYERS or std == "DLHX":
            present = (drawing.shapes["layer"] == name).any()
        elif std == "JZD":
            present = (drawing.points["layer"] == name).any()
        else:
            present = name in drawing.layer_names()
        # a layer the CRS step emptied is not missing: CRS-002 was said at each of its entities
        if not present and name not in drawing.emptied:
            out.append(make("DXF-003", Place(file=drawing.path, layer=name), path=drawing.path, layer=name))
    return out


def lost_entities(findings: list[Finding], pkg: Package, profile: Profile) -> list[Finding]:
    """``findings`` with each DXF-002 that names an entity the repair removed made an
    error where that entity lay on one of the contract's layers of its drawing, as the
    profile names them (deliverable.md: a removal on a contract layer is an error)."""
    kinds = {d.path: key.split(":", 1)[0] for key, d in pkg.drawings.items()}
    names = {kind: {profile.layer(std).upper() for std in layers} for kind, layers in CONTRACT_LAYERS.items()}
    out = []
    for f in findings:
        o = f.object
        if f.code == "DXF-002" and o.handle and o.layer and o.layer.upper() in names.get(kinds.get(o.file or ""), ()):
            f = f.with_severity("error")
        out.append(f)
    return out


def layer_polygons(
    drawing: Drawing, std: str, profile: Profile, local: bool, offsets: dict[str, float] | None = None
) -> tuple[gpd.GeoDataFrame, list[Finding]]:
    """Polygons of a layer with labels, and DXF-004/005/006/007 about them."""
    polys, _, out = _judged_polygons(drawing, std, profile, local, offsets)
    return polys, out


def _judged_polygons(
    drawing: Drawing, std: str, profile: Profile, local: bool, offsets: dict[str, float] | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[Finding]]:
    """:func:`layer_polygons`, and the layer's labels inside none of its polygons."""
    name = profile.layer(std)
    where = _Where(drawing, local, offsets)
    out: list[Finding] = []
    pieces = outlines(drawing, name, profile.tolerances.outline_snap)
    for row in pieces.loose.itertuples():  # a piece that closes no ring: open
        xy = shapely.get_coordinates(row.geometry)[0] if row.geometry is not None and not row.geometry.is_empty else None
        out.append(make("DXF-004", **where.at(name, row.handle, xy, getattr(row, "file", None)), path=getattr(row, "file", drawing.path),
                        shape=SHAPE_NAMES.get(row.dxftype, "图形")))
    polys, orphans = join(drawing, name, pieces.rings)
    out += _drawn_in_pieces(pieces.rings, where, name, drawing.path)
    if not len(polys):
        return polys.assign(valid=pd.Series(dtype=bool)), orphans, out
    geoms = polys.geometry.values
    # a valid ring of positive area has at least 3 distinct vertices
    valid = shapely.is_valid(geoms) & (shapely.area(geoms) > 1e-9)
    polys = polys.assign(valid=valid)
    for i in np.flatnonzero(~valid):
        g = geoms[i]
        coords = shapely.get_coordinates(g)
        finite = coords[np.isfinite(coords).all(axis=1)]
        xy = tuple(finite.mean(axis=0)) if len(finite) else None
        distinct = len(np.unique(np.round(finite, 6), axis=0))
        reason = str(shapely.is_valid_reason(g))
        m = re.search(r"\[(-?[\d.e+]+) (-?[\d.e+]+)\]", reason)
        if m:
            xy = (float(m.group(1)), float(m.group(2)))
        if len(finite) < len(coords):
            reason = "坐标非数值（NaN/inf）"
        elif distinct < 3:
            reason = f"不同顶点少于 3 个（{distinct} 个）"
        elif shapely.area(g) <= 1e-9:
            reason = "面积为零"
        elif reason.startswith("Self-intersection"):
            reason = f"自相交 {reason}"
        row = polys.iloc[i]
        out.append(make("DXF-005", **where.at(name, row["handle"], xy, _file(row)), path=_file(row) or drawing.path, reason=reason))
    n_labels = pd.Series([len(labels) for labels in polys["labels"].tolist()], index=polys.index)
    if std in LABELLED_LAYERS:
        no_label = n_labels == 0
        if std == "ZD":  # CASS: the ZDDM in XDATA stands for the label; a feature code does not
            no_label &= pd.Series(xdata_zddm(polys["xdata"]), index=polys.index).isna()
        for i in np.flatnonzero(no_label.to_numpy()):
            row = polys.iloc[i]
            out.append(
                make("DXF-006", **where.at(name, row["handle"], _rep(polys, i), _file(row)), path=_file(row) or drawing.path,
                     reason=f"多边形（句柄 {row['handle']}）内没有{LABELLED_LAYERS[std]}注记")
            )
        for row in orphans.itertuples():
            xy = (row.geometry.x, row.geometry.y) if row.geometry is not None else None
            file = getattr(row, "file", None)
            out.append(
                make("DXF-006", **where.at(name, row.handle, xy, file), path=file or drawing.path,
                     reason=f"注记 “{row.text}”（句柄 {row.handle}）不在本图层任何多边形内")
            )
    if std in IDENTIFYING:
        multi = n_labels > 1
        for i in np.flatnonzero(multi.to_numpy()):
            row = polys.iloc[i]
            labels = "、".join(row["labels"])
            out.append(
                make("DXF-007", **where.at(name, row["handle"], _rep(polys, i), _file(row)), path=_file(row) or drawing.path,
                     reason=f"多边形（句柄 {row['handle']}）内有多个标识注记：{labels}")
            )
    return polys, orphans, out


def xdata_zddm(values: pd.Series | np.ndarray) -> np.ndarray:
    """The ZDDM each entity's XDATA holds: the first of its strings, at any position, that
    looks like one (a CASS feature code such as ``300000`` is not a label); None if none.

    Accepts what the readers give: a tuple (or list) of every XDATA string, one string, or
    None.
    """
    values = np.asarray(values, dtype=object)
    out = np.full(len(values), None, dtype=object)
    for i in np.flatnonzero(pd.notna(pd.Series(values, dtype=object)).to_numpy()):  # only shapes with XDATA
        out[i] = next((s.strip() for s in xdata_strings(values[i]) if ZDDM_LIKE.match(s.strip())), None)
    return out


def _drawn_in_pieces(rings: gpd.GeoDataFrame, where: _Where, layer: str, path: str) -> list[Finding]:
    """DXF-009: one finding per outline assembled from pieces, at its first piece, with
    the handles of all its pieces."""
    if not len(rings):
        return []
    points = rep_points(rings_to_polygons(rings.geometry.to_numpy())).tolist()
    files = rings["file"].tolist() if "file" in rings.columns else [None] * len(rings)
    out = []
    for handle, pieces, file, xy in zip(rings["handle"].tolist(), rings["pieces"].tolist(), files, points, strict=True):
        pieces = [str(h) for h in pieces]
        shown = "、".join(pieces[:PIECES_SHOWN]) + (f" 等 {len(pieces)} 段" if len(pieces) > PIECES_SHOWN else "")
        out.append(make("DXF-009", **where.at(layer, handle, xy, file), path=file or path,
                        count=len(pieces), handles=shown, actual=",".join(pieces)))
    return out


PIECES_SHOWN = 12  # handles named in a DXF-009 message; ``actual`` holds them all


def duplicate_labels(
    polys: gpd.GeoDataFrame, labels: pd.Series, group: pd.Series | None, drawing: Drawing, layer: str, local: bool,
    what: str, offsets: dict[str, float] | None = None,
) -> list[Finding]:
    """DXF-007: the same identifying label twice (within a group, e.g. per floor of a plan)."""
    where = _Where(drawing, local, offsets)
    frame = pd.DataFrame({"label": labels.to_numpy(), "group": group.to_numpy() if group is not None else 0,
                          "file": polys["file"].to_numpy() if "file" in polys.columns else None})
    dup = frame["label"].notna() & frame.duplicated(["file", "group", "label"], keep="first")
    out = []
    for i in np.flatnonzero(dup.to_numpy()):
        row = polys.iloc[i]
        out.append(
            make("DXF-007", **where.at(layer, row["handle"], _rep(polys, i), _file(row)), path=_file(row) or drawing.path,
                 reason=f"{what} “{frame['label'].iloc[i]}” 重复（句柄 {row['handle']}）")
        )
    return out


# ---------------------------------------------------------------- per drawing kind


def site_geometry(drawing: Drawing, profile: Profile) -> tuple[SiteGeometry, list[Finding]]:
    out = required_layers(drawing, SITE_LAYERS, profile)
    boundary, f1 = layer_polygons(drawing, "YDHX", profile, local=False)
    footprints, f2 = layer_polygons(drawing, "JZJD", profile, local=False)
    green, f3 = layer_polygons(drawing, "LDFW", profile, local=False)
    out += f1 + f2 + f3
    num = footprints["label"].astype("string").str.extract(BUILDING_LABEL.pattern, expand=False)
    footprints = footprints.assign(zh=num.map(lambda n: f"{int(n):04d}" if isinstance(n, str) else None))
    where = _Where(drawing, False)
    for i in np.flatnonzero((footprints["label"].notna() & footprints["zh"].isna()).to_numpy()):
        row = footprints.iloc[i]
        out.append(make("DXF-006", **where.at(profile.layer("JZJD"), row["handle"], _rep(footprints, i)), path=drawing.path,
                        reason=f"基底注记 “{row['label']}” 不是幢号注记 n#"))
    out += duplicate_labels(footprints, footprints["zh"], None, drawing, profile.layer("JZJD"), False, "幢号注记")
    roads = drawing.shapes[drawing.shapes["layer"] == profile.layer("DLHX")][["handle", "geometry", "closed"]]
    roads = gpd.GeoDataFrame(roads.reset_index(drop=True), geometry="geometry")
    if len(roads):  # a closed road line counts by its ring
        closed = roads["closed"].astype(bool).to_numpy()
        geoms = roads.geometry.values.copy()
        geoms[closed] = [shapely.LinearRing(shapely.get_coordinates(g)) for g in geoms[closed]]
        roads = roads.set_geometry(gpd.GeoSeries(geoms, index=roads.index))
    return SiteGeometry(boundary, roads, footprints, green), out


def parcel_geometry(drawing: Drawing, profile: Profile) -> tuple[ParcelGeometry, list[Finding]]:
    out = required_layers(drawing, PARCEL_LAYERS, profile)
    parcels, f1 = layer_polygons(drawing, "ZD", profile, local=False)
    out += f1
    label = parcels["labels"].map(lambda ls: next((x for x in ls if ZDDM_LIKE.match(x)), ls[0] if ls else None))
    xdata = pd.Series(xdata_zddm(parcels["xdata"]), index=parcels.index, dtype=object)
    parcels = parcels.assign(zddm=label.where(label.notna(), xdata))
    out += duplicate_labels(parcels, parcels["zddm"], None, drawing, profile.layer("ZD"), False, "宗地代码")
    jzd = profile.layer("JZD")
    pts = drawing.points[drawing.points["layer"] == jzd].reset_index(drop=True)
    texts = drawing.texts[drawing.texts["layer"] == jzd].reset_index(drop=True)
    radius = profile.tolerances.jzd_label_radius
    pts = pts.assign(label=nearest_labels(pts, texts, radius).to_numpy() if len(pts) else pd.Series(dtype=object))
    where = _Where(drawing, False)
    for row in pts[pts["label"].isna()].itertuples():
        out.append(make("DXF-006", **where.at(jzd, row.handle, (row.geometry.x, row.geometry.y)), path=drawing.path,
                        reason=f"界址点（句柄 {row.handle}）{radius:g} m 内没有点号注记"))
    if len(texts):
        near = np.zeros(len(texts), dtype=bool)
        if len(pts):
            hit = shapely.STRtree(pts.geometry.values).query_nearest(texts.geometry.values, max_distance=radius)[0]
            near[hit] = True
        for i in np.flatnonzero(~near):
            t = texts.iloc[i]
            out.append(make("DXF-006", **where.at(jzd, t["handle"], (t.geometry.x, t.geometry.y)), path=drawing.path,
                            reason=f"点号注记 “{t['text']}” {radius:g} m 内没有界址点"))
    out += duplicate_labels(pts, pts["label"], None, drawing, jzd, False, "界址点号")
    return ParcelGeometry(parcels, pts), out


def _assign_floor(frames: gpd.GeoDataFrame, shapes: gpd.GeoDataFrame) -> pd.Series:
    """The actual floor (sjc) of the frame that contains each shape's representative point."""
    if not len(shapes) or not len(frames):
        return pd.Series(pd.array([pd.NA] * len(shapes), dtype="Int64"), index=shapes.index)
    # their validity was judged on these very geometries (DXF-005)
    pts = shapely.points(rep_points(shapes.geometry, valid=shapes["valid"].to_numpy(dtype=bool)))
    fr = frames[frames["valid"].astype(bool)]
    tree = shapely.STRtree(fr.geometry.values)
    idx_pt, idx_fr = tree.query(pts, predicate="within")
    sjc = pd.Series(pd.array([pd.NA] * len(shapes), dtype="Int64"), index=shapes.index)
    if len(idx_pt):
        # the smallest frame wins where frames nest
        areas = shapely.area(fr.geometry.values[idx_fr])
        order = np.lexsort((areas, idx_pt))
        first = np.unique(idx_pt[order], return_index=True)[1]
        chosen_pt, chosen_fr = idx_pt[order][first], idx_fr[order][first]
        sjc.iloc[chosen_pt] = fr["sjc"].to_numpy()[chosen_fr]
    return sjc


PLAN_SLOT = 100_000.0  # m: floor plan k is checked shifted east by k slots, so plans never meet


def combine_plans(plans: list[Drawing]) -> tuple[Drawing, dict[str, float]]:
    """Every floor plan as one drawing, each in its own slot and tagged with its file, so
    that all plans are judged by one vectorised pass instead of one pass per building."""
    offsets = {d.path: k * PLAN_SLOT for k, d in enumerate(plans)}
    combined = Drawing(path="drawings/floors/")

    def stack(name: str) -> gpd.GeoDataFrame:
        sizes = [len(getattr(d, name)) for d in plans]
        parts = [getattr(d, name) for d in plans if len(getattr(d, name))]
        if not parts:
            return getattr(combined, name).assign(file=pd.Series(dtype=object))
        frame = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry")
        frame["file"] = np.repeat([d.path for d in plans], sizes)  # one column, not a copy per plan
        shift = np.repeat([offsets[d.path] for d in plans], sizes).astype(float)
        frame["geometry"] = _shift(frame.geometry.values, shift)
        return frame

    combined.shapes, combined.points, combined.texts = stack("shapes"), stack("points"), stack("texts")
    return combined, offsets


def _shift(geoms: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Move each geometry east by its own ``dx`` (vectorised)."""
    if not len(geoms):
        return geoms
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    coords[:, 0] += dx[index]
    if len(coords) == len(geoms) and (shapely.get_type_id(geoms) == 0).all() and (
        shapely.get_coordinate_dimension(geoms) == 2
    ).all():
        # every geometry one 2D point (the texts): new points from the coordinates are
        # the same points, made in a third less time than by setting their coordinates
        return shapely.points(coords)
    return shapely.set_coordinates(np.array(geoms, dtype=object, copy=True), coords)


def _unshift(frame: gpd.GeoDataFrame, offsets: dict[str, float]) -> gpd.GeoDataFrame:
    if not len(frame):
        return frame
    dx = -frame["file"].map(offsets).to_numpy(dtype=float)
    return frame.set_geometry(gpd.GeoSeries(_shift(frame.geometry.values, dx), index=frame.index))


def floor_plans(plans: list[Drawing], profile: Profile) -> tuple[dict[str, FloorPlan], list[Finding]]:
    """The floor plans' model (by file) and their drawing findings, all plans at once."""
    drawing, offsets = combine_plans(plans)
    out: list[Finding] = []
    for plan in plans:
        out += required_layers(plan, FLOOR_LAYERS, profile)
    frames, f1 = layer_polygons(drawing, "FC_C", profile, True, offsets)
    units, loose, f2 = _judged_polygons(drawing, "FC_H", profile, True, offsets)
    shared, f3 = layer_polygons(drawing, "FC_GY", profile, True, offsets)
    balconies, f4 = layer_polygons(drawing, "FC_YT", profile, True, offsets)
    out += f1 + f2 + f3 + f4
    frames = frames.assign(sjc=parse_floor_labels(frames["label"]) if len(frames) else pd.Series(dtype="Int64"))
    bad_label = frames["label"].notna() & frames["sjc"].isna()
    where = _Where(drawing, True, offsets)
    for i in np.flatnonzero(bad_label.to_numpy()):
        row = frames.iloc[i]
        out.append(make("DXF-006", **where.at(profile.layer("FC_C"), row["handle"], _rep(frames, i), row["file"]), path=row["file"],
                        reason=f"层框注记 “{row['label']}” 无法识别为层号"))
    out += duplicate_labels(frames, frames["sjc"], None, drawing, profile.layer("FC_C"), True, "层号注记", offsets)
    units = units.assign(hh=units["label"], sjc=_assign_floor(frames, units), area=shapely.area(units.geometry.values) if len(units) else [])
    out += duplicate_labels(units, units["hh"], units["sjc"], drawing, profile.layer("FC_H"), True, "户号", offsets)
    shared = shared.assign(name=shared["label"], sjc=_assign_floor(frames, shared))
    balconies = _attach_balconies(balconies, units)
    units = units.assign(balcony_area=_balcony_area(balconies, units))
    units = units.assign(inner_area=units["area"].astype(float) + units["balcony_area"])
    parts = {
        name: _unshift(frame, offsets)
        for name, frame in zip(PLAN_PARTS, (frames, units, shared, balconies, loose), strict=True)
    }
    rows = {name: frame.groupby("file", sort=False).indices if len(frame) else {} for name, frame in parts.items()}
    model = {
        plan.path: FloorPlan(plan.path, combined=parts, rows={name: rows[name].get(plan.path) for name in parts if plan.path in rows[name]})
        for plan in plans
    }
    return model, out


BALCONY_FACTOR = {"封闭": 1.0, "未封闭": 0.5}
TOUCH = 1e-3  # m: a balcony touches a unit when closer than this


def _attach_balconies(balconies: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    factor = balconies["label"].map(BALCONY_FACTOR).astype(float) if len(balconies) else pd.Series(dtype=float)
    unit_handle = pd.Series([None] * len(balconies), index=balconies.index, dtype=object)
    if len(balconies) and len(units):
        tree = shapely.STRtree(units.geometry.values)
        ib, iu = tree.query(balconies.geometry.values, predicate="dwithin", distance=TOUCH)
        if len(ib):
            first = np.unique(ib, return_index=True)[1]
            unit_handle.iloc[ib[first]] = units["handle"].to_numpy()[iu[first]]
    return balconies.assign(factor=factor, unit_handle=unit_handle)


def _balcony_area(balconies: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """Σ counted balcony area (封闭 full, 未封闭 half) per unit. Handles repeat across plan
    files, so a unit is (file, handle) wherever several plans are judged together."""
    if not len(units):
        return pd.Series(dtype=float)
    if not len(balconies):
        return pd.Series(0.0, index=units.index)
    counted = balconies[balconies["unit_handle"].notna() & balconies["factor"].notna() & balconies["valid"].astype(bool)]
    add = shapely.area(counted.geometry.values) * counted["factor"].to_numpy()
    by_file = "file" in units.columns and "file" in counted.columns
    key = pd.MultiIndex.from_arrays([counted["file"].to_numpy(), counted["unit_handle"].to_numpy()]) if by_file else counted["unit_handle"].to_numpy()
    per_unit = pd.Series(add, index=key).groupby(level=list(range(2)) if by_file else 0).sum()
    unit_key = pd.MultiIndex.from_arrays([units["file"].to_numpy(), units["handle"].to_numpy()]) if by_file else pd.Index(units["handle"].to_numpy())
    return pd.Series(per_unit.reindex(unit_key).fillna(0.0).to_numpy(), index=units.index)


def drawing_geometry(pkg: Package, profile: Profile, floors: bool = True) -> tuple[Geometry, list[Finding]]:
    """The geometry model of every readable drawing, and the drawing findings; without
    the floor plans if ``floors`` is false (then :func:`floor_geometry` gives them)."""
    geo = Geometry()
    out: list[Finding] = []
    site = pkg.drawings.get("site")
    if site is not None and site.readable:
        geo.site, found = site_geometry(site, profile)
        geo.site_file = site.path
        out += found
    parcel = pkg.drawings.get("parcel")
    if parcel is not None and parcel.readable:
        geo.parcel, found = parcel_geometry(parcel, profile)
        geo.parcel_file = parcel.path
        out += found
    if floors:
        geo.floors, found = floor_geometry(pkg, profile)
        out += found
    return geo, out


def floor_geometry(pkg: Package, profile: Profile) -> tuple[dict[str, FloorPlan], list[Finding]]:
    """The model of every readable floor plan (by 幢号), and their drawing findings."""
    readable = {zh: plan for zh, plan in sorted(pkg.floor_plans().items()) if plan.readable}
    if not readable:
        return {}, []
    by_file, found = floor_plans(list(readable.values()), profile)
    return {zh: by_file[plan.path] for zh, plan in readable.items()}, found
