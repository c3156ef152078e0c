"""Profiles are frozen dataclasses validated as the pydantic models they were: the same
values from the same TOML, the same errors (place, kind, wording), and no pydantic on the
check's path."""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticError

from schemas.profile import Limits, Profile, ProfileError, Tolerances, load_profile, profile_data

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "tests" / "profiles"


# ---- the pydantic models as they were (schemas/profile.py before issue 16), the reference
class _Area(BaseModel):
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


class _Tier(BaseModel):
    up_to: float
    share: float


class _Tolerances(BaseModel):
    zdmj_vs_coordinate_area: float = 0.1
    jzd_table_vs_drawing: float = 0.01
    zd_vertex_vs_points: float = 0.01
    parcel_overlap: float = 0.01
    jzd_label_radius: float = 2.0
    jzgd_over: float = 0.10
    area_cap: float = 500.0
    area_tiers: list[_Tier] = Field(default_factory=list)
    ydmj_vs_drawing: float = 0.1
    footprint_outside_site: float = 0.05
    setback_vs_drawing: float = 0.05
    setback_below_requirement: float = 0.10
    zdmj_vs_ydmj: float = 0.1
    indicator_recompute: float = 0.01
    footprint_outside_parcel: float = 0.05
    property_vs_planning_total: float = 0.03
    presale_ratio: float = 0.03
    min_floor_height: float = 2.20
    unit_area_sum: float = 0.01
    apportion_coefficient: float = 1e-6
    apportion_area: float = 0.01
    building_sum_per_unit: float = 0.005
    building_sum_base: float = 0.01
    unit_overlap: float = 0.01
    outline_snap: float = 0.001


class _Limits(BaseModel):
    max_total_bytes: int = 2_000_000_000
    max_entries: int = 20_000
    max_ratio: float = 200.0
    max_member_bytes: int = 1_000_000_000
    max_sheet_cells: int = 2_000_000
    max_entities: int = 500_000
    max_vertices: int = 2_000_000
    max_label_chars: int = 1_000
    max_path_bytes: int = 1_000
    max_name_bytes: int = 255
    max_findings_per_code: int = 200
    budget_memory_bytes: int = 2_000_000_000
    budget_seconds: float = 600.0


class _Tolerated(BaseModel):
    codes: list[str] = Field(default_factory=list)
    deadline_working_days: int = 5


class _Profile(BaseModel):
    name: str
    title: str = ""
    epsg: int = 4548
    area: _Area
    counties: dict[str, str] = Field(default_factory=dict)
    tolerances: _Tolerances = Field(default_factory=_Tolerances)
    area_class: dict[str, tuple[float, float]]
    boundary_class: dict[str, float]
    limits: _Limits = Field(default_factory=_Limits)
    layers: dict[str, str] = Field(default_factory=dict)
    code_lists: dict[str, dict[str, str]] = Field(default_factory=dict)
    severity: dict[str, Literal["error", "warning", "info", "off"]] = Field(default_factory=dict)
    tolerated: _Tolerated = Field(default_factory=_Tolerated)


def _data(name="liaocheng") -> dict:
    data = profile_data(name)
    data["counties"] = {str(k): v for k, v in data.get("counties", {}).items()}
    return data


def _same(ours, theirs) -> bool:
    """Equal values, NaN equal to NaN, our tuples/lists as theirs."""
    if isinstance(theirs, float) and math.isnan(theirs):
        return isinstance(ours, float) and math.isnan(ours)
    if isinstance(theirs, dict):
        return isinstance(ours, dict) and ours.keys() == theirs.keys() and all(_same(ours[k], theirs[k]) for k in theirs)
    if isinstance(theirs, list | tuple):
        return type(ours) is type(theirs) and len(ours) == len(theirs) and all(map(_same, ours, theirs))
    return type(ours) is type(theirs) and ours == theirs


def _message(exc: Exception) -> list[str]:
    """The message's lines without pydantic's link (the reference models' names lose their ``_``)."""
    lines = [line.replace(" for _", " for ").replace("instance of _", "instance of ")
             for line in str(exc).splitlines() if "errors.pydantic.dev" not in line]
    # a long input is cut short in the message, pydantic's way subtler than ours: its place left out
    return [re.sub(r"input_value=.*, input_type=", "input_value=…, input_type=", line) if "..." in line else line
            for line in lines]


@pytest.mark.parametrize("name", ["liaocheng", PROFILES / "loose.toml", PROFILES / "strict.toml"])
def test_bundled_and_test_profiles_load_as_before(name):
    ours, theirs = load_profile(name), _Profile.model_validate(_data(name))
    assert _same(dataclasses.asdict(ours), theirs.model_dump())


GOOD = [
    ("epsg", "4549"), ("epsg", 4549.0), ("epsg", True), ("limits", {"max_entries": " 30 ", "max_ratio": 5}),
    ("limits", {"max_sheet_cells": "2000000.0", "budget_seconds": "nan"}), ("tolerances", {"area_cap": True}),
    ("area_class", {"二级": (1, "2.5")}), ("severity", {"PKG-005": "off"}), ("tolerated", {"codes": ("A",)}),
    ("tolerances", {"area_tiers": [{"up_to": "10", "share": 1}], "outline_snap": "1e-3"}),
]

BAD = [
    ("limits", {"max_entries": "many"}), ("limits", {"max_entries": 2.5}), ("limits", {"max_entries": None}),
    ("limits", {"max_entries": float("inf")}), ("limits", {"max_entries": "2.5"}), ("tolerances", {"area_cap": "x"}),
    ("tolerances", {"area_cap": [1]}), ("name", 1), ("title", True), ("severity", {"PKG-005": "fatal"}),
    ("severity", {"PKG-005": 1}), ("area_class", {"二级": [1]}), ("area_class", {"二级": [1, 2, 3]}),
    ("area_class", {"二级": "ab"}), ("boundary_class", {"二级": "a"}), ("boundary_class", [0.1]),
    ("tolerated", {"codes": "PKG-005"}), ("tolerated", {"codes": [5], "deadline_working_days": "x"}),
    ("area", 5), ("area", {"lon_min": 1}), ("counties", {"1": 2}), ("code_lists", {"x": {"a": 1}}),
    ("code_lists", {"x": 1}), ("tolerances", {"area_tiers": [{"up_to": 1}]}), ("tolerances", {"area_tiers": {}}),
    ("layers", []), ("limits", "big"), ("tolerances", 3),
]


@pytest.mark.parametrize(("key", "value"), GOOD)
def test_values_are_coerced_as_pydantic_did(key, value):
    data = _data()
    data[key] = value if not isinstance(value, dict) or key in ("area_class", "severity") else {**data.get(key, {}), **value}
    ours, theirs = Profile.model_validate(copy.deepcopy(data)), _Profile.model_validate(copy.deepcopy(data))
    assert _same(dataclasses.asdict(ours), theirs.model_dump())


@pytest.mark.parametrize(("key", "value"), BAD)
def test_errors_are_pydantic_s(key, value):
    data = _data()
    data[key] = value if not isinstance(value, dict) or key not in ("limits", "tolerances", "tolerated") else {**data[key], **value} if isinstance(data.get(key), dict) else value
    with pytest.raises(PydanticError) as theirs:
        _Profile.model_validate(copy.deepcopy(data))
    with pytest.raises(ProfileError) as ours:
        Profile.model_validate(copy.deepcopy(data))
    assert [(e["loc"], e["type"]) for e in theirs.value.errors()] == [(loc, kind) for loc, kind, _, _ in ours.value.errors]
    assert _message(ours.value) == _message(theirs.value)
    assert isinstance(ours.value, ValueError)  # the CLI says 无法读取城市配置 and exits 2


def test_many_errors_at_once_and_required_fields():
    data = _data()
    del data["area"], data["boundary_class"]
    data["limits"] = {"max_entries": "x", "max_ratio": "y"}
    with pytest.raises(PydanticError) as theirs:
        _Profile.model_validate(copy.deepcopy(data))
    with pytest.raises(ProfileError) as ours:
        Profile.model_validate(copy.deepcopy(data))
    assert _message(ours.value) == _message(theirs.value)
    assert _message(ours.value)[0] == "4 validation errors for Profile"


def test_direct_construction_is_checked_and_frozen():
    assert Limits(max_entries="7").max_entries == 7
    with pytest.raises(ProfileError, match="max_ratio"):
        Limits(max_ratio="lots")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Limits().max_entries = 3  # type: ignore[misc]
    prof = load_profile()
    looser = prof.model_copy(update={"tolerances": prof.tolerances.model_copy(update={"outline_snap": 0.005})})
    assert looser.tolerances.outline_snap == 0.005 and prof.tolerances.outline_snap == Tolerances().outline_snap
    deep = prof.model_copy(deep=True)
    deep.layers["JZD"] = "TK"
    assert prof.layer("JZD") == "JZD" and deep.layer("JZD") == "TK"


def test_a_bad_profile_file_is_refused_by_the_cli(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "liaocheng"\nname = "bad"\n[limits]\nmax_entries = "many"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "interfaces.launch", "check", str(tmp_path), "--profile", str(bad)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and "无法读取城市配置" in done.stderr and "limits.max_entries" in done.stderr
    assert "Traceback" not in done.stderr
