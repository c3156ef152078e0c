"""Drawings the way Chinese CAD programs write them, built in code from the clean sample S.

Three emulations of real practice (deliverable.md "What real CAD programs write (v1.1)"):

- :func:`parcel_cass` — a CASS 宗地图: the ZD outline is an LWPOLYLINE with ``SOUTH`` XDATA
  (feature code ``300000`` first, the ZDDM after it) and no text label; the 界址点 are
  INSERTs of a block (CASS draws boundary points with a block), each with its ``J<n>``
  TEXT beside it; JZX lines; a title block (图框, with a ``宗地号`` text holding the ZDDM)
  and a north arrow on their own layers, the arrow at the drawing origin. Layer names are
  JMD-style, mapped by :func:`cass_profile`.
- :func:`site_eps` — an EPS export of the site drawing: every JZJD footprint exploded into
  LINEs, one green area drawn as LINEs and an ARC (a nearly straight arc on one edge, so
  that the area is that of S within 0.01 m²), labels as MTEXT with inline formatting
  ``{\\fSimSun|b0|i0|c134|p2;1#}``; JMD-style layers (same profile).
- :func:`autocad2013` — a drawing of S saved the way AutoCAD 2013+ saves it: ``AC1027``,
  an ``ACDSDATA`` section (a thumbnail record without a handle), CRLF line ends,
  ``$DWGCODEPAGE`` ANSI_936 with UTF-8 text (Chinese notes, ``m²``, ``±``) on a layer of
  its own. Standard layer names: it needs no profile.

Also the helpers the corpus tests share: a package of S with one drawing replaced
(:func:`package_with`), the frame comparison of the two readers (:func:`frame_differences`)
and the invariant "no drawing the check could not judge in full leads to accepted"
(:func:`invariant_breaks`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ezdxf
import numpy as np
import shapely

from sample_data.model import ProjectModel
from schemas.drawings import POLYGON_LAYERS
from schemas.package import Drawing
from tests.corpus.builders import PARCEL, SITE, clean, write_dir

__all__ = [
    "CASS_LAYERS",
    "EMULATIONS",
    "autocad2013",
    "cass_profile",
    "emulation",
    "frame_differences",
    "invariant_breaks",
    "package_with",
    "parcel_cass",
    "renamed",
    "site_eps",
]

#: JMD-style layer names of CASS / EPS practice, standard layer → name in the drawing.
CASS_LAYERS = {
    "YDHX": "用地红线",
    "DLHX": "DLSS",
    "JZJD": "JMD",
    "LDFW": "ZBTZ",
    "ZD": "ZDX",
    "JZD": "JZD_点",
    "JZX": "JZX_线",
}
TITLE_LAYER = "TK"  # 图框
ARROW_LAYER = "ZBZ"  # 指北针
NOTE_LAYER = "注记"
FEATURE_CODE = "300000"  # CASS feature code of a 宗地
EPS_MTEXT = "{{\\fSimSun|b0|i0|c134|p2;{}}}"


def cass_profile(path: Path) -> Path:
    """Write the test profile that maps the standard layers to :data:`CASS_LAYERS`."""
    lines = ['base = "liaocheng"', 'name = "cass-eps-test"', "", "[layers]"]
    lines += [f'{std} = "{name}"' for std, name in CASS_LAYERS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------- CASS 宗地图


def _title_block(msp, at: tuple[float, float], zddm: str) -> None:
    """A 图框 on its own layer: outer frame, title and a 宗地号 text holding the ZDDM."""
    x, y = at
    msp.add_lwpolyline(
        [(x, y), (x + 120, y), (x + 120, y + 90), (x, y + 90)],
        close=True,
        dxfattribs={"layer": TITLE_LAYER},
    )
    msp.add_text(
        "宗 地 图", height=5, dxfattribs={"layer": TITLE_LAYER, "insert": (x + 45, y + 80)}
    )
    msp.add_text(
        f"宗地号：{zddm}", height=2, dxfattribs={"layer": TITLE_LAYER, "insert": (x + 5, y + 5)}
    )
    msp.add_text("1:500", height=2, dxfattribs={"layer": TITLE_LAYER, "insert": (x + 100, y + 5)})


def _north_arrow(doc, msp, at: tuple[float, float]) -> None:
    """A north arrow block inserted at ``at`` on its own layer (CASS: often at the origin)."""
    if "ZBZ" not in doc.blocks:
        blk = doc.blocks.new("ZBZ")
        blk.add_lwpolyline([(0, 0), (-2, -6), (0, 6), (2, -6)], close=True)
        blk.add_text("北", height=2.5, dxfattribs={"insert": (-1.2, 7)})
    msp.add_blockref("ZBZ", at, dxfattribs={"layer": ARROW_LAYER})


def parcel_cass(
    model: ProjectModel,
    *,
    xdata: Iterable[str] | None = None,
    title_at: tuple[float, float] = (0.0, 0.0),
    arrow_at: tuple[float, float] = (0.0, 0.0),
    shift: tuple[float, float] = (0.0, 0.0),
    version: str = "R2010",
) -> bytes:
    """The parcel drawing of ``model`` as CASS writes a 宗地图 (see the module docstring).

    Parameters
    ----------
    xdata
        The ``SOUTH`` strings of the ZD outline; default ``("300000", <ZDDM>)``.
    title_at, arrow_at
        Lower-left corner of the 图框 and insertion point of the north arrow.
    shift
        Moves the ZD outline only (a parcel drawn in the wrong place).
    """
    parcel = model.parcel
    strings = list(xdata) if xdata is not None else [FEATURE_CODE, parcel.zddm]
    doc = ezdxf.new(version)
    for name in (*CASS_LAYERS.values(), TITLE_LAYER, ARROW_LAYER):
        doc.layers.add(name)
    doc.appids.add("SOUTH")
    point = doc.blocks.new("JZD_GC")  # CASS: 界址点 symbol block
    point.add_circle((0, 0), radius=0.5)
    msp = doc.modelspace()

    ring = [(x + shift[0], y + shift[1]) for x, y in parcel.ring]
    zd = msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": CASS_LAYERS["ZD"]})
    if strings:
        zd.set_xdata("SOUTH", [(1000, s) for s in strings])
    for p in parcel.points:
        msp.add_blockref("JZD_GC", (p.y, p.x), dxfattribs={"layer": CASS_LAYERS["JZD"]})
        msp.add_text(
            p.label.text, height=1.0, dxfattribs={"layer": CASS_LAYERS["JZD"], "insert": p.label.at}
        )
    pts = parcel.points
    for p, q in zip(pts, pts[1:] + pts[:1], strict=True):
        msp.add_line((p.y, p.x), (q.y, q.x), dxfattribs={"layer": CASS_LAYERS["JZX"]})
    _title_block(msp, title_at, parcel.zddm)
    _north_arrow(doc, msp, arrow_at)
    return _bytes(doc)


# --------------------------------------------------------------------------- EPS export


def _near_straight_arc(p, q, sagitta: float = 0.001):
    """Centre, radius and angles (degrees, counter-clockwise) of an arc from ``p`` to ``q``
    bulging ``sagitta`` metres to the right of p→q (outwards for a ring drawn CCW)."""
    (x1, y1), (x2, y2) = p, q
    c = math.hypot(x2 - x1, y2 - y1)
    r = (c * c / 4 + sagitta * sagitta) / (2 * sagitta)
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    nx, ny = -(y2 - y1) / c, (x2 - x1) / c  # left normal
    d = r - sagitta
    cx, cy = mx + nx * d, my + ny * d  # centre on the left: the arc bulges right
    a1 = math.degrees(math.atan2(y1 - cy, x1 - cx))
    a2 = math.degrees(math.atan2(y2 - cy, x2 - cx))
    # seen from the centre, p→q runs counter-clockwise: the short arc from p to q
    return (cx, cy), r, a1, a2


def _ccw(ring) -> list[tuple[float, float]]:
    pts = [tuple(map(float, p)) for p in ring]
    if pts[0] == pts[-1]:
        pts = pts[:-1]
    return pts if shapely.Polygon(pts).exterior.is_ccw else pts[::-1]


def site_eps(model: ProjectModel, *, version: str = "R2010") -> tuple[bytes, dict[str, list[str]]]:
    """The site drawing of ``model`` as an EPS export (see the module docstring).

    Returns
    -------
    tuple[bytes, dict[str, list[str]]]
        The DXF and, per exploded outline (``"JZJD:<n>"``, ``"LDFW:0"``), the handles of
        its pieces.
    """
    site = model.site
    doc = ezdxf.new(version)
    for name in CASS_LAYERS.values():
        doc.layers.add(name)
    msp = doc.modelspace()
    pieces: dict[str, list[str]] = {}
    msp.add_lwpolyline(site.boundary, close=True, dxfattribs={"layer": CASS_LAYERS["YDHX"]})
    for road in site.roads:
        msp.add_lwpolyline(road, close=False, dxfattribs={"layer": CASS_LAYERS["DLHX"]})
    for b in model.buildings:
        pts = _ccw(b.footprint)
        handles = []
        for p, q in zip(pts, pts[1:] + pts[:1], strict=True):
            handles.append(msp.add_line(p, q, dxfattribs={"layer": CASS_LAYERS["JZJD"]}).dxf.handle)
        pieces[f"JZJD:{b.number}"] = handles
        mtext = msp.add_mtext(
            EPS_MTEXT.format(b.label.text), dxfattribs={"layer": CASS_LAYERS["JZJD"]}
        )
        mtext.dxf.insert = b.label.at
        mtext.dxf.char_height = 1.5
        mtext.dxf.attachment_point = 7
    for i, green in enumerate(site.greens):
        if i:
            msp.add_lwpolyline(green, close=True, dxfattribs={"layer": CASS_LAYERS["LDFW"]})
            continue
        pts = _ccw(green)
        handles = []
        edges = list(zip(pts, pts[1:] + pts[:1], strict=True))
        for k, (p, q) in enumerate(edges):
            if k == 0:  # the first edge as an arc that bulges 1 mm outwards
                centre, radius, start, end = _near_straight_arc(p, q)
                arc = msp.add_arc(
                    centre, radius, start, end, dxfattribs={"layer": CASS_LAYERS["LDFW"]}
                )
                handles.append(arc.dxf.handle)
            else:
                handles.append(
                    msp.add_line(p, q, dxfattribs={"layer": CASS_LAYERS["LDFW"]}).dxf.handle
                )
        pieces[f"LDFW:{i}"] = handles
    return _bytes(doc), pieces


# --------------------------------------------------------------------------- AutoCAD 2013

#: The data-storage section AutoCAD 2013+ writes after OBJECTS: the schemas and a
#: thumbnail record (a record has no handle). Tags as AutoCAD writes them.
_ACDSDATA = """  0
SECTION
  2
ACDSDATA
 70
     2
 71
     2
  0
ACDSSCHEMA
 90
        0
  1
AcDb_Thumbnail_Schema
  2
AcDbDs::ID
280
    10
 91
        8
  2
Thumbnail_Data
280
    15
 91
        0
101
ACDSRECORD
 95
        0
 90
        1
  2
AcDbDs::TreatedAsObjectData
280
     1
291
     1
101
ACDSRECORD
 95
        0
 90
        2
  2
AcDbDs::Legacy
280
     1
291
     1
101
ACDSRECORD
  1
AcDbDs::ID
 90
        3
  2
AcDs:Indexable
280
     1
291
     1
101
ACDSRECORD
  1
AcDbDs::ID
 90
        4
  2
AcDbDs::HandleAttribute
280
     7
282
     1
  0
ACDSSCHEMA
 90
        1
  1
AcDbDs::TreatedAsObjectDataSchema
  2
AcDbDs::TreatedAsObjectData
280
     1
 91
        0
  0
ACDSSCHEMA
 90
        2
  1
AcDbDs::LegacySchema
  2
AcDbDs::Legacy
280
     1
 91
        0
  0
ACDSSCHEMA
 90
        3
  1
AcDbDs::IndexedPropertySchema
  2
AcDs:Indexable
280
     1
 91
        0
  0
ACDSSCHEMA
 90
        4
  1
AcDbDs::HandleAttributeSchema
  2
AcDbDs::HandleAttribute
280
     7
 91
        1
284
     1
  0
ACDSRECORD
 90
        0
  2
AcDbDs::ID
280
    10
320
{owner}
  2
Thumbnail_Data
280
    15
 94
       24
310
89504E470D0A1A0A0000000D4948445200000001000000010803000000
  0
ENDSEC
"""


def autocad2013(dxf: bytes, *, notes: bool = True) -> bytes:
    """``dxf`` (a drawing of S) saved the way AutoCAD 2013+ saves it.

    The drawing is re-saved as ``AC1027`` with ``$DWGCODEPAGE`` ANSI_936, Chinese and
    Latin-1 notes on layer 注记 (UTF-8, as every R2007+ file), an ACDSDATA section before
    ``EOF`` and CRLF line ends. Contract layers and entities are those of ``dxf``.
    """
    doc = ezdxf.read(io.StringIO(dxf.decode("utf-8")))
    doc.dxfversion = "AC1027"
    doc.header["$DWGCODEPAGE"] = "ANSI_936"
    if notes:
        doc.layers.add(NOTE_LAYER)
        msp = doc.modelspace()
        ext = np.array([e.dxf.insert for e in msp.query("TEXT MTEXT")] or [(0.0, 0.0, 0.0)])
        x, y = float(ext[:, 0].min()), float(ext[:, 1].min())
        for k, text in enumerate(
            ("总平面图（竣工）", "建筑面积单位：m²，高程 ±0.00", "Résumé é° 北")
        ):
            msp.add_text(
                text, height=2, dxfattribs={"layer": NOTE_LAYER, "insert": (x - 40, y - 10 - 4 * k)}
            )
    stream = io.StringIO()
    doc.write(stream)
    text = stream.getvalue().replace("\r\n", "\n")
    owner = doc.modelspace().block_record.dxf.handle
    head, eof = text.rsplit("  0\nEOF", 1)
    text = head + _ACDSDATA.replace("{owner}", owner) + "  0\nEOF" + eof
    return text.replace("\n", "\r\n").encode("utf-8")


# --------------------------------------------------------------------------- the set


def _bytes(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def renamed(dxf: bytes, mapping: dict[str, str] = CASS_LAYERS) -> bytes:
    """``dxf`` with its entities' layers renamed (standard name → ``mapping``), handles kept."""
    doc = ezdxf.read(io.StringIO(dxf.decode("utf-8")))
    for name in mapping.values():
        if name not in doc.layers:
            doc.layers.add(name)
    for e in doc.modelspace():
        e.dxf.layer = mapping.get(e.dxf.layer, e.dxf.layer)
    return _bytes(doc)


def emulation(name: str) -> tuple[dict[str, bytes], bool, bool]:
    """One emulation: ``(files to write over S, needs the CASS profile, truly meets the
    contract)``. The first file is the emulation itself; with the CASS profile the other
    drawing of site/parcel is S's own with its layers renamed, so that the profile fits."""
    rel, data, cass, ok = _emulation(name)
    files = {rel: data}
    if cass:
        other = SITE if rel == PARCEL else PARCEL
        files[other] = renamed(clean()[1][other])
    return files, cass, ok


def _emulation(name: str) -> tuple[str, bytes, bool, bool]:
    model, files = clean("R2013") if name.startswith("autocad2013") else clean()
    if name == "cass-parcel":
        return PARCEL, parcel_cass(model), True, True
    if name == "cass-parcel-title-elsewhere":
        far = (model.parcel.points[0].y + 200.0, model.parcel.points[0].x + 200.0)
        return PARCEL, parcel_cass(model, title_at=far, arrow_at=far), True, True
    if name == "cass-parcel-code-only":
        return PARCEL, parcel_cass(model, xdata=[FEATURE_CODE]), True, False
    if name == "cass-parcel-moved-5m":
        return PARCEL, parcel_cass(model, shift=(5.0, 0.0)), True, False
    if name == "eps-site":
        return SITE, site_eps(model)[0], True, False
    if name == "autocad2013-site":
        return SITE, autocad2013(files[SITE]), False, True
    if name == "autocad2013-parcel":
        return PARCEL, autocad2013(files[PARCEL]), False, True
    raise KeyError(name)


EMULATIONS = (
    "cass-parcel",
    "cass-parcel-title-elsewhere",
    "cass-parcel-code-only",
    "cass-parcel-moved-5m",
    "eps-site",
    "autocad2013-site",
    "autocad2013-parcel",
)


# --------------------------------------------------------------------------- packages


def package_with(out: Path, replace: dict[str, bytes]) -> Path:
    """The clean sample S as a directory under ``out`` with ``replace`` (package path →
    bytes) written over its files; manifest.json lists the new checksums."""
    model, files = clean()
    files.update(replace)
    return write_dir(out, model, files)


# --------------------------------------------------------------------------- judging


def frame_differences(fast: Drawing, slow: Drawing, tolerance: float = 1e-9) -> list[str]:
    """How the fast path's frames differ from ezdxf's: handles, layers, dxftypes, closed,
    xdata, text (in handle order) and geometry within ``tolerance``. Empty: they agree."""
    out: list[str] = []
    for name in ("shapes", "points", "texts"):
        a = getattr(fast, name).sort_values("handle", kind="mergesort").reset_index(drop=True)
        b = getattr(slow, name).sort_values("handle", kind="mergesort").reset_index(drop=True)
        if len(a) != len(b):
            out.append(f"{name}: {len(a)} rows (fast) vs {len(b)} (ezdxf)")
            continue
        for col in [c for c in b.columns if c != "geometry"]:
            av, bv = a[col].tolist(), b[col].tolist()
            if av != bv:
                diff = [(i, x, y) for i, (x, y) in enumerate(zip(av, bv, strict=True)) if x != y]
                out.append(f"{name}.{col}: {len(diff)} differ, first {diff[:2]}")
        ga, gb = a.geometry.values, b.geometry.values
        same = shapely.equals_exact(ga, gb, tolerance=tolerance)
        if not np.all(same):
            i = int(np.flatnonzero(~same)[0])
            out.append(f"{name}.geometry: {int((~same).sum())} differ, first {ga[i]} vs {gb[i]}")
    for attr in ("readable", "version", "encoding", "entity_count"):
        if getattr(fast, attr) != getattr(slow, attr):
            out.append(f"{attr}: {getattr(fast, attr)!r} vs {getattr(slow, attr)!r}")
    return out


PIECE_CODES = ("DXF-004", "DXF-009")


def _layers(profile, keys: Iterable[str]) -> set[str]:
    return {profile.layer(k) for k in keys}


def invariant_breaks(
    result: Any, must_find: Iterable[tuple[str, str]] = (), reject: bool = False
) -> list[str]:
    """Where a check result breaks "no drawing the check could not judge in full leads to
    accepted". Empty: it holds.

    ``result`` is a :class:`schemas.check.CheckResult`. Besides the general invariant
    (no internal error; an unreadable drawing has its DXF-001 and is not accepted; open
    shapes on a closed-shape contract layer of site/parcel are reported and not accepted), ``must_find`` names ``(file, handle)`` that must carry a finding and
    ``reject`` says the package must not be accepted. (An outline drawn in pieces is
    reported once per ring at one of its pieces, so an open piece needs a DXF-004 or
    DXF-009 on its layer, not at its own handle.)
    """
    out: list[str] = []
    accepted = result.verdict.verdict == "accepted"
    if result.internal_errors:
        out.append(f"internal errors: {[e.splitlines()[0] for e in result.internal_errors]}")
    at = {(f.object.file, f.object.handle) for f in result.findings}
    codes = {(f.code, f.object.file) for f in result.findings}
    polygon_layers = _layers(result.profile, POLYGON_LAYERS)
    for drawing in result.package.drawings.values():
        if drawing.path not in (SITE, PARCEL):
            continue
        if not drawing.readable:
            if ("DXF-001", drawing.path) not in codes:
                out.append(f"{drawing.path} unreadable without DXF-001")
            if accepted:
                out.append(f"{drawing.path} unreadable, yet accepted")
            continue
        shapes = drawing.shapes
        open_ = shapes[shapes["layer"].isin(polygon_layers) & ~shapes["closed"].astype(bool)]
        # an outline in pieces has one DXF-009 per ring (at one piece), a loose piece DXF-004
        said = {(f.object.file, f.object.layer) for f in result.findings if f.code in PIECE_CODES}
        for layer in sorted(set(open_["layer"])):
            if (drawing.path, layer) not in said:
                out.append(f"{drawing.path}: open shapes on {layer} without DXF-004/DXF-009")
        if len(open_) and accepted:
            out.append(
                f"{drawing.path}: {len(open_)} open shapes on closed-shape layers, yet accepted"
            )
    for where in must_find:
        if tuple(where) not in at:
            out.append(f"no finding at {where}")
    if reject and accepted:
        out.append("accepted, though the drawing cannot meet the contract")
    return out
