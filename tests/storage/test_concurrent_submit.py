"""Two firms submit at the same moment: two `duoce submit` processes, two projects, one
store. Both land whole (catalogue rows, four products each, every checksum right), and a
product file damaged afterwards is found by `duoce verify-store`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sample_data import build_model, write_package
from storage.store import Store

ROOT = Path(__file__).resolve().parents[2]
DEPARTMENTS = {"planning", "registration", "housing", "archive"}
PROJECTS = ("LC-KFQ-2022-0137", "LC-KFQ-2022-0241")


def two_packages(out: Path) -> list[Path]:
    """The sample S as two projects: one handed in as a zip, the other as a folder."""
    first = build_model("S")
    second = build_model("S", seed=1)
    second.project_id = second.info.xmbh = PROJECTS[1]
    return [write_package(first, out / "a", as_zip=True), write_package(second, out / "b")]


def child_env(tmp: Path, name: str) -> dict[str, str]:
    """The test's environment (and its ``DUOCE_DATABASE_URL``), the harness's API and a
    Prefect home of the child's own."""
    from prefect.settings import PREFECT_API_URL

    env = {  # the catalogue's database (the postgresql runs) goes with it
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DUOCE_", "PYTEST")) or k == "DUOCE_DATABASE_URL"
    }
    home = tmp / f"prefect-{name}"
    home.mkdir()
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=str(PREFECT_API_URL.value()),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        DO_NOT_TRACK="1",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        DUOCE_WORKDIR=str(tmp / f"work-{name}"),
        PYTHONIOENCODING="utf-8",
        COLUMNS="1000",
    )
    return env


def duoce(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str]:
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        pytest.fail(f"timed out: {stdout[-2000:]} {stderr[-2000:]}")
    output = stdout + stderr
    assert "Traceback" not in output and "内部错误" not in output, output[-3000:]
    return proc.returncode, output


def test_two_submissions_at_once_both_land_intact(prefect_harness, tmp_path: Path) -> None:
    packages = two_packages(tmp_path / "packages")
    store = tmp_path / "store"
    envs = [child_env(tmp_path, n) for n in ("a", "b")]

    start = time.perf_counter()
    procs = [
        duoce("submit", str(p), "--store", str(store), env=e)
        for p, e in zip(packages, envs, strict=True)
    ]
    results = [finish(p) for p in procs]
    elapsed = time.perf_counter() - start

    for code, output in results:
        assert code == 0, output[-3000:]
    assert elapsed < 90, f"{elapsed:.0f} s"
    vault = Store(store)
    assert sorted(vault.projects()) == sorted(PROJECTS)
    for project in PROJECTS:
        [sub] = vault.submissions(project)
        assert sub.revision == 1 and sub.is_new
        [rev] = vault.revisions(project)
        assert rev.verdict == "accepted"
        assert vault.verify_raw(rev.package_sha256)
        products = vault.products(project_id=project)
        assert {p.department for p in products} == DEPARTMENTS
        assert all(p.revision == 1 and p.file_count > 0 for p in products)
    assert vault.verify_all() == []
    code, output = finish(duoce("verify-store", "--store", str(store), env=envs[0]))
    assert code == 0, output

    # a product file changed behind the store's back is found and named
    product = vault.products(department="planning", project_id=PROJECTS[1])[0]
    damaged = product.path / "planning.gpkg"
    damaged.chmod(0o644)
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    assert [(d.path.resolve(), d.kind) for d in vault.verify_all()] == [
        (damaged.resolve(), "changed")
    ]
    code, output = finish(duoce("verify-store", "--store", str(store), env=envs[0]))
    assert code == 1
    assert str(damaged.relative_to(store)) in output or str(damaged) in output, output
