"""The archive rerun on one and on two Dask worker processes, beside the in-process rerun.

    .venv/bin/python benchmarks/bench_archive.py --count 200
    .venv/bin/python benchmarks/bench_archive.py --count 12          # a quick look
    .venv/bin/python benchmarks/bench_archive.py --database-url postgresql://…  # + PostGIS

1. Generates ``--count`` mixed packages (sample size S, each with its own seed and project
   id; two in three with one seeded defect of sample_data.defects, so accepted and
   rejected ones mix) and stores them in a throw-away store the way ``submit_package``
   does (its steps called directly, without Prefect): store, check, record, compare,
   publish. The publish time per package is printed (SQLite catalogue + GeoPackages).
2. Reruns the whole archive (``include_unchanged``): in process (``analysis.rerun.rerun``,
   no Prefect: the check CPU a package costs), then the Prefect flow ``rerun_archive``
   on a Dask ``LocalCluster`` of 1 and of 2 worker processes (one thread each) on a
   temporary Prefect server. The clusters are started and their workers import the flow's
   modules before the clock starts (printed apart: a city's workers are long-lived), and
   are given to the flow as ``dask_address``.
3. Prints wall and CPU of each run side by side; CPU is that of this process and all its
   children (the Prefect server, the Dask scheduler, nannies and workers). Speed-up =
   wall(1 worker) / wall(2 workers). Orchestration overhead per package = (CPU of the
   flow run on Dask − CPU of the in-process rerun) / packages, as a share of the
   in-process CPU per package. Verdicts: every row of the three runs must be equal.

``--database-url``: the hook for the PostgreSQL + PostGIS backend (issue 13, item 1):
the same archive is stored a second time with ``DUOCE_DATABASE_URL`` set, and the publish
time per package compared. Skipped with a note when not given (or when the store does not
take a database yet).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_HOME = tempfile.mkdtemp(prefix="bench-archive-prefect-")
os.environ["PREFECT_HOME"] = _HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_LOGGING_TO_API_ENABLED"] = "false"
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import psutil  # noqa: E402  (a dependency of distributed)

from sample_data import build_model, write_package  # noqa: E402
from sample_data.defects import DEFECTS  # noqa: E402


def defect_names() -> list[str]:
    """Model-stage defects that need no special write options: mixed verdicts."""
    return sorted(n for n, d in DEFECTS.items() if d.stage == "model" and not d.write)


def make_packages(out: Path, count: int) -> list[Path]:
    names = defect_names()
    paths = []
    for i in range(count):
        model = build_model("S", seed=i)
        model.project_id = model.info.xmbh = f"LC-BENCH-2024-{i:04d}"
        if i % 3:
            DEFECTS[names[(i * 7) % len(names)]].apply(model)
        paths.append(write_package(model, out / f"p{i:04d}"))
    return paths


def tree_cpu() -> float:
    """CPU seconds of this process, its reaped children and its live descendants."""
    me = psutil.Process()
    t = me.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.Error:
            continue
        total += c.user + c.system
    return total


def store_archive(packages: list[Path], store: Path) -> list[float]:
    """submit_package's steps without Prefect; the publish seconds of each package."""
    from flows.pipeline import (
        compare_revisions,
        publish_products,
        read_and_check,
        record_revision,
        store_raw,
    )
    from storage.store import Store

    publish = []
    for path in packages:
        raw, sha256 = store_raw.fn(str(store), str(path))
        with Store(store).workspace("extract") as work:
            result = read_and_check.fn(raw, "liaocheng", str(work))
            result.package.sha256 = sha256
            submission = record_revision.fn(str(store), result)
            comparison = compare_revisions.fn(str(store), result, submission.revision)
            t0 = time.perf_counter()
            done = publish_products.fn(str(store), result, submission.revision, raw, comparison)
            publish.append(time.perf_counter() - t0)
            assert not done["failed"], done["failed"]
    return publish


def warm_up() -> None:
    """What a worker imports for its first rerun task, imported before the clock starts."""
    import flows.rerun  # noqa: F401


def per_package(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.0f} ms, mean {statistics.mean(seconds) * 1000:.0f} ms"


def timed(fn):
    w0, c0 = time.perf_counter(), tree_cpu()
    value = fn()
    return value, time.perf_counter() - w0, tree_cpu() - c0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="packages in the archive")
    parser.add_argument("--database-url", default=None, help="also store on PostgreSQL+PostGIS")
    parser.add_argument("--keep", action="store_true", help="keep the generated archive")
    args = parser.parse_args()

    from distributed import Client, LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    from analysis.rerun import rerun
    from flows.rerun import rerun_archive
    from schemas.profile import load_profile
    from storage.store import Store

    tmp = Path(tempfile.mkdtemp(prefix="bench-archive-"))
    print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}")
    packages, wall, cpu = timed(lambda: make_packages(tmp / "packages", args.count))
    print(f"generated {len(packages)} packages (S, {len(defect_names())} defect kinds): wall {wall:.1f} s")

    store = tmp / "store"
    publish, wall, cpu = timed(lambda: store_archive(packages, store))
    print(f"stored (SQLite + GeoPackage): wall {wall:.1f} s, CPU {cpu:.1f} s; "
          f"publish per package {per_package(publish)}")
    if args.database_url:
        os.environ["DUOCE_DATABASE_URL"] = args.database_url
        try:
            pg, wall, cpu = timed(lambda: store_archive(packages, tmp / "store-pg"))
        except TypeError as exc:  # pragma: no cover - until the store takes a database
            print(f"PostgreSQL+PostGIS: skipped, the store does not take a database yet ({exc})")
        else:
            print(f"stored (PostgreSQL + PostGIS): wall {wall:.1f} s, CPU {cpu:.1f} s; "
                  f"publish per package {per_package(pg)} "
                  f"(SQLite+GeoPackage {per_package(publish)})")
        finally:
            del os.environ["DUOCE_DATABASE_URL"]
    else:
        print("PostgreSQL+PostGIS publish comparison: skipped (give --database-url to run it)")

    verdicts = {r.verdict for r in Store(store).revisions()}
    print(f"archive: {len(Store(store).revisions())} revisions, verdicts {sorted(verdicts)}")

    base, base_wall, base_cpu = timed(
        lambda: rerun(Store(store), load_profile(), include_unchanged=True)
    )
    n = len(base)
    check_cpu = base_cpu / n
    print(f"\n{'run':<22}{'wall s':>9}{'CPU s':>9}{'CPU/pkg s':>11}{'overhead':>10}")
    print(f"{'in process (no Prefect)':<22}{base_wall:>9.1f}{base_cpu:>9.1f}{check_cpu:>11.3f}{'—':>10}")

    results = {}
    with prefect_test_harness(server_startup_timeout=120):
        for workers in (1, 2):
            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
            client.run(warm_up)  # a city's workers are long-lived: imports paid once
            start = time.perf_counter() - t0
            rows, wall, cpu = timed(
                lambda cluster=cluster: rerun_archive(
                    store=str(store),
                    include_unchanged=True,
                    backend="dask",
                    dask_address=cluster.scheduler_address,
                )
            )
            client.close()
            cluster.close()
            overhead = (cpu - base_cpu) / n / check_cpu
            results[workers] = (rows, wall, cpu)
            label = f"Dask, {workers} worker{'s' if workers > 1 else ''}"
            print(f"{label:<22}{wall:>9.1f}{cpu:>9.1f}{cpu / n:>11.3f}{overhead:>9.1%}"
                  f"   (cluster start and imports {start:.1f} s, not counted)")

    same = [r.as_dict() for r in base] == [r.as_dict() for r in results[1][0]] == [
        r.as_dict() for r in results[2][0]
    ]
    unchanged = all(r.status == "unchanged" and r.new_verdict == r.old_verdict for r in base)
    speedup = results[1][1] / results[2][1]
    print(f"\npackages {n}; speed-up 1 → 2 workers: {speedup:.2f}× (target ≥ 1.8× on two idle cores)")
    print(f"orchestration overhead per package (2 workers): "
          f"{(results[2][2] - base_cpu) / n * 1000:.0f} ms CPU = "
          f"{(results[2][2] - base_cpu) / base_cpu:.1%} of its check CPU (target ≤ 10 %)")
    print(f"verdicts identical in the three runs: {same}; all as archived: {unchanged}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept: {tmp}")
    return 0 if same and unchanged else 1


if __name__ == "__main__":
    sys.exit(main())
