"""Many packages at once: the fan-out of reruns and bulk checks over Prefect tasks, on the
flow's own threads or on a Dask cluster (prefect-dask).

:func:`fan_out` gives a flow a :class:`FanOut`: ``submit(task, parameters)`` for its tasks
and ``slots``, how many run at once:

* ``local``: the flow's task runner (threads in the flow's process; one core's worth of
  checking, since a check holds the GIL);
* ``dask``: a ``DaskTaskRunner`` on the scheduler at ``DUOCE_DASK_ADDRESS`` when set (a
  city's cluster, ``dask scheduler`` + ``dask worker`` on each machine), else a
  ``LocalCluster`` of worker *processes* (one thread each) for the flow run's length.

A task checks a *batch* of packages (:func:`batches`: at most :data:`MAX_BATCH`, at least
four tasks per slot when there are enough packages), not one: a Prefect task run costs
≈ 0.2 s of CPU wherever it runs (measured, 2 cores: ≈ 80 ms in the worker's task thread —
the task engine rebuilds Prefect's settings from the serialised context and opens two API
clients — ≈ 35 ms on the worker's event loop, ≈ 60 ms in the flow's process and the
scheduler, ≈ 45 ms in the Prefect server recording its state events), ≈ 45 % of an S
package's check. Ten packages a task bring it to ≈ 5 %; four tasks a slot keep the last
ones from leaving a worker idle. Tasks are given paths and plain data (a package's path or
a store's folder and a sha256, a profile's name) and return small plain dicts (verdict,
counts, CPU seconds), never persisted; no frame, no check result crosses between processes.
The choice is made when the flow runs (its ``backend`` parameter, else ``DUOCE_BACKEND``),
so a deployment run by a work pool's process worker, which loads the module-level flow,
fans out the same way as a served one.

:func:`check_packages` is the bulk pre-check (批量预检): each package checked as
``duoce check`` would, findings.json written when asked; nothing stored.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from engine.precheck import precheck, workspace
from engine.settings import BACKENDS, get_settings
from outputs.results import write_findings
from schemas.profile import Profile, load_profile
from schemas.verdict import VERDICT_NAMES

log = logging.getLogger(__name__)

Submit = Callable[[Task, dict[str, Any]], Any]  # (task, parameters) -> a Prefect future
T = TypeVar("T")

MAX_BATCH = 10  # packages a task at most: the task run's ≈ 0.2 s CPU spread over ≈ 4.5 s
TASKS_PER_SLOT = 4  # at least, when there are enough packages: no long tail on one worker
# The flow's own LocalCluster is quieter than Dask's defaults, which serve a dashboard we
# do not start. Measured idle on 2 cores (20 s, 2 workers): the scheduler and nannies'
# process 43 ms CPU a second and each worker 19 ms a second with the defaults; 8.5 and
# 3.5 ms with these — over a 50 s rerun of 200 S packages ≈ 17 ms a package, 4 % of its
# check. The statistical profiler samples the task thread every 10 ms (≈ 20 ms of the
# worker's event loop a package); the event-loop tick every 20 ms; the system monitor
# (psutil) every 0.5 s; the nanny's memory check every 0.1 s (its limit still holds,
# checked every second). A city's own cluster takes these from its Dask config.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


@dataclass(frozen=True)
class FanOut:
    """What :func:`fan_out` gives a flow: ``submit(task, parameters)`` and ``slots``, the
    tasks that run at once (Dask worker threads; 1 for the flow's own threads, which
    share one core's worth of checking)."""

    submit: Submit
    slots: int


def batches(items: Sequence[T], slots: int, size: int | None = None) -> list[list[T]]:
    """``items`` in consecutive batches of ``size`` (None: ``ceil(n / (4 × slots))``,
    between 1 and :data:`MAX_BATCH`), in their order."""
    if size is None:
        size = min(MAX_BATCH, math.ceil(len(items) / (TASKS_PER_SLOT * max(1, slots))))
    size = max(1, size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def dask_runner(address: str | None = None, workers: int | None = None) -> Any:
    """A ``DaskTaskRunner``: on the scheduler at ``address`` (else ``DUOCE_DASK_ADDRESS``),
    or a ``LocalCluster`` of ``workers`` processes (None: one per core), one thread each."""
    from prefect_dask import DaskTaskRunner

    if address is None:
        try:
            address = get_settings().dask_address
        except ValueError:  # a bad DUOCE_* elsewhere must not stop the fan-out
            address = None
    if address:
        return DaskTaskRunner(address=address)
    cluster: dict[str, Any] = {
        "processes": True,
        "threads_per_worker": 1,
        "dashboard_address": None,
    }
    if workers is not None:
        cluster["n_workers"] = workers
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=cluster)


def chosen_backend(backend: str | None) -> str:
    """``backend`` when given, else the ``DUOCE_BACKEND`` setting."""
    chosen = backend if backend is not None else get_settings().backend
    if chosen not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, not {chosen!r}")
    return chosen


@contextlib.contextmanager
def fan_out(
    backend: str | None = None, *, address: str | None = None, workers: int | None = None
) -> Iterator[FanOut]:
    """Inside a flow: a :class:`FanOut` on the backend chosen (see the module).

    The Dask cluster (or the client of an existing one) lives as long as the ``with``
    block; take every result inside it.
    """
    if chosen_backend(backend) == "local":
        yield FanOut(lambda t, parameters: t.submit(**parameters), 1)
        return
    import dask

    runner = dask_runner(address, workers)
    local = dask.config.set(LOCAL_CLUSTER_CONFIG) if runner.address is None else None
    with local or contextlib.nullcontext(), runner:
        slots = sum(runner.client.nthreads().values())
        yield FanOut(lambda t, parameters: runner.submit(t, parameters), max(1, slots))


# ------------------------------------------------------------------------------ bulk check


@flow(name="check_packages", log_prints=True)
def check_packages(
    sources: list[str],
    profile: str = "liaocheng",
    json_dir: str | None = None,
    backend: str | None = None,
    workers: int | None = None,
    per_task: int | None = None,
) -> list[dict[str, Any]]:
    """Bulk pre-check (批量预检): check each package, a batch of packages a task; publish
    nothing.

    Parameters
    ----------
    sources
        The packages' paths (folders or .zip), as the workers see them.
    profile
        A bundled city profile's name or the path of a .toml profile.
    json_dir
        Write each package's findings.json to ``json_dir/<n>-<name>.json`` (n: its place
        in ``sources``); nothing is written when None.
    backend, workers
        ``local`` or ``dask`` (None: ``DUOCE_BACKEND``); a local Dask cluster's worker
        processes (None: one per core).
    per_task
        Packages a task (None: see :func:`batches`).

    Returns
    -------
    list[dict]
        In the order of ``sources``: ``source``, ``project_id``, ``verdict``, ``counts``,
        ``cpu_s`` (the task's thread), ``wall_s``, ``pid`` (see :func:`check_one`).
    """
    load_profile(profile)  # a bad profile fails here, before any task
    jobs = [
        {
            "source": source,
            "json_path": str(Path(json_dir) / f"{i:05d}-{Path(source).stem}.json")
            if json_dir
            else None,
        }
        for i, source in enumerate(sources)
    ]
    with fan_out(backend, workers=workers) as pool:
        futures = [
            pool.submit(check_batch, {"jobs": batch, "profile": profile})
            for batch in batches(jobs, pool.slots, per_task)
        ]
        results = [r for f in futures for r in f.result()]
    verdicts = Counter(r["verdict"] for r in results)
    create_markdown_artifact(
        f"# 批量预检\n\n成果包 {len(results)} 个："
        + " · ".join(f"{VERDICT_NAMES[v]} {verdicts[v]}" for v in VERDICT_NAMES),
        key="bulk-check-summary",
        description="批量预检结果摘要",
    )
    return results


@task(name="check-packages", cache_policy=NO_CACHE, persist_result=False)
def check_batch(jobs: list[dict[str, str | None]], profile: str) -> list[dict[str, Any]]:
    """A batch of packages checked as ``duoce check`` would, the profile loaded once:
    ``jobs`` are ``{"source", "json_path"}``; a small plain dict back for each."""
    prof = load_profile(profile)
    return [check_one(str(job["source"]), prof, job["json_path"]) for job in jobs]


def check_one(source: str, profile: Profile, json_path: str | None = None) -> dict[str, Any]:
    """One package checked as ``duoce check`` would: a small plain dict back."""
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    with workspace() as work:
        result = precheck(Path(source), profile, work)
    if json_path:
        write_findings(result, Path(json_path))
    return {
        "source": source,
        "project_id": result.package.project_id,
        "verdict": result.verdict.verdict,
        "counts": dict(result.counts),
        "cpu_s": time.thread_time() - cpu0,
        "wall_s": time.perf_counter() - wall0,
        "pid": os.getpid(),  # which process checked it
    }
