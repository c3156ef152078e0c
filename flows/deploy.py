"""The deployments: served from this process (``python -m flows.deploy``) or registered
with the ``duoce`` work pool for its process workers (``python -m flows.deploy --pool``).

========  =======================================  ==========================================
precheck  ``flows/pipeline.py:check_package``      预检: check, publish nothing
submit    ``flows/pipeline.py:submit_package``     提交: store, check, publish
rerun     ``flows/rerun.py:rerun_archive``         重查: check the archive again
daily     ``flows/case.py:flag_overdue``           每日: flag overdue case stages and 容缺 items,
                                                   the board as artifacts (08:00 Asia/Shanghai)
bulk      ``flows/bulk.py:check_packages``         批量预检: many packages, a batch per task
========  =======================================  ==========================================

Served (no argument): the process registers them with the Prefect server of
``PREFECT_API_URL`` (or Prefect Cloud) and runs each flow run it is asked for, until it is
stopped.

On the work pool (``--pool [NAME]``, default ``duoce``): the process makes the pool (type
``process``) and its queues, registers the five deployments with it (entry points by
module path, ``flows.rerun.rerun_archive`` …, so a worker needs this package installed,
not a copy of the checkout; rerun and bulk with ``DUOCE_BACKEND=dask`` in their job's
environment) and exits; then on each machine ::

    prefect worker start --pool duoce --type process

runs the flow runs, each in its own process. ``prefect deploy --all`` registers the same
flows from ``prefect.yaml`` instead (by file path, from ``$DUOCE_CHECKOUT``).

Reruns and bulk checks fan out a batch of packages per task (:mod:`flows.bulk`): on a Dask
cluster with ``DUOCE_BACKEND=dask`` (the scheduler at ``DUOCE_DASK_ADDRESS``, else a
``LocalCluster`` of processes per flow run), else on the flow's threads. The pool's queues
(:func:`ensure_work_queues`): ``green`` (priority 1: the 绿色通道 cases' submissions, see
:func:`flows.case.submission_queue`), ``default`` (10), ``analysts`` (20).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from prefect import serve
from prefect.schedules import Cron

from engine.settings import get_settings
from flows.bulk import check_packages
from flows.case import QUEUE_PRIORITIES, WORK_POOL, flag_overdue
from flows.pipeline import check_package, submit_package
from flows.rerun import rerun_archive

DAILY_CRON = "0 8 * * *"  # every day at 08:00, Beijing time
TIMEZONE = "Asia/Shanghai"


def ensure_work_queues(
    pool: str = WORK_POOL, priorities: dict[str, int] | None = None
) -> dict[str, int]:
    """Make the work pool (a ``process`` pool) and its queues with their priorities (a
    lower number is served first); existing ones get the priority. Returns queue →
    priority as the server has it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    wanted = dict(QUEUE_PRIORITIES if priorities is None else priorities)
    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
        for name, priority in wanted.items():
            try:
                queue = client.read_work_queue_by_name(name, work_pool_name=pool)
            except ObjectNotFound:
                client.create_work_queue(name=name, work_pool_name=pool, priority=priority)
            else:
                if queue.priority != priority:
                    client.update_work_queue(queue.id, priority=priority)
        return {
            name: client.read_work_queue_by_name(name, work_pool_name=pool).priority
            for name in wanted
        }


def daily_schedule() -> Cron:
    """The daily check's schedule: 08:00 every day, Asia/Shanghai."""
    return Cron(DAILY_CRON, timezone=TIMEZONE)


def deployments(pool: str | None = None) -> list[Any]:
    """The five deployments; on ``pool`` (its queues as in ``prefect.yaml``, entry points
    by module path) or, with None, to be served by this process."""
    from prefect.deployments.runner import EntrypointType

    settings = get_settings()
    daily = {"store": str(settings.store), "profile": settings.profile}

    def on(queue: str, fan_out: bool = False) -> dict[str, Any]:
        if pool is None:
            return {}
        out: dict[str, Any] = {
            "work_pool_name": pool,
            "work_queue_name": queue,
            "entrypoint_type": EntrypointType.MODULE_PATH,
        }
        if fan_out:  # a rerun or bulk check: batches of packages on Dask
            out["job_variables"] = {"env": {"DUOCE_BACKEND": "dask"}}
        return out

    return [
        check_package.to_deployment(name="precheck", **on("default")),
        submit_package.to_deployment(name="submit", **on("default")),
        rerun_archive.to_deployment(name="rerun", **on("analysts", fan_out=True)),
        check_packages.to_deployment(name="bulk", **on("analysts", fan_out=True)),
        flag_overdue.to_deployment(
            name="daily", schedule=daily_schedule(), parameters=daily, **on("analysts")
        ),
    ]


def deploy_to_pool(pool: str = WORK_POOL) -> list[str]:
    """Register the deployments with ``pool`` (made first, with its queues); their names."""
    from prefect.deployments.runner import deploy

    ensure_work_queues(pool)
    found = deployments(pool)
    deploy(
        *found,
        work_pool_name=pool,
        build=False,
        push=False,
        print_next_steps_message=False,
        ignore_warnings=True,
    )
    return [f"{d.flow_name}/{d.name}" for d in found]


def main(
    argv: list[str] | None = None,
) -> None:  # pragma: no cover - tests/flows/test_deploy.py runs it
    parser = argparse.ArgumentParser(
        prog="python -m flows.deploy",
        description="提供 duoce 的 Prefect 部署（本进程运行，或登记到工作池）",
    )
    parser.add_argument(
        "--pool",
        nargs="?",
        const=WORK_POOL,
        default=None,
        metavar="工作池",
        help=f"登记到工作池（默认 {WORK_POOL}）后退出，由 `prefect worker start --pool {WORK_POOL} --type process` 运行",
    )
    args = parser.parse_args(argv)
    if args.pool:
        names = deploy_to_pool(args.pool)
        print(f"已登记到工作池 {args.pool}：{'、'.join(names)}")
        print(f"在每台工作机上运行：prefect worker start --pool {args.pool} --type process")
        return
    ensure_work_queues()
    serve(*deployments())


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
