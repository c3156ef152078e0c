"""The DXF overlay (质检叠加图): every placed finding as a marker and its code, to open beside
the firm's own drawing in CAD.

One overlay in the project CRS (site.dxf and parcel.dxf findings: ``Finding.location``) and
one per floor plan in that plan's own coordinates (``Finding.local``), named
``<stem>_<幢号>.dxf`` next to the first: ``qc.dxf`` → ``qc.dxf`` + ``qc_0001.dxf`` for
``drawings/floors/0001.dxf``. A floor-plan overlay is written only for a plan with findings;
the project overlay is always written (empty when nothing has a place), so asking for it
always yields the file asked for.

Per finding, on the layer of its severity (``QC_ERROR`` red, ``QC_WARNING`` yellow,
``QC_INFO`` cyan):

* a CIRCLE (radius 1.5 m) carrying XDATA under the application ``DUOCE``: code, severity and
  the finding's object (handle, sheet, row, key, field, file, layer), one ``key=value``
  string each, so a CAD user (or a LISP routine) can go from the marker to the entity;
* a cross of two LINEs through the point;
* a TEXT with the code, and below it an MTEXT with a short message and the place
  (``句柄 2A · 图层 FC_H · 户 第12行``). Findings at the same point are stacked, not drawn
  over each other.

DXF R2010 is written as UTF-8 whatever the code page; texts use a style on ``simhei.ttf``
so that CAD shows the Chinese. Files are written aside and renamed into place.
"""

from __future__ import annotations

import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import ezdxf
from ezdxf import zoom
from ezdxf.document import Drawing as DxfDocument

from outputs.results import write_atomic
from schemas.check import CheckResult
from schemas.findings import Finding

__all__ = ["APPID", "LAYERS", "MARKER_RADIUS", "overlay_paths", "write_overlay"]

#: severity → (layer, ACI colour): red, yellow, cyan.
LAYERS: dict[str, tuple[str, int]] = {
    "error": ("QC_ERROR", 1),
    "warning": ("QC_WARNING", 2),
    "info": ("QC_INFO", 4),
}
APPID = "DUOCE"
TEXT_STYLE = "DUOCE_QC"
TEXT_FONT = "simhei.ttf"
MARKER_RADIUS = 1.5  # metres, in both the project CRS and floor plans
MESSAGE_CHARS = 40  # a short message: the rest is in the HTML report and findings.json
XDATA_LIMIT = 255  # bytes per XDATA string (group 1000)
PLACE_FIELDS = ("handle", "sheet", "row", "key", "field", "file", "layer")
_UNSAFE = re.compile(r"[^0-9A-Za-z_.\-\u4e00-\u9fff]+")
_CODE_PREFIX = re.compile(r"^\s*\[[A-Z]{3}-\d{3}\]\s*")


# ---------------------------------------------------------------- texts


def short_message(f: Finding, limit: int = MESSAGE_CHARS) -> str:
    """The message on one line, at most ``limit`` chars, without its ``[CODE]`` prefix
    and without a leading file name (the overlay is that file's already)."""
    text = " ".join(_CODE_PREFIX.sub("", f.message).split())
    if f.object.file and text.startswith(f.object.file):
        text = text[len(f.object.file) :].lstrip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def place_label(f: Finding) -> str:
    """The finding's object in a few words: handle, layer, sheet and row, key."""
    o = f.object
    parts = []
    if o.handle:
        parts.append(f"句柄 {o.handle}")
    if o.layer:
        parts.append(f"图层 {o.layer}")
    if o.sheet:
        parts.append(f"{o.sheet} 第{o.row}行" if o.row is not None else o.sheet)
    if o.field:
        parts.append(o.field)
    if o.key:
        parts.append(o.key)
    return " · ".join(parts)


def _mtext_escape(text: str) -> str:
    """Plain text → MTEXT content: backslashes and braces are formatting there."""
    text = "".join(ch if ch >= " " else " " for ch in text)
    return text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")


def _xdata(f: Finding) -> list[tuple[int, str]]:
    values = {"code": f.code, "severity": f.severity}
    for name in PLACE_FIELDS:
        value = getattr(f.object, name)
        if value is not None:
            values[name] = str(value)
    out = []
    for name, value in values.items():
        item = f"{name}={value}".replace("\n", " ")
        data = item.encode("utf-8")[:XDATA_LIMIT]
        out.append((1000, data.decode("utf-8", "ignore")))
    return out


# ---------------------------------------------------------------- the document


def _new_document() -> DxfDocument:
    doc = ezdxf.new("R2010", setup=False)
    doc.header["$INSUNITS"] = 6  # metres
    doc.header["$MEASUREMENT"] = 1  # metric
    doc.appids.add(APPID)
    doc.styles.add(TEXT_STYLE, font=TEXT_FONT)
    for layer, colour in LAYERS.values():
        doc.layers.add(layer, color=colour)
    return doc


def _draw(
    doc: DxfDocument, placed: Iterable[tuple[Finding, tuple[float, float]]], radius: float
) -> int:
    """Markers and texts for findings at their points; returns how many were drawn."""
    msp = doc.modelspace()
    code_h, detail_h = 0.5 * radius, 0.3 * radius
    step = code_h + 2 * 1.7 * detail_h + 0.3 * radius  # one finding's block of text
    stacked: dict[tuple[float, float], int] = defaultdict(int)
    n = 0
    for f, (x, y) in placed:
        layer = LAYERS.get(f.severity, LAYERS["info"])[0]
        attribs = {"layer": layer}
        circle = msp.add_circle((x, y), radius, dxfattribs=attribs)
        circle.set_xdata(APPID, _xdata(f))
        msp.add_line((x - radius, y), (x + radius, y), dxfattribs=attribs)
        msp.add_line((x, y - radius), (x, y + radius), dxfattribs=attribs)
        k = stacked[(round(x, 3), round(y, 3))]
        stacked[(round(x, 3), round(y, 3))] += 1
        tx, ty = x + 1.2 * radius, y + 0.2 * radius - k * step
        msp.add_text(
            f.code, height=code_h, dxfattribs={**attribs, "style": TEXT_STYLE, "insert": (tx, ty)}
        )
        detail = _mtext_escape(short_message(f))
        where = place_label(f)
        if where:
            detail += "\\P" + _mtext_escape(where)
        msp.add_mtext(
            detail,
            dxfattribs={
                **attribs,
                "style": TEXT_STYLE,
                "char_height": detail_h,
                "insert": (tx, ty - 0.4 * radius),
                "attachment_point": 1,  # top left
            },
        )
        n += 1
    if n:
        doc.update_extents()  # $EXTMIN / $EXTMAX
        zoom.extents(msp)  # open on the findings, not on the origin
    return n


def _write(doc: DxfDocument, path: Path) -> None:
    stream = io.StringIO()
    doc.write(stream)  # R2010: always UTF-8
    write_atomic(path, stream.getvalue().encode("utf-8"))


# ---------------------------------------------------------------- where each finding goes


def _point(xy: tuple[float, float] | None) -> tuple[float, float] | None:
    """A finite point, or None."""
    if xy is None or not all(math.isfinite(v) for v in xy):
        return None
    return (float(xy[0]), float(xy[1]))


def _plan_names(result: CheckResult) -> dict[str, str]:
    """Package-relative floor-plan path → 幢号."""
    return {d.path: zh for zh, d in result.package.floor_plans().items()}


def _plan_name(file: str | None, names: dict[str, str]) -> str:
    if file in names:
        return names[file]
    stem = Path(file).stem if file else "local"
    return _UNSAFE.sub("_", stem).strip("_") or "local"


def overlay_paths(result: CheckResult, path: Path) -> dict[str | None, Path]:
    """Where :func:`write_overlay` puts each overlay: ``None`` → the project-CRS one, a
    幢号 → that floor plan's (only plans with a placed finding)."""
    path = Path(path)
    names = _plan_names(result)
    out: dict[str | None, Path] = {None: path}
    for f in result.findings:
        if _point(f.local) is not None:
            zh = _plan_name(f.object.file, names)
            out.setdefault(zh, path.with_name(f"{path.stem}_{zh}{path.suffix or '.dxf'}"))
    return out


def write_overlay(result: CheckResult, path: Path, *, radius: float = MARKER_RADIUS) -> list[Path]:
    """Write the DXF overlays of a check result.

    Parameters
    ----------
    result
        The check result.
    path
        The project-CRS overlay (e.g. ``qc.dxf``); floor-plan overlays go next to it as
        ``<stem>_<幢号>.dxf``.
    radius
        Marker radius in drawing units (metres).

    Returns
    -------
    list[Path]
        Every file written, the project-CRS overlay first, then floor plans by 幢号.
    """
    path = Path(path)
    names = _plan_names(result)
    targets = overlay_paths(result, path)
    projected: list[tuple[Finding, tuple[float, float]]] = []
    local: dict[str, list[tuple[Finding, tuple[float, float]]]] = defaultdict(list)
    for f in result.findings:
        if (xy := _point(f.location)) is not None:
            projected.append((f, xy))
        if (xy := _point(f.local)) is not None:
            local[_plan_name(f.object.file, names)].append((f, xy))

    doc = _new_document()
    _draw(doc, projected, radius)
    _write(doc, path)
    written = [path]
    for zh in sorted(local):
        doc = _new_document()
        _draw(doc, local[zh], radius)
        _write(doc, targets[zh])
        written.append(targets[zh])
    return written
