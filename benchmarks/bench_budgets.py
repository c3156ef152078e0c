"""The budgets of issue 14, measured: a check of packages at and beyond the profile's
limits, each in a real ``duoce check`` process under RLIMIT_AS = the profile's
budget_memory_bytes, CPU (user + system of the process) and wall time side by side, with
its peak RSS and exit code.

    .venv/bin/python benchmarks/bench_budgets.py            # the default set
    .venv/bin/python benchmarks/bench_budgets.py NAME …     # corpus builders by name

The default set: the clean S, the workbook bypasses, the 500 000-file manifest, the
longest labels, 1 000 unlisted files, the largest sheets of the corpus and a 户 sheet just
under and just over max_sheet_cells.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from schemas.profile import load_profile  # noqa: E402
from tests.corpus.builders import BUILDERS, clean, write_dir  # noqa: E402

DEFAULT = [
    "xlsx-ref-single-quotes",
    "xlsx-rows-out-of-order",
    "xlsx-unplaced-far-column",
    "manifest-500k-absent-files",
    "label-too-long",
    "floor-label-30000-tabs",
    "many-unlisted-files",
    "huge-unit-sheet",
    "huge-extra-sheet",
    "xlsx-bomb-in-extra-sheet",
    "xlsx-sheet-at-cell-limit",
    "xlsx-sheet-over-cell-limit",
]


def run(path: Path, work: Path, limit: int) -> tuple[int, float, float, int]:
    """Exit code, wall seconds, CPU seconds and peak RSS (bytes) of one check."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    env = {**os.environ, "DUOCE_WORKDIR": str(work), "PYTHONIOENCODING": "utf-8"}
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "interfaces.cli", "check", str(path), "--json", str(work / "f.json")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=cap,
    )
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def main(names: list[str]) -> None:
    limits = load_profile().limits
    limit = limits.budget_memory_bytes
    print(f"budget: {limit / 1e9:.1f} GB address space (RLIMIT_AS), {limits.budget_seconds:.0f} s wall; "
          f"{os.cpu_count()} CPUs")
    print(f"{'package':32} {'exit':>4} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-budgets-") as tmp:
        base = Path(tmp)
        model, files = clean()
        cases = [("clean-S", write_dir(base / "S", model, files))]
        cases += [(n, BUILDERS[n](base / n).path) for n in names]
        for name, path in cases:
            work = base / f"work-{name}"
            work.mkdir()
            code, wall, cpu, rss = run(path, work, limit)
            flag = "" if code in (0, 1) and wall < limits.budget_seconds else "  OVER BUDGET"
            print(f"{name:32} {code:>4} {wall:>8.1f} {cpu:>8.1f} {rss / 1e6:>12.0f}{flag}")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
