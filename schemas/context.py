"""What every rule reads: the typed tables, the geometry model, the zone and the profile."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.crs import Zone
from schemas.drawings import Geometry
from schemas.package import Package
from schemas.profile import Profile
from schemas.tables import Tables


@dataclass
class Context:
    package: Package
    tables: Tables
    geometry: Geometry
    zone: Zone
    profile: Profile

    @property
    def fcmjjd(self) -> str:
        """房产面积精度等级 (default 二级)."""
        return self.tables.project.get("FCMJJD") or "二级"

    @property
    def jzdjd(self) -> str:
        """界址点精度等级 (default 二级)."""
        return self.tables.project.get("JZDJD") or "二级"
