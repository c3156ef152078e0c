"""The floor plans' model: each plan a view of all plans judged together."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from flows.pipeline import workspace
from parsers.package import read_package
from schemas.drawings import PLAN_PARTS, FloorPlan, drawing_geometry
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
