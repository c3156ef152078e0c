"""Where an L check's CPU goes: ``duoce check`` of one package on every core and pinned
to one, beside the plain read, measured in one run; ``--breakdown`` splits one in-process
check's CPU by step.

There is no parallel machinery left (the drawing-reader processes were removed, issue 16:
they did not buy ≥ 15 % wall); the collector off during the check and ``os._exit`` after
the outputs are on in every side.

Every side runs in a fresh process, interleaved with the others ``--repeat`` times (the
best wall time of each side is kept, so a busy machine's noise mostly cancels):

- ``read``         ezdxf.readfile every DXF + openpyxl.load_workbook (``bench_check.READ_ONLY``);
- ``check``        ``duoce check PKG --json F``;
- ``read 1 core``  the plain read pinned to CPU 0 (``taskset -c 0``);
- ``check 1 core`` the check pinned to CPU 0.

CPU is the whole process's: user + system of the process and of the children it waited
for (``os.wait4``'s rusage), interpreter start and imports included. The ratios divide by
the plain read's (the unpinned one; pinned sides also by the pinned read). Run::

    uv run python benchmarks/bench_machinery.py [--size L] [--repeat 3] [--package DIR] [--breakdown 3]

``--breakdown N`` then runs one check in process (``precheck``, pinned) N times and prints
where the CPU of the lowest went: every import by top-level package, the reading steps,
typing, the models, each rule module, gc — exclusive times that add up to the total.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_check import READ_ONLY, _child, _ratio  # noqa: E402  (the plain read, the child runner)

PIN = ["taskset", "-c", "0"]

# --breakdown: one check in process, the CPU of each step exclusive of the steps
# it calls; the imports (every import, wherever it happens) by top-level package, gc apart.
# A step missing from the tree (renamed, merged) is left out and its CPU falls to "other".
STEPS = [
    ("parsers.package", "open_package", "read: open package"),
    ("parsers.package", "read_manifest", "read: manifest"),
    ("parsers.package", "missing_floor_plans", "read: manifest"),
    ("parsers.package", "read_report", "read: workbook (calamine → frames)"),
    ("parsers.dxf", "read_drawing", "read dxf: bytes, sniff, encoding"),
    ("parsers.dxf", "read_dxf", "read dxf: ezdxf path"),
    ("parsers.dxf_scan", "healthy_tags", "read dxf: health check (tokenise + checks)"),
    ("parsers.dxf_fast", "scan_entities", "read dxf: scan"),
    ("parsers.dxf_fast", "_gdal", "read dxf: GDAL"),
    ("parsers.dxf_fast", "_drawing", "read dxf: frames from WKB + scan"),
    ("schemas.check", "type_tables", "type tables"),
    ("schemas.check", "check_envelope", "envelope"),
    ("schemas.check", "check_crs", "crs"),
    ("schemas.check", "drawing_geometry", "geometry: site + parcel"),
    ("schemas.check", "floor_geometry", "geometry: floor plans"),
    ("schemas.check", "lost_entities", "verdict, profile, sort"),
    ("schemas.check", "apply_profile", "verdict, profile, sort"),
    ("schemas.check", "decide", "verdict, profile, sort"),
]

BREAKDOWN = r"""
import resource
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
import collections, functools, gc, importlib, json, os, sys
import importlib._bootstrap as _bs
acc = collections.Counter({"interpreter start": cpu()})
stack, last = ["other"], [cpu()]
def charge():
    now = cpu(); acc[stack[-1]] += now - last[0]; last[0] = now
def enter(key):
    charge(); stack.append(key)
def leave():
    charge(); stack.pop()
find_and_load = _bs._find_and_load
def hooked(name, import_):  # every import statement's module loads pass here
    enter("import " + name.split(".")[0])
    try:
        return find_and_load(name, import_)
    finally:
        leave()
_bs._find_and_load = hooked
gc.callbacks.append(lambda phase, info: enter("gc") if phase == "start" else leave())
def timed(f, key):
    @functools.wraps(f)
    def run(*a, **kw):
        enter(key)
        try:
            return f(*a, **kw)
        finally:
            leave()
    return run
package, pre_mod, cli_mod, steps = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
importlib.import_module(cli_mod)  # what `duoce check` imports besides the checker
for mod, attr, key in steps:
    try:
        m = importlib.import_module(mod)
    except ImportError:
        continue
    if callable(getattr(m, attr, None)):
        setattr(m, attr, timed(getattr(m, attr), key))
import schemas.check as check
rule_modules = check.rule_modules
def timed_rules():
    return [functools.wraps(r)(timed(r, "rules: " + r.__module__.rsplit(".", 1)[-1])) for r in rule_modules()]
check.rule_modules = timed_rules
from pathlib import Path
pre = importlib.import_module(pre_mod)
from schemas.profile import load_profile
with pre.workspace() as wd:
    result = pre.precheck(Path(package), load_profile(), wd)
charge()
print(json.dumps({"total": cpu(), "acc": dict(acc), "findings": len(result.findings)}))
sys.stdout.flush()
os._exit(0)
"""
# side: (pinned, the plain read instead of the check)
SIDES: dict[str, tuple[bool, bool]] = {
    "read": (False, True),
    "check": (False, False),
    "read 1 core": (True, True),
    "check 1 core": (True, False),
}


def _here(module: str) -> bool:
    """Is ``module`` a module of this tree (not of another checkout on the path)?"""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    return spec is not None and spec.origin is not None and Path(spec.origin).resolve().is_relative_to(ROOT)


def precheck_module() -> str:
    """Where ``precheck`` lives: ``engine.precheck`` after issue 16's move, else ``flows.pipeline``."""
    return "engine.precheck" if _here("engine.precheck") else "flows.pipeline"


def cli_module() -> str:
    """The Typer app's module: ``interfaces.cli`` after the move, else ``flows.cli``."""
    return "interfaces.cli" if _here("interfaces.cli") else "flows.cli"


def console_entry() -> list[str]:
    """The ``duoce`` console entry as ``pyproject.toml`` names it, run by this interpreter
    (so the tree benchmarked is this one, whatever the venv's console script points at)."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    module, _, func = scripts["duoce"].partition(":")
    return [sys.executable, "-c", f"import sys; from {module} import {func} as m; sys.exit(m())"]


def run_side(name: str, package: Path, json_out: Path) -> dict:
    """One fresh process of side ``name``: wall, whole-process CPU, peak RSS (MB)."""
    pinned, plain = SIDES[name]
    argv = [sys.executable, "-c", READ_ONLY, str(package)] if plain else [
        *console_entry(), "check", str(package), "--json", str(json_out)]
    out, wall, cpu, peak = _child([*PIN, *argv] if pinned else argv, ok=(0,) if plain else (0, 1))
    fig = {"wall": wall, "cpu": cpu, "peak_mb": peak}
    if plain:
        fig.update(json.loads(out.decode().strip().splitlines()[-1]))
    else:
        doc = json.loads(json_out.read_text(encoding="utf-8"))
        fig.update(findings=len(doc["findings"]), errors=doc["counts"]["error"])
    return fig


def breakdown(package: Path, repeat: int) -> None:
    """Where the CPU of one in-process check goes, pinned to one core (lowest total of ``repeat``)."""
    argv = [*PIN, sys.executable, "-c", BREAKDOWN, str(package), precheck_module(), cli_module(), json.dumps(STEPS)]
    runs = [json.loads(_child(argv)[0].decode().strip().splitlines()[-1]) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["total"])
    acc: dict[str, float] = best["acc"]
    imports = {k[len("import "):]: v for k, v in acc.items() if k.startswith("import ")}
    rest = {k: v for k, v in acc.items() if not k.startswith("import ")}
    shown = {k: v for k, v in sorted(imports.items(), key=lambda kv: -kv[1]) if v >= 0.015}
    print(f"\nCPU breakdown of one check in process (one core; lowest of {repeat}: "
          f"{best['total']:.2f} s, exit and CLI output not included)")
    print(f"  {'imports':44} {sum(imports.values()):6.2f}   " + ", ".join(f"{k} {v:.2f}" for k, v in shown.items())
          + f", {len(imports) - len(shown)} others {sum(imports.values()) - sum(shown.values()):.2f}")
    for key, value in sorted(rest.items(), key=lambda kv: -kv[1]):
        if value >= 0.005:
            print(f"  {key:44} {value:6.2f}")
    print(f"  {'sum':44} {sum(acc.values()):6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="L", help="sample size to generate (S, M, L)")
    parser.add_argument("--package", type=Path, help="an existing package instead of a generated one")
    parser.add_argument("--repeat", type=int, default=3, help="runs per side, interleaved; the best wall is kept")
    parser.add_argument("--sides", default=",".join(SIDES), help="comma-separated subset of: " + ", ".join(SIDES))
    parser.add_argument("--breakdown", type=int, default=0, metavar="N",
                        help="also break one in-process check's CPU down by step (N runs, the lowest kept)")
    args = parser.parse_args()
    names = [n.strip() for n in args.sides.split(",")]
    if unknown := [n for n in names if n not in SIDES]:
        raise SystemExit(f"unknown sides: {unknown}")

    with tempfile.TemporaryDirectory(prefix="duoce-machinery-") as tmp:
        package = args.package
        if package is None:
            from sample_data import make_package

            package = make_package(Path(tmp) / args.size, args.size)
        print(f"package {package}; precheck in {precheck_module()}; entry {console_entry()[-1].split(';')[1].strip()}; "
              f"cores {len(os.sched_getaffinity(0))}; load {os.getloadavg()[0]:.2f}")
        runs: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.repeat):  # interleaved: every side sees the same machine
            for name in names:
                runs[name].append(run_side(name, package, Path(tmp) / "findings.json"))
        best = {n: min(r, key=lambda f: f["wall"]) for n, r in runs.items()}
        low_cpu = {n: min(f["cpu"] for f in r) for n, r in runs.items()}

        print(f"\n{'side':12} {'wall s':>7} {'CPU s':>7} {'minCPU':>7} {'peak MB':>8} {'CPU/read':>9} {'wall/read':>10}"
              f" {'CPU/r1':>7} {'wall/r1':>8}  notes")
        read, read1 = best.get("read"), best.get("read 1 core")
        for n in names:
            f = best[n]
            cells = [_ratio(f["cpu"], read["cpu"]) if read else "-", _ratio(f["wall"], read["wall"]) if read else "-"]
            pinned = SIDES[n][0]
            cells += [_ratio(f["cpu"], read1["cpu"]) if read1 and pinned else "", _ratio(f["wall"], read1["wall"]) if read1 and pinned else ""]
            note = (f"{f['entities']} entities, {f['rows']} rows" if SIDES[n][1] else f"{f['findings']} findings, {f['errors']} errors")
            print(f"{n:12} {f['wall']:7.2f} {f['cpu']:7.2f} {low_cpu[n]:7.2f} {f['peak_mb']:8.0f} {cells[0]:>9} {cells[1]:>10}"
                  f" {cells[2]:>7} {cells[3]:>8}  {note}")
        findings = {best[n]["findings"] for n in names if not SIDES[n][1]}
        if len(findings) > 1:
            print(f"WARNING: the sides disagree on the number of findings: {sorted(findings)}")
        if args.breakdown:
            breakdown(package, args.breakdown)


if __name__ == "__main__":
    main()
