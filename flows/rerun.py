"""The analysts' rerun (重查) as a Prefect flow: ``rerun_archive`` checks the stored
packages again under today's rules, a batch of stored packages a task, and says which
verdicts would change and why. It reads only: nothing is recorded, published or changed.

The work itself is :mod:`analysis.rerun` (``duoce rerun`` calls it without Prefect); this
flow spreads it over tasks (:func:`flows.bulk.fan_out`): threads in the flow's process
with ``backend="local"``, a Dask cluster's worker processes with ``"dask"`` (the
scheduler at ``DUOCE_DASK_ADDRESS``, else a ``LocalCluster``); None takes
``DUOCE_BACKEND``. A task is given the store's folder, its packages' sha256 and revisions
as plain dicts and the profile's name, and returns a small plain dict for each
(:func:`analysis.rerun.rerun_stored_batch`); why batches and not one task a package:
:mod:`flows.bulk`. Deployments name it ``flows/rerun.py:rerun_archive``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from analysis.rerun import (
    RerunRow,
    by_package,
    in_order,
    rerun_stored_batch,
    revision_dicts,
    select_revisions,
)
from flows.bulk import batches, fan_out
from schemas.profile import load_profile
from storage.store import Store

if TYPE_CHECKING:
    from engine.settings import Settings


@flow(name="rerun_archive", log_prints=True)
def rerun_archive(
    store: str = "store",
    profile: str = "liaocheng",
    project_id: str | None = None,
    since: dt.date | None = None,
    include_unchanged: bool = False,
    backend: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    per_task: int | None = None,
) -> list[RerunRow]:
    """Check stored revisions again under today's rules and ``profile``; change nothing.

    1. Choose the revisions (one project's, or all; submitted on or after ``since``) and
       group them by stored package: a package several revisions hold is checked once.
    2. Check each package again, a batch of packages a task (concurrently on the flow's
       task runner or the Dask cluster).
    3. Show what changed: a summary and the table of verdict changes.

    Parameters
    ----------
    store
        The store's folder.
    profile
        A bundled city profile's name or the path of a .toml profile.
    project_id, since
        Only this project's revisions; only revisions submitted on or after this date.
    include_unchanged
        Also return the revisions whose verdict stays the same.
    backend, workers, dask_address
        ``local`` or ``dask`` (None: ``DUOCE_BACKEND``); a local Dask cluster's worker
        processes (None: one per core); a Dask scheduler (None: ``DUOCE_DASK_ADDRESS``).
    per_task
        Packages a task (None: :func:`flows.bulk.batches` chooses).

    Returns
    -------
    list[RerunRow]
        By project and revision (see :func:`analysis.rerun.rerun`).
    """
    checked_with = load_profile(profile).name  # a bad profile fails here, before any check
    root = str(Path(store).absolute())  # the workers may run elsewhere than the flow
    packages = by_package(select_revisions(Store(root), project_id, since))
    jobs = [(sha256, revision_dicts(revs)) for sha256, revs in packages.items()]
    with fan_out(backend, address=dask_address, workers=workers) as pool:
        futures = [
            pool.submit(rerun_batch_task, {"store": root, "packages": batch, "profile": profile})
            for batch in batches(jobs, pool.slots, per_task)
        ]
        done = [outcome for future in futures for outcome in future.result()]
    rows = [RerunRow.from_dict(row) for outcome in done for row in outcome["rows"]]
    cost = RerunCost(
        check_cpu_s=sum(float(o.get("check_cpu_s") or 0.0) for o in done),
        task_cpu_s=sum(float(o.get("task_cpu_s") or 0.0) for o in done),
        tasks=len(futures),
    )
    show_rerun(rows, checked_with, len(packages), cost)
    return in_order(rows, include_unchanged)


@task(name="rerun-packages", cache_policy=NO_CACHE, persist_result=False)
def rerun_batch_task(
    store: str, packages: list[tuple[str, list[dict[str, Any]]]], profile: str
) -> list[dict[str, Any]]:
    """Step 2, a batch of ``(sha256, revisions)``: verify each package, check it, compare
    with each revision that holds it; a plain dict back for each (verdict, counts, CPU
    seconds, the rows as dicts). Nothing persisted, no cache key computed.

    No retries: a damaged package or a failed check is a row of the answer, not an error.
    """
    return rerun_stored_batch(store, packages, profile)


@dataclass(frozen=True)
class RerunCost:
    """What the checks of a rerun cost, summed over its tasks (each task's own thread):
    ``check_cpu_s`` the checks alone, ``task_cpu_s`` the tasks' bodies (opening the store
    and the profile too); ``tasks`` how many tasks ran. What the whole run cost beyond
    ``check_cpu_s`` is orchestration (Prefect, Dask)."""

    check_cpu_s: float
    task_cpu_s: float
    tasks: int

    def text(self, packages: int) -> str:
        each = self.check_cpu_s / packages if packages else 0.0
        return (
            f"检查耗时：CPU 合计 {self.check_cpu_s:.1f} s（每个成果包 {each:.3f} s），"
            f"任务 {self.tasks} 个共 {self.task_cpu_s:.1f} s"
        )


CPU_PATTERN = re.compile(r"CPU 合计 ([0-9.]+) s")  # what RerunCost.text writes, read back


def show_rerun(
    rows: list[RerunRow], profile: str, packages: int, cost: RerunCost | None = None
) -> None:
    """Step 3: two artifacts of the flow run, a markdown summary (with what the checks
    cost, when known) and the table of changes."""
    status = Counter(r.status for r in rows)
    changes = in_order(rows, include_unchanged=False)
    lines = [
        f"# 重查结果（配置 {profile}）",
        "",
        f"重查版本 {len(rows)} 个（成果包 {packages} 个）：结论变化 {status['changed']} · "
        f"未变 {status['unchanged']} · 损坏 {status['damaged']} · 检查失败 {status['failed']}",
    ]
    if cost is not None:
        lines += ["", cost.text(packages)]
    if changes:
        lines += [
            "",
            "| 项目 | 版本 | 测绘单位 | 原结论 | 新结论 | 原因 |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r.project_id} | r{r.revision} | {r.firm or ''} | {r.old_verdict or ''} | "
            f"{r.new_verdict or ''} | {r.reason} |"
            for r in changes
        ]
    key = (
        "".join(ch if ch.isalnum() else "-" for ch in profile.lower()).strip("-")[:50] or "profile"
    )
    create_markdown_artifact(
        "\n".join(lines), key=f"rerun-summary-{key}", description="重查结果摘要"
    )
    table = [
        {
            "project_id": r.project_id,
            "revision": r.revision,
            "firm": r.firm or "",
            "status": r.status,
            "old_verdict": r.old_verdict or "",
            "new_verdict": r.new_verdict or "",
            "reason": r.reason,
        }
        for r in changes
    ]
    create_table_artifact(
        table or [{"project_id": "", "reason": "结论均未变化"}],
        key=f"rerun-changes-{key}",
        description="结论变化清单",
    )


def rerun_archive_flow(
    settings: Settings | None = None, workers: int | None = None
) -> Callable[..., list[RerunRow]]:
    """:func:`rerun_archive` with the backend and Dask address of ``settings`` (None: the
    flow reads ``DUOCE_BACKEND`` and ``DUOCE_DASK_ADDRESS`` when it runs)."""
    if settings is None:
        return rerun_archive
    return functools.partial(
        rerun_archive,
        backend=settings.backend,
        dask_address=settings.dask_address,
        workers=workers,
    )
