"""Polyline arc segments (DXF bulges) flattened into chords, vectorised with numpy.

A bulge ``b`` on vertex ``i`` makes the segment to vertex ``i + 1`` a circular arc with the
included angle ``4·atan(b)``, counter-clockwise when ``b > 0``. The chord vertices lie on
the true circle, spaced so that no chord is farther than ``sagitta`` from its arc.

ARC entities (:func:`arc_points`) are flattened the same way, in their OCS, and brought to WCS
by :func:`ocs_to_wcs`; both readers call these, so both give the same vertices.

Why not ``ezdxf.path``: it turns arcs into cubic Béziers before flattening; the Bézier
itself is off the circle by ~2.7e-4·r, which on a 5 m half-disc adds ~0.007 m² whatever the
flattening distance. Here the only error is the chord deficit, ~⅔·arc length·sagitta.
"""

from __future__ import annotations

import numpy as np

SAGITTA = 0.0005  # m: ≤ 0.005 m² lost on a 5 m-radius half-disc (deliverable areas are 0.01 m²)
MAX_CHORDS = 4096  # per arc: a guard against absurd radii


def flatten(
    xy: np.ndarray, bulges: np.ndarray, closed: bool, sagitta: float = SAGITTA
) -> np.ndarray:
    """The vertices of a polyline with its arc segments replaced by chords.

    Parameters
    ----------
    xy : numpy.ndarray
        (n, 2) vertices as drawn (in the entity's OCS).
    bulges : numpy.ndarray
        (n,) bulge of each vertex (the segment starting there).
    closed : bool
        Whether the segment from the last vertex back to the first is drawn.
    sagitta : float
        Largest distance between an arc and its chords.

    Returns
    -------
    numpy.ndarray
        (m, 2) vertices. For a closed polyline the first vertex is repeated at the end,
        so that the closing segment's chords are all there.
    """
    return flatten_many([np.asarray(xy, dtype=float).reshape(-1, 2)], [bulges], [closed], sagitta)[
        0
    ]


def flatten_many(
    xys: list[np.ndarray], bulges: list[np.ndarray], closed: list[bool], sagitta: float = SAGITTA
) -> list[np.ndarray]:
    """:func:`flatten` for many polylines in one vectorised pass."""
    if not xys:
        return []
    sizes = np.array([len(v) for v in xys], dtype=np.int64)
    xy = np.concatenate([np.asarray(v, dtype=float).reshape(-1, 2) for v in xys])
    b_all = np.concatenate([np.asarray(v, dtype=float).reshape(-1) for v in bulges])
    owner = np.repeat(np.arange(len(xys)), sizes)
    first = np.cumsum(sizes) - sizes
    last_of = first + sizes - 1
    # segment i runs from vertex i to the next vertex of its polyline (or back to the first)
    nxt = np.arange(len(xy)) + 1
    is_last = nxt - 1 == last_of[owner]
    nxt[is_last] = first[owner[is_last]]
    seg_ok = ~is_last | (np.asarray(closed, dtype=bool)[owner] & (sizes[owner] >= 2))
    seg_ok &= sizes[owner] >= 2
    start_i = np.flatnonzero(seg_ok)
    points, seg_owner = _chords(xy[start_i], xy[nxt[start_i]], b_all[start_i], sagitta)
    seg_of_point_owner = owner[start_i][seg_owner]
    # each polyline: its first vertex, then the points of its segments in order
    heads = xy[first]
    all_points = np.concatenate([heads, points])
    all_owner = np.concatenate([np.arange(len(xys)), seg_of_point_owner])
    order = np.argsort(all_owner, kind="stable")
    counts = np.bincount(all_owner, minlength=len(xys))
    pieces = np.split(all_points[order], np.cumsum(counts)[:-1])
    return [
        p if n >= 2 else np.asarray(v, dtype=float).reshape(-1, 2)
        for p, n, v in zip(pieces, sizes, xys, strict=True)
    ]


def _chords(
    start: np.ndarray, end: np.ndarray, b: np.ndarray, sagitta: float
) -> tuple[np.ndarray, np.ndarray]:
    """The points after each segment's start (its chords' ends), and their segment index."""
    chord = end - start
    length = np.hypot(chord[:, 0], chord[:, 1])
    arc = (np.abs(b) > 1e-12) & (length > 0)
    theta = 4.0 * np.arctan(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(arc, length / (2.0 * np.abs(np.sin(theta / 2.0))), 0.0)
    chords = _chord_counts(np.abs(theta), radius, arc, sagitta)

    # the centre lies on the chord's normal, on the side given by the bulge's sign
    safe = np.where(length > 0, length, 1.0)
    unit = chord / safe[:, None]
    normal = np.column_stack([-unit[:, 1], unit[:, 0]])
    offset = np.sign(b) * (radius - np.abs(b) * length / 2.0)
    centre = (start + end) / 2.0 + normal * offset[:, None]
    a0 = np.arctan2(start[:, 1] - centre[:, 1], start[:, 0] - centre[:, 0])

    seg = np.repeat(np.arange(len(start)), chords)
    k = np.arange(len(seg)) - np.repeat(np.cumsum(chords) - chords, chords) + 1
    angle = a0[seg] + theta[seg] * k / chords[seg]
    points = centre[seg] + radius[seg, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    last = k == chords[seg]  # a segment's last point is its end vertex, exactly
    points[last] = end[seg[last]]
    return points, seg


def _chord_counts(
    theta: np.ndarray, radius: np.ndarray, arc: np.ndarray, sagitta: float
) -> np.ndarray:
    """Chords per arc of included angle ``theta`` (radians, >= 0): none farther than
    ``sagitta`` from the arc; 1 where ``arc`` is False, at most :data:`MAX_CHORDS`."""
    with np.errstate(divide="ignore", invalid="ignore"):
        step = 2.0 * np.arccos(np.clip(1.0 - sagitta / np.where(arc, radius, 1.0), -1.0, 1.0))
        chords = np.where(arc, np.ceil(theta / np.where(step > 0, step, np.inf)), 1)
    chords = np.clip(np.nan_to_num(chords, nan=1.0), 1, MAX_CHORDS).astype(np.int64)
    chords[~arc] = 1
    return chords


def arc_points(
    centre: np.ndarray,
    radius: np.ndarray,
    start_angle: np.ndarray,
    end_angle: np.ndarray,
    sagitta: float = SAGITTA,
) -> tuple[np.ndarray, np.ndarray]:
    """The vertices of ARC entities flattened into chords, counter-clockwise from the start
    angle to the end angle (in the arcs' own OCS), in one vectorised pass.

    Parameters
    ----------
    centre : numpy.ndarray
        (n, 2) centres (OCS x, y).
    radius : numpy.ndarray
        (n,) radii.
    start_angle, end_angle : numpy.ndarray
        (n,) angles in degrees. The arc runs counter-clockwise from start to end; equal
        angles give a zero-length arc, angles a whole turn apart a full circle.
    sagitta : float
        Largest distance between an arc and its chords.

    Returns
    -------
    tuple[numpy.ndarray, numpy.ndarray]
        (m, 2) vertices, from each arc's start point to its end point, and (m,) the arc
        each vertex belongs to (ascending). Every arc has at least two vertices.
    """
    centre = np.asarray(centre, dtype=float).reshape(-1, 2)
    radius = np.asarray(radius, dtype=float).reshape(-1)
    start = np.asarray(start_angle, dtype=float).reshape(-1)
    end = np.asarray(end_angle, dtype=float).reshape(-1)
    span = np.mod(end - start, 360.0)
    span = np.where((span == 0.0) & (start != end), 360.0, span)
    theta = np.radians(span)
    arc = (radius > 0) & (theta > 0) & np.isfinite(theta) & np.isfinite(radius)
    chords = _chord_counts(theta, radius, arc, sagitta)
    owner = np.repeat(np.arange(len(radius)), chords + 1)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(chords + 1) - (chords + 1), chords + 1)
    angle = np.radians(start)[owner] + theta[owner] * k / chords[owner]
    points = centre[owner] + radius[owner, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    return points, owner


def ocs_to_wcs(xy: np.ndarray, elevation: np.ndarray, extrusion: np.ndarray) -> np.ndarray:
    """WCS x, y of OCS points (DXF's arbitrary axis algorithm), vectorised.

    Parameters
    ----------
    xy : numpy.ndarray
        (m, 2) OCS x, y.
    elevation : numpy.ndarray
        (m,) OCS z of each point.
    extrusion : numpy.ndarray
        (m, 3) extrusion direction (the OCS z axis) of each point; need not be unit.

    Returns
    -------
    numpy.ndarray
        (m, 2) WCS x, y. Points whose extrusion is +Z are returned unchanged.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = np.asarray(extrusion, dtype=float).reshape(-1, 3)
    out = xy.copy()
    tilted = ~((n[:, 0] == 0) & (n[:, 1] == 0) & (n[:, 2] > 0))
    if not tilted.any():
        return out
    nz = n[tilted] / np.linalg.norm(n[tilted], axis=1)[:, None]
    near_z = (np.abs(nz[:, 0]) < 1 / 64) & (np.abs(nz[:, 1]) < 1 / 64)
    world = np.where(near_z[:, None], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0])
    ax = np.cross(world, nz)
    ax /= np.linalg.norm(ax, axis=1)[:, None]
    ay = np.cross(nz, ax)
    ay /= np.linalg.norm(ay, axis=1)[:, None]
    p, z = xy[tilted], np.asarray(elevation, dtype=float).reshape(-1)[tilted]
    wcs = p[:, :1] * ax + p[:, 1:2] * ay + z[:, None] * nz
    out[tilted] = wcs[:, :2]
    return out
