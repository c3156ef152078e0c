"""Check time vs merely reading the same files, S and L, measured in one run.

For each drawing set (``--sizes``: ``S``, ``L``, and ``L-acad``, the same L package with
every drawing written as AutoCAD 2013 saves it — AC1027, ANSI_936 header over UTF-8 text,
CRLF, THUMBNAILIMAGE and ACDSDATA; see ``sample_data/autocad.py``) this prints:

- ``read``: a fresh process that only reads every DXF with ``ezdxf.readfile`` and the
  workbook with ``openpyxl.load_workbook`` (the plain way to open a package);
- ``check``: a fresh process that imports the checker, then runs ``precheck`` (what
  ``duoce check`` runs: read, type, judge every rule, verdict) — its work time is the
  check alone, comparable to the read's work time;
- ``cli``: the ``duoce check PKG --json F`` command itself, whole;
- ``read1`` and ``cli1``: the plain read and the command pinned to one core
  (``os.sched_setaffinity`` in the child): what the check costs when no second core is free.

each as whole-command wall and CPU time (interpreter start and imports included; CPU of
the process and of the processes it waited for) and, for read and check, as work time
inside the process (after imports, wall and CPU), with the peak memory (max RSS). Then, for
each set, which reader each drawing takes in a check: the fast path
(``parsers.dxf_fast.read_dxf_fast`` answers) or ezdxf (it returns None, or fails).

The ratios check ÷ read are what to quote: all sides run on the same machine in the same
minute, so the noise of a shared machine mostly cancels. The last block puts the ratios of
every set side by side (e.g. L and L-acad: the AutoCAD copy should cost the check what our
own files cost it). Run: ``uv run python benchmarks/bench_check.py [--sizes S,L,L-acad] [--repeat 2]``
(the default sets are S, L and L-acad).
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
c1 = time.process_time()
root = sys.argv[1]
n = 0
for path in sorted(glob.glob(os.path.join(root, "drawings", "**", "*.dxf"), recursive=True)):
    doc = ezdxf.readfile(path)
    n += len(doc.modelspace())
wb = openpyxl.load_workbook(os.path.join(root, "report.xlsx"))
rows = sum(ws.max_row for ws in wb.worksheets)
t2 = time.perf_counter()
cpu = time.process_time() - c1
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "cpu": cpu, "entities": n, "rows": rows}))
"""

CHECK = r"""
import sys, time, json, resource
def cpu():  # this process and the processes it waited for
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
t0 = time.perf_counter()
from pathlib import Path
from engine.precheck import precheck, workspace
from schemas.profile import load_profile
t1 = time.perf_counter()
c1 = cpu()
with workspace() as wd:
    result = precheck(Path(sys.argv[1]), load_profile(), wd)
t2 = time.perf_counter()
c2 = cpu()
print(json.dumps({"imports": t1 - t0, "work": t2 - t1, "cpu": c2 - c1, "errors": result.counts["error"], "findings": len(result.findings)}))
"""

PATHS = r"""
import sys, json, glob, os
from pathlib import Path
from parsers.dxf_fast import read_dxf_fast
root = sys.argv[1]
fast, slow = 0, []
for path in sorted(glob.glob(os.path.join(root, "drawings", "**", "*.dxf"), recursive=True)):
    name = os.path.relpath(path, root)
    try:
        taken = read_dxf_fast(Path(path), name) is not None
    except Exception:  # read_drawing then reads it with ezdxf too
        taken = False
    if taken:
        fast += 1
    else:
        slow.append(name)
print(json.dumps({"fast": fast, "ezdxf": len(slow), "ezdxf_files": slow}))
"""


def run(code: str, package: Path, pinned: bool = False) -> dict:
    """Run ``code`` in a fresh interpreter; wall time, its printed figures, its peak RSS."""
    out, wall, cpu, peak = _child([sys.executable, "-c", code, str(package)], pinned=pinned)
    figures = json.loads(out.decode().strip().splitlines()[-1])
    figures.update(wall=wall, whole_cpu=cpu, peak_mb=peak)
    return figures


def run_cli(package: Path, json_out: Path, pinned: bool = False) -> dict:
    """``duoce check PKG --json F`` as a user runs it: wall time, peak RSS, findings."""
    script = Path(sys.executable).with_name("duoce")  # the console entry a user runs
    command = [str(script)] if script.exists() else [sys.executable, "-m", "interfaces.launch"]
    _, wall, cpu, peak = _child([*command, "check", str(package), "--json", str(json_out)], ok=(0, 1), pinned=pinned)
    doc = json.loads(json_out.read_text(encoding="utf-8"))
    return {"wall": wall, "whole_cpu": cpu, "peak_mb": peak, "findings": len(doc["findings"]),
            "errors": doc["counts"]["error"]}


def _pin() -> None:  # in the child, before exec: one core for it and all it starts
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _child(argv: list[str], ok: tuple[int, ...] = (0,), pinned: bool = False) -> tuple[bytes, float, float, float]:
    """Run ``argv`` (``pinned``: on one core); its stdout, wall time, CPU time (user +
    system, of the process and of the children it waited for) and peak RSS in MB (the
    largest of the process and of the children it waited for)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=Path(__file__).resolve().parents[1],
                                preexec_fn=_pin if pinned else None)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            raise SystemExit(f"benchmark child failed ({code}):\n{err.read().decode(errors='replace')}")
        cpu = usage.ru_utime + usage.ru_stime
        return out.read(), wall, cpu, usage.ru_maxrss / 1024  # Linux: KiB


def drawing_set(token: str) -> tuple[str, dict]:
    """``"L"`` → size L as generated; ``"L-acad"`` → size L, every drawing AutoCAD 2013 style."""
    size, _, style = token.partition("-")
    if style not in ("", "acad"):
        raise SystemExit(f"unknown drawing set {token!r}: use S, L, S-acad or L-acad")
    return size, ({"dxf_version": "R2013", "autocad": True} if style else {})


def reader_paths(package: Path) -> dict:
    """How many drawings of ``package`` the fast path takes, and which go to ezdxf."""
    out, *_ = _child([sys.executable, "-c", PATHS, str(package)])
    return json.loads(out.decode().strip().splitlines()[-1])


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "-"


def side_by_side(results: dict[str, dict]) -> None:
    """The ratios check ÷ read of every set in columns, and each set's reader paths."""
    names = list(results)
    rows = [
        ("CPU   work only (check/read)", lambda r: _ratio(r["check"]["cpu"], r["read"]["cpu"])),
        ("wall  work only (check/read)", lambda r: _ratio(r["check"]["work"], r["read"]["work"])),
        ("CPU   whole command (cli/read)", lambda r: _ratio(r["cli"]["whole_cpu"], r["read"]["whole_cpu"])),
        ("wall  whole command (cli/read)", lambda r: _ratio(r["cli"]["wall"], r["read"]["wall"])),
        ("CPU   one core (cli1/read1)", lambda r: _ratio(r["cli1"]["whole_cpu"], r["read1"]["whole_cpu"])),
        ("wall  one core (cli1/read1)", lambda r: _ratio(r["cli1"]["wall"], r["read1"]["wall"])),
        ("drawings by fast path / ezdxf", lambda r: f"{r['paths']['fast']}/{r['paths']['ezdxf']}"),
    ]
    print()
    print(f"{'side by side':32}" + "".join(f"{n:>10}" for n in names))
    for label, cell in rows:
        print(f"{label:32}" + "".join(f"{cell(results[n]):>10}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,L,L-acad", help="drawing sets: S, L, S-acad, L-acad (comma-separated)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side; the best is kept")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from sample_data import make_package

    with tempfile.TemporaryDirectory(prefix="duoce-bench-") as tmp:
        results: dict[str, dict] = {}
        print(f"{'set':6} {'side':6} {'wall s':>8} {'work s':>8} {'CPU s':>8} {'cmd CPU':>8} {'peak MB':>8}  notes")
        for token in args.sizes.split(","):
            size, options = drawing_set(token)
            package = make_package(Path(tmp) / token, size, **options)
            best: dict[str, dict] = {}
            for _ in range(args.repeat):  # interleaved, so both sides see the same machine
                for side, code, pinned in (("read", READ_ONLY, False), ("check", CHECK, False), ("cli", None, False),
                                           ("read1", READ_ONLY, True), ("cli1", None, True)):
                    fig = run(code, package, pinned) if code else run_cli(package, Path(tmp) / "findings.json", pinned)
                    if side not in best or fig["wall"] < best[side]["wall"]:
                        best[side] = fig
            best["paths"] = paths = reader_paths(package)
            results[token] = best
            r, c, u, r1, u1 = best["read"], best["check"], best["cli"], best["read1"], best["cli1"]
            t = token
            print(f"{t:6} {'read':6} {r['wall']:8.2f} {r['work']:8.2f} {r['cpu']:8.2f} {r['whole_cpu']:8.2f} {r['peak_mb']:8.0f}  {r['entities']} DXF entities, {r['rows']} sheet rows (ezdxf.readfile + openpyxl)")
            print(f"{t:6} {'check':6} {c['wall']:8.2f} {c['work']:8.2f} {c['cpu']:8.2f} {c['whole_cpu']:8.2f} {c['peak_mb']:8.0f}  {c['findings']} findings, {c['errors']} errors (duoce check)")
            print(f"{t:6} {'cli':6} {u['wall']:8.2f} {'':>8} {'':>8} {u['whole_cpu']:8.2f} {u['peak_mb']:8.0f}  {u['findings']} findings, {u['errors']} errors (duoce check --json)")
            print(f"{t:6} {'read1':6} {r1['wall']:8.2f} {r1['work']:8.2f} {r1['cpu']:8.2f} {r1['whole_cpu']:8.2f} {r1['peak_mb']:8.0f}  the read pinned to one core")
            print(f"{t:6} {'cli1':6} {u1['wall']:8.2f} {'':>8} {'':>8} {u1['whole_cpu']:8.2f} {u1['peak_mb']:8.0f}  duoce check --json pinned to one core")
            print(f"{t:6} ratio  check/read work only: CPU {_ratio(c['cpu'], r['cpu'])}, wall {_ratio(c['work'], r['work'])}; "
                  f"duoce check/read whole command: CPU {_ratio(u['whole_cpu'], r['whole_cpu'])}, wall {_ratio(u['wall'], r['wall'])}; "
                  f"one core: CPU {_ratio(u1['whole_cpu'], r1['whole_cpu'])}, wall {_ratio(u1['wall'], r1['wall'])}")
            slow = ", ".join(paths["ezdxf_files"][:3]) + (" …" if len(paths["ezdxf_files"]) > 3 else "")
            print(f"{t:6} reader {paths['fast']} drawings by the fast path, {paths['ezdxf']} by ezdxf" + (f" ({slow})" if slow else ""))
        side_by_side(results)


if __name__ == "__main__":
    main()
