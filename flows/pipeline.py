"""The Prefect flows: ``check_package`` (pre-check, 预检) and ``submit_package`` (store,
check, publish). Tasks are thin wrappers around the parser and schema functions, a
handful per package (never one per unit or rule): Prefect records ~35 task runs/s.

A firm's pre-check (`duoce check`) calls :func:`engine.precheck.precheck` directly, with
no Prefect server; the flows call the very same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.precheck import precheck, workspace
from outputs.results import findings_document, write_findings
from schemas.check import CheckResult
from schemas.profile import load_profile

# ---------------------------------------------------------------- Prefect tasks and flows
# Prefect is imported lazily so that `duoce check` starts fast and never needs a server.


def _prefect():
    import prefect

    return prefect


def _artifacts(result: CheckResult, key: str) -> None:
    """A markdown summary and a table of findings, visible in the Prefect UI."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from outputs.report_text import markdown_summary

    safe_key = "".join(ch if ch.isalnum() else "-" for ch in key.lower()).strip("-")[:60] or "package"
    create_markdown_artifact(markdown_summary(result), key=f"summary-{safe_key}", description="检查结果摘要")
    rows = [
        {"code": f.code, "severity": f.severity, "message": f.message, "sheet": f.object.sheet or "",
         "row": f.object.row or "", "file": f.object.file or "", "layer": f.object.layer or "", "handle": f.object.handle or ""}
        for f in result.findings[:5000]
    ]
    create_table_artifact(rows or [{"code": "", "message": "无问题"}], key=f"findings-{safe_key}", description="问题清单")


@dataclass
class SubmitOutcome:
    result: CheckResult
    document: dict[str, Any]
    revision: int | None
    is_new: bool
    published: dict[str, str]
    comparison: Any = None  # outputs.revisions.Comparison against the previous revision


def _check_task(source: str, profile_ref: str, workdir: str) -> CheckResult:
    return precheck(Path(source), load_profile(profile_ref), Path(workdir))


def _flows():
    """Build the flow objects once (lazily, so importing this module costs nothing)."""
    global check_package, submit_package
    if "check_package" in globals():
        return check_package, submit_package
    prefect = _prefect()
    from prefect.cache_policies import NO_CACHE

    # results hold GeoDataFrames: never hash them for a cache key
    read_and_check = prefect.task(name="read-and-check", cache_policy=NO_CACHE)(_check_task)

    @prefect.task(name="store-raw", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
    def store_raw(store_root: str, source: str, sha256: str) -> str:
        from storage.store import Store

        return str(Store(Path(store_root)).put_raw(Path(source), sha256))

    @prefect.task(name="record-submission", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
    def record(store_root: str, result: CheckResult, submitted_at: str):
        from storage.store import Store

        return Store(Path(store_root)).catalogue.record_submission(
            project_id=result.package.project_id,
            package_sha256=result.package.sha256,
            ruleset_version=result.ruleset_version,
            profile=result.profile.name,
            verdict=result.verdict.verdict,
            counts=result.counts,
            firm=result.tables.project.get("CHDW"),
            submitted_at=submitted_at,
        )

    @prefect.task(name="publish-products", retries=1, retry_delay_seconds=1, cache_policy=NO_CACHE)
    def publish(store_root: str, result: CheckResult, revision: int, raw: str, comparison) -> dict[str, str]:
        from outputs.products import builders
        from storage.store import Store

        store = Store(Path(store_root))
        out = {}
        for dep, build in builders(result, Path(raw), comparison).items():
            out[dep] = str(store.publish(dep, result.package.project_id, revision, build))
        return out

    @prefect.flow(name="check_package", log_prints=True)
    def check_package(source: str, profile: str = "liaocheng", json_path: str | None = None) -> dict:
        """Pre-check (预检): read and check a package, write findings.json; publish nothing."""
        with workspace() as wd:
            result = read_and_check(source, profile, str(wd))
            doc = write_findings(result, Path(json_path)) if json_path else findings_document(result)
            _artifacts(result, result.package.project_id or "unreadable")
        return doc

    @prefect.flow(name="submit_package", log_prints=True)
    def submit_package(source: str, store: str = "store", profile: str = "liaocheng", json_path: str | None = None) -> SubmitOutcome:
        """Submission: store the raw package once by sha256, check the stored copy, record
        the revision, publish every department's product atomically."""
        from storage.files import package_sha256
        from storage.store import Store

        vault = Store(Path(store))  # creates the layout
        vault.reconcile()  # finish or undo what a crashed submission left behind
        sha = package_sha256(Path(source))
        raw = store_raw(store, source, sha)
        with vault.workspace("extract") as wd:
            result = read_and_check(raw, profile, str(wd))
            result.package.sha256 = sha  # the stored key is the identity of record
            doc = findings_document(result)
            if json_path:
                write_findings(result, Path(json_path))
            revision, is_new, published, comparison = None, False, {}, None
            if result.package.project_id:
                from analysis.revisions import compare_with_previous

                sub = record(store, result, result.checked_at.isoformat(timespec="seconds"))
                revision, is_new = sub.revision, sub.is_new
                comparison = compare_with_previous(vault, result.package.project_id, revision, result.findings)
                published = publish(store, result, revision, raw, comparison)
            _artifacts(result, f"{result.package.project_id or 'unreadable'}-r{revision or 0}")
        return SubmitOutcome(result, doc, revision, is_new, published, comparison)

    globals()["check_package"], globals()["submit_package"] = check_package, submit_package
    return check_package, submit_package


def __getattr__(name: str):
    if name in ("check_package", "submit_package"):
        return dict(zip(("check_package", "submit_package"), _flows(), strict=True))[name]
    raise AttributeError(name)
