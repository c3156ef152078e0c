"""CRS-002/004 at the offending point or entity (issue 15, items 3 and 8), asserted by code
and place: whole packages made from the sample S and checked end to end, and small sets
checked by :func:`schemas.crs.check_crs` alone.

- one 界址点 row out of the zone: CRS-002 at that row (its key), and no other error;
- one row with another zone's prefix: CRS-004 at that row, located once stripped;
- every row out of the zone (a wrong EPSG): one CRS-002 for the sheet;
- a title block and a north arrow at the origin on a layer the contract does not name:
  nothing, the verdict of the clean package;
- a stray text at the origin on a contract layer: CRS-002 at its handle, and the rest of
  the drawing is still judged (an open red line gives DXF-004);
- the only red line out of the zone: CRS-002 at it, not "YDHX missing" as well.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from engine.precheck import precheck
from schemas.crs import check_crs
from schemas.package import Drawing
from schemas.profile import load_profile
from schemas.tables import Tables
from tests.corpus.builders import (
    PARCEL,
    REPORT,
    SITE,
    clean,
    column,
    edit_dxf,
    on_layer,
    report_bytes,
    tables_of,
    write_dir,
)

PROFILE = load_profile()
TABLE = "界址点"


def check(tmp: Path, model, files) -> Any:
    return precheck(write_dir(tmp / "pkg", model, files), PROFILE, tmp / "work")


def errors(result) -> set[str]:
    return {f.code for f in result.findings if f.severity == "error"}


def of(result, code: str) -> list:
    return [f for f in result.findings if f.code == code]


def edit_rows(rows: list[int] | None, edit) -> tuple[Any, dict[str, bytes], list[tuple[float, float]]]:
    """The sample S with the 界址点 rows at positions ``rows`` (0-based; None: all) rewritten
    as ``edit(x, y)`` in the report only; also every row's (x, y) as written."""
    model, files = clean()
    tables = tables_of(model)
    t = tables[TABLE]
    xi, yi = column(t, "XZBZ"), column(t, "YZBZ")
    for i, row in enumerate(t.rows):
        if rows is None or i in rows:
            row[xi], row[yi] = edit(row[xi], row[yi])
    files[REPORT] = report_bytes(model, tables)
    return model, files, [(r[xi], r[yi]) for r in t.rows]


# ---------------------------------------------------------------- the 界址点 table


def test_one_point_out_of_zone_is_crs002_at_its_row_and_nothing_else(tmp_path: Path):
    model, files, _ = edit_rows([2], lambda x, y: (x, y - 200_000.0))  # the third point, row 4
    result = check(tmp_path, model, files)
    hits = of(result, "CRS-002")
    assert [(f.object.sheet, f.object.row) for f in hits] == [(TABLE, 4)]
    assert hits[0].object.key.endswith("/J3") and hits[0].location is None
    # the point is not measured: no area, order or drawing rule repeats it
    assert errors(result) == {"CRS-002"}
    assert not result.internal_errors


def test_one_point_with_another_zones_prefix_is_crs004_at_its_row(tmp_path: Path):
    model, files, points = edit_rows([1], lambda x, y: (x, round(38_000_000 + y, 3)))
    result = check(tmp_path, model, files)
    hits = of(result, "CRS-004")
    assert [(f.object.sheet, f.object.row) for f in hits] == [(TABLE, 3)]
    f = hits[0]
    assert f.object.key.endswith("/J2") and (f.actual, f.expected) == (38, 39)
    x, y = points[1]
    assert f.location == pytest.approx((y - 38_000_000, x))  # where the point is, once stripped
    assert errors(result) == {"CRS-004"}


def test_every_point_out_of_zone_is_one_crs002_for_the_sheet(tmp_path: Path):
    model, files, _ = edit_rows(None, lambda x, y: (x, y - 200_000.0))
    result = check(tmp_path, model, files)
    hits = of(result, "CRS-002")
    assert len(hits) == 1
    assert (hits[0].object.sheet, hits[0].object.key, hits[0].location) == (TABLE, None, None)
    assert not result.internal_errors


def test_every_point_with_another_zones_prefix_is_one_crs004(tmp_path: Path):
    model, files, _ = edit_rows(None, lambda x, y: (x, round(38_000_000 + y, 3)))
    result = check(tmp_path, model, files)
    hits = of(result, "CRS-004")
    assert len(hits) == 1 and hits[0].object.sheet == TABLE and hits[0].object.key is None
    assert errors(result) == {"CRS-004"}


# ---------------------------------------------------------------- drawings


def _title_block(doc: Any) -> None:
    """A title-block text, a north arrow and a legend box at the origin, on layer TK."""
    msp = doc.modelspace()
    doc.layers.add("TK")
    msp.add_text("聊城市某测绘有限公司", dxfattribs={"layer": "TK", "insert": (0, 0), "height": 5})
    msp.add_lwpolyline([(0, 0), (2, 10), (4, 0), (2, 3)], close=True, dxfattribs={"layer": "TK"})  # 指北针
    msp.add_text("北", dxfattribs={"layer": "TK", "insert": (1.5, 11), "height": 2})
    msp.add_lwpolyline([(0, 0), (420, 0), (420, 297), (0, 297)], close=True, dxfattribs={"layer": "TK"})
    msp.add_circle((10, 10), radius=1, dxfattribs={"layer": "0"})


def test_title_block_and_north_arrow_at_origin_change_nothing(tmp_path: Path):
    model, files = clean()
    base = check(tmp_path / "clean", model, files)
    edit_dxf(files, SITE, _title_block)
    edit_dxf(files, PARCEL, _title_block)
    result = check(tmp_path / "tk", model, files)
    assert not [f for f in result.findings if f.code.startswith("CRS")]
    assert result.verdict.verdict == base.verdict.verdict == "accepted"
    assert sorted(f.code for f in result.findings) == sorted(f.code for f in base.findings)


def test_stray_text_on_a_contract_layer_is_crs002_at_its_handle_and_the_rest_is_judged(tmp_path: Path):
    model, files = clean()

    def stray(doc: Any) -> tuple[str, str]:
        text = doc.modelspace().add_text("图例", dxfattribs={"layer": "JZJD", "insert": (0, 0)})
        red = on_layer(doc, "YDHX", "LWPOLYLINE")[0]
        red.closed = False
        return text.dxf.handle, red.dxf.handle

    text, red = edit_dxf(files, SITE, stray)
    result = check(tmp_path, model, files)
    crs = of(result, "CRS-002")
    assert [(f.object.file, f.object.layer, f.object.handle) for f in crs] == [(SITE, "JZJD", text)]
    assert crs[0].location is None
    assert any(f.object.file == SITE and f.object.handle == red for f in of(result, "DXF-004"))
    assert errors(result) == {"CRS-002", "DXF-004"}


def test_red_line_out_of_zone_is_crs002_at_it_and_not_a_missing_layer(tmp_path: Path):
    model, files = clean()

    def far(doc: Any) -> str:
        e = on_layer(doc, "YDHX", "LWPOLYLINE")[0]
        e.set_points([(x - 200_000.0, y) for x, y in e.get_points("xy")], format="xy")
        return e.dxf.handle

    handle = edit_dxf(files, SITE, far)
    result = check(tmp_path, model, files)
    assert [(f.object.layer, f.object.handle) for f in of(result, "CRS-002")] == [("YDHX", handle)]
    assert errors(result) == {"CRS-002"}  # no DXF-003: the layer is there, out of the zone


def test_one_entity_with_another_zones_prefix_is_crs004_at_its_handle(tmp_path: Path):
    model, files = clean()

    def prefixed(doc: Any) -> str:
        e = on_layer(doc, "LDFW", "LWPOLYLINE")[0]
        e.set_points([(x + 38_000_000.0, y) for x, y in e.get_points("xy")], format="xy")
        return e.dxf.handle

    handle = edit_dxf(files, SITE, prefixed)
    result = check(tmp_path, model, files)
    hits = of(result, "CRS-004")
    assert [(f.object.file, f.object.layer, f.object.handle) for f in hits] == [(SITE, "LDFW", handle)]
    assert hits[0].location is not None  # stripped, it lies in the zone: read as such
    assert errors(result) == {"CRS-004"}


# ---------------------------------------------------------------- check_crs alone

E0, N0 = Transformer.from_crs(4326, 4548, always_xy=True).transform(116.05, 36.48)
RING = np.array([[E0, N0 + 50], [E0 + 60, N0 + 50], [E0 + 60, N0], [E0, N0]])


def _tables() -> Tables:
    t = Tables()
    t.project = {"ZBX": "EPSG:4548"}
    t.project_rows = {"ZBX": 9}
    t.present = {"project", "boundary_point"}
    t.frames["boundary_point"] = pd.DataFrame(
        {"ZDDM": "371502001001GB00001", "JZDH": [f"J{i + 1}" for i in range(4)], "XZBZ": RING[:, 1], "YZBZ": RING[:, 0]},
        index=pd.Index(range(2, 6), name="_row"),
    )
    return t


def _site(*extra: tuple[str, str, shapely.Geometry]) -> Drawing:
    d = Drawing("drawings/site.dxf")
    rows = [("2A", "YDHX", shapely.LineString(RING)), *extra]
    d.shapes = gpd.GeoDataFrame(
        {"handle": [h for h, _, _ in rows], "layer": [layer for _, layer, _ in rows], "dxftype": "LWPOLYLINE",
         "closed": True, "xdata": None},
        geometry=[g for _, _, g in rows],
    )
    return d


def test_centre_of_the_project_is_taken_from_the_contract_layers_only():
    # a legend drawn far away (inside the zone, outside Liaocheng) with many vertices
    e, n = Transformer.from_crs(4326, 4548, always_xy=True).transform(117.5, 34.0)
    legend = shapely.LineString(np.column_stack([np.linspace(e, e + 10, 500), np.full(500, n)]))
    d = _site(("3B", "TK", legend))
    _, found = check_crs(_tables(), {"site": d}, PROFILE)
    assert found == []
    assert len(d.shapes) == 2  # not the contract's: neither judged nor taken out


def test_swapped_drawing_is_judged_on_contract_layers_and_swapped_whole():
    d = _site(("3B", "TK", shapely.LineString([(0, 0), (10, 0)])))
    d.shapes = d.shapes.set_geometry(
        [shapely.LineString(RING[:, ::-1]), d.shapes.geometry.iloc[1]]
    )
    _, found = check_crs(_tables(), {"site": d}, PROFILE)
    assert [(f.code, f.object.file, f.object.handle) for f in found] == [("CRS-003", "drawings/site.dxf", None)]
    assert d.readable and shapely.get_coordinates(d.shapes.geometry.values)[0, 0] == pytest.approx(RING[0, 0])


def test_entity_out_of_zone_is_taken_out_and_the_rest_stays():
    far = shapely.LineString(RING - [200_000, 0])
    d = _site(("3B", "LDFW", far), ("3C", "LDFW", shapely.LineString(RING + [5, 5])))
    _, found = check_crs(_tables(), {"site": d}, PROFILE)
    assert [(f.code, f.object.layer, f.object.handle) for f in found] == [("CRS-002", "LDFW", "3B")]
    assert d.readable and d.shapes["handle"].tolist() == ["2A", "3C"]
    assert d.emptied == set()  # LDFW still has 3C


def test_every_contract_entity_out_of_zone_is_one_finding_for_the_drawing():
    d = _site(("3B", "LDFW", shapely.LineString(RING + [5, 5])), ("3C", "TK", shapely.LineString(RING)))
    d.shapes = d.shapes.set_geometry(
        [shapely.LineString(RING - [200_000, 0]), shapely.LineString(RING - [199_000, 0]), d.shapes.geometry.iloc[2]]
    )
    _, found = check_crs(_tables(), {"site": d}, PROFILE)
    assert [(f.code, f.object.file, f.object.handle) for f in found] == [("CRS-002", "drawings/site.dxf", None)]
    assert not d.readable  # a wrong EPSG: nothing on it is measured
