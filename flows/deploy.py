"""Serve the deployments from this process: ``python -m flows.deploy``.

========  =======================================  ==========================================
precheck  ``flows/pipeline.py:check_package``      预检: check, publish nothing
submit    ``flows/pipeline.py:submit_package``     提交: store, check, publish
rerun     ``flows/rerun.py:rerun_archive``         重查: check the archive again
daily     ``flows/case.py:flag_overdue``           每日: flag overdue case stages and 容缺 items,
                                                   the board as artifacts (08:00 Asia/Shanghai)
========  =======================================  ==========================================

The process registers them with the Prefect server of ``PREFECT_API_URL`` (or Prefect
Cloud) and runs each flow run it is asked for, until it is stopped. The rerun flow runs on
a Dask task runner when ``DUOCE_BACKEND=dask`` (the ``scale`` extra). To run them on a
work pool's workers instead, ``prefect deploy --all`` registers the same entry points
from ``prefect.yaml``; :func:`ensure_work_queues` (run first by ``main``) gives that pool
its queues: ``green`` (priority 1: the 绿色通道 cases' submissions, see
:func:`flows.case.submission_queue`), ``default`` (10), ``analysts`` (20).
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from engine.settings import get_settings
from flows.case import QUEUE_PRIORITIES, WORK_POOL, flag_overdue
from flows.pipeline import check_package, submit_package
from flows.rerun import rerun_archive_flow

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


def main() -> (
    None
):  # pragma: no cover - a long-running process (tests/flows/test_deploy.py runs it)
    settings = get_settings()
    rerun_archive = rerun_archive_flow(settings)
    ensure_work_queues()
    serve(
        check_package.to_deployment(name="precheck"),
        submit_package.to_deployment(name="submit"),
        rerun_archive.to_deployment(name="rerun"),
        flag_overdue.to_deployment(
            name="daily",
            schedule=daily_schedule(),
            parameters={"store": str(settings.store), "profile": settings.profile},
        ),
    )


if __name__ == "__main__":  # pragma: no cover
    main()
