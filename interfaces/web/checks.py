"""Pre-checks of uploaded packages, off the request: a pool of check processes (or threads).

The request that received a package records it (state ``queued``) and hands its id to
:class:`Checker`; :func:`run_check` then runs in a check process: ``engine.precheck`` in a
store workspace, the firm's HTML report (``outputs.html_report``, the very writer of
``duoce check --html``) and findings.json written beside the package, the verdict recorded.
A failure of ours becomes state ``failed`` with the reason kept for the log, never a
traceback on a page. The Prefect worker replaces this pool in the next step of issue 12.

This module imports nothing of FastAPI: a check process imports only what the check needs.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from storage.accounts import Accounts

log = logging.getLogger(__name__)

PACKAGE_NAME = "package.zip"
REPORT_NAME = "report.html"
FINDINGS_NAME = "findings.json"
OVERLAY_NAME = "overlay.dxf"


def upload_dir(web_dir: Path, org_id: str, upload_id: str) -> Path:
    """Where an upload's package, report and findings live."""
    return web_dir / "uploads" / org_id / upload_id


def run_check(db_url: str, store_root: str, profile_ref: str, upload_id: str, folder: str) -> str:
    """Check the package in ``folder``; write its report and findings there; record the
    verdict. Returns the final state (``done`` or ``failed``)."""
    from engine.precheck import precheck
    from outputs.html_report import write_html
    from outputs.results import write_findings
    from schemas.profile import load_profile
    from storage.store import Store

    accounts = Accounts(db_url)
    try:
        accounts.set_upload_state(upload_id, "checking")
        here = Path(folder)
        profile = load_profile(profile_ref)
        with Store(store_root).workspace("precheck") as wd:
            result = precheck(here / PACKAGE_NAME, profile, wd)
        write_findings(result, here / FINDINGS_NAME)
        write_html(result, here / REPORT_NAME)
        _write_overlay(result, here / OVERLAY_NAME)
        accounts.set_upload_state(
            upload_id,
            "done",
            verdict=result.verdict.verdict,
            counts=dict(result.counts),
            project_id=result.package.project_id,
        )
        return "done"
    except Exception:  # ours, not the firm's: kept for the log, the page says 内部错误
        log.exception("pre-check of upload %s failed", upload_id)
        accounts.set_upload_state(upload_id, "failed", error=traceback.format_exc(limit=5))
        return "failed"
    finally:
        accounts.dispose()


def _write_overlay(result, path: Path) -> None:
    """The DXF overlay of the findings (one file; a package of several plans gets the
    first plan's, the others are in the report)."""
    from outputs.overlay import write_overlay

    try:
        written = write_overlay(result, path)
    except Exception:  # the overlay is a convenience: the report and findings stand alone
        log.exception("overlay of %s not written", path.parent.name)
        return
    if written and written[0] != path:
        written[0].replace(path)


def record_precheck(accounts: Accounts, upload_id: str, findings: Path) -> str:
    """Record the verdict of a pre-check whose findings.json is at ``findings``."""
    import json

    doc = json.loads(findings.read_text(encoding="utf-8"))
    accounts.set_upload_state(
        upload_id,
        "done",
        verdict=doc["verdict"],
        counts=dict(doc.get("counts") or {}),
        project_id=doc.get("project_id"),
    )
    return "done"


def submitted_revision(store_root: str, project_id: str, sha256: str):
    """The catalogue's revision of ``project_id`` whose package is ``sha256``, or None."""
    from storage.store import Store

    for rev in Store(store_root).revisions(project_id):
        if rev.package_sha256 == sha256:
            return rev
    return None


def run_submit(
    db_url: str,
    store_root: str,
    profile_ref: str,
    run_id: str,
    package: str,
    sha256: str,
    project_id: str,
) -> str:
    """Submit a package without a Prefect server of the service's own: the
    ``submit_package`` flow called here (Prefect runs it on a temporary server)."""
    from flows.pipeline import submit_package

    def submit() -> dict[str, Any]:
        outcome = submit_package(package, store=store_root, profile=profile_ref)
        return {"revision": outcome.revision, "verdict": outcome.result.verdict.verdict}

    return _tracked_run(db_url, run_id, "submission run", submit)


def run_rerun(db_url: str, store_root: str, profile_ref: str, run_id: str, out: str) -> str:
    """An analyst's rerun of the archive (:func:`analysis.rerun.rerun`), its rows written
    as JSON to ``out``."""
    import json

    from analysis.rerun import rerun
    from schemas.profile import load_profile
    from storage.store import Store

    def run() -> dict[str, Any]:
        rows = rerun(Store(store_root), load_profile(profile_ref), include_unchanged=True)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(
            json.dumps([r.as_dict() for r in rows], ensure_ascii=False), encoding="utf-8"
        )
        changed = sum(r.changed for r in rows)
        return {"detail": f"重查 {len(rows)} 个版本，结论变化 {changed} 个"}

    return _tracked_run(db_url, run_id, "rerun", run)


def _tracked_run(db_url: str, run_id: str, label: str, work: Callable[[], dict[str, Any]]) -> str:
    """Do ``work`` as the service's run ``run_id``: state ``checking``, then ``done`` with
    what ``work`` returns (keywords of :meth:`Accounts.set_run`), or ``failed`` with the
    traceback kept for the log. Returns the final state."""
    accounts = Accounts(db_url)
    try:
        accounts.set_run(run_id, "checking")
        accounts.set_run(run_id, "done", **work())
        return "done"
    except Exception:
        log.exception("%s %s failed", label, run_id)
        accounts.set_run(run_id, "failed", detail=traceback.format_exc(limit=5))
        return "failed"
    finally:
        accounts.dispose()


class Checker:
    """Runs :func:`run_check` off the web process's event loop."""

    def __init__(
        self,
        db_url: str,
        store_root: Path,
        profile_ref: str,
        web_dir: Path,
        workers: int = 1,
        mode: str = "process",
    ) -> None:
        self.db_url = db_url
        self.store_root = str(store_root)
        self.profile_ref = profile_ref
        self.web_dir = web_dir
        self.workers = max(1, workers)
        self.mode = mode
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            if self.mode == "thread":
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="duoce-check")
            else:  # spawn: never fork a process that runs an event loop and threads
                ctx = multiprocessing.get_context("spawn")
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_exit_on_sigterm
                )
        return self._executor

    def submit(self, org_id: str, upload_id: str) -> Future:
        folder = upload_dir(self.web_dir, org_id, upload_id)
        return self._pool().submit(
            run_check, self.db_url, self.store_root, self.profile_ref, upload_id, str(folder)
        )

    def call(self, fn, *args) -> Future:
        """Run ``fn(*args)`` (a module-level function of this module) in the pool."""
        return self._pool().submit(fn, *args)

    def shutdown(self, grace: float = 10.0) -> None:
        """Cancel what has not started and end the pool's processes: each is asked to stop
        (SIGTERM, which it turns into a normal exit, so that a temporary Prefect server a
        submission started in it is stopped too) and killed after ``grace`` seconds. A pool
        left to wind down by itself outlived the service (seen: an idle process and its
        Prefect server orphaned after the web process ended)."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for proc in processes:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + grace
        for proc in processes:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join(1.0)


def _exit_on_sigterm() -> None:
    """Pool process initializer: SIGTERM ends the process as ``sys.exit`` does (atexit
    handlers run: Prefect stops the temporary server it started for a flow run here)."""

    def stop(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)


def run_joint_opinion(store_root: str, profile_ref: str, case_id: str) -> str:
    """The combined opinion (联合验收意见书) of a concluded case, rendered from the case and
    its revision's stored package checked again, written into the case's folder (the
    firm's copy) and annexed to each asked department's product and the archive's."""
    from analysis.casework import opinion_departments
    from cases.profile import load_case_rules
    from engine.precheck import precheck
    from outputs.joint_opinion import DOCUMENT_NAME, render_joint_opinion
    from schemas.profile import load_profile
    from storage.case_log import CaseLog, write_case_document
    from storage.store import AnnexDiffers, Store

    try:
        case = CaseLog.in_store(store_root).case(case_id)
        vault = Store(store_root)
        raw = vault.raw_path(case.package_sha256) if case is not None else None
        if case is None or raw is None:
            log.error("joint opinion of %s: no case or no stored package", case_id)
            return "failed"
        with vault.workspace("joint") as work:
            result = precheck(raw, load_profile(profile_ref), work)
            result.package.sha256 = case.package_sha256
            html = render_joint_opinion(case, load_case_rules(profile_ref), result)
        data = html.encode("utf-8")
        write_case_document(store_root, case_id, DOCUMENT_NAME, data)
        refused = []
        for dep in opinion_departments(case):
            try:
                vault.annex_product(dep, case.project_id, case.revision, DOCUMENT_NAME, data)
            except AnnexDiffers:  # sealed with other bytes before: never changed, the rest go on
                log.error("joint opinion of %s: %s's annex differs, left as it is", case_id, dep)
                refused.append(dep)
        return "failed" if refused else "done"
    except Exception:
        log.exception("joint opinion of %s failed", case_id)
        return "failed"
