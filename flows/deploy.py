"""The deployable flows, at module level, for ``prefect.yaml`` entry points and serving.

``python -m flows.deploy`` serves the three flows from this process (``flow.serve``), so a
Prefect server or Prefect Cloud can trigger them; for scale-out, ``prefect.yaml`` deploys the
same entry points to a work pool, and the rerun flow runs its per-package tasks on Dask
workers when ``DUOCE_BACKEND=dask`` (install the ``scale`` extra).
"""

from __future__ import annotations

from engine.settings import get_settings
from flows.pipeline import _flows
from flows.rerun import rerun_archive_flow

check_package, submit_package = _flows()
rerun_archive = rerun_archive_flow(get_settings())


def main() -> None:  # pragma: no cover - a long-running server process
    from prefect import serve

    serve(
        check_package.to_deployment(name="precheck"),
        submit_package.to_deployment(name="submit"),
        rerun_archive.to_deployment(name="rerun"),
    )


if __name__ == "__main__":  # pragma: no cover
    main()
