"""findings.json: the machine-readable check result of results.md, kept stable."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from schemas.check import CheckResult

SPEC_VERSION = "1"


def findings_document(result: CheckResult) -> dict[str, Any]:
    v = result.verdict
    doc: dict[str, Any] = {
        "spec_version": SPEC_VERSION,
        "project_id": result.package.project_id,
        "package_sha256": result.package.sha256,
        "ruleset_version": result.ruleset_version,
        "profile": result.profile.name,
        "checked_at": result.checked_at.isoformat(timespec="seconds"),
        "verdict": v.verdict,
    }
    if v.verdict == "accepted_with_deficiencies" and v.deadline is not None:
        doc["deadline"] = v.deadline.isoformat()
        doc["deadline_basis"] = v.deadline_basis
        doc["tolerated"] = list(v.tolerated)
    elif v.tolerable:
        doc["tolerable"] = list(v.tolerable)  # 容缺 items of a rejected package
    doc["crs"] = f"EPSG:{result.zone.epsg}"
    doc["counts"] = result.counts
    doc["findings"] = [_finding(f, v.is_tolerated(f)) for f in result.findings]
    return doc


def _finding(f, tolerated: bool) -> dict[str, Any]:
    """A finding's record; a 容缺 item says so (``"tolerated": true``; absent otherwise)."""
    out = f.as_dict()
    if tolerated:
        out["tolerated"] = True
    return out


def write_atomic(path: Path, data: bytes) -> None:
    """Write aside, then rename: a reader sees the old file or the new one, never a half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def write_findings(result: CheckResult, path: Path) -> dict[str, Any]:
    doc = findings_document(result)
    write_atomic(path, dumps(doc))
    return doc
