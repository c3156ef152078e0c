"""Pre-checks in warm processes: ``python -m interfaces.web.worker`` (started by
``serve_all``).

A deployment served by ``prefect.serve`` runs each flow run in a new process, which pays
Python's start and the check's imports (≈ 2–3 s, more than the check of an S package)
before it checks anything. This worker registers the deployment
``check_package/web-precheck`` and runs its flow runs in a pool of processes started once
(``spawn``, the check's modules imported at start): one Prefect client asks every
``interval`` seconds for the deployment's scheduled flow runs (as many as there are free
processes), claims each one (Pending: a run another worker claimed is left), and runs it
with Prefect's flow engine (``run_flow``) in a pool process, so its states, logs and
result are Prefect's as for any flow run. A pool process is replaced after
``max_tasks_per_child`` runs (memory stays bounded); a process that dies marks its flow
run Crashed and the pool is made again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger(__name__)

DEPLOYMENT_NAME = "web-precheck"
DEPLOYMENT = f"check_package/{DEPLOYMENT_NAME}"


def _warm() -> None:
    import flows.pipeline  # noqa: F401 - the check's imports, once per process


def _ready() -> int:
    return os.getpid()


def _run(flow_run_json: str) -> None:
    from prefect.client.schemas.objects import FlowRun
    from prefect.flow_engine import run_flow

    from flows.pipeline import check_package

    flow_run = FlowRun.model_validate_json(flow_run_json)
    run_flow(check_package, flow_run=flow_run, parameters=flow_run.parameters)


class WarmWorker:
    def __init__(self, workers: int = 2, interval: float = 0.2, per_child: int = 100) -> None:
        self.workers = max(1, workers)
        self.interval = interval
        self.per_child = per_child
        self.stopping = threading.Event()
        self._pool: ProcessPoolExecutor | None = None

    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
                max_tasks_per_child=self.per_child,
            )
            for f in [self._pool.submit(_ready) for _ in range(self.workers)]:
                f.result()  # every process started and warm before the first run
        return self._pool

    def serve(self) -> None:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort
        from prefect.states import Crashed, Pending

        from flows.pipeline import check_package

        self.pool()
        deployment_id = check_package.to_deployment(name=DEPLOYMENT_NAME).apply()
        log.info("serving %s with %d warm processes", DEPLOYMENT, self.workers)
        running: dict[Future, str] = {}
        scheduled = FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
        )
        ours = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        with get_client(sync_client=True) as client:
            while not self.stopping.is_set():
                for future in [f for f in running if f.done()]:
                    flow_run_id = running.pop(future)
                    exc = future.exception()
                    if exc is not None:
                        log.error("flow run %s: %r", flow_run_id, exc)
                        client.set_flow_run_state(
                            flow_run_id, Crashed(message=f"检查进程异常退出：{exc!r}"), force=True
                        )
                        if isinstance(exc, BrokenProcessPool):
                            self._pool = None
                free = self.workers - len(running)
                if free > 0:
                    for flow_run in client.read_flow_runs(
                        flow_run_filter=scheduled,
                        deployment_filter=ours,
                        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                        limit=free,
                    ):
                        claimed = client.set_flow_run_state(flow_run.id, Pending())
                        if claimed.status.value != "ACCEPT":
                            continue  # another worker has it
                        flow_run = client.read_flow_run(flow_run.id)
                        running[self.pool().submit(_run, flow_run.model_dump_json())] = str(
                            flow_run.id
                        )
                self.stopping.wait(self.interval)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def main() -> None:  # pragma: no cover - a long-running process (serve_all starts it)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per poll
    worker = WarmWorker(int(os.environ.get("DUOCE_WEB_CHECK_WORKERS", "2")))
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    try:
        worker.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
