"""The rooms keep their one-way imports (docs/architecture.md).

The contracts live in pyproject.toml (``[tool.importlinter]``); ``lint-imports`` checks
them here so that CI checks them with the tests. import-linter cannot say "no circle
anywhere", so a second test looks for one in grimp's graph of every project module,
imports made inside functions and under ``TYPE_CHECKING`` included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
ROOMS = (
    "interfaces",
    "flows",
    "analysis",
    "storage",
    "outputs",
    "engine",
    "parsers",
    "schemas",
    "sample_data",
)


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_cycles_finds_a_circle():
    graph = grimp.ImportGraph()
    for a, b in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=a, imported=b)
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]


def test_no_import_circle_anywhere():
    graph = grimp.build_graph(*ROOMS, cache_dir=None)
    assert cycles(graph) == []


# `duoce check` with every output it can write, in a fresh interpreter: which Prefect
# modules did it import?
CHECK = r"""
import json, sys
from pathlib import Path
from typer.testing import CliRunner
from interfaces.cli import app
out = Path(sys.argv[2])
done = CliRunner().invoke(app, ["check", sys.argv[1], "--json", str(out / "findings.json"),
                                "--html", str(out / "report.html"), "--dxf", str(out / "marks.dxf")])
prefect = sorted(m for m in sys.modules if m.split(".")[0] in ("prefect", "prefect_dask", "dask", "distributed"))
print(json.dumps({"exit": done.exit_code, "prefect": prefect}))
"""


def test_duoce_check_does_not_import_prefect(sample_s, tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(sample_s), str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"exit": 0, "prefect": []}
    assert (tmp_path / "findings.json").exists() and (tmp_path / "report.html").exists()
