"""The Prefect flows: ``check_package`` (pre-check, 预检) and ``submit_package`` (store,
check, publish). Tasks are thin wrappers around the parser and schema functions, a
handful per package (never one per unit or rule): Prefect records ~35 task runs/s.

A firm's pre-check (`duoce check`) calls :func:`precheck` directly, with no Prefect server;
the flows call the very same functions.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.results import findings_document, write_findings
from flows.rule_split import split_runner
from parsers.package import read_package
from parsers.pool import Readers, read_workers, readers_for
from schemas.check import CheckResult, run_checks
from schemas.profile import Profile, load_profile

Progress = Callable[[str], None]


# ---------------------------------------------------------------- pure steps (no Prefect)


@contextlib.contextmanager
def workspace(parent: Path | None = None) -> Iterator[Path]:
    """A throw-away folder for extraction, removed afterwards whatever happens."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="duoce-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def precheck(
    source: Path,
    profile: Profile,
    workdir: Path,
    progress: Progress | None = None,
    workers: int | None = None,
    readers: Readers | None = None,
) -> CheckResult:
    """Read and check one package; the pure heart of every verb.

    ``workers``: extra processes (None: one per spare core, see
    :func:`parsers.pool.read_workers`; 0: all in this process). They read the drawings
    while the report is read; then one of them (a fork) shares the rest of the check
    (:mod:`flows.rule_split`). ``readers``: drawing readers started earlier by the caller
    (the CLI starts them before its imports).
    """
    extra = read_workers(workers)
    if readers is None:
        readers = readers_for(source, extra)  # they start while the package opens
    with few_collections():
        try:
            pkg = read_package(source, workdir, profile, progress, readers=readers, defer=True)
        finally:
            readers.close()
        if progress:
            progress("检查规则")
        return run_checks(pkg, profile, runner=split_runner(extra))


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None
GC_BATCH_THRESHOLD = 50_000


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector every 50 000 allocations instead of 700.

    A check builds ~400 000 container objects (frames, geometries, findings) that live until
    it ends; at the default threshold the collector re-scans them over and over for nothing:
    ~10 % of an L package's check time. Reference counting still frees everything at once;
    only cycles wait a little longer. Process-wide, so shared by concurrent checks: the first
    to enter raises the threshold, the last to leave restores it.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(GC_BATCH_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


# ---------------------------------------------------------------- Prefect tasks and flows
# Prefect is imported lazily so that `duoce check` starts fast and never needs a server.


def _prefect():
    import prefect

    return prefect


def _artifacts(result: CheckResult, key: str) -> None:
    """A markdown summary and a table of findings, visible in the Prefect UI."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    from flows.report_text import markdown_summary

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
    comparison: Any = None  # flows.revisions.Comparison against the previous revision


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
        from flows.store import Store

        return str(Store(Path(store_root)).put_raw(Path(source), sha256))

    @prefect.task(name="record-submission", retries=2, retry_delay_seconds=1, cache_policy=NO_CACHE)
    def record(store_root: str, result: CheckResult, submitted_at: str):
        from flows.store import Store

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
        from flows.products import builders
        from flows.store import Store

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
        from flows.store import Store
        from flows.store_files import package_sha256

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
                from flows.revisions import compare_with_previous

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
