"""Small maps of a finding's place, drawn from the package's own drawings as inline SVG.

A site or parcel finding (``Finding.location``, project CRS) gets a window of
:data:`SITE_WINDOW` metres around its point over site.dxf and parcel.dxf together: site
boundary (YDHX), parcel (ZD), footprints (JZJD), roads (DLHX), green (LDFW), boundary
points (JZD) and their labels. When the entity the finding names is larger than the
window, the window grows to the whole site. A floor-plan finding (``Finding.local`` and
``object.file`` = ``drawings/floors/<幢号>.dxf``) gets the floor frame (FC_C) that holds
its point, with units (FC_H), shared parts (FC_GY) and balconies (FC_YT).

The entity the finding names (``object.handle`` in ``object.file``) is drawn in red; the
point gets a red ring and cross; every map has a scale bar and a north arrow (on floor
plans, which have no CRS, the arrow shows the drawing's up and says so).

The maps stay small: geometries are clipped to the window with shapely before they are
written, coordinates are relative to the window and rounded to 0.01 m, long rings are
simplified to :data:`MAX_VERTICES`, and one ``<path>`` holds each layer's shapes. Text
from the package (labels) is escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd
import shapely

from schemas.check import CheckResult
from schemas.findings import Finding
from schemas.package import Drawing

SITE_WINDOW = 80.0  # m: the side of a site map's window
FLOOR_MARGIN = 0.04  # share of a floor frame's size added around it
FLOOR_WINDOW = 30.0  # m: the window around a floor-plan point that no frame holds
LARGE_WINDOW = 2000.0  # m: never show more than this, whatever the drawing says
MAX_VERTICES = 300  # per geometry, after clipping
MAX_FEATURES = 400  # per map (the largest are kept)
MAX_TEXTS = 60  # per map

AREA_LAYERS = {"YDHX", "ZD", "LDFW", "JZJD", "FC_C", "FC_H", "FC_GY", "FC_YT"}
# drawing order: fills below, lines above, points on top
SITE_ORDER = ("LDFW", "JZJD", "ZD", "YDHX", "DLHX", "JZX", "JZD")
FLOOR_ORDER = ("FC_C", "FC_GY", "FC_YT", "FC_H")
SITE_TEXT_LAYERS = {"JZJD", "JZD", "LDFW"}
FLOOR_TEXT_LAYERS = {"FC_C", "FC_H", "FC_GY", "FC_YT"}

LEGEND = {
    "YDHX": "用地红线",
    "ZD": "宗地",
    "JZJD": "建筑基底",
    "DLHX": "道路红线",
    "LDFW": "绿地",
    "JZD": "界址点",
    "FC_C": "层框",
    "FC_H": "户",
    "FC_GY": "共有部位",
    "FC_YT": "阳台",
}

CSS = """
svg.map{display:block;width:100%;height:auto;background:#fff;border:1px solid #ccc;border-radius:3px}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:.85em;margin:.3em 0}.legend span{white-space:nowrap}
svg.sw{width:18px;height:14px;vertical-align:-2px;margin-right:3px}
svg.sw path,svg.sw circle{stroke-width:1.2}svg.sw .hl{fill:rgba(230,0,0,.2);stroke:#e00000;stroke-width:2}svg.sw .spot{fill:none;stroke:#e00000;stroke-width:2}
svg.map path,svg.map circle{vector-effect:non-scaling-stroke;stroke-width:1}
svg.map .n{fill:none}
.k-LDFW{fill:#d6eccb;stroke:#5a9e48}.k-JZJD{fill:#d8e0ec;stroke:#41597a}
.k-YDHX{fill:none;stroke:#d0021b;stroke-dasharray:7 3}svg.map .k-YDHX{stroke-width:1.6}
.k-ZD{fill:none;stroke:#8e44ad;stroke-dasharray:2 2}.k-DLHX{fill:none;stroke:#e67e22;stroke-dasharray:9 3 2 3}
.k-JZX{fill:none;stroke:#8e44ad}.k-JZD{fill:#fff;stroke:#8e44ad}
.k-FC_C{fill:#fbfbf7;stroke:#555}.k-FC_H{fill:#e2ebf7;stroke:#36597f}
.k-FC_GY{fill:#f3e8cc;stroke:#9a7b3c}.k-FC_YT{fill:#e6f2dd;stroke:#6a9a4a;stroke-dasharray:3 2}
svg.map .hl{fill:rgba(230,0,0,.2);stroke:#e00000;stroke-width:2.5}svg.map .hl.n{fill:none}
svg.map .spot{fill:none;stroke:#e00000;stroke-width:2.5}
svg.map .band{fill:#f6f6f4;stroke:#bbb}svg.map .bar{fill:none;stroke:#222;stroke-width:1.5}svg.map .nor{fill:#222;stroke:#222}
svg.map text{fill:#222;stroke:#fff;paint-order:stroke;text-anchor:middle;dominant-baseline:central;font-family:sans-serif}
svg.map text.hl{fill:#c00000}svg.map .lab text{stroke:#fff}
"""


def legend_html(layers: tuple[str, ...]) -> str:
    """The legend: a small swatch and the name of each layer the report's maps draw."""
    items = []
    for layer in layers:
        swatch = (
            f'<circle class="k-{layer}" cx="9" cy="7" r="4"/>'
            if layer == "JZD"
            else f'<path class="k-{layer}{"" if layer in AREA_LAYERS else " n"}" d="M1 2h16v10h-16Z"/>'
        )
        items.append(f'<span><svg class="sw" viewBox="0 0 18 14" aria-hidden="true">{swatch}</svg>{LEGEND[layer]}</span>')
    items.append('<span><svg class="sw" viewBox="0 0 18 14" aria-hidden="true"><path class="hl" d="M1 2h16v10h-16Z"/></svg>问题所指图形</span>')
    items.append('<span><svg class="sw" viewBox="0 0 18 14" aria-hidden="true"><circle class="spot" cx="9" cy="7" r="5"/></svg>问题位置</span>')
    return f'<p class="legend">{"".join(items)}</p>'


# ---------------------------------------------------------------- one drawing, indexed


def _num(v: float) -> str:
    s = f"{v:.2f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


@dataclass
class _Index:
    """One drawing's entities as drawable geometries, with a spatial index and handles."""

    path: str
    geoms: np.ndarray  # valid polygons of closed area-layer shapes, lines otherwise
    filled: np.ndarray  # bool: drawn as an area
    layers: np.ndarray  # standard layer name, or "" for layers the map does not draw
    handles: np.ndarray
    tree: shapely.STRtree
    points: np.ndarray  # JZD and other point entities
    point_layers: np.ndarray
    texts: pd.DataFrame  # layer (standard), text, x, y
    text_tree: shapely.STRtree
    by_handle: dict[str, shapely.Geometry]  # any entity (shape, point, text) by handle


def _drawable(shapes: pd.DataFrame, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closed shapes of area layers as polygons where they are valid, every other shape as
    a line (a closed one, or an invalid polygon, as its closed outline). Shapes with
    coordinates that are not finite, or fewer than two vertices, become empty."""
    geoms = np.asarray(shapes.geometry.values, dtype=object)
    n = len(geoms)
    filled = np.zeros(n, dtype=bool)
    out = np.full(n, shapely.GeometryCollection(), dtype=object)
    if not n:
        return out, filled
    count = shapely.get_num_coordinates(geoms)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    broken = np.zeros(n, dtype=bool)
    np.logical_or.at(broken, owner, ~np.isfinite(coords).all(axis=1))
    usable = (count >= 2) & ~broken
    out[usable] = geoms[usable]
    first, last = shapely.get_point(geoms, 0), shapely.get_point(geoms, -1)
    repeated = shapely.equals_exact(first, last, 0.0)  # the closing vertex drawn twice
    closed = usable & (shapes["closed"].to_numpy(dtype=object) == True)  # noqa: E712 - None: open
    ring_like = closed & (count - repeated.astype(int) >= 3)
    if ring_like.any():
        pick = np.isin(owner, np.flatnonzero(ring_like))
        which = np.unique(owner[pick], return_inverse=True)[1]
        rings = shapely.linearrings(coords[pick], indices=which)  # closed where needed
        idx = np.flatnonzero(ring_like)
        polys = shapely.polygons(rings)
        good = np.isin(std[idx], list(AREA_LAYERS)) & shapely.is_valid(polys) & (shapely.area(polys) > 0)
        out[idx[good]], filled[idx[good]] = polys[good], True
        out[idx[~good]] = rings[~good]  # drawn as its closed outline
    return out, filled


def _index(drawing: Drawing, std_of: dict[str, str]) -> _Index:
    shapes = drawing.shapes
    std = shapes["layer"].map(std_of).fillna("").to_numpy(dtype=object)
    geoms, filled = _drawable(shapes, std)
    by_handle: dict[str, shapely.Geometry] = {}
    for frame in (drawing.texts, drawing.points):
        for handle, g in zip(frame["handle"].to_numpy(), frame.geometry.values, strict=True):
            if isinstance(handle, str) and g is not None:
                by_handle[handle] = g
    for handle, g in zip(shapes["handle"].to_numpy(), geoms, strict=True):
        if isinstance(handle, str):
            by_handle[handle] = g
    points = np.asarray(drawing.points.geometry.values, dtype=object)
    texts = drawing.texts
    tx = pd.DataFrame({
        "layer": texts["layer"].map(std_of).fillna("").to_numpy(dtype=object),
        "text": texts["text"].to_numpy(dtype=object),
        "handle": texts["handle"].to_numpy(dtype=object),
    })
    tgeom = np.asarray(texts.geometry.values, dtype=object)
    return _Index(
        path=drawing.path,
        geoms=geoms,
        filled=filled,
        layers=std,
        handles=shapes["handle"].to_numpy(dtype=object),
        tree=shapely.STRtree(geoms),
        points=points,
        point_layers=drawing.points["layer"].map(std_of).fillna("").to_numpy(dtype=object),
        texts=tx,
        text_tree=shapely.STRtree(tgeom),
        by_handle=by_handle,
    )


# ---------------------------------------------------------------- the SVG of one map


@dataclass(frozen=True)
class Window:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def grown(self, share: float) -> Window:
        dx, dy = self.width * share, self.height * share
        return Window(self.x0 - dx, self.y0 - dy, self.x1 + dx, self.y1 + dy)

    @staticmethod
    def around(x: float, y: float, size: float) -> Window:
        return Window(x - size / 2, y - size / 2, x + size / 2, y + size / 2)

    @staticmethod
    def of(bounds: tuple[float, float, float, float], margin: float, minimum: float) -> Window:
        """Bounds grown by a share, at least ``minimum`` wide and high, at most LARGE_WINDOW."""
        x0, y0, x1, y1 = bounds
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w = min(max((x1 - x0) * (1 + 2 * margin), minimum), LARGE_WINDOW)
        h = min(max((y1 - y0) * (1 + 2 * margin), minimum), LARGE_WINDOW)
        return Window(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class _Svg:
    """Writes geometries in window coordinates: x from the left edge, y down from the top."""

    def __init__(self, win: Window):
        self.win = win

    def xy(self, coords: np.ndarray) -> list[str]:
        xs = coords[:, 0] - self.win.x0
        ys = self.win.y1 - coords[:, 1]
        return [f"{_num(x)} {_num(y)}" for x, y in zip(xs, ys, strict=True)]

    def d(self, geom: shapely.Geometry) -> str:
        """Path data of lines and polygons (rings closed with Z)."""
        out = []
        for part in shapely.get_parts(geom):
            kind = part.geom_type
            if kind == "Polygon":
                for ring in (part.exterior, *part.interiors):
                    c = shapely.get_coordinates(ring)[:-1]
                    if len(c) >= 2:
                        out.append("M" + " ".join(self.xy(c)) + "Z")
            elif kind in ("LineString", "LinearRing"):
                c = shapely.get_coordinates(part)
                if len(c) >= 2:
                    out.append("M" + " ".join(self.xy(c)))
            elif kind in ("GeometryCollection", "MultiPolygon", "MultiLineString"):
                out.append(self.d(part))
        return "".join(out)

    def dots(self, coords: np.ndarray, r: float) -> str:
        """Small circles as one path (two arcs each)."""
        rr, dd = _num(r), _num(2 * r)
        return "".join(f"M{_num(x - r)} {_num(y)}a{rr} {rr} 0 1 0 {dd} 0a{rr} {rr} 0 1 0 -{dd} 0"
                       for x, y in zip(coords[:, 0] - self.win.x0, self.win.y1 - coords[:, 1], strict=True))


def _cap(geoms: np.ndarray, size: float) -> np.ndarray:
    """Simplify geometries with more than MAX_VERTICES vertices until they fit."""
    n = shapely.get_num_coordinates(geoms)
    big = np.flatnonzero(n > MAX_VERTICES)
    for i in big:
        g, tol = geoms[i], size / 1000
        while shapely.get_num_coordinates(g) > MAX_VERTICES and tol < size:
            g = shapely.simplify(geoms[i], tol, preserve_topology=False)
            tol *= 2
        geoms[i] = g
    return geoms


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 × 10ⁿ not above ``length``."""
    if length <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(length))
    return max(m * e for m in (1, 2, 5) if m * e <= length)


def _band(font: float) -> float:
    """Height of the strip below the drawing that holds the scale bar and the arrow."""
    return font * 2.4


def _furniture(win: Window, font: float, up_label: str) -> str:
    """The strip below the drawing: scale bar on the left, north arrow on the right, so
    neither hides a part of the drawing."""
    w, h, band = win.width, win.height, _band(font)
    bar = _nice(w / 4)
    x, y, t = font * 0.8, h + band * 0.68, font * 0.35
    scale = (f'<path class="bar" d="M{_num(x)} {_num(y - t)}v{_num(t)}h{_num(bar)}v-{_num(t)}"/>'
             f'<text x="{_num(x + bar + font * 0.4)}" y="{_num(y - t / 2)}" style="text-anchor:start">{bar:g} m</text>')
    s = font * 1.1
    ax, ay = w - font * 2.6, h + (band - s) / 2
    arrow = (f'<path class="nor" d="M{_num(ax)} {_num(ay)}l{_num(s * 0.4)} {_num(s)}l-{_num(s * 0.4)} -{_num(s * 0.3)}'
             f'l-{_num(s * 0.4)} {_num(s * 0.3)}Z"/>'
             f'<text x="{_num(ax + font * 0.6)}" y="{_num(h + band / 2)}" style="text-anchor:start">{up_label}</text>')
    strip = f'<path class="band" d="M0 {_num(h)}h{_num(w)}v{_num(band)}h-{_num(w)}Z"/>'
    return f'{strip}<g font-size="{_num(font)}" stroke-width="{_num(font * 0.18)}">{scale}{arrow}</g>'


@dataclass
class MapSvg:
    svg: str
    caption: str
    empty: bool  # nothing of the drawing inside the window


class MapMaker:
    """Draws the small map of each finding's place from one check result's drawings."""

    def __init__(self, result: CheckResult):
        pkg, profile = result.package, result.profile
        known = set(AREA_LAYERS) | {"DLHX", "JZX", "JZD"}
        self.std_of = {profile.layer(s): s for s in known}
        self.drawings: dict[str, Drawing] = {d.path: d for d in pkg.drawings.values()}
        self.site_paths = [d.path for k, d in pkg.drawings.items() if k in ("site", "parcel")]
        self._indexes: dict[str, _Index] = {}
        self._site_bounds: tuple[float, float, float, float] | None = None
        self.floor_labels: dict[tuple[str, str], str] = {}
        for plan in result.geometry.floors.values():
            for handle, label in zip(plan.frames["handle"], plan.frames["label"], strict=True):
                if isinstance(label, str):
                    self.floor_labels[(plan.file, handle)] = label

    def index(self, path: str) -> _Index:
        if path not in self._indexes:
            self._indexes[path] = _index(self.drawings[path], self.std_of)
        return self._indexes[path]

    # ------------------------------------------------------------ which map

    def kind(self, f: Finding) -> str | None:
        """"floor", "site", or None when the finding has no place on a drawing we hold."""
        file = f.object.file
        if f.local is not None and file in self.drawings and file not in self.site_paths:
            return "floor"
        if f.location is not None and self.site_paths:
            return "site"
        return None

    def draw(self, f: Finding) -> MapSvg | None:
        kind = self.kind(f)
        try:
            if kind == "floor":
                return self._floor(f)
            if kind == "site":
                return self._site(f)
        except Exception as exc:  # a map must never stop the report
            return MapSvg("", f"（无法绘制位置图：{escape(type(exc).__name__)}）", True)
        return None

    # ------------------------------------------------------------ site and parcel

    def site_bounds(self) -> tuple[float, float, float, float] | None:
        if self._site_bounds is None:
            boxes = []
            for path in self.site_paths:
                ix = self.index(path)
                drawn = ix.geoms[ix.layers != ""]
                if len(drawn):
                    b = shapely.total_bounds(drawn)
                    if np.isfinite(b).all():
                        boxes.append(b)
            if boxes:
                a = np.array(boxes)
                self._site_bounds = (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())
        return self._site_bounds

    def _highlight(self, f: Finding) -> shapely.Geometry | None:
        o = f.object
        if not o.handle or o.file not in self.drawings:
            return None
        g = self.index(o.file).by_handle.get(o.handle)
        if g is None or shapely.is_empty(g) or not np.isfinite(shapely.get_coordinates(g)).all():
            return None
        return g

    def _site(self, f: Finding) -> MapSvg:
        assert f.location is not None
        x, y = f.location
        hl = self._highlight(f) if f.object.file in self.site_paths else None
        win = Window.around(x, y, SITE_WINDOW)
        if hl is not None:  # the window shows the whole thing: centred on it, or the whole site
            b = shapely.bounds(shapely.union(hl, shapely.Point(x, y)))
            if max(b[2] - b[0], b[3] - b[1]) <= SITE_WINDOW * 0.85:
                win = Window.around((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, SITE_WINDOW)
            else:
                site = self.site_bounds() or tuple(b)
                whole = (min(b[0], site[0]), min(b[1], site[1]), max(b[2], site[2]), max(b[3], site[3]))
                win = Window.of(whole, 0.05, SITE_WINDOW)
        font = max(win.width, win.height) / 32
        layers = [self.index(p) for p in self.site_paths]
        body, empty = self._body(layers, win, SITE_ORDER, SITE_TEXT_LAYERS, font, hl, (x, y))
        body += _furniture(win, font, "北")
        source = "、".join(escape(p) for p in self.site_paths)
        caption = f"{source} · 窗口 {win.width:.0f} × {win.height:.0f} m · 红圈为问题位置"
        return MapSvg(self._wrap(win, body, f, _band(font)), caption, empty)

    # ------------------------------------------------------------ floor plans

    def _floor(self, f: Finding) -> MapSvg:
        assert f.local is not None and f.object.file is not None
        x, y = f.local
        ix = self.index(f.object.file)
        hl = self._highlight(f)
        frames = np.flatnonzero(ix.layers == "FC_C")
        chosen = None
        if len(frames):
            boxes = shapely.bounds(ix.geoms[frames])
            inside = (boxes[:, 0] <= x) & (x <= boxes[:, 2]) & (boxes[:, 1] <= y) & (y <= boxes[:, 3])
            if inside.any():
                cand = frames[inside]
                areas = (boxes[inside, 2] - boxes[inside, 0]) * (boxes[inside, 3] - boxes[inside, 1])
                chosen = cand[int(np.argmin(areas))]
            else:
                dist = shapely.distance(ix.geoms[frames], shapely.Point(x, y))
                j = int(np.nanargmin(dist)) if np.isfinite(dist).any() else -1
                if j >= 0 and dist[j] <= 3.0:
                    chosen = frames[j]
        if chosen is not None:
            b = shapely.bounds(ix.geoms[chosen])
            b = [min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)]
            if hl is not None:
                hb = shapely.bounds(hl)
                b = [min(b[0], hb[0]), min(b[1], hb[1]), max(b[2], hb[2]), max(b[3], hb[3])]
            win = Window.of(tuple(b), FLOOR_MARGIN, 5.0)
        else:
            win = Window.around(x, y, FLOOR_WINDOW)
        font = max(win.width, win.height) / 36
        body, empty = self._body([ix], win, FLOOR_ORDER, FLOOR_TEXT_LAYERS, font, hl, (x, y))
        body += _furniture(win, font, "上")
        frame_label = ""
        if chosen is not None:
            label = self.floor_labels.get((ix.path, ix.handles[chosen]))
            frame_label = f" · 层框 {escape(label)}" if label else ""
        caption = (f"{escape(ix.path)}{frame_label} · 分层分户图局部坐标（无坐标系，箭头为图纸上方）"
                   f" · 红圈为问题位置")
        return MapSvg(self._wrap(win, body, f, _band(font)), caption, empty)

    # ------------------------------------------------------------ shared drawing body

    def _body(self, indexes: list[_Index], win: Window, order: tuple[str, ...], text_layers: set[str],
              font: float, hl: shapely.Geometry | None, spot: tuple[float, float]) -> tuple[str, bool]:
        svg = _Svg(win)
        clip = win.grown(0.03)
        rect = shapely.box(clip.x0, clip.y0, clip.x1, clip.y1)
        size = max(win.width, win.height)
        paths: dict[tuple[str, bool], list[str]] = {}
        dots: dict[str, list[np.ndarray]] = {}
        labels: list[str] = []
        drawn = 0
        for ix in indexes:
            hits = ix.tree.query(rect)
            hits = hits[ix.layers[hits] != ""]
            if len(hits) > MAX_FEATURES:  # keep the largest
                ext = shapely.bounds(ix.geoms[hits])
                span = np.nan_to_num((ext[:, 2] - ext[:, 0]) + (ext[:, 3] - ext[:, 1]))
                hits = hits[np.argsort(-span, kind="stable")[:MAX_FEATURES]]
                hits.sort()
            clipped = shapely.clip_by_rect(ix.geoms[hits], clip.x0, clip.y0, clip.x1, clip.y1)
            keep = ~shapely.is_empty(clipped)
            hits, clipped = hits[keep], _cap(clipped[keep], size)
            drawn += len(hits)
            for i, g in zip(hits, clipped, strict=True):
                paths.setdefault((ix.layers[i], bool(ix.filled[i])), []).append(svg.d(g))
            if len(ix.points):
                inside = shapely.intersects(ix.points, rect)
                for layer in np.unique(ix.point_layers[inside]):
                    if layer:
                        sel = ix.points[inside & (ix.point_layers == layer)]
                        dots.setdefault(layer, []).append(shapely.get_coordinates(sel))
                        drawn += len(sel)
            t = ix.text_tree.query(rect)
            t = t[np.isin(ix.texts["layer"].to_numpy()[t], list(text_layers))][:MAX_TEXTS]
            tg = ix.text_tree.geometries.take(t)
            for (xt, yt), text in zip(shapely.get_coordinates(tg), ix.texts["text"].to_numpy()[t], strict=True):
                if isinstance(text, str) and text:
                    labels.append(f'<text x="{_num(xt - win.x0)}" y="{_num(win.y1 - yt)}">{escape(text[:40])}</text>')
        out = []
        for layer in order:
            for filled in (True, False):
                d = "".join(paths.get((layer, filled), []))
                if d:
                    out.append(f'<path class="k-{layer}{"" if filled else " n"}" d="{d}"/>')
            if layer in dots:
                out.append(f'<path class="k-{layer}" d="{svg.dots(np.vstack(dots[layer]), size / 160)}"/>')
        if labels:
            out.append(f'<g class="lab" font-size="{_num(font)}" stroke-width="{_num(font * 0.18)}">{"".join(labels)}</g>')
        if hl is not None:
            out.append(self._hl(svg, hl, clip, size, font))
        sx, sy = spot
        r = size / 22
        cx, cy = sx - win.x0, win.y1 - sy
        out.append(f'<g class="spot"><circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(r)}"/>'
                   f'<path d="M{_num(cx - r * 1.6)} {_num(cy)}h{_num(r * 1.1)}m{_num(r * 1.0)} 0h{_num(r * 1.1)}'
                   f'M{_num(cx)} {_num(cy - r * 1.6)}v{_num(r * 1.1)}m0 {_num(r * 1.0)}v{_num(r * 1.1)}"/></g>')
        return "".join(out), drawn == 0

    def _hl(self, svg: _Svg, hl: shapely.Geometry, clip: Window, size: float, font: float) -> str:
        kind = hl.geom_type
        if kind == "Point":
            (px, py), = shapely.get_coordinates(hl)
            return f'<path class="hl" d="{svg.dots(np.array([[px, py]]), size / 90)}"/>'
        g = shapely.clip_by_rect(hl, clip.x0, clip.y0, clip.x1, clip.y1)
        if shapely.is_empty(g):
            return ""
        g = _cap(np.array([g], dtype=object), size)[0]
        # a large area is outlined only, so that what lies inside it stays readable
        filled = kind == "Polygon" and shapely.area(g) < 0.15 * (clip.width * clip.height)
        return f'<path class="hl{"" if filled else " n"}" d="{svg.d(g)}"/>'

    @staticmethod
    def _wrap(win: Window, body: str, f: Finding, band: float) -> str:
        label = escape(f"{f.code} 位置图")
        return (f'<svg class="map" viewBox="0 0 {_num(win.width)} {_num(win.height + band)}" '
                f'role="img" aria-label="{label}">{body}</svg>')
