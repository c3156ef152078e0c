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

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.runtime import flow_run

from analysis.revisions import compare_with_previous
from engine.precheck import precheck, workspace
from outputs.products import Provenance, builders
from outputs.report_text import markdown_summary
from outputs.results import findings_document, write_findings
from outputs.revisions import Comparison
from schemas.check import CheckResult
from schemas.profile import load_profile
from storage.catalogue import Submission, operational_errors
from storage.files import ascii_key, package_sha256
from storage.store import Store

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------ the flows


@flow(name="check_package", log_prints=True)
def check_package(
    source: str,
    profile: str = "liaocheng",
    json_path: str | None = None,
    html_path: str | None = None,
) -> dict:
    """Pre-check (预检): read and check a package, write findings.json; publish nothing.

    Parameters
    ----------
    source
        The package: a folder or a .zip.
    profile
        A bundled city profile's name or the path of a .toml profile.
    json_path
        Where to write findings.json (nothing is written when None).
    html_path
        Where to write the firm's HTML report (nothing is written when None).

    Returns
    -------
    dict
        The findings document (findings.json's content).
    """
    with workspace() as work:
        result = read_and_check(source, profile, str(work))
        document = write_findings(result, Path(json_path)) if json_path else findings_document(result)
        if html_path:
            from outputs.html_report import write_html

            write_html(result, Path(html_path))
    show_check(result, result.package.project_id or "unreadable")
    label_run(result, "预检")
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
    completed: list[str] = field(default_factory=list)  # missing products published now
    repaired: list[str] = field(default_factory=list)  # lost or damaged ones restored as they were
    failed: dict[str, str] = field(default_factory=dict)  # department → why it is not published

    def summary_lines(self) -> list[str]:
        """What the submission did to the revision, in Chinese (for the command line)."""
        if self.revision is None:
            return ["未记录版本：项目编号无法读取，未发布任何成果"]
        if self.is_new:
            state = "新版本"
        elif self.completed or self.repaired:
            state = "与已有版本相同"
        else:
            state = "与已有版本相同，未改变任何已发布成果"
        lines = [f"版本 r{self.revision}（{state}）"]
        if self.completed:
            lines.append(f"补发了此版本缺少的成果：{'、'.join(self.completed)}")
        if self.repaired:
            lines.append(f"按原样重建了丢失或损坏的成果：{'、'.join(self.repaired)}")
        for department, why in self.failed.items():
            lines.append(f"{department} 成果未发布：{why}（此版本不完整，可再次提交以补发）")
        return lines


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
        outcome = SubmitOutcome(result, document, None, False, {})
        if result.package.project_id:
            submission = record_revision(store, result)
            outcome.revision, outcome.is_new = submission.revision, submission.is_new
            if not submission.is_new:  # the revision's products are rebuilt as first made
                result.checked_at = first_checked_at(store, result, submission.revision)
                outcome.document = findings_document(result)
            outcome.comparison = compare_revisions(store, result, submission.revision)
            done = publish_products(store, result, submission.revision, raw, outcome.comparison)
            outcome.published, outcome.failed = done["published"], done["failed"]
            if not submission.is_new:
                outcome.completed, outcome.repaired = done["new"], done["repaired"]
        show_check(result, result.package.project_id or "unreadable", outcome.revision)
        label_run(result, "提交", outcome.revision)
    return outcome


# ------------------------------------------------------------------------------ the tasks


def on_io_error(_task, _task_run, state) -> bool:
    """Retry a step that touches the store when the disk or the catalogue failed (full,
    locked, gone), never on a bug (Prefect's ``retry_condition_fn``)."""
    error = state.result(raise_on_failure=False)  # the task's exception, however it is kept
    return isinstance(error, (OSError, *operational_errors()))


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
    return Store(Path(store)).record_submission(
        project_id=result.package.project_id,
        package_sha256=result.package.sha256,
        ruleset_version=result.ruleset_version,
        profile=result.profile.name,
        verdict=result.verdict.verdict,
        counts=result.counts,
        firm=result.tables.project.get("CHDW"),
        submitted_at=result.checked_at.isoformat(timespec="seconds"),
    )


def first_checked_at(store: str, result: CheckResult, revision: int) -> datetime:
    """The check time recorded for a revision (its products carry it), else the result's."""
    row = Store(Path(store)).catalogue.revision(result.package.project_id, revision)
    try:
        return datetime.fromisoformat(row.submitted_at) if row else result.checked_at
    except ValueError:
        return result.checked_at


@task(name="compare-with-previous", **IO_RETRIES)
def compare_revisions(store: str, result: CheckResult, revision: int) -> Comparison:
    """Step 4: this revision's findings against the archived ones of the one before."""
    return compare_with_previous(Store(Path(store)), result.package.project_id, revision, result.findings)


@task(name="publish-products", **IO_RETRIES)
def publish_products(
    store: str, result: CheckResult, revision: int, raw: str, comparison: Comparison
) -> dict[str, Any]:
    """Step 5: each department's product, built in the store's tmp/ and renamed in whole.

    The departments due are recorded first (until each is published the revision is
    incomplete, and verify-store says so). Each is published on its own: one that fails
    is recorded with its reason and the others still go. A failure of the disk or the
    catalogue is raised after the others (the step is retried; what is published stays);
    any other failure is returned in ``failed``. A product already published is checked
    against its record and restored only if a rebuild gives the very same bytes.

    With a PostgreSQL catalogue (``DUOCE_DATABASE_URL``) each published product's
    GeoPackage layers are also copied into the department's PostGIS schema, in a
    transaction of their own (:class:`storage.postgis.PostgisProducts`); the files stay
    the archive's record. A copy that fails is a failure of the department as above (a
    resubmission or a retry copies it again: the same rows replace its own).

    Returns
    -------
    dict
        ``published`` (department → folder), ``new`` and ``repaired`` (departments
        published or restored now), ``failed`` (department → reason), ``postgis``
        (department → rows copied per table; empty without a database URL).
    """
    vault = Store(Path(store))
    postgis = _postgis(vault.database_url)
    project_id = result.package.project_id
    provenance = Provenance(
        project=project_id,
        revision=revision,
        sha256=result.package.sha256,
        ruleset=result.ruleset_version,
        profile=result.profile.name,
        created=result.checked_at,
    )
    due = builders(result, Path(raw), comparison, provenance)
    vault.expect_products(project_id, revision, list(due))
    published: dict[str, str] = {}
    actions: dict[str, str] = {}
    failed: dict[str, str] = {}
    copied: dict[str, dict[str, int]] = {}
    io_error: BaseException | None = None
    try:
        for department, build in due.items():
            step = "publishing"
            try:
                done = vault.publish_product(department, project_id, revision, build, verify=True)
                published[department] = str(done.path)
                actions[department] = done.action
                if postgis is not None:
                    step = "copying to PostGIS"
                    copied[department] = postgis.publish_folder(department, project_id, revision, done.path)
            except Exception as exc:  # recorded, and said; the other departments still go
                reason = f"{type(exc).__name__}: {exc}"
                if step != "publishing":
                    reason = f"PostGIS: {reason}"
                log.error("%s %s of %s r%d failed: %s", step, department, project_id, revision, reason)
                vault.record_failure(project_id, revision, department, reason)
                failed[department] = reason
                if isinstance(exc, (OSError, *operational_errors())) and io_error is None:
                    io_error = exc
    finally:
        if postgis is not None:
            postgis.close()
    if io_error is not None:
        raise io_error
    return {
        "published": published,
        "new": [d for d, a in actions.items() if a in ("new", "adopted")],
        "repaired": [d for d, a in actions.items() if a == "repaired"],
        "failed": failed,
        "postgis": copied,
    }


def _postgis(database_url: str | None) -> Any:
    """The PostGIS copy of the products for a PostgreSQL URL, else None (SQLite or no URL:
    the GeoPackage files only)."""
    if not database_url or not database_url.startswith("postgresql"):
        return None
    from storage.postgis import PostgisProducts  # pandas, pyogrio: only when used

    return PostgisProducts(database_url)


# ---------------------------------------------------------------- what the Prefect UI shows


def show_check(result: CheckResult, project: str, revision: int | None = None) -> None:
    """Two artifacts of the flow run: a markdown summary and the table of findings.

    An artifact key may hold only ``[a-z0-9-]``: it is derived from the project id
    (:func:`storage.files.ascii_key`: a Chinese id keeps its ASCII part and a hash)."""
    safe = ascii_key(project) + (f"-r{revision}" if revision else "")
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


def label_run(result: CheckResult, step: str, revision: int | None = None) -> None:
    """Name the flow run after the project (and revision) and tag it with the project,
    the firm and the verdict, so that runs can be found by them in the Prefect UI."""
    run_id = flow_run.get_id()
    if run_id is None:  # not inside a flow run
        return
    project = result.package.project_id or "无项目编号"
    firm = result.tables.project.get("CHDW") if result.tables is not None else None
    name = f"{step}-{project}" + (f"-r{revision}" if revision else "")
    tags = {f"项目:{project}", f"结论:{result.verdict.verdict}", f"verdict:{result.verdict.verdict}"}
    if firm:
        tags.add(f"测绘单位:{firm}")
    if revision:
        tags.add(f"版本:r{revision}")
    try:
        with get_client(sync_client=True) as client:
            current = set(client.read_flow_run(run_id).tags or [])
            client.update_flow_run(run_id, name=name[:200], tags=sorted(current | tags))
    except Exception as exc:  # a label is a convenience: never fail a check for it
        log.warning("cannot name or tag flow run %s: %s", run_id, exc)
