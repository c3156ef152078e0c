"""Work started off the request, and following it: pre-checks, submissions, reruns.

When the service has Prefect (``duoce serve`` starts a Prefect server and serves the
deployments, or ``PREFECT_API_URL`` names one and ``DUOCE_WEB_PREFECT=1``), a pre-check is
a flow run of ``check_package/precheck`` and a submission one of ``submit_package/submit``,
started with ``run_deployment(..., timeout=0)``: the request answers at once and the page
follows the flow run's state (:meth:`Jobs.refresh`) until the verdict. Without Prefect the
pre-check runs in the service's check pool (``checks.py``), and so does a submission (the
``submit_package`` flow called there: Prefect runs it on a temporary server of its own).
An analyst's rerun always runs in the pool (:func:`analysis.rerun.rerun`).

The verdict of a submission is the catalogue's: the revision of the project whose package
has the upload's sha256.
"""

from __future__ import annotations

import inspect
import logging
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

PRECHECK_DEPLOYMENT = "check_package/precheck"
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
            flow_run = run_deployment(PRECHECK_DEPLOYMENT, parameters=params, timeout=0, _sync=True)
        except Exception as exc:  # Prefect unreachable: the pool takes it
            log.warning("pre-check of %s not started on Prefect (%s): check pool", upload.id, exc)
            self.accounts.set_run(run.id, "failed", detail=f"Prefect 不可用：{exc}")
            self.checker.submit(upload.org_id, upload.id)
            return
        self.accounts.set_run(run.id, "checking", flow_run_id=str(flow_run.id))
        self.accounts.set_upload_state(upload.id, "checking")

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

    def refresh(self, run: Run, sha256: str | None = None) -> Run:
        """Follow a run on Prefect: when its flow run is final, record the outcome."""
        if run.finished or not run.flow_run_id:
            return run
        try:
            state = _flow_run_state(run.flow_run_id)
        except Exception as exc:  # Prefect unreachable for a moment: ask again next time
            log.warning("state of flow run %s unknown: %s", run.flow_run_id, exc)
            return run
        if state is None or not state.is_final():
            name = state.name if state is not None else ""
            if name and name != (run.detail or ""):
                self.accounts.set_run(run.id, detail=name)
        elif state.type.value == "COMPLETED":
            self._completed(run, sha256)
        else:
            self.accounts.set_run(run.id, "failed", detail=f"{state.name}: {state.message or ''}")
            if run.kind == "precheck" and run.upload_id:
                self.accounts.set_upload_state(
                    run.upload_id, "failed", error=f"flow run {run.flow_run_id}: {state.name}"
                )
        return self.accounts.run(run.id, run.org_id) or run

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


def _flow_run_state(flow_run_id: str):
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state
