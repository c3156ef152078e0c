"""Outlines drawn as separate pieces (LINE, ARC, open polylines) on closed-shape layers:
assembled into rings and judged like closed polylines (DXF-009), pieces that close no ring
open (DXF-004)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import ezdxf
import geopandas as gpd
import numpy as np
import pytest
import shapely

from engine.precheck import precheck
from parsers.dxf import read_dxf
from parsers.dxf_entities import Rows
from schemas.drawings import floor_plans, parcel_geometry, site_geometry
from schemas.outlines import assemble
from schemas.package import Drawing
from schemas.profile import load_profile
from tests.corpus.builders import SITE, clean, edit_dxf, on_layer, write_dir

PROFILE = load_profile()
SQUARE = [(500_000.0, 4_000_000.0), (500_020.0, 4_000_000.0), (500_020.0, 4_000_020.0), (500_000.0, 4_000_020.0)]
ZDDM = "371502001001GB00001"


def dxf_bytes(doc) -> bytes:
    stream = io.StringIO()
    doc.write(stream)
    return doc.encode(stream.getvalue())


def read(doc, path: str = "drawings/site.dxf") -> Drawing:
    drawing, found = read_dxf(dxf_bytes(doc), path)
    assert drawing.readable, found
    return drawing


def add_lines(msp, ring, layer: str, close: bool = True, gap: float = 0.0) -> list[str]:
    """The edges of ``ring`` as LINEs (the last one ``gap`` metres short); their handles."""
    n = len(ring) if close else len(ring) - 1
    handles = []
    for i in range(n):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % len(ring)]
        if i == n - 1 and gap:
            x1, y1 = x1 + gap, y1
        handles.append(msp.add_line((x0, y0), (x1, y1), dxfattribs={"layer": layer}).dxf.handle)
    return handles


def site_doc():
    """A site drawing with every layer but JZJD drawn as the contract says."""
    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    x, y = SQUARE[0]
    msp.add_lwpolyline([(x - 50, y - 50), (x + 70, y - 50), (x + 70, y + 70), (x - 50, y + 70)], close=True,
                       dxfattribs={"layer": "YDHX"})
    msp.add_lwpolyline([(x - 60, y - 55), (x + 80, y - 55)], dxfattribs={"layer": "DLHX"})
    msp.add_lwpolyline([(x + 30, y + 30), (x + 40, y + 30), (x + 40, y + 40), (x + 30, y + 40)], close=True,
                       dxfattribs={"layer": "LDFW"})
    msp.add_text("1#", dxfattribs={"layer": "JZJD", "insert": (x + 10, y + 10)})
    return doc


def codes_at(found, code: str) -> list[tuple[str | None, str | None]]:
    return [(f.object.layer, f.object.handle) for f in found if f.code == code]


def drawing_of(shapes, texts=(), path: str = "drawings/site.dxf") -> Drawing:
    """A drawing from ``(handle, layer, dxftype, xy, closed, xdata)`` shapes and ``(handle,
    layer, text, x, y)`` texts, built as the readers build frames."""
    rows = Rows()
    for handle, layer, dxftype, xy, closed, xdata in shapes:
        rows.add_shape(handle, layer, dxftype, np.asarray(xy, dtype=float), closed, xdata)
    for handle, layer, text, x, y in texts:
        rows.add_text(handle, layer, "TEXT", text, (x, y))
    s, p, t = rows.frames()
    return Drawing(path=path, shapes=s, points=p, texts=t)


# ---------------------------------------------------------------- site: exploded footprint


def test_exploded_footprint_is_one_footprint_and_dxf_009_at_its_first_line():
    doc = site_doc()
    handles = add_lines(doc.modelspace(), SQUARE, "JZJD")
    site, found = site_geometry(read(doc), PROFILE)
    assert codes_at(found, "DXF-009") == [("JZJD", handles[0])]
    nine = next(f for f in found if f.code == "DXF-009")
    assert nine.actual.split(",") == handles
    assert nine.location is not None and shapely.Polygon(SQUARE).contains(shapely.Point(nine.location))
    assert not {"DXF-004", "DXF-005", "DXF-006"} & {f.code for f in found}
    fp = site.footprints
    assert list(fp["handle"]) == [handles[0]] and list(fp["zh"]) == ["0001"]
    assert bool(fp["valid"].iloc[0]) and math.isclose(fp.geometry.area.iloc[0], 400.0)


def test_lines_that_close_no_ring_are_dxf_004_each():
    doc = site_doc()
    handles = add_lines(doc.modelspace(), SQUARE, "JZJD", close=False)
    site, found = site_geometry(read(doc), PROFILE)
    assert sorted(codes_at(found, "DXF-004")) == sorted(("JZJD", h) for h in handles)
    assert not codes_at(found, "DXF-009") and not len(site.footprints)


@pytest.mark.parametrize(("gap", "closes"), [(0.0005, True), (0.002, False)])
def test_ends_meet_within_a_millimetre(gap: float, closes: bool):
    doc = site_doc()
    handles = add_lines(doc.modelspace(), SQUARE, "JZJD", gap=gap)
    site, found = site_geometry(read(doc), PROFILE)
    if closes:
        assert codes_at(found, "DXF-009") == [("JZJD", handles[0])] and not codes_at(found, "DXF-004")
        assert len(site.footprints) == 1
    else:
        assert not codes_at(found, "DXF-009") and len(codes_at(found, "DXF-004")) == 4
        assert not len(site.footprints)


def test_the_snap_distance_is_the_profiles():
    doc = site_doc()
    add_lines(doc.modelspace(), SQUARE, "JZJD", gap=0.002)
    loose = PROFILE.model_copy(update={"tolerances": PROFILE.tolerances.model_copy(update={"outline_snap": 0.005})})
    _, found = site_geometry(read(doc), loose)
    assert len(codes_at(found, "DXF-009")) == 1 and not codes_at(found, "DXF-004")


def test_a_tail_on_a_ring_is_open_and_the_ring_still_closes():
    doc = site_doc()
    msp = doc.modelspace()
    handles = add_lines(msp, SQUARE, "JZJD")
    x, y = SQUARE[2]
    tail = [msp.add_line((x, y), (x + 5, y + 5), dxfattribs={"layer": "JZJD"}).dxf.handle,
            msp.add_line((x + 5, y + 5), (x + 9, y + 5), dxfattribs={"layer": "JZJD"}).dxf.handle]
    site, found = site_geometry(read(doc), PROFILE)
    assert codes_at(found, "DXF-009") == [("JZJD", handles[0])]
    nine = next(f for f in found if f.code == "DXF-009")
    assert nine.actual.split(",") == handles
    assert sorted(codes_at(found, "DXF-004")) == sorted(("JZJD", h) for h in tail)
    assert len(site.footprints) == 1


def test_a_chord_across_a_ring_makes_it_ambiguous_every_piece_open():
    """Two loops sharing a chord (three pieces meet at each end of it): which loop is the
    outline cannot be told, so none is assembled."""
    doc = site_doc()
    msp = doc.modelspace()
    handles = add_lines(msp, SQUARE, "JZJD")
    handles.append(msp.add_line(SQUARE[0], SQUARE[2], dxfattribs={"layer": "JZJD"}).dxf.handle)
    site, found = site_geometry(read(doc), PROFILE)
    assert not codes_at(found, "DXF-009") and not len(site.footprints)
    assert sorted(codes_at(found, "DXF-004")) == sorted(("JZJD", h) for h in handles)


def test_lines_arcs_and_open_polylines_are_pieces_alike():
    """A stadium: two LINEs and two half-circle ARCs (as the readers give an ARC: its
    chords, from start to end point), in mixed directions."""
    x0, y0 = SQUARE[0]
    t = np.linspace(-math.pi / 2, math.pi / 2, 33)
    right = np.column_stack([x0 + 20 + 5 * np.cos(t), y0 + 5 + 5 * np.sin(t)])  # bottom → top
    left = np.column_stack([x0 - 5 * np.cos(t), y0 + 5 + 5 * np.sin(t)])  # bottom → top, bowing west
    shapes = [
        ("A1", "JZJD", "ARC", right, False, None),
        ("L1", "JZJD", "LINE", [(x0, y0), (x0 + 20, y0)], False, None),
        ("A2", "JZJD", "ARC", left, False, None),
        ("P1", "JZJD", "LWPOLYLINE", [(x0 + 20, y0 + 10), (x0 + 10, y0 + 10), (x0, y0 + 10)], False, None),
    ]
    d = drawing_of(shapes, [("T", "JZJD", "1#", x0 + 10, y0 + 5)])
    site, found = site_geometry(d, PROFILE)
    assert codes_at(found, "DXF-009") == [("JZJD", "A1")]
    assert next(f for f in found if f.code == "DXF-009").actual == "A1,L1,A2,P1"
    assert not codes_at(found, "DXF-004") and not codes_at(found, "DXF-005")
    area = float(site.footprints.geometry.area.iloc[0])
    assert abs(area - (200 + math.pi * 25)) < 0.5  # chords cut a little off the circle
    assert list(site.footprints["zh"]) == ["0001"]


def test_arcs_read_from_a_file_close_a_ring():
    doc = site_doc()
    msp = doc.modelspace()
    x0, y0 = SQUARE[0]
    first = msp.add_line((x0, y0), (x0 + 20, y0), dxfattribs={"layer": "JZJD"}).dxf.handle
    msp.add_arc((x0 + 20, y0 + 5), 5, -90, 90, dxfattribs={"layer": "JZJD"})
    msp.add_line((x0 + 20, y0 + 10), (x0, y0 + 10), dxfattribs={"layer": "JZJD"})
    msp.add_arc((x0, y0 + 5), 5, 90, 270, dxfattribs={"layer": "JZJD"})
    drawing = read(doc)
    if "ARC" not in set(drawing.shapes["dxftype"]):
        pytest.skip("the readers do not give ARC rows yet (helper reader-parity)")
    site, found = site_geometry(drawing, PROFILE)
    assert codes_at(found, "DXF-009") == [("JZJD", first)]
    assert not codes_at(found, "DXF-004")
    assert abs(float(site.footprints.geometry.area.iloc[0]) - (200 + math.pi * 25)) < 0.5


# ---------------------------------------------------------------- parcel and floor plans


def test_parcel_of_open_polylines_with_its_zddm_in_xdata():
    x0, y0 = SQUARE[0]
    shapes = [
        ("Z1", "ZD", "LWPOLYLINE", SQUARE[:3], False, ("300000",)),
        ("Z2", "ZD", "LWPOLYLINE", [SQUARE[2], SQUARE[3], SQUARE[0]], False, ("300000", ZDDM)),
    ]
    d = drawing_of(shapes, path="drawings/parcel.dxf")
    parcel, found = parcel_geometry(d, PROFILE)
    assert codes_at(found, "DXF-009") == [("ZD", "Z1")]
    assert list(parcel.parcels["zddm"]) == [ZDDM]
    assert not [f for f in found if f.code == "DXF-006" and f.object.layer == "ZD"]


def test_exploded_unit_in_a_floor_plan(tmp_path: Path):
    def plan(name: str, explode: bool) -> tuple[Drawing, list[str]]:
        doc = ezdxf.new("R2010")
        msp = doc.modelspace()
        msp.add_lwpolyline([(0, 0), (30, 0), (30, 20), (0, 20)], close=True, dxfattribs={"layer": "FC_C"})
        msp.add_text("1层", dxfattribs={"layer": "FC_C", "insert": (1, 18)})
        msp.add_lwpolyline([(0, 0), (10, 0), (10, 10), (0, 10)], close=True, dxfattribs={"layer": "FC_H"})
        msp.add_text("0101", dxfattribs={"layer": "FC_H", "insert": (5, 5)})
        unit = [(10, 0), (20, 0), (20, 10), (10, 10)]
        handles = add_lines(msp, unit, "FC_H") if explode else []
        if not explode:
            msp.add_lwpolyline(unit, close=True, dxfattribs={"layer": "FC_H"})
        msp.add_text("0102", dxfattribs={"layer": "FC_H", "insert": (15, 5)})
        return read(doc, f"drawings/floors/{name}.dxf"), handles

    (first, _), (second, handles) = plan("0001", False), plan("0002", True)
    model, found = floor_plans([first, second], PROFILE)
    nine = [f for f in found if f.code == "DXF-009"]
    assert [(f.object.file, f.object.layer, f.object.handle) for f in nine] == [("drawings/floors/0002.dxf", "FC_H", handles[0])]
    assert nine[0].local is not None and 10 < nine[0].local[0] < 20 and nine[0].location is None
    assert not {"DXF-004", "DXF-006"} & {f.code for f in found}
    units = model["drawings/floors/0002.dxf"].units
    assert sorted(units["hh"]) == ["0101", "0102"]
    assert math.isclose(float(units.loc[units["hh"] == "0102", "area"].iloc[0]), 100.0)


def test_pieces_of_different_files_never_join():
    half = [("L1", [(0, 0), (10, 0), (10, 10)], "a.dxf"), ("L2", [(10, 10), (0, 10), (0, 0)], "b.dxf")]
    pieces = gpd.GeoDataFrame(
        {"handle": [h for h, _, _ in half], "layer": "FC_H", "dxftype": "LWPOLYLINE", "closed": False,
         "xdata": None, "file": [f for _, _, f in half]},
        geometry=[shapely.LineString(xy) for _, xy, _ in half],
    )
    got = assemble(pieces, 0.001)
    assert not len(got.rings) and list(got.loose["handle"]) == ["L1", "L2"]
    got = assemble(pieces.assign(file="a.dxf"), 0.001)
    assert list(got.rings["pieces"]) == [("L1", "L2")]


def test_a_fully_exploded_plan_gives_one_ring_per_unit():
    """Units sharing walls, each drawn as its own run of LINEs (an exploded plan): the
    corners where four units meet pair up in drawing order."""
    lines, handles = [], []
    for k in range(400):
        x, y = (k % 20) * 10.0, (k // 20) * 10.0
        c = [(x, y), (x + 10, y), (x + 10, y + 10), (x, y + 10)]
        lines += [shapely.LineString([c[i], c[(i + 1) % 4]]) for i in range(4)]
    handles = [f"{i + 16:X}" for i in range(len(lines))]
    pieces = gpd.GeoDataFrame({"handle": handles, "layer": "FC_H", "dxftype": "LINE", "closed": False, "xdata": None},
                              geometry=lines)
    got = assemble(pieces, 0.001)
    assert len(got.rings) == 400 and not len(got.loose)
    assert list(got.rings["pieces"].iloc[:2]) == [tuple(handles[0:4]), tuple(handles[4:8])]
    assert np.allclose(shapely.area(shapely.polygons(shapely.linearrings(
        [shapely.get_coordinates(g) for g in got.rings.geometry]))), 100.0)


# ---------------------------------------------------------------- a whole package


def test_exploded_footprint_in_a_package_is_used_by_the_site_rules(tmp_path: Path):
    model, files = clean()

    def explode(doc) -> list[str]:
        footprint = on_layer(doc, "JZJD", "LWPOLYLINE")[0]
        return [e.dxf.handle for e in footprint.explode()]

    handles = edit_dxf(files, SITE, explode)
    result = precheck(write_dir(tmp_path / "pkg", model, files), PROFILE, tmp_path / "work")
    assert not result.internal_errors
    nine = [f for f in result.findings if f.code == "DXF-009"]
    assert [(f.object.file, f.object.layer, f.object.handle) for f in nine] == [(SITE, "JZJD", handles[0])]
    assert nine[0].actual.split(",") == handles
    errors = {f.code for f in result.findings if f.severity == "error"}
    assert errors == {"DXF-009"}  # no PLN-013 "footprint missing", no PLN-006, no DXF-004
    assert result.verdict.verdict != "accepted"
