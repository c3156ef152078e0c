"""The department GeoPackages as a planning officer opens them (GDAL through pyogrio, and
SQLite): a fixed schema whatever the content, figures REAL and counts INTEGER, NULL
geometry where a finding has no place, Chinese aliases and code lists, a default QGIS
style per layer, layer descriptions and the check's provenance."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import math
import sqlite3
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pyogrio
import pytest

from engine.precheck import precheck
from outputs import products
from outputs.gpkg import Provenance
from sample_data import build_model
from sample_data.defects import DEFECTS, seeded_package
from schemas.drawings import Geometry
from schemas.profile import load_profile

LAYERS = {
    "planning": {"indicators", "site_boundary", "road_red_lines", "footprints", "green_areas", "setbacks", "findings"},
    "registration": {"parcels", "boundary_points", "buildings", "floors", "units", "findings"},
    "housing": {"units", "shared_parts", "findings"},
}
BUILD = {"planning": products.build_planning, "registration": products.build_registration,
         "housing": products.build_housing}
SPATIAL = {"site_boundary", "road_red_lines", "footprints", "green_areas", "setbacks", "findings", "parcels",
           "boundary_points", "buildings"}
DEFECTS_SEEDED = ("PLN-002", "PLN-012", "PRP-001", "PRP-006")  # and PLN-014, the package's own
PROVENANCE = Provenance("LC-KFQ-2022-0137", 3, "ab" * 32, "1.0.0", "liaocheng",
                        dt.datetime(2024, 5, 6, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))


def defective_result(tmp: Path):
    """S with a permit failure (PLN-002), a short setback (PLN-012), a building-scope
    indicator off its 自然幢 (PLN-014, a consistency finding only), a unit area off
    (PRP-001) and a unit drawn too large (PRP-006, a finding with a place)."""
    model = build_model("S")
    for name in DEFECTS_SEEDED:
        DEFECTS[name].apply(model)
    seeded = seeded_package(tmp / "pkg", "PLN-014", model=model)
    return precheck(seeded.path, load_profile(), tmp / "work")


@pytest.fixture(scope="module")
def results(sample_s, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("products")
    clean = precheck(sample_s, load_profile(), tmp / "work-clean")
    bad = defective_result(tmp)
    codes = {f.code for f in bad.findings}
    assert {"PLN-002", "PLN-012", "PLN-014", "PRP-001"} <= codes, codes
    assert any(f.location is not None for f in bad.findings) and any(f.location is None for f in bad.findings)
    bare = copy.copy(clean)  # no drawings at all: every spatial layer empty
    bare.geometry = Geometry()
    return {"clean": clean, "defective": bad, "bare": bare}


@pytest.fixture(scope="module")
def built(results, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Every department GeoPackage of every result: {case: {department: path}}."""
    root = tmp_path_factory.mktemp("gpkg")
    out: dict[str, dict[str, Path]] = {}
    for case, result in results.items():
        out[case] = {}
        for dep, build in BUILD.items():
            folder = root / case / dep
            folder.mkdir(parents=True)
            build(result, folder, PROVENANCE)
            out[case][dep] = folder / products.GPKG[dep]
    return out


def schema(path: Path) -> dict[str, tuple]:
    out = {}
    for name, gtype in pyogrio.list_layers(path):
        info = pyogrio.read_info(path, layer=name)
        out[name] = (gtype, tuple(info["fields"]), tuple(info["dtypes"]))
    return out


def sql(path: Path, query: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def columns(path: Path, table: str) -> dict[str, str]:
    return {name: kind for _, name, kind, *_ in sql(path, f'PRAGMA table_info("{table}")')}


def test_the_layers_and_their_schema_do_not_depend_on_the_content(built):
    for dep, layers in LAYERS.items():
        shapes = {case: schema(paths[dep]) for case, paths in built.items()}
        assert set(shapes["clean"]) == layers | {"layer_styles"}
        assert shapes["clean"] == shapes["defective"] == shapes["bare"], dep
        for name in layers:
            gtype = shapes["clean"][name][0]
            assert (gtype is not None) == (name in SPATIAL), (dep, name, gtype)
    # the empty and the full findings layers are the same layer
    counts = {case: pyogrio.read_info(paths["housing"], layer="findings")["features"] for case, paths in built.items()}
    assert counts["clean"] == 0 and counts["defective"] > 0


def test_figures_are_real_counts_integer_and_no_internal_column(built):
    paths = built["defective"]
    units = columns(paths["registration"], "units")
    assert units["SCJZMJ"] == units["SCFTXS"] == units["YCJZMJ"] == "REAL"
    assert units["SJC"] == units["report_row"] == units["revision"] == "INTEGER"
    assert units["BDCDYH"] == units["FWYT"] == units["project_id"] == "TEXT"
    bld = columns(paths["registration"], "buildings")
    assert bld["ZCS"] == bld["DSCS"] == bld["DXCS"] == "INTEGER" and bld["JZWGD"] == "REAL"
    ind = columns(paths["planning"], "indicators")
    assert ind["GHZ"] == ind["SCZ"] == "REAL"
    f = columns(paths["planning"], "findings")
    assert f["row"] == f["tolerated"] == "INTEGER" and f["expected"] == f["actual"] == f["tolerance"] == "REAL"
    assert columns(paths["housing"], "units")["error_ratio"] == "REAL"
    for dep, layers in LAYERS.items():
        for layer in layers:
            cols = columns(paths[dep], layer)
            assert not [c for c in cols if c.startswith("_")], (dep, layer)
            assert {"project_id", "revision"} <= set(cols), (dep, layer)
            rows = sql(paths[dep], f'SELECT DISTINCT project_id, revision FROM "{layer}"')
            assert rows in ([], [(PROVENANCE.project, PROVENANCE.revision)]), (dep, layer, rows)


def test_a_finding_without_a_place_has_null_geometry_never_a_nan_point(built, results):
    path = built["defective"]["planning"]
    result = results["defective"]
    frame = pyogrio.read_dataframe(path, layer="findings")
    placed = [f for f in result.findings if f.domain in products.PLANNING_DOMAINS]
    assert len(frame) == len(placed)
    assert frame.geometry.isna().sum() == sum(f.location is None for f in placed) > 0
    for g in frame.geometry.dropna():
        assert not g.is_empty and math.isfinite(g.x) and math.isfinite(g.y)
    assert sql(path, "SELECT count(*) FROM findings WHERE geom IS NULL")[0][0] == frame.geometry.isna().sum()
    assert set(frame["severity"]) <= {"error", "warning", "info"} and frame["message"].notna().all()


def test_indicator_and_setback_rows_fail_only_on_their_own_figures(built, results):
    path = built["defective"]["planning"]
    ind = pyogrio.read_dataframe(path, layer="indicators").set_index("report_row")
    rows = {f.code: f.object.row for f in results["defective"].findings if f.object.sheet == "规划指标"}
    assert ind.loc[rows["PLN-002"], "verdict"] == "不符合"
    assert ind.loc[rows["PLN-014"], "verdict"] == "符合"  # a consistency finding, not the permit
    assert "PLN-014" in ind.loc[rows["PLN-014"], "note"]
    assert ind.loc[rows["PLN-014"], "ZBMC"] == "建筑高度"
    sb = pyogrio.read_dataframe(path, layer="setbacks").set_index("report_row")
    bad = next(f.object.row for f in results["defective"].findings if f.code == "PLN-012")
    assert sb.loc[bad, "verdict"] == "不符合" and (sb.drop(index=bad)["verdict"] == "符合").all()
    assert sb["computed"].notna().all()


def test_every_column_has_a_chinese_alias_and_code_lists_are_enums(built):
    path = built["clean"]["registration"]
    ext = sql(path, "SELECT table_name, extension_name FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'")
    assert {t for t, _ in ext} == {"gpkg_data_columns", "gpkg_data_column_constraints"}
    for dep, layers in LAYERS.items():
        p = built["clean"][dep]
        for layer in layers:
            cols = set(columns(p, layer)) - {"fid", "geom"}
            described = {c: (name, title, desc) for c, name, title, desc in sql(
                p, "SELECT column_name, name, title, description FROM gpkg_data_columns WHERE table_name = ?", layer)}
            assert set(described) == cols, (dep, layer)
            for c, (name, title, desc) in described.items():
                assert name == c and title and desc, (dep, layer, c)
                assert any("\u4e00" <= ch <= "\u9fff" for ch in title), (dep, layer, c, title)
    titles = dict(sql(path, "SELECT column_name, title FROM gpkg_data_columns WHERE table_name = 'units'"))
    assert titles["FWYT"] == "房屋用途" and titles["SCJZMJ"] == "实测建筑面积（m²）"
    assert sql(path, "SELECT constraint_name FROM gpkg_data_columns WHERE table_name = 'parcels' "
                     "AND column_name = 'YT'") == [("YT",)]
    assert sql(path, "SELECT description FROM gpkg_data_column_constraints WHERE constraint_name = 'YT' "
                     "AND constraint_type = 'enum' AND value = '0701'") == [("城镇住宅用地",)]


def test_each_layer_has_a_default_qgis_style(built):
    for dep, layers in LAYERS.items():
        path = built["clean"][dep]
        rows = sql(path, "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                         "styleQML, styleSLD, useAsDefault, description, owner, ui, update_time FROM layer_styles")
        assert sorted(r[2] for r in rows) == sorted(layers)
        for catalog, schema_, table, geom_col, name, qml, sld_, default, desc, owner, _ui, updated in rows:
            assert (catalog, schema_, owner, default) == ("", "", "", 1) and name == table and desc and updated
            assert geom_col == ("geom" if table in SPATIAL else "")
            root = ET.fromstring(qml)
            assert root.tag == "qgis"
            aliases = {a.get("field"): a.get("name") for a in root.iter("alias")}
            assert set(aliases) == set(columns(path, table)) - {"fid", "geom"}
            if table in SPATIAL:
                renderer = root.find("renderer-v2")
                assert renderer is not None and renderer.find(".//symbol/layer") is not None, table
                assert ET.fromstring(sld_).tag.endswith("StyledLayerDescriptor")
            else:
                assert root.find("layerGeometryType").text == "4"
        styles = {r[2]: ET.fromstring(r[5]) for r in rows}
        if "findings" in styles:
            r = styles["findings"].find("renderer-v2")
            assert r.get("type") == "categorizedSymbol" and r.get("attr") == "severity"
            assert {c.get("value") for c in r.iter("category")} == {"error", "warning", "info"}
            assert styles["findings"].get("labelsEnabled") == "1"
            assert styles["findings"].find(".//text-style").get("fieldName") == "code"
        if "site_boundary" in styles:  # the red line as an outline
            props = {o.get("name"): o.get("value") for o in styles["site_boundary"].iter("Option") if o.get("name")}
            assert props["style"] == "no" and props["outline_color"].startswith("230,0,0")
        if "units" in styles and dep == "registration":
            widget = styles["units"].find(".//field[@name='FWYT']/editWidget")
            assert widget.get("type") == "ValueMap"


def test_descriptions_and_provenance_metadata(built):
    for dep, layers in LAYERS.items():
        path = built["defective"][dep]
        described = dict(sql(path, "SELECT table_name, description FROM gpkg_contents"))
        for layer in layers:
            assert described[layer], (dep, layer)
            assert pyogrio.read_info(path, layer=layer)["layer_metadata"]["DESCRIPTION"] == described[layer]
        ext = {t for t, in sql(path, "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_metadata'")}
        assert ext == {"gpkg_metadata", "gpkg_metadata_reference"}
        [(doc,)] = sql(path, "SELECT m.metadata FROM gpkg_metadata m JOIN gpkg_metadata_reference r "
                             "ON r.md_file_id = m.id WHERE r.reference_scope = 'geopackage' "
                             "AND m.mime_type = 'application/json'")
        prov = json.loads(doc)["provenance"]
        assert prov == {"project": "LC-KFQ-2022-0137", "revision": 3, "sha256": "ab" * 32, "ruleset": "1.0.0",
                        "profile": "liaocheng", "created": "2024-05-06T09:30:00+08:00"}
        per_layer = sql(path, "SELECT r.table_name, m.md_standard_uri, m.metadata FROM gpkg_metadata m "
                              "JOIN gpkg_metadata_reference r ON r.md_file_id = m.id WHERE r.reference_scope = 'table'")
        assert {t for t, _, _ in per_layer} == layers
        for _, uri, xml in per_layer:
            root = ET.fromstring(xml)
            assert uri == "http://mrcc.com/qgis.dtd" and root.find("abstract").text
            assert any("ab" * 32 in (k.text or "") for k in root.iter("keyword"))
        # GDAL reads the provenance too
        items = pyogrio.read_info(path, layer=sorted(layers)[0])["dataset_metadata"] or {}
        assert any("ab" * 32 in v for v in items.values())


def test_findings_gpkg_for_the_firm(results, tmp_path):
    result = results["defective"]
    path = tmp_path / "findings.gpkg"
    products.write_findings_gpkg(result, path)
    assert {n for n, _ in pyogrio.list_layers(path)} == {"findings", "layer_styles"}
    frame = pyogrio.read_dataframe(path, layer="findings")
    assert len(frame) == len(result.findings)
    assert set(frame["project_id"]) == {result.package.project_id} and frame["revision"].isna().all()
    empty = tmp_path / "none.gpkg"
    products.write_findings_gpkg(results["clean"], empty, PROVENANCE)
    assert schema(empty)["findings"] == schema(path)["findings"]
    assert pyogrio.read_info(empty, layer="findings")["features"] == 0


def test_builders_take_the_provenance(results, sample_s, tmp_path):
    result = results["clean"]
    made = products.builders(result, sample_s, None, PROVENANCE)
    assert set(made) == set(products.DEPARTMENTS)
    made["housing"](tmp_path)
    units = pyogrio.read_dataframe(tmp_path / "housing.gpkg", layer="units")
    assert set(units["revision"]) == {3}
    assert "R03" in (tmp_path / "opinion.html").read_text(encoding="utf-8")
    # without one, what the result says: no revision for a pre-check
    derived = products.provenance_of(result)
    assert (derived.project, derived.revision, derived.sha256) == (result.package.project_id, None,
                                                                   result.package.sha256)


def test_a_rebuild_gives_the_same_bytes(results, tmp_path):
    """A product rebuilt from the same result and provenance is byte-identical (the store
    restores a lost product only then): GDAL's own change stamps take the check's time."""
    digests = []
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        folder.mkdir()
        BUILD["planning"](results["defective"], folder, PROVENANCE)
        path = folder / products.GPKG["planning"]
        stamps = {row[0] for row in sql(path, "SELECT last_change FROM gpkg_contents")}
        assert len(stamps) == 1, stamps
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
        time.sleep(0.02)  # a wall clock that moved on must not show in the bytes
    assert digests[0] == digests[1]
