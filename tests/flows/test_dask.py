"""Reruns and bulk checks fan out on a Dask cluster: a two-worker ``LocalCluster`` of
processes (prefect-dask) on the test Prefect server gives the same verdicts, rows and
reasons as the in-process rerun, and the tasks run in the workers, not in the flow's
process."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.rerun import rerun
from sample_data import build_model, write_package
from sample_data.defects import DEFECTS
from schemas.profile import load_profile

DEFECTIVE = ("PLN-007", "CAD-007", "RPT-004")


def model_of(n: int):
    model = build_model("S", seed=n)
    model.project_id = model.info.xmbh = f"LC-KFQ-2023-{n:04d}"
    return model


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Path]:
    """Five packages: two clean, three with one seeded defect each."""
    out = tmp_path_factory.mktemp("dask-packages")
    paths = []
    for n in range(5):
        model = model_of(n)
        if n >= 2:
            DEFECTS[DEFECTIVE[n - 2]].apply(model)
        paths.append(write_package(model, out / f"p{n}"))
    return paths


@pytest.fixture(scope="module")
def archive(prefect_harness, packages, tmp_path_factory) -> Path:
    from flows.pipeline import submit_package

    store = tmp_path_factory.mktemp("dask-archive") / "store"
    for path in packages:
        submit_package(str(path), str(store), "liaocheng")
    return store


@pytest.fixture
def relaxed(tmp_path) -> Path:
    """A city profile that turns PLN-007 off: one verdict changes."""
    path = tmp_path / "relaxed.toml"
    path.write_text(
        'base = "liaocheng"\nname = "relaxed"\n\n[severity]\n"PLN-007" = "off"\n', encoding="utf-8"
    )
    return path


def test_rerun_on_two_dask_processes_equals_the_in_process_rerun(archive, relaxed):
    from prefect.artifacts import Artifact

    from flows.rerun import CPU_PATTERN, rerun_archive
    from storage.store import Store

    for profile, per_task in (("liaocheng", None), (str(relaxed), 2)):  # 5 tasks; 3 batches
        expected = rerun(Store(archive), load_profile(profile), include_unchanged=True)
        on_dask = rerun_archive(
            store=str(archive),
            profile=profile,
            include_unchanged=True,
            backend="dask",
            workers=2,
            per_task=per_task,
        )
        assert [r.as_dict() for r in on_dask] == [r.as_dict() for r in expected]
        assert len(on_dask) == 5
        if profile == "liaocheng":  # the summary says what the checks cost, summed over tasks
            summary = str(Artifact.get("rerun-summary-liaocheng").data)
            checked = float(CPU_PATTERN.search(summary).group(1))
            assert 0 < checked < 60, summary
            assert "每个成果包" in summary and "任务 5 个" in summary, summary
    verdicts = {(r.old_verdict, r.new_verdict, r.status) for r in on_dask}
    assert ("rejected", "accepted", "changed") in verdicts  # PLN-007 off under relaxed
    assert not any((archive / "tmp").iterdir())


def test_bulk_check_on_two_dask_processes(prefect_harness, packages, tmp_path):
    import json

    from engine.precheck import precheck
    from flows.bulk import check_packages

    out = tmp_path / "findings"
    results = check_packages(
        [str(p) for p in packages], json_dir=str(out), backend="dask", workers=2, per_task=2
    )

    expected = []
    for path in packages:
        result = precheck(path, load_profile(), tmp_path / f"work-{path.name}")
        expected.append((result.verdict.verdict, dict(result.counts)))
    assert [(r["verdict"], r["counts"]) for r in results] == expected
    assert {v for v, _ in expected} == {"accepted", "rejected"}
    assert [r["source"] for r in results] == [str(p) for p in packages]
    assert os.getpid() not in {r["pid"] for r in results}  # checked in the worker processes
    assert all(r["cpu_s"] > 0 for r in results)
    written = sorted(out.iterdir())
    assert [json.loads(p.read_text(encoding="utf-8"))["verdict"] for p in written] == [
        v for v, _ in expected
    ]


def test_batches_keep_the_order_and_leave_no_long_tail():
    from flows.bulk import MAX_BATCH, batches

    assert batches([], 2) == []
    assert batches(list(range(5)), 2) == [[0], [1], [2], [3], [4]]  # few: one a task
    assert batches(list(range(5)), 1, 2) == [[0, 1], [2, 3], [4]]
    assert batches(list(range(5)), 1, 0) == [[0], [1], [2], [3], [4]]
    many = batches(list(range(200)), 2)
    assert [x for b in many for x in b] == list(range(200))
    assert {len(b) for b in many} == {MAX_BATCH}  # 20 tasks: ≥ 4 a worker, ≤ 10 packages each
    assert len(batches(list(range(40)), 2)) == 8  # 4 tasks a worker of 5 packages


def test_the_dask_runner_takes_an_existing_scheduler(monkeypatch):
    from flows.bulk import dask_runner

    monkeypatch.setenv("DUOCE_DASK_ADDRESS", "tcp://10.0.0.5:8786")
    assert dask_runner().address == "tcp://10.0.0.5:8786"
    monkeypatch.delenv("DUOCE_DASK_ADDRESS")
    local = dask_runner(workers=2)
    assert local.address is None
    assert local.cluster_kwargs == {
        "processes": True,
        "threads_per_worker": 1,
        "dashboard_address": None,
        "n_workers": 2,
    }
