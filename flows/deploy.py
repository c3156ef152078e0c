"""Serve the three deployments from this process: ``python -m flows.deploy``.

========  =======================================  ==========================
precheck  ``flows/pipeline.py:check_package``      预检: check, publish nothing
submit    ``flows/pipeline.py:submit_package``     提交: store, check, publish
rerun     ``flows/rerun.py:rerun_archive``         重查: check the archive again
========  =======================================  ==========================

The process registers them with the Prefect server of ``PREFECT_API_URL`` (or Prefect
Cloud) and runs each flow run it is asked for, until it is stopped. The rerun flow runs on
a Dask task runner when ``DUOCE_BACKEND=dask`` (the ``scale`` extra). To run them on a
work pool's workers instead, ``prefect deploy --all`` registers the same entry points
from ``prefect.yaml``.
"""

from __future__ import annotations

from prefect import serve

from engine.settings import get_settings
from flows.pipeline import check_package, submit_package
from flows.rerun import rerun_archive_flow


def main() -> None:  # pragma: no cover - a long-running process (tests/flows/test_deploy.py runs it)
    rerun_archive = rerun_archive_flow(get_settings())
    serve(
        check_package.to_deployment(name="precheck"),
        submit_package.to_deployment(name="submit"),
        rerun_archive.to_deployment(name="rerun"),
    )


if __name__ == "__main__":  # pragma: no cover
    main()
