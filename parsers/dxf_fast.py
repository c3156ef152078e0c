"""The fast path: a vectorised tag scan (:mod:`parsers.dxf_scan`) for everything; GDAL's
DXF driver (through pyogrio) for the geometry only when an entity has an OCS of its own.

One parse: when no entity has an extrusion other than +Z, every point is taken as written
(the scan's ``vertices_xy`` and ``anchors``: what ezdxf reads, in WCS already) from the
numbers the health check parsed. Otherwise GDAL reads the file a second time and gives the
coordinates with the OCS applied, checked against the scan as follows.

GDAL reads a healthy drawing several times faster than ezdxf, but it silently drops
entities it cannot parse, explodes blocks (unless ``INLINE_BLOCKS=NO``), turns circles into
rings, decodes R2007+ text wrongly without ``ENCODING``, and renders MTEXT and ``%%`` codes
its own way. So GDAL gives only coordinates (OCS already applied) keyed by entity handle;
types, layers, closed flags, vertex counts, texts and XDATA come from the scan, decoded
and plain-texted by the same functions as the ezdxf path. Polylines with arc segments
take their vertices from the scan and are flattened by :func:`parsers.bulge.flatten_many`,
as on the ezdxf path (GDAL flattens arcs its own way), and so are ARC entities
(:func:`parsers.bulge.arc_points`); circle centres are taken as written. GDAL's extra
features are ignored: the linked columns of an MTEXT (before R2018) and the LWPOLYLINE
AutoCAD writes as an MTEXT's text frame, which ezdxf takes out of the modelspace.

The fast path answers only for files that :mod:`parsers.dxf_health` finds healthy (what
ezdxf would neither repair nor report) and whose text decodes cleanly: then the ezdxf path
would have found nothing either, and the result is the same. Any mismatch with GDAL, any
damage sign, any encoding doubt → None, and the caller reads the file with ezdxf.

The dataset open options (``INLINE_BLOCKS``, ``ENCODING``) are per call, not the global
``DXF_*`` config options, so concurrent reads in one process do not interfere.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from parsers.bulge import flatten_many
from parsers.dxf_encoding import Decoder, choose_encoding
from parsers.dxf_entities import CLOSE_TOLERANCE, EMPTY_LINE, finish_ring, frame, label_text
from parsers.dxf_health import OverLimit
from parsers.dxf_scan import POLYLINE_MESH, EntityScan, scan_entities
from parsers.dxf_sniff import eof_end, header_vars, skip_preamble, sniff
from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import POINT_COLUMNS, SHAPE_COLUMNS, TEXT_COLUMNS, Drawing

__all__ = ["over_limit", "read_dxf_fast"]

_log = logging.getLogger(__name__)
_SHAPES = (b"LWPOLYLINE", b"POLYLINE", b"LINE", b"ARC")
_OPEN = (b"LINE", b"ARC")  # never closed
_POINTS = (b"CIRCLE", b"POINT", b"INSERT")
_TEXTS = (b"TEXT", b"MTEXT")
_MIN_VERSION = "AC1015"  # R2000: handles and subclass markers are always there


class _Untrusted(Exception):
    """GDAL's answer does not match the file."""


def read_dxf_fast(
    path: Path | bytes, relpath: str, limits: tuple[int, int] | None = None
) -> tuple[Drawing, list[Finding]] | None:
    """Read a healthy DXF with GDAL, or say it cannot be trusted to.

    Parameters
    ----------
    path : Path or bytes
        The DXF file on disk, or its bytes (GDAL then reads them from memory).
    relpath : str
        The package-relative name (``Drawing.path``).
    limits : tuple of int, optional
        The profile's (max_entities, max_vertices), counted as the tags are split: a
        drawing over either is not read (DXF-001 naming the limit, ``readable`` False).

    Returns
    -------
    tuple[Drawing, list[Finding]] or None
        The same frames as :func:`parsers.dxf.read_dxf` (and no findings: a file that
        would have any is not read here, but for one over the limits), or None when the
        file must go to ezdxf.
    """
    try:
        data = path if isinstance(path, bytes) else Path(path).read_bytes()
    except OSError:
        return None
    if sniff(data).kind != "ascii":
        return None
    data = skip_preamble(data)  # as the ezdxf path reads it: no BOM, nothing after EOF
    end = eof_end(data)
    if end is None:
        return None
    data = data[:end]
    acadver, codepage = header_vars(data)
    if not acadver or acadver < _MIN_VERSION:
        return None
    choice = choose_encoding(data, acadver, codepage)
    if choice.reason:
        return None
    try:
        scan = scan_entities(data, acadver, limits)
    except OverLimit as over:
        return over_limit(relpath, over)
    if scan is None:
        return None
    try:
        if scan.vertices_xy is not None:  # every point as written: no second parse
            drawing = _drawing(relpath, scan, None, None, Decoder(choice))
        else:
            handles, geoms = _gdal(data, choice.actual)
            drawing = _drawing(relpath, scan, handles, geoms, Decoder(choice))
    except _Untrusted as why:
        _log.debug("fast path refused %s: %s", relpath, why)
        return None
    if drawing is None:
        return None
    drawing.version, drawing.encoding = acadver, choice.actual
    drawing.entity_count = len(scan.types)
    return drawing, []


def over_limit(relpath: str, over: OverLimit) -> tuple[Drawing, list[Finding]]:
    """DXF-001 at the drawing: over the profile's entity or vertex limit, nothing kept."""
    finding = make(
        "DXF-001", Place(file=relpath), path=relpath, reason=over.reason, entities=over.entities
    )
    return Drawing(path=relpath, readable=False), [finding]


def _gdal(data: bytes, encoding: str) -> tuple[pd.Index, np.ndarray]:
    """Modelspace handles and WKB geometries as GDAL reads them (from memory: the bytes
    are those the scan checked). Only for drawings with an OCS somewhere (GDAL applies it)."""
    import pyogrio  # noqa: PLC0415 — only drawings with an OCS need GDAL
    import pyogrio.raw  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            meta, _, wkb, fields = pyogrio.raw.read(
                data,
                layer="entities",
                columns=["EntityHandle", "PaperSpace"],
                INLINE_BLOCKS="NO",
                ENCODING=encoding.upper(),
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as why:
            raise _Untrusted(f"GDAL cannot read it: {why}") from why
    names = list(meta["fields"])
    handles = np.asarray(fields[names.index("EntityHandle")], dtype=object)
    paper = pd.to_numeric(pd.Series(fields[names.index("PaperSpace")]), errors="coerce")
    model = ~(paper.fillna(0).to_numpy() == 1)
    return pd.Index(handles[model]), np.asarray(wkb, dtype=object)[model]


def _drawing(relpath, scan: EntityScan, gdal_handles, wkb, decode: Decoder) -> Drawing | None:
    """The frames; geometry from the scan's points (``gdal_handles`` None) or from GDAL's."""
    keep = ~((scan.types == b"POLYLINE") & (scan.flags & POLYLINE_MESH).astype(bool))
    is_shape = np.isin(scan.types, _SHAPES) & keep
    is_point = np.isin(scan.types, _POINTS)
    is_text = np.isin(scan.types, _TEXTS)
    wanted = is_shape | is_point | is_text
    handles = np.array([h.decode("ascii") for h in scan.handles], dtype=object)
    geoms = None
    if gdal_handles is not None:
        found = gdal_handles.isin(handles[wanted])
        if not gdal_handles[found].is_unique or found.sum() != wanted.sum():
            raise _Untrusted("GDAL dropped or repeated entities")
        rows = pd.Index(gdal_handles[found]).get_indexer(handles[wanted])
        geoms = np.empty(len(scan.types), dtype=object)
        geoms[wanted] = shapely.from_wkb(wkb[found][rows])
    names = {v: decode.raw(v) for v in set(scan.layers)}  # layer names repeat: decode each once
    layers = np.array([names[v] for v in scan.layers], dtype=object)

    shapes = _shapes(scan, handles, layers, geoms, is_shape, decode)
    points = _points(scan, handles, layers, geoms, is_point)
    texts = _texts(scan, handles, layers, geoms, is_text, decode)
    if decode.bad:
        return None
    return Drawing(path=relpath, shapes=shapes, points=points, texts=texts)


def _shape_coordinates(scan, geoms, mask) -> tuple[np.ndarray, np.ndarray]:
    """Every vertex of the shape rows and the row each belongs to: as written (the scan),
    or as GDAL read them (``geoms``)."""
    local = np.cumsum(mask) - 1
    if geoms is None:
        xy, at = scan.vertices_xy
        on = mask[at]
        return xy[on], local[at[on]]
    g = geoms[mask]
    kinds = shapely.get_type_id(g)
    single = (kinds == shapely.GeometryType.POINT) & (scan.vertices[mask] == 1)
    if not ((kinds == shapely.GeometryType.LINESTRING) | single).all():
        raise _Untrusted("unexpected geometry type for a polyline")
    return shapely.get_coordinates(g, return_index=True)


def _shapes(scan, handles, layers, geoms, mask, decode: Decoder):
    n = scan.vertices[mask]
    size = int(mask.sum())
    coords, index = _shape_coordinates(scan, geoms, mask)
    counts = np.bincount(index, minlength=size)
    local = np.cumsum(mask) - 1
    arc_at = {int(local[p]): v for p, v in scan.arcs.items() if mask[p]}
    arc_rows = np.fromiter(arc_at, dtype=np.int64, count=len(arc_at))
    arc_xy, arc_of = scan.arc_entities
    arc_of = local[arc_of]  # every ARC is a shape row
    n = n.copy()
    n[arc_rows] = counts[arc_rows]  # GDAL's own arc vertices: replaced below
    arc_entities = np.unique(arc_of)
    n[arc_entities] = counts[arc_entities]
    if ((counts < n) | (counts > n + 1)).any():
        raise _Untrusted("vertex count differs")
    # keep the first n coordinates of each geometry (GDAL appends the closing vertex)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(index)) - offsets[index]
    take = rank < n[index]
    coords, index = coords[take], index[take]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    last = first + n - 1
    is_line = np.isin(scan.types[mask], _OPEN)
    ring = (n >= 2) & ~is_line
    repeat = np.zeros(size, dtype=bool)
    repeat[ring] = np.abs(coords[last[ring]] - coords[first[ring]]).max(axis=1) <= CLOSE_TOLERANCE
    closed = repeat | ((scan.flags[mask] & 1).astype(bool) & ~is_line)
    drop = np.zeros(len(coords), dtype=bool)
    drop[last[repeat]] = True
    coords, index = coords[~drop], index[~drop]
    sizes = n - repeat
    lines = np.full(size, EMPTY_LINE, dtype=object)
    ok = sizes >= 2
    if ok.any():
        sel = ok[index]
        lines[ok] = shapely.linestrings(coords[sel], indices=np.cumsum(ok)[index[sel]] - 1)
    if arc_at:  # arcs flattened as the ezdxf path does
        flags = [bool(f & 1) for f in scan.flags[mask][arc_rows]]
        flat = flatten_many([v[0] for v in arc_at.values()], [v[1] for v in arc_at.values()], flags)
        for row, xy, flag in zip(arc_rows.tolist(), flat, flags, strict=True):
            ring, closed[row] = finish_ring(xy, flag)
            lines[row] = shapely.linestrings(ring) if len(ring) >= 2 else EMPTY_LINE
    if len(arc_entities):  # ARC entities: flattened by the scan, as on the ezdxf path
        lines[arc_entities] = shapely.linestrings(
            arc_xy, indices=np.searchsorted(arc_entities, arc_of)
        )
    raw: dict[bytes, str] = {}  # feature codes repeat: decode each once
    xdata = [
        None if v is None else tuple(raw.get(b) or raw.setdefault(b, decode.raw(b)) for b in v)
        for v in scan.xdata[mask]
    ]
    cols = {
        "handle": handles[mask].tolist(),
        "layer": layers[mask].tolist(),
        "dxftype": _type_names(scan.types[mask]),
        "closed": closed,
        "xdata": xdata,
    }
    return frame(cols, SHAPE_COLUMNS, lines)


def _points(scan, handles, layers, geoms, mask):
    types = scan.types[mask]
    type_names = _type_names(types)
    cols = {
        "handle": handles[mask].tolist(),
        "layer": layers[mask].tolist(),
        "dxftype": type_names,
    }
    if geoms is None:  # as written (a circle's centre too: no OCS)
        xy = scan.anchors[mask]
        return frame(cols, POINT_COLUMNS, shapely.points(xy) if len(xy) else np.empty(0, object))
    g = geoms[mask]
    circle = types == b"CIRCLE"
    kinds = shapely.get_type_id(g)
    if not (kinds[~circle] == shapely.GeometryType.POINT).all():
        raise _Untrusted("unexpected geometry type for a point")
    if circle.any() and not (kinds[circle] != shapely.GeometryType.POINT).all():
        raise _Untrusted("unexpected geometry type for a circle")
    # a circle's centre: as written when OCS = WCS, else the middle of GDAL's ring
    bounds = shapely.bounds(g)
    xy = np.column_stack([(bounds[:, 0] + bounds[:, 2]) / 2, (bounds[:, 1] + bounds[:, 3]) / 2])
    written = scan.centres[mask]
    exact = circle & np.isfinite(written).all(axis=1)
    xy[exact] = written[exact]
    return frame(cols, POINT_COLUMNS, shapely.points(xy) if len(xy) else np.empty(0, object))


def _texts(scan, handles, layers, geoms, mask, decode: Decoder):
    if geoms is None:  # the insertion point as written
        xy = scan.anchors[mask]
    else:
        g = geoms[mask]
        if not (shapely.get_type_id(g) == shapely.GeometryType.POINT).all():
            raise _Untrusted("unexpected geometry type for a text")
        xy = shapely.get_coordinates(g) if len(g) else np.empty((0, 2))
    types = scan.types[mask]
    raw = [decode.raw(v) for v in scan.texts[mask]]
    type_names = _type_names(types)
    texts = [label_text(t, r) for t, r in zip(type_names, raw, strict=True)]
    cols = {
        "handle": handles[mask].tolist(),
        "layer": layers[mask].tolist(),
        "dxftype": type_names,
        "text": texts,
    }
    return frame(cols, TEXT_COLUMNS, shapely.points(xy) if len(xy) else np.empty(0, object))


def _type_names(types: np.ndarray) -> list[str]:
    """The entity type names as text: each distinct name decoded once (they repeat)."""
    names = {t: t.decode() for t in set(types.tolist())}
    return [names[t] for t in types.tolist()]
