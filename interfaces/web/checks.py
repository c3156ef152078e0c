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
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from storage.accounts import Accounts

log = logging.getLogger(__name__)

PACKAGE_NAME = "package.zip"
REPORT_NAME = "report.html"
FINDINGS_NAME = "findings.json"


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
            result = precheck(here / PACKAGE_NAME, profile, wd, workers=0)
        write_findings(result, here / FINDINGS_NAME)
        write_html(result, here / REPORT_NAME)
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
                self._executor = ProcessPoolExecutor(self.workers, mp_context=ctx)
        return self._executor

    def submit(self, org_id: str, upload_id: str) -> Future:
        folder = upload_dir(self.web_dir, org_id, upload_id)
        return self._pool().submit(
            run_check, self.db_url, self.store_root, self.profile_ref, upload_id, str(folder)
        )

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
