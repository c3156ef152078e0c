"""Work started off the request, and following it: pre-checks, submissions, reruns.

When the service has Prefect (``duoce serve`` starts a Prefect server and serves the
deployments, or ``PREFECT_API_URL`` names one and ``DUOCE_WEB_PREFECT=1``), a pre-check is
a flow run of ``check_package/precheck`` and a submission one of ``submit_package/submit``,
started with ``run_deployment(..., timeout=0)``: the request answers at once. One
:class:`Follower` per web process (a thread with one Prefect client) reads the states of
all unfinished flow runs in one request (``read_flow_runs`` filtered by their ids) every
``interval`` seconds while there are any, and records each outcome when it is final; pages
and the API read the accounts tables and the follower's cache, never Prefect. Without Prefect the
pre-check runs in the service's check pool (``checks.py``), and so does a submission (the
``submit_package`` flow called there: Prefect runs it on a temporary server of its own).
An analyst's rerun always runs in the pool (:func:`analysis.rerun.rerun`).

The verdict of a submission is the catalogue's: the revision of the project whose package
has the upload's sha256.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from pathlib import Path

from interfaces.web.checks import (
    FINDINGS_NAME,
    REPORT_NAME,
    Checker,
    record_precheck,
    run_rerun,
    run_submit,
    submitted_revision,
    upload_dir,
)
from storage.accounts import Accounts, Run, Upload

log = logging.getLogger(__name__)

PRECHECK_DEPLOYMENT = "check_package/precheck"  # served by flows.deploy (a process per run)
# serve_all names the warm worker's deployment (interfaces/web/worker.py) here
PRECHECK_ENV = "DUOCE_WEB_PRECHECK_DEPLOYMENT"
SUBMIT_DEPLOYMENT = "submit_package/submit"
FINAL_FAILED = ("FAILED", "CRASHED", "CANCELLED", "CANCELLING")


class Jobs:
    def __init__(
        self,
        accounts: Accounts,
        checker: Checker,
        store_root: Path,
        profile_ref: str,
        web_dir: Path,
        prefect: bool,
    ) -> None:
        self.accounts = accounts
        self.checker = checker
        self.store_root = str(store_root)
        self.profile_ref = profile_ref
        self.web_dir = web_dir
        self.prefect = prefect
        self.on_submitted = None  # (run) -> None: a submitted revision joins its case
        self.follower = Follower(self) if prefect else None

    def start(self) -> None:
        """Follow the flow runs left unfinished by a previous process (service start)."""
        if self.follower is not None:
            for run in self.accounts.unfinished_runs():
                if run.flow_run_id:
                    self.follower.follow(run.flow_run_id)
            self.follower.start()

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()

    # --- starting ---------------------------------------------------------------------------

    def precheck(self, upload: Upload) -> None:
        """Start the pre-check of an upload whose package is in place."""
        if not self.prefect:
            self.checker.submit(upload.org_id, upload.id)
            return
        from prefect.deployments import run_deployment

        from flows.pipeline import check_package

        folder = upload_dir(self.web_dir, upload.org_id, upload.id)
        run = self.accounts.add_run(upload.org_id, upload.person_id, "precheck", upload.id)
        params = {
            "source": str(folder / "package.zip"),
            "profile": self.profile_ref,
            "json_path": str(folder / FINDINGS_NAME),
        }
        if "html_path" in inspect.signature(check_package.fn).parameters:
            params["html_path"] = str(folder / REPORT_NAME)
        try:
            name = os.environ.get(PRECHECK_ENV) or PRECHECK_DEPLOYMENT
            flow_run = run_deployment(name, parameters=params, timeout=0, _sync=True)
        except Exception as exc:  # Prefect unreachable: the pool takes it
            log.warning("pre-check of %s not started on Prefect (%s): check pool", upload.id, exc)
            self.accounts.set_run(run.id, "failed", detail=f"Prefect 不可用：{exc}")
            self.checker.submit(upload.org_id, upload.id)
            return
        self.accounts.set_run(run.id, "checking", flow_run_id=str(flow_run.id))
        self.accounts.set_upload_state(upload.id, "checking")
        self._follow(str(flow_run.id))

    def submit(self, upload: Upload, person_id: str) -> Run:
        """Start the submission of a checked upload (its project claimed by its firm)."""
        run = self.accounts.add_run(
            upload.org_id, person_id, "submit", upload.id, upload.project_id
        )
        package = str(upload_dir(self.web_dir, upload.org_id, upload.id) / "package.zip")
        if self.prefect:
            from prefect.deployments import run_deployment

            try:
                flow_run = run_deployment(
                    SUBMIT_DEPLOYMENT,
                    parameters={
                        "source": package,
                        "store": self.store_root,
                        "profile": self.profile_ref,
                    },
                    timeout=0,
                    tags=[f"项目:{upload.project_id}"],
                    _sync=True,  # also from a coroutine (the tus hook): started, not awaited
                )
            except Exception as exc:
                log.exception("submission of %s not started", upload.id)
                self.accounts.set_run(run.id, "failed", detail=f"Prefect 不可用：{exc}")
                return self.accounts.run(run.id, upload.org_id) or run
            self.accounts.set_run(run.id, "checking", flow_run_id=str(flow_run.id))
            self._follow(str(flow_run.id))
        else:
            self.checker.call(
                run_submit, self.accounts.url, self.store_root, self.profile_ref, run.id,
                package, upload.sha256, upload.project_id,
            )  # fmt: skip
        return self.accounts.run(run.id, upload.org_id) or run

    def rerun(self, org_id: str, person_id: str) -> Run:
        run = self.accounts.add_run(org_id, person_id, "rerun")
        self.checker.call(
            run_rerun, self.accounts.url, self.store_root, self.profile_ref, run.id,
            str(self.rerun_path(run.id)),
        )  # fmt: skip
        return run

    def rerun_path(self, run_id: str) -> Path:
        return self.web_dir / "reruns" / f"{run_id}.json"

    # --- following --------------------------------------------------------------------------

    def _follow(self, flow_run_id: str) -> None:
        if self.follower is not None:
            self.follower.follow(flow_run_id)

    def refresh(self, run: Run, sha256: str | None = None) -> Run:
        """A run as recorded, with the Prefect state the follower last saw as its detail
        (a final state is recorded by the follower itself, :meth:`settle`)."""
        if run.finished or not run.flow_run_id or self.follower is None:
            return run
        state = self.follower.state(run.flow_run_id)
        if state is None:  # not seen yet (or followed by a process started before this one)
            self.follower.follow(run.flow_run_id)
            return run
        if state.is_final():  # the follower records it in a moment: read it again
            return self.accounts.run(run.id, run.org_id) or run
        return Run(**{**run.__dict__, "detail": state.name}) if state.name else run

    def settle(self, flow_run_id: str, state) -> None:
        """Record the outcome of the runs of a flow run whose state is final."""
        for run in self.accounts.runs_of_flow_run(flow_run_id):
            if run.finished:
                continue
            if state.type.value == "COMPLETED":
                sha256 = None
                if run.kind == "submit" and run.upload_id:
                    upload = self.accounts.upload(run.upload_id, run.org_id)
                    sha256 = upload.sha256 if upload is not None else None
                self._completed(run, sha256)
            else:
                self.accounts.set_run(
                    run.id, "failed", detail=f"{state.name}: {state.message or ''}"
                )
                if run.kind == "precheck" and run.upload_id:
                    self.accounts.set_upload_state(
                        run.upload_id, "failed", error=f"flow run {flow_run_id}: {state.name}"
                    )

    def _completed(self, run: Run, sha256: str | None) -> None:
        if run.kind == "precheck" and run.upload_id:
            findings = upload_dir(self.web_dir, run.org_id, run.upload_id) / FINDINGS_NAME
            try:
                record_precheck(self.accounts, run.upload_id, findings)
            except (OSError, ValueError, KeyError) as exc:
                self.accounts.set_upload_state(run.upload_id, "failed", error=str(exc))
                self.accounts.set_run(run.id, "failed", detail=str(exc))
                return
            self.accounts.set_run(run.id, "done")
        elif run.kind == "submit":
            rev = (
                submitted_revision(self.store_root, run.project_id, sha256)
                if run.project_id and sha256
                else None
            )
            if rev is None:
                self.accounts.set_run(run.id, "failed", detail="目录库中没有此次提交的版本")
            else:
                self.accounts.set_run(run.id, "done", revision=rev.revision, verdict=rev.verdict)

    def refresh_upload(self, upload: Upload) -> Upload:
        """Follow the upload's pre-check run (Prefect), and return the upload as it is now."""
        if upload.state in ("done", "failed"):
            return upload
        for run in self.accounts.runs_of_upload(upload.id, upload.org_id, "precheck"):
            self.refresh(run)
        return self.accounts.upload(upload.id, upload.org_id) or upload

    def submissions(self, upload: Upload) -> list[Run]:
        """The upload's submissions, followed; a finished one joins its project's case."""
        out = [
            self.refresh(r, upload.sha256)
            for r in self.accounts.runs_of_upload(upload.id, upload.org_id, "submit")
        ]
        for run in out:
            if run.state == "done" and run.revision and self.on_submitted is not None:
                try:
                    self.on_submitted(run)
                except Exception:  # the case is the lead's to fix; the submission stands
                    log.exception("revision of run %s not added to its case", run.id)
        return out


class Follower:
    """One thread and one Prefect client following every unfinished flow run of the
    service: each ``interval`` seconds while there are any, one ``read_flow_runs`` for all
    of them; the states are cached for the pages, and a final one is recorded
    (:meth:`Jobs.settle`) and dropped. Idle (nothing to follow) it waits without asking."""

    def __init__(self, jobs: Jobs, interval: float = 0.2, batch: int = 200) -> None:
        self.jobs = jobs
        self.interval = interval
        self.batch = batch
        self._lock = threading.Lock()
        self._active: set[str] = set()
        self._states: dict[str, object] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.reads = 0  # read_flow_runs requests made (for the tests and the benchmark)

    def follow(self, flow_run_id: str) -> None:
        with self._lock:
            self._active.add(flow_run_id)
        self._wake.set()

    def state(self, flow_run_id: str):
        with self._lock:
            return self._states.get(flow_run_id)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="duoce-follow", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _loop(self) -> None:
        from prefect.client.orchestration import get_client

        while not self._stopping.is_set():
            try:
                with get_client(sync_client=True) as client:
                    while not self._stopping.is_set():
                        self._wake.wait()  # something to follow, or stopping
                        self._wake.clear()
                        if self.poll(client):
                            self._wake.set()
                            self._stopping.wait(self.interval)
            except Exception as exc:  # Prefect unreachable for a moment: ask again
                log.warning("flow runs not followed: %s", exc)
                self._wake.set()
                self._stopping.wait(max(self.interval, 2.0))

    def poll(self, client) -> bool:
        """Read the followed flow runs' states once; True while some are not final."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        with self._lock:
            ids = sorted(self._active)
        for start in range(0, len(ids), self.batch):
            chunk = ids[start : start + self.batch]
            self.reads += 1
            found = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=len(chunk)
            )
            for flow_run in found:
                key, state = str(flow_run.id), flow_run.state
                with self._lock:
                    self._states[key] = state
                if state is not None and state.is_final():
                    try:
                        self.jobs.settle(key, state)
                    except Exception:
                        log.exception("outcome of flow run %s not recorded", key)
                        continue
                    with self._lock:
                        self._active.discard(key)
                        self._states.pop(key, None)
        with self._lock:
            return bool(self._active)
