"""The drawings' model: floor plans as views of all plans judged together; CASS XDATA."""

from __future__ import annotations

import dataclasses
import io

import ezdxf
import numpy as np
import pandas as pd
import pytest

from engine.precheck import workspace
from parsers.dxf import read_dxf
from parsers.dxf_entities import Rows
from parsers.package import read_package
from schemas.drawings import PLAN_PARTS, FloorPlan, drawing_geometry, parcel_geometry
from schemas.package import Drawing
from schemas.profile import load_profile


@pytest.fixture(scope="module")
def geometry(sample_s):
    profile = load_profile()
    with workspace() as wd:
        pkg = read_package(sample_s, wd, profile)
    (key, plan), = [(k, d) for k, d in pkg.drawings.items() if k.startswith("floor:")]
    # a second building drawn like the first, one unit left out, so that the plans differ
    twin = dataclasses.replace(plan, path="drawings/floors/9999.dxf", shapes=plan.shapes.iloc[1:])
    pkg.drawings["floor:9999"] = twin
    geo, _ = drawing_geometry(pkg, profile)
    return geo


def test_each_plan_is_its_rows_of_the_combined_model(geometry):
    plans = list(geometry.floors.values())
    assert len(plans) >= 2
    combined = plans[0].combined
    assert all(plan.combined is combined for plan in plans)
    for name in PLAN_PARTS:
        whole = combined[name]
        for plan in plans:
            part = getattr(plan, name)
            expected = whole[whole["file"] == plan.file]
            pd.testing.assert_frame_equal(part, expected)
        # every row belongs to exactly one plan
        assert sum(len(getattr(plan, name)) for plan in plans) == len(whole)
    assert sum(len(plan.units) for plan in plans) > 0
    assert any(len(getattr(plans[0], n)) != len(getattr(plans[1], n)) for n in PLAN_PARTS)


def test_a_plan_built_from_its_own_frames(geometry):
    plan = next(iter(geometry.floors.values()))
    own = FloorPlan(plan.file, plan.frames, plan.units, plan.shared, plan.balconies, plan.loose_labels)
    assert own.combined is None
    for name in PLAN_PARTS:
        assert getattr(own, name) is getattr(plan, name)
    with pytest.raises(AttributeError):
        _ = FloorPlan("x.dxf", plan.frames).units


# ---------------------------------------------------------------- CASS XDATA


ZDDM = "371502001001GB00001"
PARCEL_RING = [(500_000.0, 4_000_000.0), (500_020.0, 4_000_000.0), (500_020.0, 4_000_020.0), (500_000.0, 4_000_020.0)]


def parcel_drawing(xdata) -> Drawing:
    rows = Rows()
    rows.add_shape("2A", "ZD", "LWPOLYLINE", np.asarray(PARCEL_RING), True, xdata)
    s, p, t = rows.frames()
    return Drawing(path="drawings/parcel.dxf", shapes=s, points=p, texts=t)


@pytest.mark.parametrize("xdata", [("300000", ZDDM), ["300000", "宗地", ZDDM, "371502001001GB00002"], ZDDM, (f" {ZDDM} ",)])
def test_the_zddm_is_the_first_xdata_string_that_looks_like_one(xdata):
    parcel, found = parcel_geometry(parcel_drawing(xdata), load_profile())
    assert list(parcel.parcels["zddm"]) == [ZDDM]
    assert not [f for f in found if f.code == "DXF-006" and f.object.layer == "ZD"]


@pytest.mark.parametrize("xdata", [("300000",), "300000", None, ()])
def test_a_feature_code_in_xdata_is_no_label(xdata):
    parcel, found = parcel_geometry(parcel_drawing(xdata), load_profile())
    assert parcel.parcels["zddm"].isna().all()
    assert [(f.object.layer, f.object.handle) for f in found if f.code == "DXF-006"] == [("ZD", "2A")]


@pytest.mark.parametrize(("strings", "zddm"), [(["300000", ZDDM], ZDDM), (["300000"], None)])
def test_cass_xdata_as_read_from_a_file(strings, zddm):
    """SOUTH XDATA as CASS writes it, the feature code first, read by the reader."""
    doc = ezdxf.new("R2010")
    doc.appids.new("SOUTH")
    shape = doc.modelspace().add_lwpolyline(PARCEL_RING, close=True, dxfattribs={"layer": "ZD"})
    shape.set_xdata("SOUTH", [(1000, s) for s in strings])
    stream = io.StringIO()
    doc.write(stream)
    drawing, _ = read_dxf(doc.encode(stream.getvalue()), "drawings/parcel.dxf")
    parcel, found = parcel_geometry(drawing, load_profile())
    assert list(parcel.parcels["zddm"]) == [zddm]
    six = [f.object.handle for f in found if f.code == "DXF-006" and f.object.layer == "ZD"]
    assert six == ([] if zddm else [shape.dxf.handle])
