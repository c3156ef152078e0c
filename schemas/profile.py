"""City profiles: tolerances, layer names, code lists, severity overrides and 容缺 items.

A profile is a TOML file. ``load_profile("liaocheng")`` reads the bundled one; any path to a
``.toml`` file works too, and a profile may name a ``base`` profile whose values it
overrides (tables are merged key by key).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

PROFILES_DIR = Path(__file__).parent / "profiles"

Override = Literal["error", "warning", "info", "off"]


class Area(BaseModel):
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float


class Tier(BaseModel):
    up_to: float
    share: float


class Tolerances(BaseModel):
    zdmj_vs_coordinate_area: float = 0.1
    jzd_table_vs_drawing: float = 0.01
    zd_vertex_vs_points: float = 0.01
    parcel_overlap: float = 0.01
    jzd_label_radius: float = 2.0
    jzgd_over: float = 0.10
    area_cap: float = 500.0
    area_tiers: list[Tier] = Field(default_factory=list)
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
    unit_area_sum: float = 0.01  # PRP-001
    apportion_coefficient: float = 1e-6  # PRP-002
    apportion_area: float = 0.01  # PRP-003
    building_sum_per_unit: float = 0.005  # PRP-004/005: per unit …
    building_sum_base: float = 0.01  # … plus this
    unit_overlap: float = 0.01  # PRP-008 m²
    outline_snap: float = 0.001  # DXF-009 m: ends of outline pieces this close meet


class Limits(BaseModel):
    """What one package may hold (PKG-007 and the findings named per field), and the
    budgets a check of any package within these limits keeps on a 2-core machine
    (``budget_*``: stated here, asserted by tests/corpus, measured by
    benchmarks/bench_budgets.py)."""

    max_total_bytes: int = 2_000_000_000  # PKG-007: all files together, unpacked
    max_entries: int = 20_000  # PKG-007: files in the package (and in report.xlsx)
    max_ratio: float = 200.0  # PKG-007: compression ratio
    max_member_bytes: int = 1_000_000_000  # PKG-007: one file, unpacked
    max_sheet_cells: int = 4_000_000  # PKG-008: the rectangle calamine allocates for a sheet
    max_entities: int = 1_000_000  # drawing entities of one DXF (enforced by the DXF reader)
    max_vertices: int = 4_000_000  # polyline vertices of one DXF (enforced by the DXF reader)
    max_label_chars: int = 1_000  # DXF-015: a drawing label (TEXT / MTEXT / attribute) longer is refused
    max_path_bytes: int = 1_000  # PKG-006: a path in the package, UTF-8 bytes (the store adds its own)
    max_name_bytes: int = 255  # PKG-006: one file or folder name (bytes of UTF-8, NAME_MAX)
    max_findings_per_code: int = 200  # beyond, one summary finding says how many more
    budget_memory_bytes: int = 2_000_000_000  # address space a check stays within (RLIMIT_AS)
    budget_seconds: float = 600.0  # wall time a check of a package at the limits stays within


class Tolerated(BaseModel):
    codes: list[str] = Field(default_factory=list)
    deadline_working_days: int = 5


class Profile(BaseModel):
    name: str
    title: str = ""
    epsg: int = 4548
    area: Area
    counties: dict[str, str] = Field(default_factory=dict)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    area_class: dict[str, tuple[float, float]]
    boundary_class: dict[str, float]
    limits: Limits = Field(default_factory=Limits)
    layers: dict[str, str] = Field(default_factory=dict)
    code_lists: dict[str, dict[str, str]] = Field(default_factory=dict)
    severity: dict[str, Override] = Field(default_factory=dict)
    tolerated: Tolerated = Field(default_factory=Tolerated)

    def layer(self, standard: str) -> str:
        """The layer name this city uses for a standard layer (YDHX, FC_H …)."""
        return self.layers.get(standard, standard)

    def area_limit(self, area: float, grade: str | None) -> float:
        """GB/T 17986.1 area limit for an area ``area`` at precision class ``grade``."""
        a, b = self.area_class.get(grade or "二级", self.area_class["二级"])
        s = max(float(area), 0.0)
        return a * math.sqrt(s) + b * s

    def boundary_limit(self, grade: str | None) -> float:
        return self.boundary_class.get(grade or "二级", self.boundary_class["二级"])

    def area_tier_tolerance(self, permitted: float) -> float:
        """PLN-002: how far JRMJ / ZJZMJ may exceed a permitted value."""
        share = next(
            (t.share for t in self.tolerances.area_tiers if permitted <= t.up_to),
            self.tolerances.area_tiers[-1].share if self.tolerances.area_tiers else 0.0,
        )
        return min(permitted * share, self.tolerances.area_cap)


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read(name_or_path: str | Path) -> dict:
    p = Path(name_or_path)
    if p.suffix != ".toml":
        p = PROFILES_DIR / f"{name_or_path}.toml"
    data = tomllib.loads(p.read_text(encoding="utf-8"))
    base = data.pop("base", None)
    return _merge(_read(base), data) if base else data


def load_profile(name_or_path: str | Path = "liaocheng") -> Profile:
    """Load a bundled profile by name or a profile file by path."""
    data = _read(name_or_path)
    data["counties"] = {str(k): v for k, v in data.get("counties", {}).items()}
    return Profile.model_validate(data)
