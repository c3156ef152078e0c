"""Envelope checks that need the report: PKG-010 (manifest project_id vs 项目信息 XMBH)."""

from __future__ import annotations

from schemas.catalogue import make
from schemas.findings import Finding, Place
from schemas.package import Package
from schemas.tables import Tables


def check_envelope(pkg: Package, tables: Tables) -> list[Finding]:
    out: list[Finding] = []
    manifest_id = (pkg.manifest or {}).get("project_id")
    xmbh = tables.project.get("XMBH")
    if isinstance(manifest_id, str) and xmbh and manifest_id.strip() != str(xmbh).strip():
        out.append(
            make(
                "PKG-010",
                Place(sheet="项目信息", row=tables.project_rows.get("XMBH"), key="XMBH", field="XMBH", file="manifest.json"),
                expected=manifest_id,
                actual=str(xmbh),
            )
        )
    return out
