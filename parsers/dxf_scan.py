"""A vectorised scan of the tags of an ASCII DXF's ENTITIES section.

The fast path (:mod:`parsers.dxf_fast`) takes every point from it as written when no
entity has an OCS of its own (``vertices_xy``, ``anchors``: the numbers the health check
parsed); otherwise it checks what GDAL returned against what the file holds (entity
handles, types, vertex counts). Either way it takes from the scan the things GDAL
does not give as ezdxf would (raw text for ezdxf's plain-text functions, layer names in
the chosen encoding, every XDATA string, closed flags, arc vertices, circle centres, ARC
entities flattened, MTEXT columns and text frames as ezdxf links them).
The file must first pass :func:`parsers.dxf_health.healthy_tags`; any sign of damage, or a
construct the fast path does not reproduce exactly, gives None and the caller reads the
file with ezdxf.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parsers.bulge import arc_points, ocs_to_wcs
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
    xdata: np.ndarray  # object: tuple of bytes (every 1000 string, file order) or None
    texts: np.ndarray  # object: bytes or None (TEXT, MTEXT raw content, all columns)
    centres: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))
    # (n, 2) float: a CIRCLE's centre as written when it has no OCS of its own, else NaN
    arcs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # position → (xy, bulges) of the polylines with arc segments (bulges), drawn in WCS
    arc_entities: tuple[np.ndarray, np.ndarray] = field(
        default_factory=lambda: (np.empty((0, 2)), np.empty(0, dtype=np.int64))
    )
    # ARC entities flattened (:func:`parsers.bulge.arc_points`) in WCS: (m, 2) vertices
    # and (m,) the position of the ARC each belongs to
    vertices_xy: tuple[np.ndarray, np.ndarray] | None = None
    # the x, y of every LWPOLYLINE / POLYLINE (its VERTEX entities) / LINE vertex as written,
    # in order, and the position of the entity each belongs to; None when an entity has an
    # OCS of its own or its points are not one per tag as ezdxf reads them (GDAL then)
    anchors: np.ndarray | None = None
    # (n, 2): the point (10/20) of every entity as written (POINT, INSERT, CIRCLE, TEXT,
    # MTEXT: ezdxf's location / insert / center), None with ``vertices_xy``


def scan_entities(
    data: bytes, acadver: str = "AC1015", limits: tuple[int, int] | None = None
) -> EntityScan | None:
    """Scan an ASCII DXF (which ends with ``0``/``EOF``).

    Parameters
    ----------
    data : bytes
        The file.
    acadver : str
        Its ``$ACADVER`` (MTEXT columns are linked entities before R2018, one entity since).
    limits : tuple of int, optional
        (max_entities, max_vertices): over either, :class:`parsers.dxf_health.OverLimit`
        is raised as soon as the tags are split, before anything is built.

    Returns
    -------
    EntityScan or None
        None when the file is not healthy (:mod:`parsers.dxf_health`) or holds something
        the fast path does not reproduce exactly (fitted polylines, arcs in an OCS).
    """
    try:
        return _scan(data, acadver, limits)
    except (Doubt, ValueError, IndexError, OverflowError, UnicodeDecodeError):
        return None


def _scan(data: bytes, acadver: str, limits: tuple[int, int] | None) -> EntityScan:
    tags = healthy_tags(data, limits)
    _check_mtext_links_outside(tags.codes, tags.values, tags.start, tags.end)
    cut = slice(tags.start, tags.end)
    return _entities(tags.codes[cut], tags.values[cut], acadver, tags.reals[cut])


def _check_mtext_links_outside(codes, values, start: int, end: int) -> None:
    """MTEXT column and text frame links (which make ezdxf drop the linked entities) are
    followed only in the ENTITIES section."""
    outside = np.flatnonzero(codes == 1000)
    outside = outside[(outside < start) | (outside >= end)]
    if any(v.startswith(_MTEXT_LINK) for v in values[outside].tolist()):
        raise Doubt("MTEXT columns or text frame outside the entities")


def _first(codes, values, owner, n, code) -> tuple[np.ndarray, np.ndarray]:
    """First value of ``code`` per entity (None if absent) and the count per entity."""
    idx = np.flatnonzero(codes == code)
    out = np.full(n, None, dtype=object)
    ent = owner[idx]
    uniq, first = np.unique(ent, return_index=True)
    out[uniq] = values[idx[first]]
    return out, np.bincount(ent, minlength=n)


def _entities(
    codes: np.ndarray, values: np.ndarray, acadver: str, reals: np.ndarray | None = None
) -> EntityScan:
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
    xdata = _xdata_strings(codes, values, owner, n)
    centres = _circle_centres(codes, values, owner, etype, n)
    gone = _mtext_links(codes, values, owner, etype, handles, paper, texts, acadver)

    keep = top[~paper[top] & ~gone[top]]
    position = np.full(n, -1, dtype=np.int64)
    position[keep] = np.arange(len(keep))
    arc_xy, arc_owner = _arc_entities(codes, values, owner, etype, n)
    on = position[arc_owner] >= 0
    written = None
    if reals is not None and not _extruded(codes, values, owner, n)[keep].any():
        written = _written_points(codes, reals, owner, etype, parent, position, n)
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
        arc_entities=(arc_xy[on], position[arc_owner[on]]),
        vertices_xy=None if written is None else written[0],
        anchors=None if written is None else written[1][keep],
    )


_ONE_POINT = (b"LINE", b"POINT", b"INSERT", b"CIRCLE", b"TEXT", b"MTEXT", b"VERTEX")
_VERTEX_OWNERS = (b"LWPOLYLINE", b"VERTEX", b"LINE")


def _written_points(codes, reals, owner, etype, parent, position, n):
    """The points of the entities as written (no OCS anywhere: the caller checked), or None
    when one is not written once (a LINE's 11, the others' 10: ezdxf would keep one)."""
    tens = np.flatnonzero(codes == 10)
    elevens = np.flatnonzero(codes == 11)
    single = np.isin(etype, _ONE_POINT)
    if (np.bincount(owner[tens], minlength=n)[single] != 1).any():
        return None
    line = etype == b"LINE"
    if (np.bincount(owner[elevens], minlength=n)[line] != 1).any():
        return None
    anchors = np.full((n, 2), np.nan)
    alone = tens[single[owner[tens]]]
    anchors[owner[alone]] = np.column_stack([reals[alone], reals[alone + 1]])
    ends = elevens[line[owner[elevens]]]
    tags = np.concatenate([tens[np.isin(etype[owner[tens]], _VERTEX_OWNERS)], ends])
    ent = owner[tags]
    ent = np.where(etype[ent] == b"VERTEX", parent[ent], ent)
    second = np.zeros(len(tags), dtype=bool)
    second[len(tags) - len(ends) :] = True  # a LINE's 11 after its 10
    order = np.lexsort((tags, second, ent))
    tags, ent = tags[order], ent[order]
    on = position[ent] >= 0
    xy = np.column_stack([reals[tags[on]], reals[tags[on] + 1]])
    if not np.isfinite(xy).all():
        return None
    return (xy, position[ent[on]]), anchors


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


def _xdata_strings(codes, values, owner, n) -> np.ndarray:
    """Every 1000 string of every XDATA application, per entity, in file order."""
    out = np.full(n, None, dtype=object)
    apps = np.flatnonzero(codes == 1001)
    strings = np.flatnonzero(codes == 1000)
    if not len(strings):
        return out
    first_app = np.full(n, len(codes))
    np.minimum.at(first_app, owner[apps], apps)
    if (strings < first_app[owner[strings]]).any():
        raise Doubt("an XDATA string before its application")
    pairs = list(zip(owner[apps].tolist(), values[apps].tolist(), strict=True))
    if len(set(pairs)) != len(pairs):
        raise Doubt("one XDATA application twice in an entity")  # ezdxf keeps the last
    ent = owner[strings]
    cuts = np.flatnonzero(np.diff(ent)) + 1
    uniq = ent[np.concatenate([[0], cuts])]
    out[uniq] = [tuple(part) for part in np.split(values[strings], cuts)]
    return out


def _arc_entities(codes, values, owner, etype, n) -> tuple[np.ndarray, np.ndarray]:
    """ARC entities flattened in WCS: vertices and the entity of each (file order)."""
    arc = etype == b"ARC"
    if not arc.any():
        return np.empty((0, 2)), np.empty(0, dtype=np.int64)
    got = {}
    for code in (10, 20, 30, 40, 50, 51, 210, 220, 230):
        first, count = _first(codes, values, owner, n, code)
        if (count[arc] > 1).any():
            raise Doubt(f"group code {code} twice in an ARC")
        present = np.array([v is not None for v in first[arc]], dtype=bool)
        if code in (10, 20, 40, 50, 51) and not present.all():
            raise Doubt("an ARC without its centre, radius or angles")
        column = np.full(int(arc.sum()), 1.0 if code == 230 else 0.0)
        column[present] = numbers(first[arc][present], float)
        got[code] = column
    ents = np.flatnonzero(arc)
    xy, which = arc_points(
        np.column_stack([got[10], got[20]]), got[40], got[50], got[51]
    )
    extrusion = np.column_stack([got[210], got[220], got[230]])
    xy = ocs_to_wcs(xy, got[30][which], extrusion[which])
    if not np.isfinite(xy).all():
        raise Doubt("an ARC that is not finite")  # ezdxf: DXF-005
    return xy, ents[which]


_MTEXT_LINK = b"ACAD_MTEXT_"


def _mtext_links(codes, values, owner, etype, handles, paper, texts, acadver) -> np.ndarray:
    """The entities ezdxf takes out of the modelspace because an MTEXT names them in its
    ``ACAD`` XDATA: text frames (an LWPOLYLINE AutoCAD writes around a framed MTEXT, which
    ezdxf deletes) and, before R2018, the MTEXT entities of its further columns (whose
    content ezdxf gives as the main MTEXT's: their raw text is appended to it in ``texts``).

    The handful of MTEXT with such XDATA are read by ezdxf's own functions; anything
    unusual (a link to something else, a column with columns, R2018 with linked columns)
    raises :class:`Doubt`.
    """
    gone = np.zeros(len(etype), dtype=bool)
    strings = np.flatnonzero(codes == 1000)
    linking = [
        int(i) for i in strings if values[i].startswith(_MTEXT_LINK)
    ]  # the 1000 strings of all entities: a cheap bytes test each
    if not linking:
        return gone
    index = {h: k for k, h in enumerate(handles.tolist())}
    embedded = set(owner[codes == 101].tolist())
    mains: list[int] = []
    for ent in sorted(set(owner[linking].tolist())):
        frames, linked = _links_of(codes, values, owner, ent, etype, acadver, embedded)
        for handle, kind in [(h, b"LWPOLYLINE") for h in frames] + [
            (h, b"MTEXT") for h in linked
        ]:
            k = index.get(handle.encode("ascii"))
            if k is None or etype[k] != kind or gone[k] or paper[k] != paper[ent] or k == ent:
                raise Doubt("an MTEXT linked to an entity the fast path cannot drop")
            gone[k] = True
        if linked:
            mains.append(ent)
            parts = [texts[ent]] + [texts[index[h.encode("ascii")]] for h in linked]
            texts[ent] = b"".join(parts)
    if gone[mains].any():
        raise Doubt("a linked MTEXT column with columns of its own")
    return gone


def _links_of(codes, values, owner, ent, etype, acadver, embedded) -> tuple[list[str], list[str]]:
    """Text frame and linked column handles of one entity, read as ezdxf reads them."""
    if etype[ent] != b"MTEXT":
        raise Doubt("MTEXT link strings on another entity")
    tags = np.flatnonzero(owner == ent)
    tags = tags[codes[tags] >= 1000]
    groups: dict[bytes, list] = {}
    app = b""
    for i in tags.tolist():
        code, value = int(codes[i]), values[i]
        if code == 1001:
            app = value
            groups[app] = []
        elif app:
            groups[app].append((code, value))
    acad = groups.get(b"ACAD")
    links = [v for g in groups.values() for _, v in g if isinstance(v, bytes)]
    if acad is None or sum(v.startswith(_MTEXT_LINK) for _, v in acad) != sum(
        v.startswith(_MTEXT_LINK) for v in links
    ):
        raise Doubt("MTEXT link strings outside the ACAD application")
    if ent in embedded:
        raise Doubt("MTEXT with an embedded object and column or frame XDATA")
    # ezdxf reads MTEXT columns and frames (rare): imported here, only for such a drawing
    from ezdxf.entities.mtext import extract_mtext_text_frame_handles, load_columns_from_xdata
    from ezdxf.entities.xdata import XData
    from ezdxf.lldxf.tags import Tags
    from ezdxf.lldxf.types import DXFTag

    xdata = XData([Tags([DXFTag(1001, "ACAD"), *(DXFTag(c, _typed(c, v)) for c, v in acad)])])
    try:  # as MText.load_dxf_attribs, then MText.post_load_hook
        columns = load_columns_from_xdata(_NO_HANDLE, xdata)
        frames = extract_mtext_text_frame_handles(xdata)
    except Exception as why:  # noqa: BLE001 — what ezdxf raises here, it raises reading the file
        raise Doubt("MTEXT column or frame XDATA ezdxf cannot read") from why
    linked = list(columns.linked_handles or []) if columns is not None else []
    if linked and acadver >= "AC1032":
        raise Doubt("linked MTEXT columns in R2018+")  # ezdxf links none: they stay
    return frames, linked


class _NoHandle:
    """The ``dxf`` namespace ezdxf's column loader asks for a handle (for its log)."""

    def get(self, key: str, default=None):
        return default


_NO_HANDLE = _NoHandle()


def _typed(code: int, value: bytes):
    if code in (1010, 1011, 1012, 1013, 1020, 1021, 1022, 1023, 1030, 1031, 1032, 1033):
        return float(value)
    if 1040 <= code <= 1042:
        return float(value)
    if code in (1070, 1071):
        return int(value)
    return value.decode("ascii", "replace")


def _empty() -> EntityScan:
    obj = np.empty(0, dtype=object)
    ints = np.empty(0, dtype=np.int64)
    return EntityScan(obj, obj, obj, ints, ints, obj, obj, np.empty((0, 2)))

