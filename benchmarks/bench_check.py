"""Check time vs merely reading the same files, S and L, measured in one run.

For each package size this prints:

- ``read``: a fresh process that only reads every DXF with ``ezdxf.readfile`` and the
  workbook with ``openpyxl.load_workbook`` (the plain way to open a package);
- ``check``: a fresh process running ``duoce check`` on the same package (read, type,
  judge every rule, verdict);

each as whole-command wall time (interpreter start and imports included) and as work time
inside the process (after imports), with the process's peak memory (max RSS). The ratio
check ÷ read is what to quote: both sides run on the same machine in the same minute, so
the noise of a shared machine mostly cancels. Run: ``uv run python benchmarks/bench_check.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READ_ONLY = r"""
import sys, time, json, glob, os
t0 = time.perf_counter()
import ezdxf, openpyxl
t1 = time.perf_counter()
root = sys.argv[1]
n = 0
for path in sorted(glob.glob(os.path.join(root, "drawings", "**", "*.dxf"), recursive=True)):
    doc = ezdxf.readfile(path)
    n += len(doc.modelspace())
wb = openpyxl.load_workbook(os.path.join(root, "report.xlsx"))
rows = sum(ws.max_row for ws in wb.worksheets)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "entities": n, "rows": rows}))
"""

CHECK = r"""
import sys, time, json
t0 = time.perf_counter()
from pathlib import Path
from flows.pipeline import precheck, workspace
from schemas.profile import load_profile
t1 = time.perf_counter()
with workspace() as wd:
    result = precheck(Path(sys.argv[1]), load_profile(), wd)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "errors": result.counts["error"], "findings": len(result.findings)}))
"""


def run(code: str, package: Path) -> dict:
    """Run ``code`` in a fresh interpreter; wall time, its printed figures, its peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, str(package)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if status != 0:
        raise SystemExit(f"benchmark child failed:\n{err.decode(errors='replace')}")
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures["wall"] = wall
    figures["peak_mb"] = usage.ru_maxrss / 1024  # Linux: KiB
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,L")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side; the best is kept")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sample_data import make_package

    with tempfile.TemporaryDirectory(prefix="duoce-bench-") as tmp:
        print(f"{'size':4} {'side':6} {'wall s':>8} {'work s':>8} {'peak MB':>8}  notes")
        for size in args.sizes.split(","):
            package = make_package(Path(tmp) / size, size)
            best = {}
            for _ in range(args.repeat):  # interleaved, so both sides see the same machine
                for side, code in (("read", READ_ONLY), ("check", CHECK)):
                    fig = run(code, package)
                    if side not in best or fig["wall"] < best[side]["wall"]:
                        best[side] = fig
            r, c = best["read"], best["check"]
            print(f"{size:4} {'read':6} {r['wall']:8.2f} {r['work']:8.2f} {r['peak_mb']:8.0f}  {r['entities']} DXF entities, {r['rows']} sheet rows (ezdxf.readfile + openpyxl)")
            print(f"{size:4} {'check':6} {c['wall']:8.2f} {c['work']:8.2f} {c['peak_mb']:8.0f}  {c['findings']} findings, {c['errors']} errors (duoce check)")
            print(f"{size:4} ratio  check/read: whole command {c['wall'] / r['wall']:.2f}, work only {c['work'] / r['work']:.2f}; check peak {c['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
