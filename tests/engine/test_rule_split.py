"""The rules split over two processes (engine.rule_split) give exactly what one process
gives, and a child that dies, hangs or babbles costs time, never a finding.

A fork is only made by a single-threaded process, and pytest's may run threads (the
Prefect harness): so each case runs in a fresh interpreter, which reports back as JSON.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine import rule_split
from parsers import pool
from schemas.drawings import Geometry
from schemas.findings import Finding, Place

# Writes one S package with defects found by the report's typing, the CRS step and the
# cadastral, property, planning and cross rules; checks it with every step in process and
# split, and prints what came out.
SCRIPT = r"""
import json, os, sys, time, logging
from pathlib import Path
from engine import rule_split
from engine.precheck import precheck
from sample_data.defects import DEFECTS
from sample_data.generator import build_model
from sample_data.package import write
from schemas.profile import load_profile
import schemas.rules.cross as cross

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
out, case = Path(sys.argv[1]), sys.argv[2]
model = build_model("S")
for name in ("RPT-003", "RPT-009", "CRS-005", "CAD-007", "PRP-006", "PLN-003", "XSV-004"):
    DEFECTS[name].apply(model)
package = write(model, out / "pkg", report_format="xlsx", as_zip=False, dxf_version="R2010", dxf_encoding=None)

def broken(ctx):
    raise RuntimeError("a rule's own bug")
broken.__module__ = "schemas.rules.cross"
cross.RULES.append(broken)

forks = []
start = rule_split._Child.start
def counted(steps, rules):
    forks.append(len(rules))
    return start(steps, rules)
rule_split._Child.start = counted

handed_back = []
unpack_runs = rule_split._unpack_runs
def answered(got):
    runs = unpack_runs(got)
    handed_back.append(sum(run is None for run in runs))
    return runs
rule_split._unpack_runs = answered

if case == "dies":
    rule_split._serve = lambda steps, rules, r, w: os._exit(3)
elif case == "dies-after-the-prelude":
    rule_split._try = lambda rule, ctx: os._exit(3)
elif case == "babbles":
    def babble(steps, rules, r, w):
        os.write(w, b"not a pickle at all")
        os._exit(0)
    rule_split._serve = babble
elif case == "hangs":
    rule_split.MIN_WAIT, rule_split.WAIT_FACTOR = 1.0, 1.0
    def hang(steps, rules, r, w):
        time.sleep(600)
    rule_split._serve = hang

profile = load_profile()
(out / "a").mkdir()
(out / "b").mkdir()
alone = precheck(package, profile, out / "a", workers=0)
split = precheck(package, profile, out / "b", workers=1)
print(json.dumps({
    "forks": forks,
    "handed_back": handed_back,
    "alone": [f.as_dict() for f in alone.findings],  # code, place, message, figures
    "split": [f.as_dict() for f in split.findings],
    "verdicts": [alone.verdict.verdict, split.verdict.verdict],
    "errors": [[e.splitlines()[0] for e in r.internal_errors] for r in (alone, split)],
}))
"""


def _run(tmp_path: Path, case: str) -> tuple[dict, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), case],
        capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="the rules are split by fork on Linux only")
@pytest.mark.parametrize("case", ["ok", "dies", "dies-after-the-prelude", "babbles", "hangs"])
def test_split_rules_find_what_one_process_finds(tmp_path, case):
    got, log = _run(tmp_path, case)
    assert got["forks"] and all(n > 0 for n in got["forks"])  # the split check did fork
    codes = {f["code"] for f in got["alone"]}
    assert {"RPT-003", "RPT-009", "CRS-005", "CAD-007", "PRP-006", "PLN-003", "XSV-004"} <= codes, codes
    assert got["split"] == got["alone"]  # same findings, same order
    assert got["verdicts"][0] == got["verdicts"][1] == "rejected"
    # the broken rule is reported as an internal error either way, once
    assert got["errors"][0] == got["errors"][1]
    assert len(got["errors"][1]) == 1 and got["errors"][1][0].startswith("schemas.rules.cross.broken")
    if case == "ok":
        assert "rule process" not in log
        # FLOOR_RULES names every rule that reads the floor model: the child hands none back
        assert got["handed_back"] == [0]
    else:
        assert "the rule process failed" in log


class _Steps:
    """Steps that record the order they are run in."""

    def __init__(self, rules):
        self.rules, self.calls = rules, []
        self.pkg = SimpleNamespace(tables={})  # a report of no rows

    def type(self):
        self.calls.append("type")
        return "tables", []

    def settle(self):
        self.calls.append("settle")
        return []

    def judge(self, tables):
        self.calls.append("judge")
        return "zone", Geometry(), []

    def floors(self):
        self.calls.append("floors")
        return {}, []

    def context(self, tables, zone, geometry):
        return "ctx"


def test_a_threaded_process_does_every_step_itself(monkeypatch):
    """With a second Python thread alive no fork is made (a lock could be held forever)."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not rule_split.can_fork()
        monkeypatch.setattr(rule_split._Child, "start", classmethod(lambda cls, steps, rules: pytest.fail("forked")))

        def rule(ctx):
            steps.calls.append(ctx)
            return []

        rule.__module__ = "schemas.rules.cadastral"
        steps = _Steps([rule, rule])
        done = rule_split.split_steps(steps)
        assert done.runs == [([], None), ([], None)]
        # in process, in the usual order: the report typed while the drawings' readers read
        assert steps.calls == ["type", "settle", "judge", "floors", "ctx", "ctx"]
    finally:
        stop.set()
        thread.join()


@pytest.mark.skipif(sys.platform != "linux", reason="the steps are split by fork on Linux only")
def test_the_drawing_readers_threads_end_before_the_fork(monkeypatch):
    """Their threads are alive until the drawings are settled, which the split does first;
    any other thread forbids the fork."""
    main = threading.main_thread()
    reader = threading.Thread(name=pool.READER_THREAD)
    other = threading.Thread(name="a caller's own thread")
    for alive, early, late in (([main], True, True), ([main, reader], True, False), ([main, reader, other], False, False)):
        monkeypatch.setattr(rule_split.threading, "enumerate", lambda alive=alive: alive)
        assert rule_split.can_fork(ending=(pool.READER_THREAD,)) is early
        assert rule_split.can_fork() is late


def test_a_report_of_very_many_rows_is_checked_in_process(monkeypatch):
    """Its findings could be as many as its rows: sending them would cost more than the
    split saves, so every step runs here, the report typed while the drawings are read."""
    monkeypatch.setattr(rule_split._Child, "start", classmethod(lambda cls, steps, rules: pytest.fail("forked")))
    steps = _Steps([])
    steps.pkg = SimpleNamespace(tables={"unit": range(rule_split.TYPE_HERE_ROWS + 1)})
    rule_split.split_steps(steps)
    assert steps.calls == ["type", "settle", "judge", "floors"]


def test_the_floor_model_is_out_of_reach_in_the_child():
    """Any use of the absent floor model stops the rule (a BaseException: no rule's
    ``except Exception`` swallows it)."""
    absent = rule_split._Elsewhere()
    for use in (len, bool, iter, list, lambda m: m.get("0001"), lambda m: m.items(), lambda m: "0001" in m, lambda m: m["0001"]):
        with pytest.raises(rule_split._FloorsElsewhere):
            try:
                use(absent)
            except Exception:  # noqa: BLE001 — what a rule might do
                pytest.fail("caught as an ordinary error")


def test_no_extra_process_means_the_plain_runner():
    from schemas.check import run_in_process

    assert rule_split.split_runner(0) is run_in_process
    assert rule_split.split_runner(1) is rule_split.split_steps


_texts = st.none() | st.text(max_size=8)
_places = st.builds(
    Place, sheet=_texts, row=st.none() | st.integers(1, 10**6), key=_texts, field=_texts,
    file=_texts, layer=_texts, handle=_texts,
)
_points = st.none() | st.tuples(st.floats(allow_nan=False), st.floats(allow_nan=False))
_findings = st.builds(
    Finding, code=st.sampled_from(["RPT-003", "PRP-006", "XSV-004"]), severity=st.sampled_from(["error", "warning", "info"]),
    domain=st.text(max_size=8), message=st.text(max_size=20), object=_places,
    expected=st.none() | st.floats(allow_nan=False) | st.text(max_size=4), actual=st.none() | st.floats(allow_nan=False),
    tolerance=st.none() | st.floats(allow_nan=False), location=_points, local=_points,
)


@given(st.lists(_findings, max_size=20))
def test_findings_go_through_the_pipe_as_columns_unchanged(findings):
    packed = rule_split._pack(findings)
    assert rule_split._is_packed(packed)
    assert rule_split._unpack(pickle.loads(pickle.dumps(packed))) == findings


@given(st.lists(st.none() | st.tuples(st.lists(_findings, max_size=4), st.none() | st.text(max_size=10)), max_size=8))
def test_rule_outcomes_go_through_the_pipe_unchanged(runs):
    packed = rule_split._pack_runs(runs)
    assert rule_split._are_runs(packed, len(runs))
    assert rule_split._unpack_runs(pickle.loads(pickle.dumps(packed))) == runs


def test_a_garbled_answer_is_refused():
    good = rule_split._pack_runs([([], None), None])
    assert rule_split._are_runs(good, 2)
    assert not rule_split._are_runs(good, 3)
    counts, errors, packed = good
    assert not rule_split._are_runs(([5, None], errors, packed), 2)  # more findings than sent
    assert not rule_split._are_runs(([0, None], [1, None], packed), 2)
    assert not rule_split._is_packed((packed[0][:-1], packed[1]))
