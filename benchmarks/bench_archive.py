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
   are given to the flow as ``dask_address``. The flow batches packages into tasks
   (``flows.bulk.batches``; ``--per-task N`` to choose); ``--also-one-per-task`` adds a
   run on 2 workers with one task a package, which prices a Prefect task run.
3. Prints wall and CPU of each run side by side; CPU is that of this process and all its
   children (the Prefect server, the Dask scheduler, nannies and workers), and its parts
   (this process: flow, scheduler, nannies; the Prefect server; the worker processes).
   Speed-up = wall(1 worker) / wall(2 workers). Orchestration overhead per package, two
   ways: *same run* = (CPU of the flow run on Dask − the CPU its tasks spent checking,
   which the flow's summary artifact reports) / packages, as a share of that check CPU per
   package — everything Prefect and Dask cost, measured in one run, so a machine that
   runs slower or faster from one minute to the next does not move it; and *vs in process*
   = (CPU of the flow run − CPU of the in-process rerun) / packages, as a share of the
   in-process CPU per package (minutes apart: on a shared machine this one drifts with it).
   Verdicts: every row of the three runs must be equal.

``--archive DIR`` reruns an archive kept by an earlier ``--keep`` (DIR holds ``store/``)
instead of generating and storing one (≈ 4 minutes for 200).

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
    return sum(cpu_by_part().values())


def _part(proc: psutil.Process) -> str:
    try:
        line = " ".join(proc.cmdline())
    except psutil.Error:
        return "other"
    if "uvicorn" in line or "prefect" in line and "server" in line:
        return "Prefect server"
    if "multiprocessing.spawn" in line or "multiprocessing.forkserver" in line:
        return "Dask workers"
    return "other"


def cpu_by_part() -> dict[str, float]:
    """CPU seconds by part: this process (the flow, the Dask scheduler and nannies), the
    Prefect server, the Dask worker processes, others (reaped children included)."""
    me = psutil.Process()
    t = me.cpu_times()
    parts = {
        "flow, scheduler, nannies": t.user + t.system,
        "Prefect server": 0.0,
        "Dask workers": 0.0,
        "other": t.children_user + t.children_system,
    }
    for child in me.children(recursive=True):
        try:
            c = child.cpu_times()
        except psutil.Error:
            continue
        parts[_part(child)] += c.user + c.system
    return parts


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


def timed(fn, parts: dict[str, float] | None = None):
    """``fn()``, its wall and CPU seconds (this process tree); CPU by part into ``parts``."""
    w0, c0 = time.perf_counter(), cpu_by_part()
    value = fn()
    wall, c1 = time.perf_counter() - w0, cpu_by_part()
    if parts is not None:
        parts.update({k: c1[k] - c0.get(k, 0.0) for k in c1})
    return value, wall, sum(c1.values()) - sum(c0.values())


def checked_cpu(packages: int) -> float | None:
    """The CPU seconds the last rerun flow's tasks spent checking, as its summary artifact
    says (None when it does not)."""
    from prefect.artifacts import Artifact

    from flows.rerun import CPU_PATTERN

    found = Artifact.get("rerun-summary-liaocheng")
    match = CPU_PATTERN.search(str(found.data)) if found is not None else None
    return float(match.group(1)) if match else None


def tasks_of(per_task: int | None, packages: int, workers: int) -> int:
    from flows.bulk import batches

    return len(batches(range(packages), workers, per_task))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="packages in the archive")
    parser.add_argument("--database-url", default=None, help="also store on PostgreSQL+PostGIS")
    parser.add_argument("--keep", action="store_true", help="keep the generated archive")
    parser.add_argument(
        "--archive", type=Path, default=None, help="rerun this kept archive (its store/)"
    )
    parser.add_argument(
        "--per-task", type=int, default=None, help="packages a task (default: the flow's choice)"
    )
    parser.add_argument(
        "--also-one-per-task",
        action="store_true",
        help="also run 2 workers with one task a package (what a task run costs)",
    )
    args = parser.parse_args()

    print(f"cores: {len(os.sched_getaffinity(0))}; load average {os.getloadavg()[0]:.2f}")
    if args.archive is not None:
        tmp = args.archive
        store = tmp / "store"
        if not (store / "catalogue.sqlite").exists() and not store.is_dir():
            print(f"no archive at {store}", file=sys.stderr)
            return 2
        args.keep = True  # never remove what was given
    else:
        tmp = Path(tempfile.mkdtemp(prefix="bench-archive-"))
        store = tmp / "store"
        build_archive(args, tmp, store)
    return rerun_all(args, tmp, store)


def build_archive(args: argparse.Namespace, tmp: Path, store: Path) -> None:
    """Generate ``--count`` packages and store them (publish time per package printed)."""
    packages, wall, cpu = timed(lambda: make_packages(tmp / "packages", args.count))
    print(
        f"generated {len(packages)} packages (S, {len(defect_names())} defect kinds): wall {wall:.1f} s"
    )

    publish, wall, cpu = timed(lambda: store_archive(packages, store))
    print(
        f"stored (SQLite + GeoPackage): wall {wall:.1f} s, CPU {cpu:.1f} s; "
        f"publish per package {per_package(publish)}"
    )
    if args.database_url:
        os.environ["DUOCE_DATABASE_URL"] = args.database_url
        from storage.store import Store

        if Store(tmp / "store-pg").revisions():  # one database holds one store's catalogue
            del os.environ["DUOCE_DATABASE_URL"]
            print(
                "PostgreSQL+PostGIS: skipped, the database already holds a catalogue (give an empty one)"
            )
            return
        try:
            pg, wall, cpu = timed(lambda: store_archive(packages, tmp / "store-pg"))
        except TypeError as exc:  # pragma: no cover - until the store takes a database
            print(f"PostgreSQL+PostGIS: skipped, the store does not take a database yet ({exc})")
        else:
            print(
                f"stored (PostgreSQL + PostGIS): wall {wall:.1f} s, CPU {cpu:.1f} s; "
                f"publish per package {per_package(pg)} "
                f"(SQLite+GeoPackage {per_package(publish)})"
            )
        finally:
            del os.environ["DUOCE_DATABASE_URL"]
    else:
        print("PostgreSQL+PostGIS publish comparison: skipped (give --database-url to run it)")


def rerun_all(args: argparse.Namespace, tmp: Path, store: Path) -> int:
    """The archive rerun in process, then on 1 and on 2 Dask workers; the figures."""
    import dask
    from distributed import Client, LocalCluster
    from prefect.testing.utilities import prefect_test_harness

    from analysis.rerun import rerun
    from flows.bulk import LOCAL_CLUSTER_CONFIG
    from flows.rerun import rerun_archive
    from schemas.profile import load_profile
    from storage.store import Store

    verdicts = {r.verdict for r in Store(store).revisions()}
    print(f"archive: {len(Store(store).revisions())} revisions, verdicts {sorted(verdicts)}")

    base, base_wall, base_cpu = timed(
        lambda: rerun(Store(store), load_profile(), include_unchanged=True)
    )
    n = len(base)
    check_cpu = base_cpu / n
    print(f"\n{'run':<22}{'wall s':>9}{'CPU s':>9}{'CPU/pkg s':>11}{'overhead':>10}")
    print(
        f"{'in process (no Prefect)':<22}{base_wall:>9.1f}{base_cpu:>9.1f}{check_cpu:>11.3f}{'—':>10}"
    )

    results = {}
    runs = [(1, args.per_task), (2, args.per_task)]
    if args.also_one_per_task:
        runs.append((2, 1))
    with prefect_test_harness(server_startup_timeout=120):
        for workers, per_task in runs:
            t0 = time.perf_counter()
            with dask.config.set(LOCAL_CLUSTER_CONFIG):  # as the flow's own LocalCluster
                cluster = LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
                )
            client = Client(cluster)
            client.run(warm_up)  # a city's workers are long-lived: imports paid once
            start = time.perf_counter() - t0
            parts: dict[str, float] = {}
            rows, wall, cpu = timed(
                lambda cluster=cluster, per_task=per_task: rerun_archive(
                    store=str(store),
                    include_unchanged=True,
                    backend="dask",
                    dask_address=cluster.scheduler_address,
                    per_task=per_task,
                ),
                parts,
            )
            client.close()
            cluster.close()
            overhead = (cpu - base_cpu) / n / check_cpu
            in_tasks = checked_cpu(n)
            results[(workers, per_task)] = (rows, wall, cpu, in_tasks)
            tasks = tasks_of(per_task, n, workers)
            label = f"Dask, {workers} worker{'s' if workers > 1 else ''}"
            print(
                f"{label:<22}{wall:>9.1f}{cpu:>9.1f}{cpu / n:>11.3f}{overhead:>9.1%}"
                f"   ({tasks} tasks; cluster start and imports {start:.1f} s, not counted)"
            )
            if in_tasks is not None:
                same_run = (
                    f"same run: checks in the tasks {in_tasks / n * 1000:.0f} ms a package, "
                    f"orchestration {(cpu - in_tasks) / n * 1000:.0f} ms = "
                    f"{(cpu - in_tasks) / in_tasks:.1%} of it"
                )
                print(" " * 22 + same_run)
            print(
                " " * 22
                + "CPU by part, ms a package: "
                + "; ".join(f"{k} {v / n * 1000:.0f}" for k, v in parts.items() if v > 0.0005 * n)
            )

    expected = [r.as_dict() for r in base]
    same = all([r.as_dict() for r in rows] == expected for rows, *_ in results.values())
    unchanged = all(r.status == "unchanged" and r.new_verdict == r.old_verdict for r in base)
    one, two = results[(1, args.per_task)], results[(2, args.per_task)]
    speedup = one[1] / two[1]
    print(
        f"\npackages {n}; speed-up 1 → 2 workers: {speedup:.2f}× (target ≥ 1.8× on two idle cores)"
    )
    if two[3] is not None:
        print(
            f"orchestration overhead per package (2 workers, same run): "
            f"{(two[2] - two[3]) / n * 1000:.0f} ms CPU = "
            f"{(two[2] - two[3]) / two[3]:.1%} of its check CPU (target ≤ 10 %)"
        )
    print(
        f"orchestration overhead per package (2 workers, vs in process): "
        f"{(two[2] - base_cpu) / n * 1000:.0f} ms CPU = "
        f"{(two[2] - base_cpu) / base_cpu:.1%} of its check CPU"
    )
    if (2, 1) in results and args.per_task != 1:
        each = results[(2, 1)]
        print(
            f"one task a package (2 workers): wall {each[1]:.1f} s, CPU {each[2]:.1f} s; "
            f"a task run costs {(each[2] - two[2]) / (n - tasks_of(args.per_task, n, 2)) * 1000:.0f} ms CPU"
        )
    print(
        f"verdicts identical in all {len(results) + 1} runs: {same}; all as archived: {unchanged}"
    )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept: {tmp}")
    return 0 if same and unchanged else 1


if __name__ == "__main__":
    sys.exit(main())
