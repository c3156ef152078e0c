"""The analysts' Prefect flow ``rerun_archive``: :func:`analysis.rerun.rerun_package` as one
task per stored package; with ``settings.backend == "dask"`` on a
``prefect_dask.DaskTaskRunner`` (the optional ``scale`` extra) when it is installed.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.rerun import RerunRow, by_package, in_order, rerun_package, select_revisions
from schemas.profile import Profile, load_profile

if TYPE_CHECKING:
    from engine.settings import Settings

log = logging.getLogger(__name__)


def _task_runner(settings: Settings | None):
    """``DaskTaskRunner`` for ``backend == "dask"`` when prefect-dask is installed."""
    if settings is None or settings.backend != "dask":
        return None
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        log.warning(
            "backend 'dask' needs the optional extra duoce[scale] (prefect-dask): running locally"
        )
        return None
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner()


def _flows():
    """Build the flow once, lazily (importing this module must not import Prefect)."""
    if "rerun_archive" in globals():
        return globals()["rerun_archive"]
    import prefect
    from prefect.cache_policies import NO_CACHE

    @prefect.task(name="rerun-package", cache_policy=NO_CACHE)
    def rerun_package_task(
        store_root: str, sha256: str, revisions: list, profile: Profile
    ) -> list[RerunRow]:
        from storage.store import Store

        return rerun_package(Store(Path(store_root)), sha256, revisions, profile)

    @prefect.flow(name="rerun_archive", log_prints=True)
    def rerun_archive(
        store: str = "store",
        profile: str = "liaocheng",
        project_id: str | None = None,
        since: dt.date | None = None,
        include_unchanged: bool = False,
    ) -> list[RerunRow]:
        """Analysts: check stored packages again under today's rules (one task per
        package); publish nothing, change nothing."""
        from storage.store import Store

        prof = load_profile(profile)
        groups = by_package(select_revisions(Store(Path(store)), project_id, since))
        futures = [
            rerun_package_task.submit(store, sha, revs, prof) for sha, revs in groups.items()
        ]
        rows = [row for fut in futures for row in fut.result()]
        return in_order(rows, include_unchanged)

    globals()["rerun_archive"] = rerun_archive
    return rerun_archive


def rerun_archive_flow(settings: Settings | None = None):
    """The ``rerun_archive`` flow with the task runner the settings ask for."""
    flow = _flows()
    runner = _task_runner(settings)
    return flow if runner is None else flow.with_options(task_runner=runner)


def __getattr__(name: str):
    if name == "rerun_archive":
        return _flows()
    raise AttributeError(name)
