"""What happens to a package: the pre-check (``check_package``, 预检) and the submission
(``submit_package``, 提交), as Prefect flows.

Read this file top to bottom: first the two flows, step by step, then the tasks they are
made of (one per coarse step, each a thin call into ``engine``, ``storage``, ``analysis``
or ``outputs``), then what the Prefect UI shows of a check (its artifacts). Only the steps
that touch the store retry, and only when the disk or the catalogue failed (never on a
bug: a second try of a bug is the same bug).

A firm's own pre-check (``duoce check``) does not come through here: it calls
:func:`engine.precheck.precheck` directly, without Prefect; these flows call the very same
function. Deployments (``python -m flows.deploy``, ``prefect.yaml``) name them
``flows/pipeline.py:check_package`` and ``flows/pipeline.py:submit_package``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from analysis.revisions import compare_with_previous
from engine.precheck import precheck, workspace
from outputs.products import builders
from outputs.report_text import markdown_summary
from outputs.results import findings_document, write_findings
from outputs.revisions import Comparison
from schemas.check import CheckResult
from schemas.profile import load_profile
from storage.catalogue import Submission
from storage.files import package_sha256
from storage.store import Store

# ------------------------------------------------------------------------------ the flows


@flow(name="check_package", log_prints=True)
def check_package(source: str, profile: str = "liaocheng", json_path: str | None = None) -> dict:
    """Pre-check (预检): read and check a package, write findings.json; publish nothing.

    Parameters
    ----------
    source
        The package: a folder or a .zip.
    profile
        A bundled city profile's name or the path of a .toml profile.
    json_path
        Where to write findings.json (nothing is written when None).

    Returns
    -------
    dict
        The findings document (findings.json's content).
    """
    with workspace() as work:
        result = read_and_check(source, profile, str(work))
        document = write_findings(result, Path(json_path)) if json_path else findings_document(result)
    show_check(result, result.package.project_id or "unreadable")
    return document


@dataclass
class SubmitOutcome:
    """What a submission did: the check, its revision and where each product went."""

    result: CheckResult
    document: dict[str, Any]  # findings.json's content
    revision: int | None  # None: no usable project id, so nothing recorded or published
    is_new: bool  # False: the very same package was submitted before (nothing changed)
    published: dict[str, str]  # department → its product folder
    comparison: Comparison | None = None  # against the previous revision


@flow(name="submit_package", log_prints=True)
def submit_package(
    source: str, store: str = "store", profile: str = "liaocheng", json_path: str | None = None
) -> SubmitOutcome:
    """Submission (提交): store, check, record, compare, publish.

    1. Keep the raw package once in the store, named by its sha256 (a resubmission
       copies nothing).
    2. Read and check the stored copy, never the upload.
    3. Record the revision in the catalogue (the same package again is the same
       revision: nothing after this changes).
    4. Compare its findings with the previous revision's (fixed / new / open).
    5. Build every department's product and publish each whole or not at all.

    A package without a usable project id is stored and checked (its findings say why),
    but neither recorded nor published.

    Parameters
    ----------
    source
        The package: a folder or a .zip.
    store
        The store's folder (created on first use).
    profile
        A bundled city profile's name or the path of a .toml profile.
    json_path
        Where to write findings.json as well (nothing is written when None).
    """
    raw, sha256 = store_raw(store, source)
    with Store(Path(store)).workspace("extract") as work:
        result = read_and_check(raw, profile, str(work))
        result.package.sha256 = sha256  # the stored key is the identity of record
        document = findings_document(result)
        if json_path:
            write_findings(result, Path(json_path))
        revision, is_new, published, comparison = None, False, {}, None
        if result.package.project_id:
            submission = record_revision(store, result)
            revision, is_new = submission.revision, submission.is_new
            comparison = compare_revisions(store, result, revision)
            published = publish_products(store, result, revision, raw, comparison)
        show_check(result, f"{result.package.project_id or 'unreadable'}-r{revision or 0}")
    return SubmitOutcome(result, document, revision, is_new, published, comparison)


# ------------------------------------------------------------------------------ the tasks


def on_io_error(_task, _task_run, state) -> bool:
    """Retry a step that touches the store when the disk or the catalogue failed (full,
    locked, gone), never on a bug (Prefect's ``retry_condition_fn``)."""
    error = state.result(raise_on_failure=False)  # the task's exception, however it is kept
    return isinstance(error, OSError | sqlite3.OperationalError)


# A check result holds GeoDataFrames: no task hashes its inputs for a cache key.
IO_RETRIES: dict[str, Any] = {
    "retries": 2,
    "retry_delay_seconds": 1,
    "retry_condition_fn": on_io_error,
    "cache_policy": NO_CACHE,
}


@task(name="store-raw", **IO_RETRIES)
def store_raw(store: str, source: str) -> tuple[str, str]:
    """Step 1: the stored copy of ``source`` and its sha256.

    The store is first made to agree with itself (what a crashed submission left behind
    is finished or undone), then the package is copied in unless it is already there.
    """
    vault = Store(Path(store))  # creates the layout on first use
    vault.reconcile()
    sha256 = package_sha256(Path(source))
    return str(vault.put_raw(Path(source), sha256)), sha256


@task(name="read-and-check", cache_policy=NO_CACHE)
def read_and_check(source: str, profile: str, workdir: str) -> CheckResult:
    """Step 2: read the package (extracting into ``workdir``) and check it."""
    return precheck(Path(source), load_profile(profile), Path(workdir))


@task(name="record-revision", **IO_RETRIES)
def record_revision(store: str, result: CheckResult) -> Submission:
    """Step 3: the catalogue row of this check (a new revision, or the one it repeats)."""
    return Store(Path(store)).catalogue.record_submission(
        project_id=result.package.project_id,
        package_sha256=result.package.sha256,
        ruleset_version=result.ruleset_version,
        profile=result.profile.name,
        verdict=result.verdict.verdict,
        counts=result.counts,
        firm=result.tables.project.get("CHDW"),
        submitted_at=result.checked_at.isoformat(timespec="seconds"),
    )


@task(name="compare-with-previous", **IO_RETRIES)
def compare_revisions(store: str, result: CheckResult, revision: int) -> Comparison:
    """Step 4: this revision's findings against the archived ones of the one before."""
    return compare_with_previous(Store(Path(store)), result.package.project_id, revision, result.findings)


@task(name="publish-products", **IO_RETRIES)
def publish_products(
    store: str, result: CheckResult, revision: int, raw: str, comparison: Comparison
) -> dict[str, str]:
    """Step 5: each department's product, built in the store's tmp/ and renamed in whole."""
    vault = Store(Path(store))
    return {
        department: str(vault.publish(department, result.package.project_id, revision, build))
        for department, build in builders(result, Path(raw), comparison).items()
    }


# ---------------------------------------------------------------- what the Prefect UI shows


def show_check(result: CheckResult, key: str) -> None:
    """Two artifacts of the flow run: a markdown summary and the table of findings."""
    safe = "".join(ch if ch.isalnum() else "-" for ch in key.lower()).strip("-")[:60] or "package"
    create_markdown_artifact(markdown_summary(result), key=f"summary-{safe}", description="检查结果摘要")
    rows = [
        {
            "code": f.code,
            "severity": f.severity,
            "message": f.message,
            "sheet": f.object.sheet or "",
            "row": f.object.row or "",
            "file": f.object.file or "",
            "layer": f.object.layer or "",
            "handle": f.object.handle or "",
        }
        for f in result.findings[:5000]
    ]
    create_table_artifact(rows or [{"code": "", "message": "无问题"}], key=f"findings-{safe}", description="问题清单")
