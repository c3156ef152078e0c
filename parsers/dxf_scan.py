"""A vectorised scan of the tags of an ASCII DXF's ENTITIES section.

The GDAL fast path (:mod:`parsers.dxf_fast`) uses it to check what GDAL returned against
what the file holds (entity handles, types, vertex counts) and to take the things GDAL
does not give as ezdxf would (raw text for ezdxf's plain-text functions, layer names in
the chosen encoding, XDATA under ``SOUTH``, closed flags, arc vertices, circle centres).
The file must first pass :func:`parsers.dxf_health.healthy_tags`; any sign of damage, or a
construct the fast path does not reproduce exactly, gives None and the caller reads the
file with ezdxf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsers.dxf_health import Doubt, healthy_tags, numbers

_CHILDREN = (b"VERTEX", b"SEQEND", b"ATTRIB")
POLYLINE_MESH = 16 | 64  # polygon mesh, polyface mesh: not shapes
POLYLINE_FITTED = 2 | 4  # curve-fit / spline-fit: vertices GDAL and ezdxf may treat apart
VERTEX_FITTED = 1 | 8 | 16


@dataclass(frozen=True)
class EntityScan:
    """The modelspace entities of the ENTITIES section, in file order (top level only:
    VERTEX, SEQEND and ATTRIB belong to the entity before them).

    Byte values are as written (not decoded). ``vertices`` is the vertex count of
    LWPOLYLINE / POLYLINE, 2 for LINE, else 0; ``flags`` group code 70 (0 if absent).
    """

    types: np.ndarray  # object: bytes
    handles: np.ndarray  # object: bytes
    layers: np.ndarray  # object: bytes
    flags: np.ndarray  # int64
    vertices: np.ndarray  # int64
    xdata: np.ndarray  # object: bytes or None (first 1000 string under SOUTH)
    texts: np.ndarray  # object: bytes or None (TEXT, MTEXT raw content)
    centres: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    # (n, 2) float: a CIRCLE's centre as written when it has no OCS of its own, else NaN
    arcs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # position → (xy, bulges) of the polylines with arc segments (bulges), drawn in WCS


def scan_entities(data: bytes) -> EntityScan | None:
    """Scan an ASCII DXF (which ends with ``0``/``EOF``).

    Returns
    -------
    EntityScan or None
        None when the file is not healthy (:mod:`parsers.dxf_health`) or holds something
        the fast path does not reproduce exactly (fitted polylines, arcs in an OCS).
    """
    try:
        return _scan(data)
    except (Doubt, ValueError, IndexError, OverflowError, UnicodeDecodeError):
        return None


def _scan(data: bytes) -> EntityScan:
    tags = healthy_tags(data)
    return _entities(tags.codes[tags.start : tags.end], tags.values[tags.start : tags.end])


def _first(codes, values, owner, n, code) -> tuple[np.ndarray, np.ndarray]:
    """First value of ``code`` per entity (None if absent) and the count per entity."""
    idx = np.flatnonzero(codes == code)
    out = np.full(n, None, dtype=object)
    ent = owner[idx]
    uniq, first = np.unique(ent, return_index=True)
    out[uniq] = values[idx[first]]
    return out, np.bincount(ent, minlength=n)


def _entities(codes: np.ndarray, values: np.ndarray) -> EntityScan:
    if not len(codes):
        return _empty()
    starts = np.flatnonzero(codes == 0)
    if not len(starts) or starts[0] != 0:
        raise Doubt("tags before the first entity")
    n = len(starts)
    owner = np.repeat(np.arange(n), np.diff(np.append(starts, len(codes))))
    etype = values[starts]
    child = np.zeros(n, dtype=bool)
    for name in _CHILDREN:
        child |= etype == name
    top = np.flatnonzero(~child)
    if child[0]:
        raise Doubt("VERTEX/SEQEND/ATTRIB without an owner")
    parent = top[np.searchsorted(top, np.arange(n), side="right") - 1]

    handles, _ = _first(codes, values, owner, n, 5)  # present and unique: dxf_health
    layers, _ = _first(codes, values, owner, n, 8)
    flags_raw, _ = _first(codes, values, owner, n, 70)
    flags = np.array([int(f) if f is not None else 0 for f in flags_raw], dtype=np.int64)
    space, _ = _first(codes, values, owner, n, 67)
    paper = np.array([s is not None and int(s) == 1 for s in space], dtype=bool)

    _check_supported(codes, values, owner, etype, flags, parent, child)
    arcs = _arc_polylines(codes, values, owner, etype, flags, parent, n)
    vertices = _vertex_counts(codes, owner, etype, flags, parent, n)
    texts = _texts(codes, values, owner, etype, n)
    xdata = _south_xdata(codes, values, owner, n)
    centres = _circle_centres(codes, values, owner, etype, n)

    keep = top[~paper[top]]
    position = np.full(n, -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    return EntityScan(
        types=etype[keep],
        handles=handles[keep],
        layers=np.array([b"0" if v is None else v for v in layers[keep]], dtype=object),
        flags=flags[keep],
        vertices=vertices[keep],
        xdata=xdata[keep],
        texts=texts[keep],
        centres=centres[keep],
        arcs={int(position[k]): v for k, v in arcs.items() if position[k] >= 0},
    )


def _check_supported(codes, values, owner, etype, flags, parent, child) -> None:
    """Refuse the constructs whose geometry GDAL and ezdxf build differently."""
    poly = etype == b"POLYLINE"
    if (flags[poly] & POLYLINE_FITTED).any():
        raise Doubt("curve- or spline-fitted POLYLINE")
    vertex = etype == b"VERTEX"
    if (flags[vertex] & VERTEX_FITTED).any():
        raise Doubt("fitted vertices")
    if vertex.any() and not (etype[parent[vertex]] == b"POLYLINE").all():
        raise Doubt("VERTEX outside a POLYLINE")
    if child.any() and (etype[parent[child]] == b"MTEXT").any():
        raise Doubt("children after MTEXT")


def _arc_polylines(
    codes, values, owner, etype, flags, parent, n
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Vertices and bulges of the LWPOLYLINE / POLYLINE entities that have an arc
    segment: GDAL flattens arcs its own way, so these are flattened as the ezdxf path
    does (:func:`parsers.bulge.flatten`)."""
    bulge_tags = np.flatnonzero(codes == 42)
    on = etype[owner[bulge_tags]]
    bulge_tags = bulge_tags[(on == b"LWPOLYLINE") | (on == b"VERTEX")]
    bulge_values = numbers(values[bulge_tags], float)
    if not (bulge_values != 0).any():
        return {}
    # one row per vertex: an LWPOLYLINE's code 10 tags, or a VERTEX entity's first 10
    tens = np.flatnonzero(codes == 10)
    tens = tens[(etype[owner[tens]] == b"LWPOLYLINE") | (etype[owner[tens]] == b"VERTEX")]
    if len(tens) and (tens[-1] + 1 >= len(codes) or (codes[tens + 1] != 20).any()):
        raise Doubt("vertex without its y")
    vertex_owner = np.where(etype[owner[tens]] == b"VERTEX", parent[owner[tens]], owner[tens])
    xy = np.column_stack([numbers(values[tens], float), numbers(values[tens + 1], float)])
    bulges = np.zeros(len(tens))
    row = np.searchsorted(tens, bulge_tags, side="right") - 1  # the vertex a bulge follows
    if (row < 0).any() or (owner[tens[row]] != owner[bulge_tags]).any():
        raise Doubt("bulge before its vertex")
    bulges[row] = bulge_values
    arcs = np.unique(vertex_owner[bulges != 0])
    if _extruded(codes, values, owner, n)[arcs].any():
        raise Doubt("arc segments in an OCS")
    if ((etype[arcs] == b"POLYLINE") & (flags[arcs] & 8).astype(bool)).any():
        raise Doubt("bulges on a 3D polyline")
    rows = np.flatnonzero(np.isin(vertex_owner, arcs))  # each polyline's vertices are contiguous
    groups = np.split(rows, np.flatnonzero(np.diff(vertex_owner[rows])) + 1)
    return {int(vertex_owner[g[0]]): (xy[g], bulges[g]) for g in groups}


def _circle_centres(codes, values, owner, etype, n) -> np.ndarray:
    """CIRCLE centres from their 10/20 tags, where OCS = WCS (GDAL gives circles as rings;
    their centre is taken here exactly as ezdxf reads it)."""
    out = np.full((n, 2), np.nan)
    circle = etype == b"CIRCLE"
    if not circle.any():
        return out
    for col, code in ((0, 10), (1, 20)):
        first, _ = _first(codes, values, owner, n, code)
        on = circle & np.array([v is not None for v in first], dtype=bool)
        out[on, col] = numbers(first[on], float)
    out[_extruded(codes, values, owner, n)] = np.nan
    return out


def _extruded(codes, values, owner, n) -> np.ndarray:
    """Entities with an extrusion direction other than +Z (an OCS of their own)."""
    out = np.zeros(n, dtype=bool)
    for code, default in ((210, 0.0), (220, 0.0), (230, 1.0)):
        idx = np.flatnonzero(codes == code)
        off = numbers(values[idx], float) != default
        out[owner[idx[off]]] = True
    return out


def _vertex_counts(codes, owner, etype, flags, parent, n) -> np.ndarray:
    counts = np.zeros(n, dtype=np.int64)
    lw = etype == b"LWPOLYLINE"
    tens = np.bincount(owner[codes == 10], minlength=n)
    counts[lw] = tens[lw]
    counts[etype == b"LINE"] = 2
    vertex = np.flatnonzero(etype == b"VERTEX")
    counts += np.bincount(parent[vertex], minlength=n)
    return counts


def _texts(codes, values, owner, etype, n) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    is_text = (etype == b"TEXT") | (etype == b"MTEXT")
    ones, _ = _first(codes, values, owner, n, 1)
    out[is_text] = [b"" if v is None else v for v in ones[is_text]]
    chunks = np.flatnonzero((codes == 3) & (etype[owner] == b"MTEXT"))
    if len(chunks):
        joined: dict[int, list[bytes]] = {}
        for i in chunks:  # only MTEXT longer than 250 bytes has chunks
            joined.setdefault(int(owner[i]), []).append(values[i])
        for ent, parts in joined.items():
            out[ent] = b"".join(parts) + (out[ent] or b"")
    return out


def _south_xdata(codes, values, owner, n) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    apps = np.flatnonzero(codes == 1001)
    if not len(apps):
        return out
    south = apps[np.array([v.strip().upper() == b"SOUTH" for v in values[apps]], dtype=bool)]
    strings = np.flatnonzero(codes == 1000)
    if not len(south) or not len(strings):
        return out
    nxt = np.searchsorted(strings, south)  # first 1000 after each SOUTH appid
    has = nxt < len(strings)
    south, cand = south[has], strings[nxt[has]]
    same = owner[cand] == owner[south]
    next_app = np.searchsorted(apps, south, side="right")
    bound = np.where(next_app < len(apps), apps[np.minimum(next_app, len(apps) - 1)], len(codes))
    good = same & (cand < bound)
    ent = owner[south[good]]
    uniq, first = np.unique(ent, return_index=True)
    out[uniq] = values[cand[good][first]]
    return out


def _empty() -> EntityScan:
    obj = np.empty(0, dtype=object)
    ints = np.empty(0, dtype=np.int64)
    return EntityScan(obj, obj, obj, ints, ints, obj, obj, np.empty((0, 2)))
