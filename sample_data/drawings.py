"""Write the model's drawings as DXF bytes: site.dxf, parcel.dxf and one floor plan per
building, the same bytes on every run.

What ezdxf varies between runs, and how each is pinned:

- header dates ($TDCREATE, $TDUCREATE, $TDUPDATE, $TDUUPDATE), $VERSIONGUID,
  $FINGERPRINTGUID and the ezdxf "created/written by" markers in OBJECTS: a drawing is made
  and written under ezdxf's public option ``write_fixed_meta_data_for_testing``; the dates
  are then set to the package's timestamp and the GUIDs to a name-based UUID of the file;
- the order of the CLASSES section, which ezdxf fills from a set (so it follows the string
  hash seed): the classes are registered beforehand in a fixed order;
- handles ($HANDSEED) are sequential per document: entities are added in model order;
- line ends: the text goes through a StringIO (``\\n`` on every platform) and is encoded
  like ``Drawing.saveas`` does (the drawing's code page, ``dxfreplace`` errors).

With ``autocad=True`` the text is then dressed as AutoCAD 2013 writes it (CRLF, an ANSI_936
header over UTF-8 text, THUMBNAILIMAGE and ACDSDATA): see :mod:`sample_data.autocad`.
"""

from __future__ import annotations

import codecs
import functools
import io
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import ParamSpec, TypeVar

import ezdxf
from ezdxf.document import Drawing
from ezdxf.layouts import Modelspace
from ezdxf.sections.classes import REQ_R2004, REQUIRED_CLASSES
from ezdxf.tools.codepage import tocodepage, toencoding
from ezdxf.tools.juliandate import juliandate

from sample_data.autocad import autocad_text
from sample_data.model import Building, Label, ProjectModel

DXF_VERSIONS = ("R2000", "R2004", "R2007", "R2010", "R2013", "R2018")
AUTOCAD_VERSIONS = ("R2013", "R2018")  # the versions AutoCAD writes ACDSDATA in
AUTOCAD_CODEPAGE_ENCODING = "gbk"  # $DWGCODEPAGE ANSI_936: a drawing made in a Chinese AutoCAD
TEXT_STYLE = "HZ"  # a text style with a Chinese font, as Chinese CAD drawings carry
MTEXT_FORMAT = "{{\\fSimSun|b0|i0|c134|p2;{}}}"  # inline font formatting a reader strips

SITE_LAYERS = {"YDHX": 1, "DLHX": 6, "JZJD": 2, "LDFW": 3}
PARCEL_LAYERS = {"ZD": 1, "JZD": 7, "JZX": 1}
FLOOR_LAYERS = {"FC_C": 7, "FC_H": 4, "FC_GY": 3, "FC_YT": 6}


def check_options(dxf_version: str, dxf_encoding: str | None, autocad: bool = False) -> str | None:
    """Validate the DXF options; return the encoding name ezdxf maps to a code page.

    Raises
    ------
    ValueError
        Unknown version, an encoding with R2007+ (always UTF-8), an encoding without
        a DXF code page, or AutoCAD style with a version other than R2013/R2018.
    """
    if dxf_version not in DXF_VERSIONS:
        raise ValueError(f"dxf_version must be one of {DXF_VERSIONS}, not {dxf_version!r}")
    if autocad and dxf_version not in AUTOCAD_VERSIONS:
        raise ValueError(f"AutoCAD style needs dxf_version {' or '.join(AUTOCAD_VERSIONS)}, not {dxf_version}")
    if dxf_encoding is None:
        return None
    if dxf_version not in ("R2000", "R2004"):
        raise ValueError(f"dxf_encoding applies to R2000/R2004 only; {dxf_version} is UTF-8")
    name = codecs.lookup(dxf_encoding).name
    if codecs.lookup(toencoding(tocodepage(name))).name != name:
        raise ValueError(f"no DXF code page for encoding {dxf_encoding!r}")
    return name


def _new(version: str, encoding: str | None, layers: dict[str, int]) -> Drawing:
    doc = ezdxf.new(version, units=6)  # metres
    if encoding is not None:
        doc.encoding = encoding
    doc.styles.new(TEXT_STYLE, dxfattribs={"font": "simsun.ttf"})
    for name, color in layers.items():
        doc.layers.add(name, color=color)
    return doc


@contextmanager
def _fixed_metadata() -> Iterator[None]:
    previous = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        yield
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = previous


P = ParamSpec("P")
R = TypeVar("R")


def _pinned(render: Callable[P, R]) -> Callable[P, R]:
    """Run a drawing's whole life (ezdxf.new marks the creation too) with fixed metadata."""

    @functools.wraps(render)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _fixed_metadata():
            return render(*args, **kwargs)

    return wrapper


def _sort_classes(doc: Drawing) -> None:
    """Register the CLASS entries now, in a fixed order: ezdxf adds the classes of the
    entity types in use from a set, whose order varies with the string hash seed."""
    doc.classes.add_required_classes(doc.dxfversion)
    required = REQUIRED_CLASSES.get(doc.dxfversion, REQ_R2004)
    rank = {name: i for i, name in enumerate(required)}
    items = doc.classes.classes
    keys = sorted(items, key=lambda k: (rank.get(k[0], len(rank)), k))
    doc.classes.classes = OrderedDict((k, items[k]) for k in keys)


def _to_bytes(doc: Drawing, moment: datetime, key: str, autocad: bool = False) -> bytes:
    """The drawing as file bytes, with its dates set to ``moment`` (local time) and its
    GUIDs derived from ``key`` (e.g. ``<project_id>/drawings/site.dxf``). ``autocad``:
    as AutoCAD 2013 writes it (:mod:`sample_data.autocad`; the header's code page ANSI_936,
    the text still UTF-8)."""
    if autocad:
        doc.encoding = AUTOCAD_CODEPAGE_ENCODING  # R2007+: sets $DWGCODEPAGE only
    stamp = juliandate(moment.replace(tzinfo=None))
    guid = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"duoce-sample:{key}")).upper() + "}"
    _sort_classes(doc)
    pin_metadata = doc._update_metadata  # runs inside doc.write(); see module docstring

    def update_metadata() -> None:
        pin_metadata()
        for var in ("$TDCREATE", "$TDUCREATE", "$TDUPDATE", "$TDUUPDATE"):
            doc.header[var] = stamp
        doc.header["$FINGERPRINTGUID"] = guid
        doc.header["$VERSIONGUID"] = guid

    doc._update_metadata = update_metadata  # type: ignore[method-assign]
    stream = io.StringIO()
    doc.write(stream)
    text = stream.getvalue()
    if autocad:
        layout = doc.layouts.get("Model").dxf_layout.dxf.handle
        text = autocad_text(text, layout)
    return doc.encode(text)


def _label(msp: Modelspace, label: Label, layer: str, height: float) -> None:
    attribs = {"layer": layer, "style": TEXT_STYLE}
    if label.mtext:
        mtext = msp.add_mtext(MTEXT_FORMAT.format(label.text), dxfattribs=attribs)
        mtext.dxf.insert = label.at
        mtext.dxf.char_height = height
        mtext.dxf.attachment_point = 7  # bottom left, like TEXT
    else:
        msp.add_text(label.text, height=height, dxfattribs={**attribs, "insert": label.at})


@_pinned
def site_dxf(model: ProjectModel, version: str, encoding: str | None, autocad: bool = False) -> bytes:
    """竣工规划核实总平面图: YDHX, DLHX, JZJD (with ``n#`` labels), LDFW; project CRS."""
    doc = _new(version, encoding, SITE_LAYERS)
    msp = doc.modelspace()
    site = model.site
    msp.add_lwpolyline(site.boundary, close=True, dxfattribs={"layer": "YDHX"})
    for road in site.roads:
        msp.add_lwpolyline(road, close=False, dxfattribs={"layer": "DLHX"})
    for b in model.buildings:
        msp.add_lwpolyline(b.footprint, close=True, dxfattribs={"layer": "JZJD"})
        _label(msp, b.label, "JZJD", 1.5)
    for green in site.greens:
        msp.add_lwpolyline(green, close=True, dxfattribs={"layer": "LDFW"})
    return _to_bytes(doc, model.created, f"{model.project_id}/drawings/site.dxf", autocad)


@_pinned
def parcel_dxf(model: ProjectModel, version: str, encoding: str | None, autocad: bool = False) -> bytes:
    """宗地图: ZD polygon (ZDDM label and SOUTH XDATA), JZD circles with J<n>, JZX lines."""
    doc = _new(version, encoding, PARCEL_LAYERS)
    doc.appids.add("SOUTH")
    msp = doc.modelspace()
    parcel = model.parcel
    zd = msp.add_lwpolyline(parcel.ring, close=True, dxfattribs={"layer": "ZD"})
    if parcel.xdata is not None:
        zd.set_xdata("SOUTH", [(1000, parcel.xdata)])
    _label(msp, parcel.label, "ZD", 2.0)
    for p in parcel.points:
        msp.add_circle((p.y, p.x), radius=0.5, dxfattribs={"layer": "JZD"})
        _label(msp, p.label, "JZD", 1.0)
    pts = parcel.points
    for p, q in zip(pts, pts[1:] + pts[:1], strict=True):
        msp.add_line((p.y, p.x), (q.y, q.x), dxfattribs={"layer": "JZX"})
    return _to_bytes(doc, model.created, f"{model.project_id}/drawings/parcel.dxf", autocad)


@_pinned
def floor_plan_dxf(
    model: ProjectModel, building: Building, version: str, encoding: str | None, autocad: bool = False
) -> bytes:
    """分层分户图 of one building (local metres): per floor the FC_C frame and its label,
    FC_H units with 户号, FC_GY shared parts with names, FC_YT balconies with 封闭/未封闭."""
    doc = _new(version, encoding, FLOOR_LAYERS)
    msp = doc.modelspace()
    for floor in building.floors:
        msp.add_lwpolyline(floor.frame, close=True, dxfattribs={"layer": "FC_C"})
        _label(msp, floor.label, "FC_C", 0.8)
    for unit in building.units:
        msp.add_lwpolyline(unit.ring, close=True, dxfattribs={"layer": "FC_H"})
        _label(msp, unit.label, "FC_H", 0.5)
        for balcony in unit.balconies:
            msp.add_lwpolyline(balcony.ring, close=True, dxfattribs={"layer": "FC_YT"})
            _label(msp, balcony.label, "FC_YT", 0.35)
    for part in building.shared_parts:
        msp.add_lwpolyline(part.ring, close=True, dxfattribs={"layer": "FC_GY"})
        _label(msp, part.label, "FC_GY", 0.35)
    return _to_bytes(doc, model.created, f"{model.project_id}/drawings/floors/{building.plan_name}.dxf", autocad)
