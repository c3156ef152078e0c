"""The flows are deployable: prefect.yaml's entry points load as flows, each on the work
pool; ``python -m flows.deploy`` serves five deployments that all run (the daily one,
scheduled at 08:00 Asia/Shanghai, is run once without waiting for its schedule); and
``python -m flows.deploy --pool`` registers them with a process work pool whose worker
(``prefect worker start --pool … --type process``) runs them, the rerun on Dask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint

from tests.processes import stop

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = (
    "check_package/precheck",
    "submit_package/submit",
    "rerun_archive/rerun",
    "check_packages/bulk",
    "flag_overdue/daily",
)


def test_every_deployment_entrypoint_loads_a_flow(monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    names = set()
    for dep in spec["deployments"]:
        flow = load_flow_from_entrypoint(dep["entrypoint"])
        names.add(flow.name)
        assert dep["work_pool"]["name"] == "duoce", dep["name"]
    assert names == {
        "check_package",
        "submit_package",
        "rerun_archive",
        "check_packages",
        "flag_overdue",
    }
    fan_out = {
        d["name"]: d["work_pool"].get("job_variables", {}).get("env", {}).get("DUOCE_BACKEND")
        for d in spec["deployments"]
    }
    assert fan_out == {
        "precheck": None,
        "submit": None,
        "rerun": "dask",
        "bulk": "dask",
        "daily": None,
    }
    daily = next(d for d in spec["deployments"] if d["name"] == "daily")
    assert daily["schedules"] == [{"cron": "0 8 * * *", "timezone": "Asia/Shanghai"}]


def test_the_flows_are_importable_by_name():
    from flows.case import flag_overdue
    from flows.pipeline import check_package, submit_package
    from flows.rerun import rerun_archive

    assert (check_package.name, submit_package.name, rerun_archive.name, flag_overdue.name) == (
        "check_package",
        "submit_package",
        "rerun_archive",
        "flag_overdue",
    )


@pytest.fixture
def served(prefect_harness, tmp_path):
    """``python -m flows.deploy`` in a subprocess, against the test server; stopped after."""
    from prefect.settings import PREFECT_API_URL

    env = {k: v for k, v in os.environ.items() if not k.startswith("DUOCE_")}
    env |= {
        "PREFECT_API_URL": PREFECT_API_URL.value(),  # the harness's server, on loopback
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",  # pick scheduled runs up at once
        "DUOCE_STORE": str(tmp_path / "unused-store"),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "flows.deploy"], cwd=ROOT, env=env, stdout=sink, stderr=sink
        )
        try:
            yield process, log
        finally:
            stop(process)


def tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-4000:]


def wait_for_deployments(client, process, log: Path, timeout: float = 90) -> None:
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + timeout
    missing = list(DEPLOYMENTS)
    while missing:
        assert process.poll() is None, tail(log)
        assert time.monotonic() < deadline, f"not served: {missing}\n{tail(log)}"
        try:
            client.read_deployment_by_name(missing[0])
            missing.pop(0)
        except ObjectNotFound:
            time.sleep(0.5)


def wait_for_runs(client, ids: list[UUID], process, log: Path, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        runs = {i: client.read_flow_run(i) for i in ids}
        if all(r.state is not None and r.state.is_final() for r in runs.values()):
            return runs
        assert process.poll() is None, tail(log)
        assert time.monotonic() < deadline, (
            f"{[(r.name, r.state) for r in runs.values()]}\n{tail(log)}"
        )
        time.sleep(0.5)


def artifacts_of(client, flow_run_id: UUID) -> set[tuple[str, str]]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
    )
    return {(a.type, a.key) for a in found}


def test_served_deployments_run_and_make_their_artifacts(served, sample_s, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    process, log = served
    store, findings = tmp_path / "store", tmp_path / "out" / "findings.json"
    with get_client(sync_client=True) as client:
        wait_for_deployments(client, process, log)

        # pre-check and submission side by side, then the rerun of what was submitted
        precheck = run_deployment(
            name="check_package/precheck",
            parameters={"source": str(sample_s), "json_path": str(findings)},
            timeout=0,
        )
        submit = run_deployment(
            name="submit_package/submit",
            parameters={"source": str(sample_s), "store": str(store)},
            timeout=0,
        )
        runs = wait_for_runs(client, [precheck.id, submit.id], process, log)
        rerun = run_deployment(
            name="rerun_archive/rerun",
            parameters={"store": str(store), "include_unchanged": True},
            timeout=0,
        )
        runs |= wait_for_runs(client, [rerun.id], process, log)
        # the daily check is scheduled every day at 08:00 Beijing time; run it once now
        deployment = client.read_deployment_by_name("flag_overdue/daily")
        assert [(s.schedule.cron, s.schedule.timezone) for s in deployment.schedules] == [
            ("0 8 * * *", "Asia/Shanghai")
        ]
        daily = run_deployment(
            name="flag_overdue/daily", parameters={"store": str(store)}, timeout=0
        )
        runs |= wait_for_runs(client, [daily.id], process, log)

        states = {i: r.state.type.value for i, r in runs.items()}
        assert states == dict.fromkeys((precheck.id, submit.id, rerun.id, daily.id), "COMPLETED"), (
            tail(log)
        )
        assert artifacts_of(client, precheck.id) == {
            ("markdown", "summary-lc-kfq-2022-0137"),
            ("table", "findings-lc-kfq-2022-0137"),
        }
        assert artifacts_of(client, submit.id) == {
            ("markdown", "summary-lc-kfq-2022-0137-r1"),
            ("table", "findings-lc-kfq-2022-0137-r1"),
        }
        assert artifacts_of(client, rerun.id) == {
            ("markdown", "rerun-summary-liaocheng"),
            ("table", "rerun-changes-liaocheng"),
        }
        assert artifacts_of(client, daily.id) == {
            ("markdown", "case-board"),
            ("table", "case-overdue"),
        }
        # the served process made the work pool's queues: green before default
        from flows.case import QUEUE_PRIORITIES, WORK_POOL

        queues = {
            q: client.read_work_queue_by_name(q, work_pool_name=WORK_POOL).priority
            for q in QUEUE_PRIORITIES
        }
        assert queues == {"green": 1, "default": 10, "analysts": 20}

    assert json.loads(findings.read_text(encoding="utf-8"))["verdict"] == "accepted"
    from storage.store import Store

    assert [r.revision for r in Store(store).revisions("LC-KFQ-2022-0137")] == [1]
    assert {p.name for p in (store / "products").iterdir()} == {
        "planning",
        "registration",
        "housing",
        "archive",
    }


def run_ok(args: list[str], env: dict[str, str], timeout: float = 180) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_a_process_worker_of_the_pool_runs_the_deployments(
    prefect_harness, sample_s, tmp_path
):
    """``python -m flows.deploy --pool`` registers, ``prefect worker start --pool …
    --type process`` runs: a submission, then the rerun of the store on a Dask
    LocalCluster (the job's DUOCE_BACKEND=dask), both completed."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    pool = "duoce-pool-test"  # its own pool: the served test's pool is not disturbed
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUOCE_")}
    env |= {"PREFECT_API_URL": PREFECT_API_URL.value(), "PREFECT_WORKER_QUERY_SECONDS": "1"}
    said = run_ok([sys.executable, "-m", "flows.deploy", "--pool", pool], env)
    assert f"prefect worker start --pool {pool} --type process" in said

    store = tmp_path / "store"
    log = tmp_path / "worker.log"
    prefect = [sys.executable, "-m", "prefect"]
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            [*prefect, "worker", "start", "--pool", pool, "--type", "process"],
            cwd=tmp_path,  # the flows come from the installed package, not the checkout
            env=env,
            stdout=sink,
            stderr=sink,
        )
        try:
            with get_client(sync_client=True) as client:
                deployment = client.read_deployment_by_name("rerun_archive/rerun")
                assert deployment.work_pool_name == pool
                assert deployment.job_variables == {"env": {"DUOCE_BACKEND": "dask"}}
                assert deployment.entrypoint == "flows.rerun.rerun_archive"
                submit = run_deployment(
                    name="submit_package/submit",
                    parameters={"source": str(sample_s), "store": str(store)},
                    timeout=0,
                )
                runs = wait_for_runs(client, [submit.id], worker, log, timeout=300)
                rerun = run_deployment(
                    name="rerun_archive/rerun",
                    parameters={"store": str(store), "include_unchanged": True, "workers": 2},
                    timeout=0,
                )
                runs |= wait_for_runs(client, [rerun.id], worker, log, timeout=300)
                states = {i: r.state.type.value for i, r in runs.items()}
                assert states == {submit.id: "COMPLETED", rerun.id: "COMPLETED"}, tail(log)
                assert {r.work_pool_name for r in runs.values()} == {pool}
                assert artifacts_of(client, rerun.id) == {
                    ("markdown", "rerun-summary-liaocheng"),
                    ("table", "rerun-changes-liaocheng"),
                }
                assert "dask" in log.read_text(encoding="utf-8", errors="replace").lower()
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=20)
