"""Bad packages made by code: each builder breaks ONE thing in the clean sample S.

A builder is ``fn(out: Path) -> Case``: it writes one package under ``out`` and says which
codes it must give (``codes``), which other codes may follow from the same break and why
(``knock_on``), and, where it knows it, the place of the finding (``places``). A case
with no codes is a hostile-looking but valid package: it must give no finding at all.

The clean S is rendered once per process (:func:`clean`) and copied; where the break is
not about the manifest, manifest.json is recomputed after the break so that PKG-004 does
not follow. Nothing here is committed as a binary: every byte is made on demand.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import shapely
from ezdxf import recover
from openpyxl.utils import get_column_letter

from sample_data import build_model
from sample_data.model import ProjectModel
from sample_data.package import manifest_bytes, render_files
from sample_data.report_writers import NUMBER_FORMATS, csv_files, pinned_zipinfo, xlsx_bytes
from sample_data.tables import PROJECT_FIELDS, Table, report_tables
from schemas.catalogue import CATALOGUE
from tests.ziptools import headers_of
from tests.ziptools import patch_flags as patch_zip_flags

MANIFEST = "manifest.json"
REPORT = "report.xlsx"
SITE = "drawings/site.dxf"
PARCEL = "drawings/parcel.dxf"
FLOOR = "drawings/floors/0001.dxf"
DRAWINGS = (SITE, PARCEL, FLOOR)
# The first bytes of an AutoCAD 2018 DWG (version string AC1032), then filler.
DWG_BYTES = b"AC1032\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 4
UNIT_0104 = 3  # index of unit 0104 (floor 1, no balcony) among the FC_H polylines

Files = dict[str, bytes]


# --------------------------------------------------------------------------- the case


@dataclass(frozen=True)
class Case:
    """One bad package and what checking it must give.

    Attributes
    ----------
    path
        The package (a directory or a zip).
    codes
        Codes that must be found. Empty: the package is valid, no finding at all.
    knock_on
        Other codes that may also be found, each a consequence of the same break.
    places
        ``(code, {Place field: value})``: a finding of that code must be at that place.
    profile
        A profile TOML to check with (lowered limits), or None for the default.
    seconds
        Bound on the wall time of one check.
    max_rss
        Bound on the peak resident memory (bytes) of a real ``duoce check`` process, for
        the cases checked in one; None: the test's general bound.
    verify
        Extra assertions on the :class:`schemas.check.CheckResult`.
    exit
        The exit code of ``duoce check`` when ``codes`` cannot say it (one of two codes).
    """

    name: str
    path: Path
    codes: frozenset[str] = frozenset()
    knock_on: frozenset[str] = frozenset()
    places: tuple[tuple[str, dict[str, Any]], ...] = ()
    profile: Path | None = None
    seconds: float = 60.0
    max_rss: int | None = None
    verify: Callable[[Any], None] | None = None
    doc: str = ""
    exit: int | None = None

    @property
    def exit_code(self) -> int:
        """``exit`` if given, else 1 when a code that must be found is an error by default."""
        if self.exit is not None:
            return self.exit
        return int(any(CATALOGUE[c].severity == "error" for c in self.codes))

    @property
    def allowed(self) -> frozenset[str]:
        return self.codes | self.knock_on


BUILDERS: dict[str, Callable[[Path], Case]] = {}
#: Cases the pipeline gets wrong today: name → the bug (the tests mark them xfail, strict).
BUGS: dict[str, str] = {}


def bad(
    name: str, bug: str | None = None
) -> Callable[[Callable[[Path], Case]], Callable[[Path], Case]]:
    """Register ``fn(out) -> Case`` under ``name`` (the name and docstring go into the case).

    ``bug`` names what the pipeline does wrong with this package today.
    """

    def register(fn: Callable[[Path], Case]) -> Callable[[Path], Case]:
        assert name not in BUILDERS, name

        @functools.wraps(fn)
        def build(out: Path) -> Case:
            case = fn(Path(out))
            return dataclasses.replace(case, name=name, doc=(fn.__doc__ or "").strip())

        BUILDERS[name] = build
        if bug:
            BUGS[name] = bug
        return build

    return register


def expect(
    path: Path,
    codes: Iterable[str] = (),
    knock_on: Iterable[str] = (),
    places: Iterable[tuple[str, dict[str, Any]]] = (),
    **kw: Any,
) -> Case:
    places = tuple(places)
    codes = frozenset(codes) | {c for c, _ in places}
    return Case("", Path(path), frozenset(codes), frozenset(knock_on), places, **kw)


# --------------------------------------------------------------------------- the clean S


@functools.cache
def _rendered(
    version: str, encoding: str | None
) -> tuple[ProjectModel, tuple[tuple[str, bytes], ...]]:
    model = build_model("S")
    files = render_files(model, dxf_version=version, dxf_encoding=encoding)
    return model, tuple(files.items())


def clean(version: str = "R2010", encoding: str | None = None) -> tuple[ProjectModel, Files]:
    """A private copy of the clean sample S: its model and its files (no manifest yet)."""
    model, files = _rendered(version, encoding)
    return copy.deepcopy(model), dict(files)


def with_manifest(model: ProjectModel, files: Files) -> Files:
    """``files`` plus the manifest.json that lists them (unless one is there already)."""
    out = dict(files)
    if MANIFEST not in out:
        out[MANIFEST] = manifest_bytes(model, out)
    return out


def write_dir(out: Path, model: ProjectModel, files: Files, *, manifest: bool = True) -> Path:
    """A package directory ``out/<project_id>/``."""
    files = with_manifest(model, files) if manifest else files
    root = out / model.project_id
    root.mkdir(parents=True, exist_ok=True)
    for rel, data in sorted(files.items()):
        target = root.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


ZipEntry = tuple["zipfile.ZipInfo | str", bytes]


def write_zip(
    out: Path,
    model: ProjectModel,
    files: Files,
    *,
    manifest: bool = True,
    extra: Iterable[ZipEntry] = (),
    top: str | None = None,
) -> Path:
    """A zip ``out/<project_id>.zip``, files under one top folder; ``extra`` entries are
    added as given (names not prefixed: a builder chooses them to be unsafe)."""
    files = with_manifest(model, files) if manifest else files
    top = model.project_id if top is None else top
    prefix = f"{top}/" if top else ""
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{model.project_id}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel, data in sorted(files.items()):
            zf.writestr(pinned_zipinfo(prefix + rel, model.created), data)
        for name, data in extra:
            info = (
                name if isinstance(name, zipfile.ZipInfo) else pinned_zipinfo(name, model.created)
            )
            zf.writestr(info, data)
    return target


# --------------------------------------------------------------------------- DXF helpers


def read_doc(data: bytes):
    doc, _auditor = recover.read(io.BytesIO(data))
    return doc


def doc_bytes(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def edit_dxf(files: Files, rel: str, edit: Callable[[Any], Any]) -> Any:
    """Load ``files[rel]``, let ``edit(doc)`` change it, write it back; return what edit returns."""
    doc = read_doc(files[rel])
    result = edit(doc)
    files[rel] = doc_bytes(doc)
    return result


def on_layer(doc, layer: str, dxftype: str) -> list[Any]:
    return [e for e in doc.modelspace() if e.dxf.layer == layer and e.dxftype() == dxftype]


def ring_area(points: list[tuple[float, float]]) -> float:
    """Signed shoelace area (positive counter-clockwise)."""
    n = len(points)
    return 0.5 * sum(
        points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1]
        for i in range(n)
    )


def segment_area(chord: float, bulge: float) -> float:
    """Area between a chord and the arc of bulge ``bulge`` over it."""
    theta = 4 * math.atan(abs(bulge))
    r = chord / (2 * math.sin(theta / 2))
    return 0.5 * r * r * (theta - math.sin(theta))


# --------------------------------------------------------------------------- XLSX helpers


def tables_of(model: ProjectModel) -> dict[str, Table]:
    return {t.name: t for t in report_tables(model)}


def column(table: Table, code: str) -> int:
    """Index of the column of a standard field code, as the sample writer lays it out."""
    from sample_data.tables import SHEETS

    return [c for c, _name, _dec in SHEETS[table.name][1]].index(code)


def project_row(code: str) -> int:
    """Row (header = 1) of a 项目信息 field."""
    return 2 + [c for c, _ in PROJECT_FIELDS].index(code)


def report_bytes(model: ProjectModel, tables: dict[str, Table]) -> bytes:
    """The sample's own write-only writer over (changed) tables."""
    return xlsx_bytes(list(tables.values()), model.created, model.survey_org)


def workbook_bytes(tables: dict[str, Table], tweak: Callable[[Any], None] | None = None) -> bytes:
    """The tables as an ordinary (not write-only) openpyxl workbook, changed by ``tweak``."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for t in tables.values():
        ws = wb.create_sheet(t.name)
        ws.append(t.headers)
        for row in t.rows:
            ws.append(row)
            for cell, col in zip(ws[ws.max_row], t.columns, strict=False):
                if isinstance(cell.value, float) and col.decimals in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[col.decimals]
    if tweak:
        tweak(wb)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def fullwidth(text: str) -> str:
    return text.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


# --------------------------------------------------------------------------- zip helpers


def patch_flags(path: Path, name: str, bits: int) -> None:
    """Set general-purpose flag bits of a zip entry in both of its headers (in place)."""
    path.write_bytes(patch_zip_flags(path.read_bytes(), name.encode(), bits))


def deflated_zeros(size: int, block: int = 1 << 24) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` zero bytes and their CRC-32, made by repeating one
    fully flushed block: megabytes that inflate to gigabytes, built in about a second."""
    assert size % block == 0
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = co.compress(bytes(block)) + co.flush(zlib.Z_FULL_FLUSH)
    zeros, crc = bytes(block), 0
    for _ in range(size // block):
        crc = zlib.crc32(zeros, crc)
    return piece * (size // block) + co.flush(zlib.Z_FINISH), crc


def append_deflated(path: Path, name: str, stream: bytes, size: int, crc: int) -> None:
    """Append an entry whose deflated bytes are given (zipfile cannot write those): store
    them, then mark the entry deflated with its real size and CRC in both headers."""
    info = zipfile.ZipInfo(name, date_time=(2022, 5, 6, 10, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(info, stream)
    data = bytearray(path.read_bytes())
    for local, central in headers_of(bytes(data), name.encode()):
        struct.pack_into(
            "<HHHL",
            data,
            local + 8,
            zipfile.ZIP_DEFLATED,
            *struct.unpack_from("<HH", data, local + 10),
            crc,
        )
        struct.pack_into("<L", data, local + 22, size)
        struct.pack_into(
            "<HHHL",
            data,
            central + 10,
            zipfile.ZIP_DEFLATED,
            *struct.unpack_from("<HH", data, central + 12),
            crc,
        )
        struct.pack_into("<L", data, central + 24, size)
    path.write_bytes(bytes(data))


def small_zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2022, 5, 6, 10, 0, 0)), data)
    return buf.getvalue()


def profile_toml(out: Path, **limits: int | float) -> Path:
    """A profile based on Liaocheng with lowered ``[limits]``."""
    path = out / "lowered-limits.toml"
    body = "\n".join(f"{k} = {v}" for k, v in limits.items())
    path.write_text(
        f'base = "liaocheng"\nname = "corpus-limits"\n[limits]\n{body}\n', encoding="utf-8"
    )
    return path


# =========================================================================== DXF breaks


DRAWING_KEY = {SITE: "site", PARCEL: "parcel", FLOOR: "floor:0001"}


def _truncate(rel: str, share: float) -> Callable[[Path], Case]:
    def build(out: Path) -> Case:
        from parsers.dxf import read_dxf

        model, files = clean()
        whole = read_dxf(files[rel], rel)[0].entity_count
        files[rel] = files[rel][: int(len(files[rel]) * share)]

        def verify(result: Any) -> None:
            # what was read before the cut is kept and counted; the drawing is not trusted
            d = result.package.drawings[DRAWING_KEY[rel]]
            assert not d.readable
            assert d.entity_count == whole if share > 0.95 else d.entity_count < whole

        # the rules that need this drawing are skipped for it (DXF-001); the report's
        # buildings still have their floor plan (unreadable, not missing): no PKG-008
        return expect(
            write_dir(out, model, files), places=[("DXF-001", {"file": rel})], verify=verify
        )

    build.__doc__ = (
        f"{rel} cut at {share:.0%} of its bytes: no final EOF. ezdxf's recover alone would "
        "return an empty or partial drawing without error; DXF-001 counts the entities read."
    )
    return build


for _rel, _tag in ((FLOOR, "floor"), (SITE, "site"), (PARCEL, "parcel")):
    for _share in (0.10, 0.50, 0.99):
        bad(f"truncated-{_tag}-{round(_share * 100)}pct")(_truncate(_rel, _share))


@bad("empty-dxf")
def empty_dxf(out: Path) -> Case:
    """parcel.dxf is an empty file (0 bytes)."""
    model, files = clean()
    files[PARCEL] = b""
    return expect(write_dir(out, model, files), places=[("DXF-001", {"file": PARCEL})])


@bad("xlsx-named-dxf")
def xlsx_named_dxf(out: Path) -> Case:
    """site.dxf holds the bytes of report.xlsx (a workbook renamed .dxf)."""
    model, files = clean()
    files[SITE] = files[REPORT]
    return expect(write_dir(out, model, files), places=[("DXF-001", {"file": SITE})])


@bad("binary-dxf")
def binary_dxf(out: Path) -> Case:
    """The floor plan saved as binary DXF: readable, so no DXF-001 and no finding at all."""
    model, files = clean()
    doc = read_doc(files[FLOOR])
    buf = io.BytesIO()
    doc.write(buf, fmt="bin")
    files[FLOOR] = buf.getvalue()
    assert files[FLOOR].startswith(b"AutoCAD Binary DXF")
    return expect(write_dir(out, model, files))


@bad("dwg-instead-of-dxf")
def dwg_instead_of_dxf(out: Path) -> Case:
    """drawings/site.dwg (AC1032 bytes) handed in instead of drawings/site.dxf: PKG-009
    ("export DXF") for it, and not PKG-008 for the site.dxf it stands in for."""
    model, files = clean()
    del files[SITE]
    files["drawings/site.dwg"] = DWG_BYTES
    return expect(write_dir(out, model, files), places=[("PKG-009", {"file": "drawings/site.dwg"})])


def _codepage(data: bytes, old: bytes, new: bytes) -> bytes:
    needle = b"$DWGCODEPAGE\n  3\n" + old + b"\n"
    assert data.count(needle) == 1, "code page header not found"
    return data.replace(needle, b"$DWGCODEPAGE\n  3\n" + new + b"\n")


@bad("gbk-declared-ansi1252")
def gbk_declared_ansi1252(out: Path) -> Case:
    """R2000 drawings written in GBK, but the floor plan declares ANSI_1252 (a common CAD
    export slip): DXF-008 warns, and the Chinese labels are still decoded as GBK."""
    model, files = clean("R2000", "gbk")
    files[FLOOR] = _codepage(files[FLOOR], b"ANSI_936", b"ANSI_1252")

    def verify(result: Any) -> None:
        texts = set(result.package.drawings["floor:0001"].texts["text"])
        assert {"1层", "楼梯间", "封闭"} <= texts, sorted(texts)[:20]

    return expect(
        write_dir(out, model, files), places=[("DXF-008", {"file": FLOOR})], verify=verify
    )


@bad("r2000-gbk-declared")
def r2000_gbk_declared(out: Path) -> Case:
    """R2000 drawings in GBK declaring ANSI_936, as Chinese CAD writes them: valid."""
    model, files = clean("R2000", "gbk")

    def verify(result: Any) -> None:
        assert "楼梯间" in set(result.package.drawings["floor:0001"].texts["text"])

    return expect(write_dir(out, model, files), verify=verify)


@bad("r2010-chinese-text")
def r2010_chinese_text(out: Path) -> Case:
    """R2010 (UTF-8) drawings with Chinese labels, plus a Chinese MTEXT note with inline
    formatting on layer 0 (not a standard layer): valid."""
    model, files = clean("R2010")

    def note(doc: Any) -> None:
        doc.modelspace().add_mtext(
            r"{\fSimSun|b0|i0|c134|p2;说明：本图为分层分户图，单位：米}",
            dxfattribs={"layer": "0", "insert": (0, -10)},
        )

    edit_dxf(files, FLOOR, note)

    def verify(result: Any) -> None:
        d = result.package.drawings["floor:0001"]
        assert d.version == "AC1024"
        assert {"1层", "楼梯间", "说明：本图为分层分户图，单位：米"} <= set(d.texts["text"])

    return expect(write_dir(out, model, files), verify=verify)


@bad("polyline-not-lwpolyline")
def polyline_not_lwpolyline(out: Path) -> Case:
    """Every closed shape of the floor plan (frames, units, shared parts, balconies) drawn
    as an old-style 2D POLYLINE with VERTEX entities instead of LWPOLYLINE: valid."""
    model, files = clean()

    def convert(doc: Any) -> int:
        msp = doc.modelspace()
        n = 0
        for e in list(msp.query("LWPOLYLINE")):
            points = [(x, y) for x, y, *_ in e.get_points("xy")]
            msp.add_polyline2d(points, close=e.closed, dxfattribs={"layer": e.dxf.layer})
            msp.delete_entity(e)
            n += 1
        return n

    assert edit_dxf(files, FLOOR, convert) > 30
    return expect(write_dir(out, model, files))


def _edit_unit(files: Files, edit: Callable[[Any], Any]) -> Any:
    return edit_dxf(files, FLOOR, lambda doc: edit(on_layer(doc, "FC_H", "LWPOLYLINE")[UNIT_0104]))


@bad("bulge-in-unit")
def bulge_in_unit(out: Path) -> Case:
    """Unit 0104's longest edge drawn as an arc bowing 0.6 m into the unit: its drawn
    area is the polygon minus the circular segment, PRP-006 at that unit with that area
    (the reader follows the arc, not the chord)."""
    model, files = clean()
    unit = model.buildings[0].units[UNIT_0104]
    ring = list(unit.ring)
    n = len(ring)
    lengths = [math.dist(ring[i], ring[(i + 1) % n]) for i in range(n)]
    i = max(range(n), key=lengths.__getitem__)
    sagitta = 0.6
    b = 2 * sagitta / lengths[i]
    # positive bulge = counter-clockwise arc, which bows to the right of the chord: outward
    # on a counter-clockwise ring; bow inward here
    sign = -1 if ring_area(ring) > 0 else 1
    drawn = abs(ring_area(ring)) - segment_area(lengths[i], b)

    def arc(e: Any) -> str:
        points = [list(p) for p in e.get_points("xyseb")]
        points[i][4] = sign * b
        e.set_points([tuple(p) for p in points], format="xyseb")
        return e.dxf.handle

    handle = _edit_unit(files, arc)

    def verify(result: Any) -> None:
        hit = next(f for f in result.findings if f.code == "PRP-006" and f.object.handle == handle)
        assert abs(float(hit.actual) - drawn) < 0.01, (hit.actual, drawn)
        assert abs(float(hit.expected) - unit.sctnjzmj) < 1e-6

    return expect(
        write_dir(out, model, files),
        places=[("PRP-006", {"file": FLOOR, "layer": "FC_H", "handle": handle})],
        verify=verify,
    )


@bad("bulge-compensated")
def bulge_compensated(out: Path) -> Case:
    """An exterior edge of unit 0104 split at its middle and drawn as an S: out by an arc,
    back in by an equal arc. The area is unchanged, nothing overlaps: valid."""
    model, files = clean()
    b0 = model.buildings[0]
    unit = b0.units[UNIT_0104]
    ring = list(unit.ring)
    n = len(ring)
    others = [u.ring for u in b0.units if u is not unit and u.sjc == unit.sjc]
    others += [x.ring for u in b0.units for x in u.balconies if u.sjc == unit.sjc]
    others += [s.ring for s in b0.shared_parts if s.sjc == unit.sjc]
    frame = shapely.Polygon(next(f.frame for f in b0.floors if f.sjc == unit.sjc))
    blocked = shapely.union_all([shapely.Polygon(r) for r in others])
    ccw = ring_area(ring) > 0
    sagitta = 0.3

    def outside_free(i: int) -> bool:
        (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
        length = math.dist(ring[i], ring[(i + 1) % n])
        nx, ny = (
            ((y2 - y1) / length, -(x2 - x1) / length)
            if ccw
            else ((y1 - y2) / length, (x2 - x1) / length)
        )
        strip = shapely.Polygon(
            [
                (x1, y1),
                (x2, y2),
                (x2 + nx * 2 * sagitta, y2 + ny * 2 * sagitta),
                (x1 + nx * 2 * sagitta, y1 + ny * 2 * sagitta),
            ]
        )
        return length > 4 and not strip.intersects(blocked.buffer(-1e-6)) and frame.contains(strip)

    i = next(k for k in range(n) if outside_free(k))
    (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % n]
    half = math.dist(ring[i], ring[(i + 1) % n]) / 2
    b = 2 * sagitta / half
    out_sign = 1 if ccw else -1  # positive bows to the right of the chord: out of a CCW ring

    def s_curve(e: Any) -> str:
        points = [list(p) for p in e.get_points("xyseb")]
        points[i][4] = out_sign * b
        mid = [(x1 + x2) / 2, (y1 + y2) / 2, 0.0, 0.0, -out_sign * b]
        points.insert(i + 1, mid)
        e.set_points([tuple(p) for p in points], format="xyseb")
        return e.dxf.handle

    _edit_unit(files, s_curve)
    return expect(write_dir(out, model, files))


@bad("duplicate-vertices")
def duplicate_vertices(out: Path) -> Case:
    """Unit 0104 with two of its vertices written twice in a row: the polygon is the same
    (shapely: valid) and rules.md names no code for it: valid."""
    model, files = clean()

    def double(e: Any) -> None:
        points = list(e.get_points("xyseb"))
        points = points[:1] + [points[1]] + points[1:3] + [points[3]] + points[3:]
        e.set_points(points, format="xyseb")

    _edit_unit(files, double)
    return expect(write_dir(out, model, files))


@bad("closed-by-repeated-vertex")
def closed_by_repeated_vertex(out: Path) -> Case:
    """Unit 0104 not flagged closed, its first vertex repeated at the end: deliverable.md
    counts that as closed: valid."""
    model, files = clean()

    def reclose(e: Any) -> None:
        points = list(e.get_points("xyseb"))
        e.set_points(points + [points[0]], format="xyseb")
        e.closed = False

    _edit_unit(files, reclose)
    return expect(write_dir(out, model, files))


@bad("zero-area-ring")
def zero_area_ring(out: Path) -> Case:
    """An extra closed LDFW (green) ring in site.dxf whose three vertices lie on one line:
    zero area, DXF-005 at its handle."""
    model, files = clean()
    cx, cy = shapely.Polygon(model.site.boundary).centroid.coords[0]

    def add(doc: Any) -> str:
        e = doc.modelspace().add_lwpolyline(
            [(cx, cy - 20), (cx + 4, cy - 20), (cx + 8, cy - 20)],
            close=True,
            dxfattribs={"layer": "LDFW"},
        )
        return e.dxf.handle

    handle = edit_dxf(files, SITE, add)
    return expect(
        write_dir(out, model, files),
        places=[("DXF-005", {"file": SITE, "layer": "LDFW", "handle": handle})],
    )


@bad("one-vertex-balcony")
def one_vertex_balcony(out: Path) -> Case:
    """An extra closed FC_YT (balcony) LWPOLYLINE with a single vertex, as a damaged CAD
    export leaves it: DXF-005 (fewer than 3 distinct vertices) at its handle; an unlabelled
    balcony may also be PRP-013."""
    model, files = clean()
    handle = edit_dxf(
        files,
        FLOOR,
        lambda doc: (
            doc.modelspace()
            .add_lwpolyline([(2.1, 55.0)], close=True, dxfattribs={"layer": "FC_YT"})
            .dxf.handle
        ),
    )
    return expect(
        write_dir(out, model, files),
        places=[("DXF-005", {"file": FLOOR, "layer": "FC_YT", "handle": handle})],
        knock_on={"PRP-013"},
    )


def _non_finite_line(value: str) -> Callable[[Path], Case]:
    def build(out: Path) -> Case:
        model, files = clean()
        doc = read_doc(files[PARCEL])
        line = on_layer(doc, "JZX", "LINE")[1]
        handle = line.dxf.handle
        text = files[PARCEL].decode("utf-8")
        # the LINE's first "10" group (start x) after its handle
        at = text.index(f"\n  5\n{handle}\n")
        start = text.index("\n 10\n", at) + len("\n 10\n")
        end = text.index("\n", start)
        files[PARCEL] = (text[:start] + value + text[end:]).encode("utf-8")
        # the reader leaves the entity out and says DXF-005 at it; JZX is optional and no
        # rule needs its lines
        return expect(
            write_dir(out, model, files),
            places=[("DXF-005", {"file": PARCEL, "layer": "JZX", "handle": handle})],
        )

    build.__doc__ = f"A 界址线 LINE of parcel.dxf whose start x is {value}: DXF-005 at it."
    return build


bad("nan-coordinate")(_non_finite_line("nan"))
bad("inf-coordinate")(_non_finite_line("inf"))


@bad("nan-in-unit")
def nan_in_unit(out: Path) -> Case:
    """One vertex of unit 0104 written as NaN: the polygon is left out (DXF-005 at it)."""
    model, files = clean()
    handle = _edit_unit(files, lambda e: e.dxf.handle)
    text = files[FLOOR].decode("utf-8")
    at = text.index(f"\n  5\n{handle}\n")
    start = text.index("\n 20\n", at) + len("\n 20\n")
    end = text.index("\n", start)
    files[FLOOR] = (text[:start] + "NaN" + text[end:]).encode("utf-8")
    # with its polygon gone, unit 0104's label lies in no polygon: DXF-006 at the label, as
    # for an open unit polygon (DXF-004); PRP-007 stays silent, DXF-005 has said why
    return expect(
        write_dir(out, model, files),
        places=[("DXF-005", {"file": FLOOR, "layer": "FC_H", "handle": handle})],
        knock_on={"DXF-006"},
    )


@bad("site-in-degrees")
def site_in_degrees(out: Path) -> Case:
    """site.dxf drawn in longitude / latitude (x = lon, y = lat) instead of EPSG:4548
    metres: CRS-002 at site.dxf, and nothing else. A drawing outside its zone is not
    measured (areas of 0.00 m², a Hausdorff distance of 4 060 458 m would only repeat it)."""
    from pyproj import Transformer

    from sample_data.drawings import site_dxf

    model, files = clean()
    to_lonlat = Transformer.from_crs(4548, 4326, always_xy=True).transform

    def f(p: tuple[float, float]) -> tuple[float, float]:
        lon, lat = to_lonlat(*p)
        return (round(lon, 8), round(lat, 8))

    site = model.site
    site.boundary = [f(p) for p in site.boundary]
    site.roads = [[f(p) for p in r] for r in site.roads]
    site.greens = [[f(p) for p in g] for g in site.greens]
    for b in model.buildings:
        b.footprint = [f(p) for p in b.footprint]
        b.label.at = f(b.label.at)
    files[SITE] = site_dxf(model, "R2010", None)
    return expect(write_dir(out, model, files), places=[("CRS-002", {"file": SITE})])


@bad("huge-coordinate")
def huge_coordinate(out: Path) -> Case:
    """One vertex of the site boundary (YDHX) at x = 1e300 (finite, absurd): CRS-002 at
    site.dxf, and nothing else: it is no zone prefix (CRS-004 is for 13–45; an int64
    overflow once made it -9223372036854775808), and a drawing outside its zone is not
    measured by the planning and cross-survey rules."""
    model, files = clean()

    def far(doc: Any) -> str:
        e = on_layer(doc, "YDHX", "LWPOLYLINE")[0]
        points = [list(p) for p in e.get_points("xyseb")]
        points[0][0] = 1e300
        e.set_points([tuple(p) for p in points], format="xyseb")
        return e.dxf.handle

    edit_dxf(files, SITE, far)
    return expect(
        write_dir(out, model, files),
        places=[("CRS-002", {"file": SITE})],
    )


# =========================================================================== CRS in the table


def _points_table(
    code: str, edit: Callable[[float, float], tuple[float, float]], doc: str
) -> Callable[[Path], Case]:
    """A builder that rewrites each 界址点 row's (XZBZ, YZBZ) as ``edit(x, y)`` in the report
    only (parcel.dxf keeps its points): ``code`` once for the table, then every other rule
    runs on the corrected numbers."""

    def build(out: Path) -> Case:
        model, files = clean()
        tables = tables_of(model)
        t = tables["界址点"]
        xi, yi = column(t, "XZBZ"), column(t, "YZBZ")
        for row in t.rows:
            x, y = row[xi], row[yi]
            assert isinstance(x, float) and isinstance(y, float)
            row[xi], row[yi] = edit(x, y)
        files[REPORT] = report_bytes(model, tables)
        return expect(write_dir(out, model, files), places=[(code, {"sheet": "界址点"})])

    build.__doc__ = doc
    return build


bad("swapped-xy-table")(
    _points_table(
        "CRS-003",
        lambda x, y: (y, x),
        "The 界址点 table with X (north) and Y (east) exchanged: CRS-003, then swapped back.",
    )
)
bad("wrong-zone-prefix")(
    _points_table(
        "CRS-004",
        lambda x, y: (x, round(38_000_000 + y, 3)),
        "界址点 Y prefixed with zone 38 while EPSG:4548 (CM 117E) means 39: CRS-004.",
    )
)


# =========================================================================== report breaks


@bad("merged-title-row")
def merged_title_row(out: Path) -> Case:
    """退让 with a merged title row (A1:D1 「退让距离表」) above its header: the header is
    in row 2, one RPT-002 naming the sheet."""
    model, files = clean()

    def title(wb: Any) -> None:
        ws = wb["退让"]
        ws.insert_rows(1)
        ws["A1"] = "退让距离表"
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ws.max_column)

    files[REPORT] = workbook_bytes(tables_of(model), title)
    # the sheet's rows cannot be placed under fields: the setback rules have nothing to read
    return expect(write_dir(out, model, files), places=[("RPT-002", {"sheet": "退让", "row": 1})])


def _header_in_row_3(sheet: str) -> Callable[[Path], Case]:
    def build(out: Path) -> Case:
        model, files = clean()

        def shift(wb: Any) -> None:
            ws = wb[sheet]
            ws.insert_rows(1, 2)
            ws["A1"] = "单位：米、平方米"

        files[REPORT] = workbook_bytes(tables_of(model), shift)
        path = write_dir(out, model, files)
        if sheet == "项目信息":
            # long form: each row is found by its 字段 cell, wherever the 字段|值 header is;
            # the values are read at their own rows, nothing is lost
            def verify(result: Any) -> None:
                p = result.package.tables["project"]
                assert p.loc[p["field"] == "XMBH", "_row"].tolist() == [project_row("XMBH") + 2]

            return expect(path, verify=verify)
        return expect(path, places=[("RPT-002", {"sheet": sheet, "row": 1})])

    build.__doc__ = f"{sheet} with a note in row 1 and an empty row 2: its header is in row 3. " + (
        "The long-form sheet is read by its 字段 cells: valid."
        if sheet == "项目信息"
        else "One RPT-002 for the sheet, and nothing else."
    )
    return build


for _sheet in (
    "项目信息",
    "宗地",
    "界址点",
    "界址线",
    "自然幢",
    "层",
    "户",
    "共有部位",
    "规划指标",
    "退让",
):
    bad(f"header-in-row-3/{_sheet}")(_header_in_row_3(_sheet))


@bad("openpyxl-workbook")
def openpyxl_workbook(out: Path) -> Case:
    """The report written by openpyxl in ordinary mode (inline strings off, shared strings,
    default styles): a control for the workbook breaks below. Valid."""
    model, files = clean()
    files[REPORT] = workbook_bytes(tables_of(model))
    return expect(write_dir(out, model, files))


@bad("hidden-sheets")
def hidden_sheets(out: Path) -> Case:
    """宗地 hidden and 界址线 very hidden: hidden sheets are read like the others. Valid."""
    model, files = clean()

    def hide(wb: Any) -> None:
        wb["宗地"].sheet_state = "hidden"
        wb["界址线"].sheet_state = "veryHidden"

    files[REPORT] = workbook_bytes(tables_of(model), hide)
    return expect(write_dir(out, model, files))


@bad("formulas-without-values")
def formulas_without_values(out: Path) -> Case:
    """户 SCJZMJ written as formulas (=G2+H2) by openpyxl, which stores no cached value:
    the cells read empty (calamine reads the cached value), RPT-004 at each."""
    model, files = clean()
    tables = tables_of(model)
    t = tables["户"]
    tn, ft, total = column(t, "SCTNJZMJ"), column(t, "SCFTJZMJ"), column(t, "SCJZMJ")
    n = len(t.rows)

    def formulas(wb: Any) -> None:
        ws = wb["户"]
        a, b = get_column_letter(tn + 1), get_column_letter(ft + 1)
        for r in range(2, n + 2):
            ws.cell(row=r, column=total + 1, value=f"={a}{r}+{b}{r}")

    files[REPORT] = workbook_bytes(tables, formulas)
    places = [("RPT-004", {"sheet": "户", "row": r, "field": "SCJZMJ"}) for r in range(2, n + 2)]
    return expect(write_dir(out, model, files), places=places)


def _project_date(text: str) -> Callable[[Path], Case]:
    def build(out: Path) -> Case:
        model, files = clean()
        tables = tables_of(model)
        tables["项目信息"].rows[project_row("CLRQ") - 2][1] = text
        files[REPORT] = report_bytes(model, tables)
        return expect(write_dir(out, model, files))

    build.__doc__ = f"项目信息 CLRQ as the text {text!r} instead of a date cell: valid."
    return build


bad("date-iso-text")(_project_date("2022-05-06"))
bad("date-slash-text")(_project_date("2022/5/6"))


@bad("full-width-digits")
def full_width_digits(out: Path) -> Case:
    """Numbers typed with full-width digits as text cells (１１８.８６, ６): 户 SCTNJZMJ,
    自然幢 DSCS / ZCS, 层 SJC and CG. decisions.md accepts full-width digits: valid."""
    model, files = clean()
    tables = tables_of(model)

    def fw(table: str, code: str, decimals: int | None) -> None:
        t = tables[table]
        i = column(t, code)
        for row in t.rows:
            v = row[i]
            row[i] = fullwidth(f"{v:.{decimals}f}" if decimals is not None else str(v))

    fw("户", "SCTNJZMJ", 2)
    fw("自然幢", "DSCS", None)
    fw("自然幢", "ZCS", None)
    fw("层", "SJC", None)
    fw("层", "CG", 2)
    files[REPORT] = report_bytes(model, tables)
    return expect(write_dir(out, model, files))


@bad("thousands-separators")
def thousands_separators(out: Path) -> Case:
    """Areas of 1 000 m² and more written as text with thousands separators (``2,851.20``):
    自然幢 SCJZMJ, 宗地 ZDMJ, 规划指标 GHZ / SCZ. Valid."""
    model, files = clean()
    tables = tables_of(model)
    seen = 0

    def sep(table: str, code: str) -> None:
        nonlocal seen
        t = tables[table]
        i = column(t, code)
        for row in t.rows:
            value = row[i]
            if isinstance(value, (int, float)) and abs(value) >= 1000:
                row[i] = f"{value:,.2f}"
                seen += 1

    for table, code in (
        ("自然幢", "SCJZMJ"),
        ("宗地", "ZDMJ"),
        ("规划指标", "GHZ"),
        ("规划指标", "SCZ"),
    ):
        sep(table, code)
    assert seen >= 4
    files[REPORT] = report_bytes(model, tables)
    return expect(write_dir(out, model, files))


@bad("report-xlsx-is-csv")
def report_xlsx_is_csv(out: Path) -> Case:
    """report.xlsx holding the CSV text of the 户 sheet: PKG-008 (report unreadable), once."""
    model, files = clean()
    files[REPORT] = csv_files(report_tables(model))["report/户.csv"]
    # without a report nothing that needs it is judged; PKG-010 cannot compare XMBH
    return expect(write_dir(out, model, files), places=[("PKG-008", {"file": REPORT})])


@bad("unreadable-sheet")
def unreadable_sheet(out: Path) -> Case:
    """The 户 sheet's XML broken (``<sheetData`` left unclosed): that sheet cannot be read,
    PKG-008 names it once (no RPT-001 "sheet missing" on top); the rest is read."""
    model, files = clean()
    src = zipfile.ZipFile(io.BytesIO(files[REPORT]))
    part = f"xl/worksheets/sheet{list(tables_of(model)).index('户') + 1}.xml"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(
                info,
                data.replace(b"<sheetData>", b"<sheetData", 1) if info.filename == part else data,
            )
    files[REPORT] = buf.getvalue()
    return expect(
        write_dir(out, model, files), places=[("PKG-008", {"file": REPORT, "sheet": "户"})]
    )


def _deflated_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2022, 5, 6, 10, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _add_sheet_xml(xlsx: bytes, name: str, sheet_xml: Iterable[bytes]) -> bytes:
    """Add a worksheet (its XML given in chunks) to a workbook, streaming the part."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/worksheets/sheet_extra.xml" ContentType='
                    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
                )
            elif info.filename == "xl/workbook.xml":
                data = data.replace(
                    b"</sheets>",
                    f'<sheet name="{name}" sheetId="99" r:id="rIdExtra"/></sheets>'.encode(),
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdExtra" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet_extra.xml"/></Relationships>',
                )
            dst.writestr(info, data)
        with dst.open(_deflated_info("xl/worksheets/sheet_extra.xml"), "w", force_zip64=True) as fh:
            for chunk in sheet_xml:
                fh.write(chunk)
    return buf.getvalue()


def _rows_xml(n: int, cells: Callable[[int], str]) -> Iterable[bytes]:
    yield (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    block = []
    for r in range(1, n + 1):
        block.append(f'<row r="{r}">{cells(r)}</row>')
        if len(block) == 10_000:
            yield "".join(block).encode("utf-8")
            block = []
    yield "".join(block).encode("utf-8")
    yield b"</sheetData></worksheet>"


HUGE_ROWS = 600_000


@bad("huge-extra-sheet")
def huge_extra_sheet(out: Path) -> Case:
    """A 600 000-row extra sheet 「原始记录」 (about 50 MB of sheet XML) beside the ten:
    extra sheets are not read, so the check is as quick as for S. Valid."""
    model, files = clean()

    def cells(r: int) -> str:
        return (
            f'<c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r * 0.37:.2f}</v></c>'
            f'<c r="C{r}" t="inlineStr"><is><t>测站{r % 97}</t></is></c>'
        )

    files[REPORT] = _add_sheet_xml(files[REPORT], "原始记录", _rows_xml(HUGE_ROWS, cells))
    return expect(write_dir(out, model, files), seconds=120)


HUGE_UNIT_ROWS = 100_000


INNER_BOMB_BYTES = 1008 << 20  # just under the reader's own 1 GiB limit on one workbook part
BOMB_RSS = 400 << 20  # a check of S takes about 190 MB; a bomb read would take gigabytes


def _setback_part(model: ProjectModel) -> str:
    return f"xl/worksheets/sheet{list(tables_of(model)).index('退让') + 1}.xml"


def _deflated_repeats(head: bytes, block: bytes, count: int, tail: bytes) -> tuple[bytes, int]:
    """A raw deflate stream of ``head + block * count + tail`` and its CRC-32, made by
    repeating one fully flushed compressed block: about 1 MB per GiB of white space."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = co.compress(head) + co.flush(zlib.Z_FULL_FLUSH)
    piece = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    return first + piece * count + co.compress(tail) + co.flush(), zlib.crc32(tail, crc)


def _with_deflated_part(
    out: Path, xlsx: bytes, part: str, stream: bytes, size: int, crc: int
) -> bytes:
    """The workbook with ``part`` replaced by a raw deflate stream declared as ``size``
    bytes of CRC-32 ``crc`` (in both headers)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    path = out / "report.xlsx"
    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info, src.read(info))
    append_deflated(path, part, stream, size, crc)
    data = path.read_bytes()
    path.unlink()
    return data


def _setback_bomb(
    model: ProjectModel, files: Files, out: Path, block: bytes, count: int
) -> tuple[bytes, bytes, int]:
    """The 退让 sheet's XML with ``block * count`` inside <sheetData>: (its head, the
    deflate stream, its CRC-32); ``files[REPORT]`` gets it with honest headers."""
    part = _setback_part(model)
    head, tail = zipfile.ZipFile(io.BytesIO(files[REPORT])).read(part).split(b"<sheetData>", 1)
    head += b"<sheetData>"
    stream, crc = _deflated_repeats(head, block, count, tail)
    size = len(head) + len(block) * count + len(tail)
    files[REPORT] = _with_deflated_part(out, files[REPORT], part, stream, size, crc)
    return head, stream, crc


def _refused_workbook(out: Path, model, files: Files) -> Case:
    """A small workbook (< 2 MB) refused whole: PKG-007 at report.xlsx, quickly, in little memory."""
    assert len(files[REPORT]) < 2 << 20
    return expect(
        write_dir(out, model, files),
        places=[("PKG-007", {"file": REPORT})],
        seconds=30,
        max_rss=BOMB_RSS,
    )


@bad("xlsx-inner-bomb")
def xlsx_inner_bomb(out: Path) -> Case:
    """report.xlsx of 1 MB whose 退让 sheet XML inflates to 1 GiB of white space inside
    <sheetData> (valid XML; every size and CRC honest): the package zip's limits cannot
    see into the workbook, so the workbook's own parts are held to them. PKG-007 naming
    the part, before the reader opens it (reading it took 1.1 GB and 8 s), and no
    PKG-008 or RPT-001 on top."""
    model, files = clean()
    block = 1 << 24
    _setback_bomb(model, files, out, b" " * block, INNER_BOMB_BYTES // block)
    return _refused_workbook(out, model, files)


BOMB_ROW = (
    '<row><c t="inlineStr"><is><t>371502001001GB00001F0001</t></is></c>'
    '<c t="inlineStr"><is><t>北</t></is></c><c><v>5</v></c><c><v>6</v></c></row>'
).encode()


@bad("xlsx-inner-bomb-rows")
def xlsx_inner_bomb_rows(out: Path) -> Case:
    """report.xlsx whose 退让 sheet holds 1.9 million identical rows (placed by position,
    no cell references; 256 MiB of XML deflated to about 1 MB, every size honest): over
    the compression ratio limit (200), PKG-007 before any row is read, in bounded time
    and memory. Read, its rows took 8 GB and 7½ minutes to check (an RPT-005 each)."""
    model, files = clean()
    repeat = (1 << 20) // len(BOMB_ROW)
    _setback_bomb(model, files, out, BOMB_ROW * repeat, 256)
    return _refused_workbook(out, model, files)


@bad("xlsx-inner-lying-header")
def xlsx_inner_lying_header(out: Path) -> Case:
    """report.xlsx whose 退让 sheet XML inflates to 256 MiB of white space while both its
    headers declare 1 000 bytes (and the CRC of those first 1 000 bytes), so that the
    declared sizes pass every limit: the readers stop at the declared size (calamine's
    zip reader calls the part larger than declared), so the sheet is unreadable, PKG-008
    for that sheet alone, quickly and in little memory; the rest is read."""
    model, files = clean()
    part = _setback_part(model)
    block = 1 << 20
    head, stream, _crc = _setback_bomb(model, files, out, b" " * block, 256)
    prefix_crc = zlib.crc32((head + b" " * 1000)[:1000])
    files[REPORT] = _with_deflated_part(out, files[REPORT], part, stream, 1000, prefix_crc)
    return expect(
        write_dir(out, model, files),
        places=[("PKG-008", {"file": REPORT, "sheet": "退让"})],
        seconds=30,
        max_rss=BOMB_RSS,
    )


@bad("xlsx-part-over-lowered-limits")
def xlsx_part_over_lowered_limits(out: Path) -> Case:
    """An extra sheet 「原始记录」 of 30 000 rows (about 2.5 MB of XML, compressed about
    tenfold) under a profile whose compression ratio limit is 3: the profile's limits
    bind the workbook's parts too, PKG-007 naming that part."""
    model, files = clean()

    def cells(r: int) -> str:
        return f'<c r="A{r}"><v>{r}</v></c><c r="B{r}"><v>{r * 0.37:.2f}</v></c>'

    files[REPORT] = _add_sheet_xml(files[REPORT], "原始记录", _rows_xml(30_000, cells))
    return expect(
        write_dir(out, model, files),
        places=[("PKG-007", {"file": REPORT})],
        profile=profile_toml(out, max_ratio=3),
    )


@bad("huge-unit-sheet")
def huge_unit_sheet(out: Path) -> Case:
    """The 户 sheet with 200 000 extra rows of a building that does not exist (≈ 30 MB
    of sheet XML): one RPT-009 per row, in bounded time and memory."""
    model, files = clean()
    tables = tables_of(model)
    t = tables["户"]
    headers = t.headers
    zddm = model.parcel.zddm

    def cell(col: int, r: int, text: str, number: bool = False) -> str:
        ref = f"{get_column_letter(col + 1)}{r}"
        return (
            f'<c r="{ref}"><v>{text}</v></c>'
            if number
            else f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'
        )

    n_real = len(t.rows)

    def cells(r: int) -> str:
        if r == 1:
            return "".join(cell(i, 1, h) for i, h in enumerate(headers))
        if r <= n_real + 1:
            row = t.rows[r - 2]
            return "".join(
                cell(i, r, str(v), isinstance(v, (int, float)))
                for i, v in enumerate(row)
                if v is not None
            )
        k = r - n_real - 2
        zh = zddm + f"F{99 + k // 9999:04d}"  # buildings 0099… that do not exist
        hh = f"{1 + k % 9999:04d}"
        values = [zh + hh, zh, 1, hh, f"1-{hh}", "11", 80.0, 8.8, 88.8, 0.11, 88.8]
        return "".join(
            cell(i, r, str(v), isinstance(v, (int, float))) for i, v in enumerate(values)
        )

    xlsx = files[REPORT]
    # openpyxl writes sheet i of the workbook as xl/worksheets/sheet<i>.xml
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    part = f"xl/worksheets/sheet{list(tables).index('户') + 1}.xml"
    assert b'name="\xe6\x88\xb7"' in src.read("xl/workbook.xml") and part in src.namelist()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == part:
                with dst.open(_deflated_info(part), "w", force_zip64=True) as fh:
                    for chunk in _rows_xml(n_real + 1 + HUGE_UNIT_ROWS, cells):
                        fh.write(chunk)
            else:
                dst.writestr(info, src.read(info))
    files[REPORT] = buf.getvalue()
    return expect(
        write_dir(out, model, files),
        places=[
            ("RPT-009", {"sheet": "户", "row": n_real + 2, "field": "ZRZH"}),
            # 200 RPT-009 listed (the profile's max_findings_per_code), the rest counted
            ("PKG-011", {"key": "RPT-009"}),
        ],
        seconds=120,
    )


# =========================================================================== zip breaks


EVIL = "duoce-corpus-evil.txt"


@bad("zip-parent-path")
def zip_parent_path(out: Path) -> Case:
    """Zip entries ``../../../<evil>`` and ``<top>/../../<evil>`` (zip slip): PKG-006 for
    each, skipped, never extracted."""
    model, files = clean()
    names = [f"../../../{EVIL}", f"{model.project_id}/../../{EVIL}", f"..\\..\\..\\{EVIL}"]
    path = write_zip(
        out, model, files, extra=[(n, b"written outside the package\n") for n in names]
    )
    return expect(path, places=[("PKG-006", {"file": n}) for n in names])


@bad("zip-absolute-path")
def zip_absolute_path(out: Path) -> Case:
    """Zip entries with an absolute path and a drive letter: PKG-006 for each."""
    model, files = clean()
    names = [f"/tmp/{EVIL}", f"C:/{EVIL}"]
    path = write_zip(out, model, files, extra=[(n, b"written anywhere\n") for n in names])
    return expect(path, places=[("PKG-006", {"file": n}) for n in names])


@bad("zip-symlink")
def zip_symlink(out: Path) -> Case:
    """A symbolic link entry (to /etc/passwd) among the attachments: PKG-006, not followed."""
    model, files = clean()
    name = f"{model.project_id}/attachments/passwd"
    info = pinned_zipinfo(name, model.created)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    path = write_zip(out, model, files, extra=[(info, b"/etc/passwd")])
    return expect(path, codes={"PKG-006"})


BOMB_BYTES = 3 << 30  # 3 GiB of zeros in about 3 MB: zip64 not needed, every field honest


@bad("zip-bomb")
def zip_bomb(out: Path) -> Case:
    """A 3 GiB attachment of zeros packed into 3 MB (sizes and CRC in its headers all
    true): over the default compression ratio (200) and total size (2 GB), PKG-007 before
    anything is extracted; nothing else is said (the package was not opened)."""
    model, files = clean()
    path = write_zip(out, model, files)
    stream, crc = deflated_zeros(BOMB_BYTES)
    append_deflated(path, f"{model.project_id}/attachments/扫描件.bin", stream, BOMB_BYTES, crc)
    assert path.stat().st_size < 5 << 20
    return expect(path, codes={"PKG-007"})


@bad("zip-bomb-lying-header")
def zip_bomb_lying_header(out: Path) -> Case:
    """256 MiB of zeros in one entry whose headers declare 1 000 bytes, so that the declared
    sizes pass every limit. Python's zip reader stops at the declared size, where the CRC
    cannot match: PKG-001 for that entry (or PKG-007 if a byte counter stops it first);
    never 256 MiB on disk."""
    model, files = clean()
    name = f"{model.project_id}/attachments/zeros.bin"
    path = write_zip(out, model, files)
    stream, crc = deflated_zeros(256 << 20)
    append_deflated(path, name, stream, 1000, crc)
    return expect(
        path, knock_on={"PKG-001", "PKG-007"}, verify=_one_of("PKG-001", "PKG-007"), exit=1
    )


def _one_of(*codes: str) -> Callable[[Any], None]:
    def verify(result: Any) -> None:
        assert {f.code for f in result.findings} & set(codes), [f.code for f in result.findings]

    return verify


@bad("zip-over-lowered-limits")
def zip_over_lowered_limits(out: Path) -> Case:
    """A 1.5 MB incompressible attachment under a profile that allows 1 MB in all: PKG-007."""
    model, files = clean()
    files["attachments/照片.jpg"] = hashlib.shake_256(b"duoce-photo").digest(1_500_000)
    path = write_zip(out, model, files)
    return expect(path, codes={"PKG-007"}, profile=profile_toml(out, max_total_bytes=1_000_000))


@bad("zip-encrypted-entry")
def zip_encrypted_entry(out: Path) -> Case:
    """One encrypted entry (an attachment, listed in the manifest): PKG-001 for that file;
    it is not reported again as missing (PKG-003)."""
    model, files = clean()
    rel = "attachments/委托书.pdf"
    files[rel] = b"%PDF-1.4\n" + bytes(range(256)) * 8
    path = write_zip(out, model, files)
    patch_flags(path, f"{model.project_id}/{rel}", 0x1)
    return expect(path, places=[("PKG-001", {"file": rel})])


@bad("zip-encrypted-report")
def zip_encrypted_report(out: Path) -> Case:
    """report.xlsx encrypted in the zip: PKG-001 for it, no PKG-008 / RPT-001 on top."""
    model, files = clean()
    path = write_zip(out, model, files)
    patch_flags(path, f"{model.project_id}/{REPORT}", 0x1)
    return expect(path, places=[("PKG-001", {"file": REPORT})])


@bad("zip-all-encrypted")
def zip_all_encrypted(out: Path) -> Case:
    """Every entry encrypted: one PKG-001 and nothing else."""
    model, files = clean()
    path = write_zip(out, model, files)
    for rel in with_manifest(model, files):
        patch_flags(path, f"{model.project_id}/{rel}", 0x1)
    return expect(path, places=[("PKG-001", {"file": None})])


@bad("nested-zip-listed")
def nested_zip_listed(out: Path) -> Case:
    """attachments/原始观测数据.zip, a zip inside the package, listed in the manifest: an
    attachment is stored and forwarded, never opened. Valid."""
    model, files = clean()
    files["attachments/原始观测数据.zip"] = small_zip(
        {"obs/1.txt": b"1 2 3\n", "obs/../../x": b"!"}
    )
    return expect(write_zip(out, model, files))


@bad("nested-zip-unlisted")
def nested_zip_unlisted(out: Path) -> Case:
    """The same inner zip, not listed: PKG-005 (a warning) for it, and it is not opened."""
    model, files = clean()
    rel = "attachments/原始观测数据.zip"
    files = with_manifest(model, files)
    files[rel] = small_zip({"obs/1.txt": b"1 2 3\n"})
    return expect(write_zip(out, model, files, manifest=False), places=[("PKG-005", {"file": rel})])


@bad("zip-gbk-names")
def zip_gbk_names(out: Path) -> Case:
    """A zip written by a Chinese Windows tool: GBK names without the UTF-8 flag, for the
    top folder (聊城项目) and an attachment (竣工照片.jpg) listed in the manifest. Decoded
    right: valid."""
    model, files = clean()
    rel = "attachments/竣工照片.jpg"
    files[rel] = b"\xff\xd8\xff\xe0" + bytes(300)
    top = "聊城项目"
    top_ph = "T" * len(top.encode("gbk"))
    att_ph = "attachments/" + "A" * len("竣工照片.jpg".encode("gbk"))
    with_ph = {(att_ph if k == rel else k): v for k, v in files.items()}
    listed = with_manifest(model, files)  # the manifest names the real (Unicode) path
    with_ph[MANIFEST] = listed[MANIFEST]
    path = write_zip(out, model, with_ph, manifest=False, top=top_ph)
    data = path.read_bytes()
    n = data.count(top_ph.encode())
    data = data.replace(top_ph.encode(), top.encode("gbk"))
    data = data.replace(att_ph.encode(), rel.encode("gbk"))
    assert n == 2 * len(with_ph)
    path.write_bytes(data)
    with zipfile.ZipFile(path) as zf:
        assert all(not (i.flag_bits & 0x800) for i in zf.infolist())
    return expect(path)


# =========================================================================== envelope breaks


@bad("manifest-path-outside")
def manifest_path_outside(out: Path) -> Case:
    """manifest.json lists ``../x`` (a path outside the package): PKG-002."""
    model, files = clean()
    files = with_manifest(model, files)
    manifest = json.loads(files[MANIFEST])
    manifest["files"].append({"path": "../x", "sha256": hashlib.sha256(b"x").hexdigest()})
    files[MANIFEST] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
    return expect(
        write_dir(out, model, files, manifest=False), places=[("PKG-002", {"file": MANIFEST})]
    )


@bad("manifest-json-list")
def manifest_json_list(out: Path) -> Case:
    """manifest.json is a JSON list (of the file entries), not an object: PKG-002. The
    files are then listed nowhere; PKG-005 is not said for each of them."""
    model, files = clean()
    files = with_manifest(model, files)
    files[MANIFEST] = json.dumps(json.loads(files[MANIFEST])["files"], indent=2).encode()
    return expect(
        write_dir(out, model, files, manifest=False), places=[("PKG-002", {"file": MANIFEST})]
    )


LONG_CELL = 200_000  # characters; Python's csv refuses more than 131 072 by default


def _csv_with_long_cell(out: Path, code: str, text: str) -> Path:
    """The report as CSV (report/<sheet>.csv) with the first 户 row's ``code`` cell set
    to ``text``."""
    model, files = clean()
    del files[REPORT]
    tables = report_tables(model)
    units = next(t for t in tables if t.name == "户")
    units.rows[0][column(units, code)] = text
    files.update(csv_files(tables))
    return write_dir(out, model, files)


@bad("csv-long-cell")
def csv_long_cell(out: Path) -> Case:
    """The report as CSV, one 室号部位 (SHBW, optional text without a length rule) cell of
    200 000 characters (a pasted note): read whole, valid CSV, valid report."""
    path = _csv_with_long_cell(out, "SHBW", "备注" * (LONG_CELL // 2))

    def verify(result: Any) -> None:
        assert result.package.tables["unit"]["SHBW"].str.len().max() == LONG_CELL

    return expect(path, verify=verify)


@bad("csv-long-number-cell")
def csv_long_number_cell(out: Path) -> Case:
    """The report as CSV, the first unit's 实测建筑面积 (SCJZMJ, an area) a 200 000-character
    text: read, and judged by its column like a short one, RPT-003 at that cell."""
    path = _csv_with_long_cell(out, "SCJZMJ", "待" * LONG_CELL)
    return expect(
        path,
        places=[("RPT-003", {"sheet": "户", "row": 2, "field": "SCJZMJ"})],
    )


def _raw_name_dir(out: Path, name: bytes, data: bytes, listed_as: str | None) -> tuple[Path, str]:
    """The clean S as a folder plus ``attachments/<name>`` written with the raw bytes
    ``name`` (as an unzip without a code page option leaves a GBK name on Linux)."""
    model, files = clean()
    files = with_manifest(model, {**files, listed_as: data} if listed_as else files)
    if listed_as:
        del files[listed_as]
    root = write_dir(out, model, files, manifest=False)
    folder = bytes(root / "attachments")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as fh:
        fh.write(data)
    return root, os.fsdecode(b"attachments/" + name)


@bad("dir-gbk-name")
def dir_gbk_name(out: Path) -> Case:
    """A package folder holding ``attachments/说明.txt`` whose name is GBK bytes, listed in
    the manifest as 说明.txt: read like the GBK names of a zip, valid."""
    root, _ = _raw_name_dir(out, "说明.txt".encode("gbk"), b"note\n", "attachments/说明.txt")
    return expect(root)


@bad("dir-undecodable-name")
def dir_undecodable_name(out: Path) -> Case:
    """A package folder holding an unlisted file whose name bytes are neither UTF-8 nor GBK
    (``\\xff\\xfe.txt``): PKG-005 (a warning) naming it as best it can, findings.json written."""
    root, _ = _raw_name_dir(out, b"\xff\xfe.txt", b"?", None)
    return expect(root, codes={"PKG-005"})


@bad("directory-with-fifo")
def directory_with_fifo(out: Path) -> Case:
    """A package folder holding a named pipe (attachments/pipe): PKG-006, never opened (an
    open would block the check for ever)."""
    model, files = clean()
    root = write_dir(out, model, files)
    (root / "attachments").mkdir()
    os.mkfifo(root / "attachments" / "pipe")
    return expect(root, places=[("PKG-006", {"file": "attachments/pipe"})])


@bad("all-drawings-missing")
def all_drawings_missing(out: Path) -> Case:
    """No drawing at all: PKG-008 for site.dxf, parcel.dxf and the floor plan."""
    model, files = clean()
    for rel in DRAWINGS:
        del files[rel]
    return expect(
        write_dir(out, model, files), places=[("PKG-008", {"file": rel}) for rel in DRAWINGS]
    )


@bad("zip-in-zip")
def zip_in_zip(out: Path) -> Case:
    """The package zipped twice (a zip whose only entry is the package's zip): opened, it
    holds no manifest (PKG-002) and none of the required parts (PKG-008); the inner zip is
    not opened."""
    model, files = clean()
    inner = write_zip(out / "inner", model, files)
    path = out / "outer.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(inner, inner.name)
    return expect(
        path,
        places=[("PKG-002", {"file": MANIFEST})]
        + [("PKG-008", {"file": r}) for r in (REPORT, SITE, PARCEL)],
    )


@bad("report-xlsx-is-xls")
def report_xlsx_is_xls(out: Path) -> Case:
    """report.xlsx holding OLE2 bytes (an Excel 97-2003 .xls renamed, or a password-protected
    workbook): PKG-008 once, "save as xlsx"."""
    model, files = clean()
    files[REPORT] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    return expect(write_dir(out, model, files), places=[("PKG-008", {"file": REPORT})])


@bad("empty-zip")
def empty_zip(out: Path) -> Case:
    """A zip with no entry at all: it opens, and holds nothing: no manifest (PKG-002), no
    report and no drawings (PKG-008)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "empty.zip"
    path.write_bytes(small_zip({}))
    return expect(path, places=[("PKG-002", {"file": MANIFEST}), ("PKG-008", {"file": REPORT})])


@bad("empty-directory")
def empty_directory(out: Path) -> Case:
    """A directory with no files (only empty sub-folders): PKG-002 and PKG-008."""
    path = out / "empty-package"
    (path / "drawings" / "floors").mkdir(parents=True)
    (path / "attachments").mkdir()
    return expect(path, places=[("PKG-002", {"file": MANIFEST}), ("PKG-008", {"file": REPORT})])


def build_all(out: Path, names: Iterable[str] | None = None) -> list[Case]:
    """Every case (or those named), each in its own folder under ``out``."""
    return [BUILDERS[n](out / n) for n in (names or BUILDERS)]


# the hostile families of issue 14 register themselves here (checked in real processes
# under RLIMIT_AS by tests/corpus/test_hostile.py)
from tests.corpus import hostile as _hostile  # noqa: E402,F401
