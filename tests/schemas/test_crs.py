"""CRS-001..005 on the 界址点 table and the project drawings, asserted by code and place."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from schemas.crs import check_crs, parse_zbx, zone_of
from schemas.package import Drawing
from schemas.profile import load_profile
from schemas.tables import Tables

PROFILE = load_profile()
# a small parcel near 116.05E 36.48N in EPSG:4548 (CM 117E)
E0, N0 = Transformer.from_crs(4326, 4548, always_xy=True).transform(116.05, 36.48)
RING = np.array([[E0, N0 + 50], [E0 + 60, N0 + 50], [E0 + 60, N0], [E0, N0]])


def tables(zbx="EPSG:4548", east=RING[:, 0], north=RING[:, 1]) -> Tables:
    t = Tables()
    t.project = {"ZBX": zbx}
    t.project_rows = {"ZBX": 9}
    t.present = {"project", "boundary_point"}
    t.frames["boundary_point"] = pd.DataFrame(
        {"ZDDM": "371502001001GB00001", "JZDH": [f"J{i + 1}" for i in range(len(east))], "XZBZ": north, "YZBZ": east},
        index=pd.Index(range(2, 2 + len(east)), name="_row"),
    )
    return t


def site(coords: np.ndarray) -> Drawing:
    d = Drawing("drawings/site.dxf")
    d.shapes = gpd.GeoDataFrame(
        {"handle": ["2A"], "layer": ["YDHX"], "dxftype": ["LWPOLYLINE"], "closed": [True], "xdata": [None]},
        geometry=[shapely.LineString(coords)],
    )
    return d


def run(t, drawings=None):
    return check_crs(t, drawings or {}, PROFILE)


def codes(found):
    return sorted(f.code for f in found)


def test_clean_coordinates_give_nothing():
    zone, found = run(tables(), {"site": site(RING)})
    assert found == [] and zone.epsg == 4548


@pytest.mark.parametrize("zbx", [None, "", "EPSG:4326", "EPSG:4490", "CGCS2000", "EPSG:4555"])
def test_missing_or_wrong_zbx_is_crs001(zbx):
    zone, found = run(tables(zbx=zbx))
    assert codes(found) == ["CRS-001"]
    assert (found[0].object.sheet, found[0].object.row) == ("项目信息", 9)
    assert zone.epsg == PROFILE.epsg  # later rules still run in the profile's zone


def test_parse_zbx_spellings():
    assert parse_zbx("EPSG:4548") == parse_zbx("epsg 4548") == parse_zbx("EPSG：4548") == parse_zbx("4548") == 4548
    assert zone_of(4527).epsg == 4548 and zone_of(4527).prefix == 39
    assert zone_of(4548).cm == 117 and zone_of(4547).cm == 114


def test_swapped_table_is_crs003_and_swapped_back():
    t = tables(east=RING[:, 1], north=RING[:, 0])
    _, found = run(t)
    assert codes(found) == ["CRS-003"]
    assert found[0].object.sheet == "界址点" and found[0].object.row == 2
    assert t["boundary_point"]["YZBZ"].tolist() == pytest.approx(RING[:, 0].tolist())


def test_swapped_drawing_is_crs003_at_the_drawing():
    d = site(RING[:, ::-1])
    _, found = run(tables(), {"site": d})
    assert codes(found) == ["CRS-003"]
    # one finding for the drawing as a whole, not blamed on its first entity
    assert (found[0].object.file, found[0].object.handle) == ("drawings/site.dxf", None)
    assert shapely.get_coordinates(d.shapes.geometry.values)[0, 0] == pytest.approx(RING[0, 0])


def test_correct_zone_prefix_is_accepted_and_stripped():
    t = tables(east=RING[:, 0] + 39e6)
    d = site(RING + [39e6, 0])
    _, found = run(t, {"site": d})
    assert found == []
    assert t["boundary_point"]["YZBZ"].iloc[0] == pytest.approx(RING[0, 0])
    assert shapely.get_coordinates(d.shapes.geometry.values)[0, 0] == pytest.approx(RING[0, 0])


def test_prefixed_epsg_code_reads_prefixed_coordinates():
    _, found = run(tables(zbx="EPSG:4527", east=RING[:, 0] + 39e6))
    assert found == []


def test_wrong_zone_prefix_is_crs004():
    _, found = run(tables(east=RING[:, 0] + 38e6))
    assert "CRS-004" in codes(found)
    f = next(f for f in found if f.code == "CRS-004")
    assert (f.expected, f.actual, f.object.sheet) == (39, 38, "界址点")


def test_outside_declared_zone_is_crs002():
    # 200 km further west lies ~3.3° from CM 117E, beyond the zone's ±1.6°
    ring = RING - [200_000, 0]
    _, found = run(tables(east=ring[:, 0], north=ring[:, 1]), {"site": site(ring)})
    assert codes(found) == ["CRS-002", "CRS-002"]  # the table and the drawing, once each
    assert {f.object.sheet or f.object.file for f in found} == {"界址点", "drawings/site.dxf"}


def test_outside_profile_area_is_crs005_warning():
    e, n = Transformer.from_crs(4326, 4548, always_xy=True).transform(117.5, 34.0)  # Xuzhou, CM 117E
    ring = RING - RING[0] + [e, n]
    _, found = run(tables(east=ring[:, 0], north=ring[:, 1]), {"site": site(ring)})
    assert codes(found) == ["CRS-005"]
    assert found[0].severity == "warning" and found[0].location is not None


@pytest.mark.parametrize("epsg", range(4534, 4555))
def test_lonlat_pipeline_is_what_pyproj_resolves(epsg):
    """The direct PROJ pipeline gives the same degrees as pyproj's EPSG → WGS 84 path."""
    import numpy as np
    from pyproj import Transformer

    from schemas.crs import _to_lonlat, zone_of

    rng = np.random.default_rng(epsg)
    east, north = rng.uniform(250_000, 750_000, 200), rng.uniform(2_000_000, 5_900_000, 200)
    ref = Transformer.from_crs(epsg, 4326, always_xy=True).transform(east, north)
    got = _to_lonlat(epsg).transform(east, north)
    assert np.allclose(got, ref, rtol=0, atol=1e-12)
    assert zone_of(epsg).cm == round(float(np.mean(_to_lonlat(epsg).transform([500_000.0], [3_000_000.0])[0])))
