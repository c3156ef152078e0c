"""Outlines drawn as separate pieces → rings (deliverable.md "What real CAD programs write").

On a layer whose shapes must be closed, a firm often draws an outline as LINE segments, ARCs
or open polylines (an exploded polyline, a red line traced segment by segment). Here those
pieces are assembled into rings so that the outline is judged like a closed polyline; the
drawing rules then say that it was drawn in pieces (DXF-009) and which pieces close no ring
(DXF-004). A geometric assembly, no judgment.

How pieces become rings
-----------------------
1. Every piece's two ends are snapped: ends within the tolerance (``outline_snap``, 1 mm) of
   one another are one meeting point (transitively; never across files when several drawings
   are read as one).
2. A piece with a free end (one that meets nothing) closes no ring; setting it aside may free
   the next one (a dangling tail is peeled off entirely, but only where it hangs on a branch
   point: a plain open chain is left as it is and closes nothing).
3. What remains is judged by connected groups: a group in which some meeting point joins an
   odd number of ends (two loops sharing a chord, three pieces meeting at a point after the
   tails are gone) is ambiguous — which loop was meant cannot be told — and assembles into
   nothing: all its pieces close no ring. Where a point joins an even number of ends (two
   rings touching at a corner, an exploded floor plan whose units share walls) the ends are
   paired in drawing order (an exploded polyline's segments follow one another), so that
   each run of consecutive pieces closes its own ring.
4. A ring of fewer than three vertices (two coincident segments, a zero-length line) is no
   ring.

Everything is vectorised: one ``STRtree`` query for the ends, union-find and ring ordering by
pointer jumping over numpy arrays (O(n log n)); only the peeling of dangling tails loops, once
per piece of the longest tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from schemas.package import Drawing


@dataclass
class Assembly:
    """The pieces of one layer, assembled.

    Attributes
    ----------
    rings : geopandas.GeoDataFrame
        One row per assembled ring, in the drawing order of its first piece: ``handle``
        (the first piece's), ``layer``, ``xdata`` (every XDATA string of its pieces, in
        drawing order, or None), ``pieces`` (all its pieces' handles, in drawing order),
        ``row`` (position of the first piece in ``Drawing.shapes``), ``file`` when the
        drawing has that column, and ``geometry``: the ring as a LineString without the
        repeated closing vertex (as closed shapes are read).
    loose : geopandas.GeoDataFrame
        The pieces that close no ring: their rows of ``Drawing.shapes``.
    """

    rings: gpd.GeoDataFrame
    loose: gpd.GeoDataFrame


RING_COLUMNS = ["handle", "layer", "xdata", "pieces", "row"]


def xdata_strings(value: object) -> tuple[str, ...]:
    """The XDATA strings of one entity as a tuple, whatever form the reader gave them
    (a tuple or list of every string, one string, or None)."""
    if value is None or (isinstance(value, float) and value != value):
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list, np.ndarray)):
        return tuple(str(v) for v in value if isinstance(v, str))
    return ()


def open_pieces(shapes: gpd.GeoDataFrame, layer: str) -> np.ndarray:
    """Mask of the shapes of ``layer`` that are not closed: LINEs, ARCs, open polylines."""
    return ((shapes["layer"] == layer) & ~shapes["closed"].astype(bool)).to_numpy()


def outlines(drawing: Drawing, layer: str, tolerance: float) -> Assembly:
    """The open pieces of ``layer`` assembled into rings (see the module's docstring).

    The answer is kept on the drawing, so that the rules asking again whether a layer has
    open shapes do not assemble it twice.
    """
    shapes = drawing.shapes
    key = ("outlines", layer, float(tolerance))
    kept = drawing.derived.get(key)
    if kept is None or kept[0] is not shapes:  # computed on these very shapes, or again
        rows = np.flatnonzero(open_pieces(shapes, layer))
        kept = drawing.derived[key] = (shapes, assemble(shapes.iloc[rows], tolerance, rows))
    return kept[1]


def loose_count(drawing: Drawing, layer: str, tolerance: float) -> int:
    """How many pieces of ``layer`` close no ring (the shapes DXF-004 reports): none when
    the layer has no open piece (nearly always; nothing is assembled then)."""
    if not len(drawing.shapes) or not open_pieces(drawing.shapes, layer).any():
        return 0
    return len(outlines(drawing, layer, tolerance).loose)


def assemble(pieces: gpd.GeoDataFrame, tolerance: float, rows: np.ndarray | None = None) -> Assembly:
    """Assemble open pieces into rings.

    Parameters
    ----------
    pieces : geopandas.GeoDataFrame
        Rows of ``Drawing.shapes`` (one layer's open shapes), in drawing order; a ``file``
        column keeps drawings read together apart.
    tolerance : float
        Ends closer than this meet (metres).
    rows : numpy.ndarray, optional
        The positions of ``pieces`` in ``Drawing.shapes`` (default: 0..n-1).

    Returns
    -------
    Assembly
    """
    n = len(pieces)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    has_file = "file" in pieces.columns
    if not n:
        return Assembly(_rings_frame([], [], [], [], [], [], None if not has_file else []), pieces)
    geoms = pieces.geometry.to_numpy()
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(index, minlength=n)
    last = np.cumsum(counts) - 1
    first = last - counts + 1
    usable = counts >= 2
    finite = np.isfinite(coords).all(axis=1)
    usable &= np.bincount(index, weights=~finite, minlength=n) == 0
    ids = np.flatnonzero(usable)
    active = usable.copy()
    # ends: 2p (start), 2p + 1 (end); node of each end after snapping
    node = np.full(2 * n, -1, dtype=np.int64)
    if len(ids):
        ends = np.empty((2 * n, 2))
        ends[0::2] = coords[np.minimum(first, len(coords) - 1)] if len(coords) else 0.0
        ends[1::2] = coords[np.maximum(last, 0)] if len(coords) else 0.0
        live = np.flatnonzero(np.repeat(usable, 2))
        file_id = pd.factorize(pieces["file"])[0] if has_file else np.zeros(n, dtype=np.int64)
        node[live] = _snap(ends[live], file_id[live // 2], tolerance)
    active = _peel(active, node, n)
    active = _drop_odd(active, node, n)
    order, entered, ring_of = _cycles(active, node, n)
    # ring vertices: each piece in ring order, reversed where entered at its end, without
    # its last vertex (the next piece's first)
    length = counts[order] - 1
    off = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    vertex = np.where(np.repeat(entered, length) == 0, np.repeat(first[order], length) + off,
                      np.repeat(last[order], length) - off)
    vertex_ring = np.repeat(ring_of, length)
    n_rings = int(ring_of.max()) + 1 if len(ring_of) else 0
    ring_size = np.bincount(vertex_ring, minlength=n_rings)
    good_ring = ring_size >= 3
    in_ring = np.zeros(n, dtype=bool)
    in_ring[order[good_ring[ring_of]]] = True
    # the rings that remain, numbered in the drawing order of their first piece
    keep_v = good_ring[vertex_ring]
    renumber = np.cumsum(good_ring) - 1
    lines = shapely.linestrings(coords[vertex[keep_v]], indices=renumber[vertex_ring[keep_v]]) if keep_v.any() else []
    members = order[good_ring[ring_of]]
    member_ring = renumber[ring_of[good_ring[ring_of]]]
    by_ring = np.lexsort((members, member_ring))
    members, member_ring = members[by_ring], member_ring[by_ring]
    bounds = np.searchsorted(member_ring, np.arange(int(good_ring.sum()) + 1))
    handles = pieces["handle"].to_numpy(dtype=object)
    member_handles = handles[members].tolist()
    edges = bounds.tolist()
    pieces_of = [tuple(member_handles[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    head = members[bounds[:-1]] if len(members) else np.empty(0, dtype=np.int64)
    xdata = _ring_xdata(pieces["xdata"].to_numpy(dtype=object), members, member_ring, len(head))
    rings = _rings_frame(
        handles[head].tolist(), pieces["layer"].to_numpy(dtype=object)[head].tolist(), xdata, pieces_of,
        rows[head].tolist(), list(lines), pieces["file"].to_numpy(dtype=object)[head].tolist() if has_file else None,
    )
    return Assembly(rings, pieces.iloc[np.flatnonzero(~in_ring)])


def _rings_frame(handle, layer, xdata, pieces, row, geometry, file) -> gpd.GeoDataFrame:
    data = {"handle": pd.Series(handle, dtype=object), "layer": pd.Series(layer, dtype=object),
            "xdata": pd.Series(xdata, dtype=object), "pieces": pd.Series(pieces, dtype=object),
            "row": pd.Series(row, dtype=np.int64)}
    if file is not None:
        data["file"] = pd.Series(file, dtype=object)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(list(geometry), dtype="geometry"))


def _ring_xdata(values: np.ndarray, members: np.ndarray, member_ring: np.ndarray, n_rings: int) -> list:
    """Every XDATA string of each ring's pieces, in drawing order (None where none)."""
    out: list = [None] * n_rings
    has = pd.notna(pd.Series(values[members], dtype=object)).to_numpy()
    for i in np.flatnonzero(has):  # pieces with XDATA are few (CASS writes it on the parcel's shape)
        strings = xdata_strings(values[members[i]])
        if strings:
            r = member_ring[i]
            out[r] = (out[r] or ()) + strings
    return out


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` vertices joined by edges ``a[i]–b[i]``: each vertex's
    label is the smallest vertex of its component (hook-and-compress union-find)."""
    parent = np.arange(n)
    if not len(a):
        return parent
    while True:
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            return parent
        lo, hi = np.minimum(pa[differ], pb[differ]), np.maximum(pa[differ], pb[differ])
        np.minimum.at(parent, hi, lo)
        while True:  # compress to roots
            up = parent[parent]
            if (up == parent).all():
                break
            parent = up


def _snap(ends: np.ndarray, file_id: np.ndarray, tolerance: float) -> np.ndarray:
    """Meeting points of ends: a node number per end; ends within ``tolerance`` of one
    another (transitively) and of the same file share one."""
    # ends that coincide exactly (most of them: segments of an exploded polyline share
    # their vertices) are one point before the tree is asked about the near ones
    order = np.lexsort((ends[:, 1], ends[:, 0], file_id))
    new = np.r_[True, (np.diff(ends[order], axis=0) != 0).any(axis=1) | (np.diff(file_id[order]) != 0)]
    same = np.empty(len(ends), dtype=np.int64)
    same[order] = np.cumsum(new) - 1
    first = order[new]
    points = shapely.points(ends[first])
    a, b = shapely.STRtree(points).query(points, predicate="dwithin", distance=max(float(tolerance), 0.0))
    keep = (a < b) & (file_id[first][a] == file_id[first][b])
    label = _components(len(first), a[keep], b[keep])
    return np.unique(label, return_inverse=True)[1][same]


def _degree(active: np.ndarray, node: np.ndarray) -> np.ndarray:
    ends = node[np.repeat(active, 2)]
    return np.bincount(ends, minlength=int(node.max()) + 1 if len(node) else 0)


def _piece_groups(active: np.ndarray, node: np.ndarray, n: int) -> np.ndarray:
    """Connected groups of the active pieces (joined where their ends meet)."""
    ends = np.flatnonzero(np.repeat(active, 2))
    order = ends[np.argsort(node[ends], kind="stable")]
    same = node[order[1:]] == node[order[:-1]]
    return _components(n, order[:-1][same] // 2, order[1:][same] // 2)


def _peel(active: np.ndarray, node: np.ndarray, n: int) -> np.ndarray:
    """Set aside the pieces with a free end, again and again, in groups that have a branch
    point (a plain open chain is left whole: it closes no ring anyway)."""
    if not active.any():
        return active
    deg = _degree(active, node)
    group = _piece_groups(active, node, n)
    branchy = np.zeros(n, dtype=bool)
    at_branch = np.flatnonzero(np.repeat(active, 2) & (deg[node] >= 3))
    branchy[group[at_branch // 2]] = True
    peelable = active & branchy[group]
    active = active.copy()
    while peelable.any():
        free = (deg[node[0::2]] == 1) | (deg[node[1::2]] == 1)
        drop = peelable & free
        if not drop.any():
            break
        active &= ~drop
        peelable &= ~drop
        deg = _degree(active, node)
    return active


def _drop_odd(active: np.ndarray, node: np.ndarray, n: int) -> np.ndarray:
    """Keep only the groups in which every meeting point joins an even number of ends."""
    if not active.any():
        return active
    deg = _degree(active, node)
    group = _piece_groups(active, node, n)
    ends = np.flatnonzero(np.repeat(active, 2))
    bad = np.zeros(n, dtype=bool)
    bad[group[ends[deg[node[ends]] % 2 == 1] // 2]] = True
    return active & ~bad[group]


def _cycles(active: np.ndarray, node: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair the ends at each meeting point in drawing order and follow the pairs.

    Every active end must have a partner (each meeting point joins an even number of
    them). Returns, for the pieces of every ring in ring order: the piece, the end it is
    entered at (0 start, 1 end) and its ring's number (rings numbered in the drawing order
    of their first piece, which each ring starts with, entered at its start).
    """
    ends = np.flatnonzero(np.repeat(active, 2))
    if not len(ends):
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty
    # pair the ends at each node by (piece, end): consecutive segments of one run pair up
    order = ends[np.lexsort((ends, node[ends]))]
    nodes = node[order]
    start = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
    rank = np.arange(len(order)) - np.repeat(start, np.diff(np.r_[start, len(order)]))
    even = np.flatnonzero(rank % 2 == 0)
    partner = np.full(2 * n, -1, dtype=np.int64)
    partner[order[even]] = order[even + 1]
    partner[order[even + 1]] = order[even]
    # state s = 2p + k: piece p entered at end k; it leaves by end k ^ 1
    nxt = np.full(2 * n, -1, dtype=np.int64)
    nxt[ends] = partner[ends ^ 1]
    rounds = int(np.ceil(np.log2(len(ends) + 1))) + 1
    label = np.arange(2 * n)
    jump = nxt.copy()
    for _ in range(rounds):  # each state's label: the smallest state of its directed cycle
        ok = np.flatnonzero(jump >= 0)
        label_far, jump_far = label[jump[ok]], jump[jump[ok]]
        label[ok] = np.minimum(label[ok], label_far)
        jump[ok] = jump_far
    # the direction in which the first piece is entered at its start: the even labels
    forward = ends[label[ends] % 2 == 0]
    root = forward[label[forward] == forward]
    # steps from each state to its ring's root (list ranking, the root cut off)
    jump = nxt.copy()
    jump[root] = -1
    steps = np.zeros(2 * n, dtype=np.int64)
    steps[forward] = 1
    steps[root] = 0
    for _ in range(rounds):
        ok = forward[jump[forward] >= 0]
        steps_far, jump_far = steps[jump[ok]], jump[jump[ok]]
        steps[ok] += steps_far
        jump[ok] = jump_far
    size = np.bincount(label[forward], minlength=2 * n)[label[forward]]
    position = (size - steps[forward]) % size
    ring_number = np.unique(label[forward], return_inverse=True)[1]
    seq = np.lexsort((position, ring_number))
    states = forward[seq]
    return states // 2, states % 2, ring_number[seq]
