"""Many packages at once: the fan-out of reruns and bulk checks, one task per package, on
the flow's own threads or on a Dask cluster (prefect-dask).

:func:`fan_out` gives a flow a ``submit(task, parameters)`` for its per-package tasks:

* ``local``: the flow's task runner (threads in the flow's process; one core's worth of
  checking, since a check holds the GIL);
* ``dask``: a ``DaskTaskRunner`` on the scheduler at ``DUOCE_DASK_ADDRESS`` when set (a
  city's cluster, ``dask scheduler`` + ``dask worker`` on each machine), else a
  ``LocalCluster`` of worker *processes* (one thread each) for the flow run's length.

Tasks are given paths and plain data (a package's path or a store's folder and a sha256,
a profile's name) and return small plain dicts (verdict, counts, CPU seconds); no frame,
no check result crosses between processes. The choice is made when the flow runs (its
``backend`` parameter, else ``DUOCE_BACKEND``), so a deployment run by a work pool's
process worker, which loads the module-level flow, fans out the same way as a served one.

:func:`check_packages` is the bulk pre-check (批量预检): each package checked as
``duoce check`` would, findings.json written when asked; nothing stored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from engine.precheck import precheck, workspace
from engine.settings import BACKENDS, get_settings
from outputs.results import write_findings
from schemas.profile import load_profile
from schemas.verdict import VERDICT_NAMES

log = logging.getLogger(__name__)

Submit = Callable[[Task, dict[str, Any]], Any]  # (task, parameters) -> a Prefect future


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
) -> Iterator[Submit]:
    """Inside a flow: ``submit(task, parameters)`` on the backend chosen (see the module).

    The Dask cluster (or the client of an existing one) lives as long as the ``with``
    block; take every result inside it.
    """
    if chosen_backend(backend) == "local":
        yield lambda t, parameters: t.submit(**parameters)
        return
    with dask_runner(address, workers) as runner:
        yield lambda t, parameters: runner.submit(t, parameters)


# ------------------------------------------------------------------------------ bulk check


@flow(name="check_packages", log_prints=True)
def check_packages(
    sources: list[str],
    profile: str = "liaocheng",
    json_dir: str | None = None,
    backend: str | None = None,
    workers: int | None = None,
) -> list[dict[str, Any]]:
    """Bulk pre-check (批量预检): check each package, one task each; publish nothing.

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

    Returns
    -------
    list[dict]
        In the order of ``sources``: ``source``, ``project_id``, ``verdict``, ``counts``,
        ``cpu_s`` (the task's thread), ``wall_s``, ``pid`` (see :func:`check_one`).
    """
    load_profile(profile)  # a bad profile fails here, before any task
    with fan_out(backend, workers=workers) as submit:
        futures = [
            submit(
                check_one,
                {
                    "source": source,
                    "profile": profile,
                    "json_path": str(Path(json_dir) / f"{i:05d}-{Path(source).stem}.json")
                    if json_dir
                    else None,
                },
            )
            for i, source in enumerate(sources)
        ]
        results = [f.result() for f in futures]
    verdicts = Counter(r["verdict"] for r in results)
    create_markdown_artifact(
        f"# 批量预检\n\n成果包 {len(results)} 个："
        + " · ".join(f"{VERDICT_NAMES[v]} {verdicts[v]}" for v in VERDICT_NAMES),
        key="bulk-check-summary",
        description="批量预检结果摘要",
    )
    return results


@task(name="check-one", cache_policy=NO_CACHE)
def check_one(source: str, profile: str, json_path: str | None = None) -> dict[str, Any]:
    """One package checked as ``duoce check`` would: a small plain dict back."""
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    with workspace() as work:
        result = precheck(Path(source), load_profile(profile), work)
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
