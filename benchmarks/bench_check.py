"""Check time vs merely reading the same files, S and L, measured in one run.

For each package size this prints:

- ``read``: a fresh process that only reads every DXF with ``ezdxf.readfile`` and the
  workbook with ``openpyxl.load_workbook`` (the plain way to open a package);
- ``check``: a fresh process that imports the checker, then runs ``precheck`` (what
  ``duoce check`` runs: read, type, judge every rule, verdict) — its work time is the
  check alone, comparable to the read's work time;
- ``cli``: the ``duoce check PKG --json F`` command itself, whole (it starts its drawing
  readers before its own imports).

each as whole-command wall time (interpreter start and imports included) and, for read and
check, as work time inside the process (after imports), with the process's peak memory
(max RSS of the process and of its drawing readers). The ratios check ÷ read are what to
quote: all sides run on the same machine in the same minute, so the noise of a shared
machine mostly cancels. Run: ``uv run python benchmarks/bench_check.py``.
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
    out, wall, peak = _child([sys.executable, "-c", code, str(package)])
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures.update(wall=wall, peak_mb=peak)
    return figures


def run_cli(package: Path, json_out: Path) -> dict:
    """``duoce check PKG --json F`` as a user runs it: wall time, peak RSS, findings."""
    script = Path(sys.executable).with_name("duoce")  # the console entry a user runs
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flows.launch"]
    _, wall, peak = _child([*command, "check", str(package), "--json", str(json_out)], ok=(0, 1))
    doc = json.loads(json_out.read_text(encoding="utf-8"))
    return {"wall": wall, "peak_mb": peak, "findings": len(doc["findings"]), "errors": doc["counts"]["error"]}


def _child(argv: list[str], ok: tuple[int, ...] = (0,)) -> tuple[bytes, float, float]:
    """Run ``argv``; its stdout, wall time and peak RSS in MB (the largest of the process
    and of the children it waited for: the drawing readers)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=Path(__file__).resolve().parents[1])
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            raise SystemExit(f"benchmark child failed ({code}):\n{err.read().decode(errors='replace')}")
        return out.read(), wall, usage.ru_maxrss / 1024  # Linux: KiB


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
                for side, code in (("read", READ_ONLY), ("check", CHECK), ("cli", None)):
                    fig = run(code, package) if code else run_cli(package, Path(tmp) / "findings.json")
                    if side not in best or fig["wall"] < best[side]["wall"]:
                        best[side] = fig
            r, c, u = best["read"], best["check"], best["cli"]
            print(f"{size:4} {'read':6} {r['wall']:8.2f} {r['work']:8.2f} {r['peak_mb']:8.0f}  {r['entities']} DXF entities, {r['rows']} sheet rows (ezdxf.readfile + openpyxl)")
            print(f"{size:4} {'check':6} {c['wall']:8.2f} {c['work']:8.2f} {c['peak_mb']:8.0f}  {c['findings']} findings, {c['errors']} errors (duoce check)")
            print(f"{size:4} {'cli':6} {u['wall']:8.2f} {'':>8} {u['peak_mb']:8.0f}  {u['findings']} findings, {u['errors']} errors (duoce check --json)")
            print(f"{size:4} ratio  check/read work only {c['work'] / r['work']:.2f}; duoce check/read whole command {u['wall'] / r['wall']:.2f}")


if __name__ == "__main__":
    main()
