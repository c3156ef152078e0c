"""Join the labels of a drawing to its polygons and points — a geometric join, no judgment.

Pure functions over the frames a parser read (no file is opened), kept in ``schemas`` so
that imports run one way: parsers → schemas.

A label belongs to the smallest polygon of its own layer that contains its insertion point
(deliverable.md, Drawings). Containment is strict (a point on a boundary is not inside),
as in shapely's ``contains``. Empty texts are not labels. Everything is vectorised: one
``STRtree`` query per layer, then sorts and group-bys over arrays.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import TEXT_COLUMNS, Drawing, Package

POLYGON_COLUMNS = ["handle", "layer", "xdata", "labels", "label", "label_handles", "geometry"]


def rings_to_polygons(lines: np.ndarray) -> np.ndarray:
    """Polygons from the vertex rings of closed shapes (LineStrings without the repeated
    closing vertex), as drawn: invalid polygons are kept, never fixed.

    A ring of fewer than three vertices still gives a (zero-area, invalid) polygon, by
    repeating its last vertex, so that the rules can report it; an empty ring gives an
    empty polygon.
    """
    lines = np.asarray(lines, dtype=object)
    out = np.full(len(lines), shapely.Polygon(), dtype=object)
    if not len(lines):
        return out
    coords, index = shapely.get_coordinates(lines, return_index=True)
    counts = np.bincount(index, minlength=len(lines))
    short = (counts > 0) & (counts < 3)
    if short.any():
        # pad each short ring with copies of its last vertex up to three vertices
        last = np.cumsum(counts) - 1
        pad_rows = np.repeat(last[short], 3 - counts[short])
        coords = np.concatenate([coords, coords[pad_rows]])
        index = np.concatenate([index, index[pad_rows]])
        order = np.argsort(index, kind="stable")
        coords, index = coords[order], index[order]
    present = counts > 0
    # re-number the non-empty rings 0..k-1 for shapely's indices
    renumber = np.cumsum(present) - 1
    rings = shapely.linearrings(coords, indices=renumber[index])
    out[present] = shapely.polygons(rings)
    return out


LONG_LABEL = "注记长 {length} 个字符，超过上限 {limit} 个字符，未作为注记读取"


def refuse_long_labels(pkg: Package, limit: int) -> list[Finding]:
    """DXF-005 for each text longer than ``limit`` characters, and the text taken out of its
    drawing's frame: no later step (joins, floor labels, patterns, messages) ever sees it.

    The message gives the length, never the text. One vectorised pass per drawing.
    """
    findings: list[Finding] = []
    for drawing in pkg.drawings.values():
        texts = drawing.texts
        if not len(texts):
            continue
        values = texts["text"].to_numpy(dtype=object)
        lengths = np.fromiter((len(v) if isinstance(v, str) else 0 for v in values), dtype=np.int64, count=len(values))
        long = lengths > limit
        if not long.any():
            continue
        for i in np.flatnonzero(long):
            row = texts.iloc[i]
            findings.append(
                make(
                    "DXF-005",
                    Place(file=drawing.path, layer=row["layer"], handle=row["handle"]),
                    path=drawing.path,
                    reason=LONG_LABEL.format(length=int(lengths[i]), limit=limit),
                )
            )
        drawing.texts = texts.iloc[np.flatnonzero(~long)]
        drawing.derived.clear()
    return findings


def _layer_texts(drawing: Drawing, layer: str) -> gpd.GeoDataFrame:
    texts = drawing.texts
    rows = np.flatnonzero((texts["layer"] == layer).to_numpy())
    text = texts["text"].to_numpy(dtype=object)[rows]
    filled = pd.notna(text)
    filled[filled] = text[filled] != ""  # an empty text is no label
    return texts.iloc[rows[filled]]


def _layer_polygons(drawing: Drawing, layer: str, rings: gpd.GeoDataFrame | None = None) -> dict[str, np.ndarray]:
    """The closed shapes of ``layer`` (and the assembled ``rings``) as columns: handle,
    layer, xdata, file (several drawings read as one) and geometry (the polygons)."""
    shapes = drawing.shapes
    rows = np.flatnonzero(((shapes["layer"] == layer) & shapes["closed"].astype(bool)).to_numpy())
    closed = shapes.iloc[rows]
    handle = closed["handle"].to_numpy(dtype=object)
    xdata = closed["xdata"].to_numpy(dtype=object)
    geoms = closed.geometry.to_numpy()
    layers = closed["layer"].to_numpy(dtype=object)
    files = closed["file"].to_numpy(dtype=object) if "file" in closed.columns else None
    if rings is not None and len(rings):
        # outlines assembled from pieces join the closed shapes, in the drawing order of
        # their first piece
        rows = np.concatenate([rows, rings["row"].to_numpy(dtype=np.int64)])
        order = np.argsort(rows, kind="stable")
        handle = np.concatenate([handle, rings["handle"].to_numpy(dtype=object)])[order]
        xdata = np.concatenate([xdata, rings["xdata"].to_numpy(dtype=object)])[order]
        geoms = np.concatenate([geoms, rings.geometry.to_numpy()])[order]
        layers = np.concatenate([layers, rings["layer"].to_numpy(dtype=object)])[order]
        if files is not None:
            files = np.concatenate([files, rings["file"].to_numpy(dtype=object)])[order]
    columns = {"handle": handle, "layer": layers, "xdata": xdata, "geometry": rings_to_polygons(geoms)}
    if files is not None:
        columns["file"] = files
    return columns


def _assign(polys: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each point, the position of the smallest polygon containing it, or -1."""
    owner = np.full(len(points), -1, dtype=np.int64)
    if not len(polys) or not len(points):
        return owner
    tree = shapely.STRtree(polys)
    point_idx, poly_idx = tree.query(points, predicate="within")
    if not len(point_idx):
        return owner
    area = shapely.area(polys)[poly_idx]
    order = np.lexsort((poly_idx, area, point_idx))  # by point, then smallest area
    point_idx, poly_idx = point_idx[order], poly_idx[order]
    first = np.ones(len(point_idx), dtype=bool)
    first[1:] = point_idx[1:] != point_idx[:-1]
    owner[point_idx[first]] = poly_idx[first]
    return owner


def join(
    drawing: Drawing, layer: str, rings: gpd.GeoDataFrame | None = None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Polygons of ``layer`` with their labels, and the layer's labels inside no polygon,
    from one containment query (see :func:`polygons` and :func:`orphan_labels`).

    ``rings`` are outlines assembled from pieces (``schemas.outlines.Assembly.rings``):
    each becomes a polygon like a closed shape, in the drawing order of its first piece.
    """
    columns = _layer_polygons(drawing, layer, rings)
    geoms = columns["geometry"]
    texts = _layer_texts(drawing, layer)
    owner = _assign(geoms, texts.geometry.to_numpy())
    hit = np.flatnonzero(owner >= 0)
    # texts grouped by owner, in drawing order within each polygon: one sort, one split
    order = hit[np.argsort(owner[hit], kind="stable")]
    owners = owner[order]
    bounds = np.searchsorted(owners, np.arange(len(geoms) + 1))
    text_array = texts["text"].to_numpy(dtype=object)[order]
    text_values = text_array.tolist()
    handle_values = texts["handle"].to_numpy(dtype=object)[order].tolist()
    starts, stops = bounds[:-1].tolist(), bounds[1:].tolist()
    label = np.full(len(geoms), None, dtype=object)
    labelled = bounds[1:] > bounds[:-1]
    label[labelled] = text_array[bounds[:-1][labelled]]  # the first label of each polygon
    index = pd.RangeIndex(len(geoms))
    frame = {
        "handle": columns["handle"],
        "layer": columns["layer"],
        "xdata": columns["xdata"],
        "labels": pd.Series(list(map(text_values.__getitem__, map(slice, starts, stops))), index=index, dtype=object),
        "label": pd.Series(label, index=index, dtype=object),
        "label_handles": pd.Series(list(map(handle_values.__getitem__, map(slice, starts, stops))), index=index, dtype=object),
        "geometry": gpd.GeoSeries(geoms, index=index),
    }
    if "file" in columns:  # several drawings read as one (floor plans)
        frame["file"] = columns["file"]
    polys = gpd.GeoDataFrame(frame, index=index, geometry="geometry")
    extra = ["file"] if "file" in columns else []
    return polys, texts.loc[owner < 0, TEXT_COLUMNS + extra]


def polygons(drawing: Drawing, layer: str) -> gpd.GeoDataFrame:
    """The closed shapes of ``layer`` as polygons, with their labels.

    Parameters
    ----------
    drawing : Drawing
        A drawing as read.
    layer : str
        The layer name (after profile remapping).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per closed shape: ``handle, layer, xdata, labels`` (texts of the layer
        whose insertion point this polygon is the smallest to contain, in drawing order),
        ``label`` (the first, or None), ``label_handles`` and ``geometry`` (the polygon as
        drawn, possibly invalid).
    """
    return join(drawing, layer)[0]


def orphan_labels(drawing: Drawing, layer: str) -> gpd.GeoDataFrame:
    """The texts of ``layer`` that lie inside no polygon of that layer (columns of
    ``Drawing.texts``)."""
    return join(drawing, layer)[1]


def nearest_labels(
    points: gpd.GeoDataFrame, texts: gpd.GeoDataFrame, max_distance: float
) -> pd.Series:
    """For each point, the text of the nearest label within ``max_distance`` (None if
    there is none) — boundary points (JZD) and their ``J<n>`` labels.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points (e.g. the JZD rows of ``Drawing.points``).
    texts : geopandas.GeoDataFrame
        Candidate labels (e.g. the JZD rows of ``Drawing.texts``); empty texts are skipped.
    max_distance : float
        Search radius in drawing units (the profile's ``jzd_label_radius``).

    Returns
    -------
    pandas.Series
        Indexed like ``points``; object dtype. When two labels are equally near, the one
        first in drawing order wins.
    """
    out = pd.Series([None] * len(points), index=points.index, dtype=object)
    texts = texts.loc[texts["text"].fillna("").astype(bool)]
    if not len(points) or not len(texts):
        return out
    tree = shapely.STRtree(texts.geometry.to_numpy())
    point_idx, text_idx = tree.query_nearest(
        points.geometry.to_numpy(), max_distance=max_distance, all_matches=True
    )
    if len(point_idx):
        order = np.lexsort((text_idx, point_idx))
        point_idx, text_idx = point_idx[order], text_idx[order]
        first = np.ones(len(point_idx), dtype=bool)
        first[1:] = point_idx[1:] != point_idx[:-1]
        values = texts["text"].to_numpy(dtype=object)[text_idx[first]]
        out.iloc[point_idx[first]] = values
    return out
