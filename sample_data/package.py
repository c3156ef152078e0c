"""Assemble a package from the model: render every file in memory, add manifest.json, and
write the lot as a directory or a zip (one top folder ``<project_id>/``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from sample_data.drawings import check_options, floor_plan_dxf, parcel_dxf, site_dxf
from sample_data.model import ProjectModel
from sample_data.report_writers import csv_files, pinned_zipinfo, xlsx_bytes
from sample_data.tables import report_tables

MANIFEST = "manifest.json"


def render_files(
    model: ProjectModel,
    *,
    report_format: str = "xlsx",
    dxf_version: str = "R2010",
    dxf_encoding: str | None = None,
    autocad: bool = False,
) -> dict[str, bytes]:
    """Every file of the package but the manifest: package-relative path → bytes."""
    if report_format not in ("xlsx", "csv"):
        raise ValueError(f"report_format must be 'xlsx' or 'csv', not {report_format!r}")
    encoding = check_options(dxf_version, dxf_encoding, autocad)
    tables = report_tables(model)
    files: dict[str, bytes] = {}
    if report_format == "xlsx":
        files["report.xlsx"] = xlsx_bytes(tables, model.created, model.survey_org)
    else:
        files.update(csv_files(tables))
    files["drawings/site.dxf"] = site_dxf(model, dxf_version, encoding, autocad)
    files["drawings/parcel.dxf"] = parcel_dxf(model, dxf_version, encoding, autocad)
    for b in model.buildings:
        files[f"drawings/floors/{b.plan_name}.dxf"] = floor_plan_dxf(model, b, dxf_version, encoding, autocad)
    return files


def manifest_bytes(model: ProjectModel, files: dict[str, bytes]) -> bytes:
    """manifest.json listing every file with its sha256, paths sorted."""
    manifest = {
        "spec_version": model.spec_version,
        "project_id": model.project_id,
        "survey_org": model.survey_org,
        "created": model.created.isoformat(),
        "files": [
            {"path": path, "sha256": hashlib.sha256(files[path]).hexdigest()}
            for path in sorted(files)
        ],
    }
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write(
    model: ProjectModel,
    out: Path,
    *,
    report_format: str,
    as_zip: bool,
    dxf_version: str,
    dxf_encoding: str | None,
    before_manifest: Callable[[dict[str, bytes]], None] | None = None,
    after_manifest: Callable[[dict[str, bytes]], None] | None = None,
    autocad: bool = False,
) -> Path:
    """Write the package under ``out``; see :func:`sample_data.generator.write_package`.

    The hooks (for seeding defects) may change the rendered files in place before the
    manifest is computed, and after (to break the manifest itself).
    """
    files = render_files(
        model, report_format=report_format, dxf_version=dxf_version, dxf_encoding=dxf_encoding,
        autocad=autocad,
    )
    if before_manifest:
        before_manifest(files)
    files[MANIFEST] = manifest_bytes(model, files)
    if after_manifest:
        after_manifest(files)
    out.mkdir(parents=True, exist_ok=True)
    if as_zip:
        target = out / f"{model.project_id}.zip"
        fd, tmp = tempfile.mkstemp(prefix=f".{model.project_id}.", suffix=".zip", dir=out)
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(files):
                zf.writestr(pinned_zipinfo(f"{model.project_id}/{path}", model.created), files[path])
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, target)
        return target
    target = out / model.project_id
    staging = Path(tempfile.mkdtemp(prefix=f".{model.project_id}.", dir=out))
    staging.chmod(0o755)  # mkdtemp makes it private
    try:
        for path in sorted(files):
            dest = staging / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(files[path])
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target
