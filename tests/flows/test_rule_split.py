"""The rules split over two processes (flows.rule_split) give exactly what one process
gives, and a child that dies, hangs or babbles costs time, never a finding.

A fork is only made by a single-threaded process, and pytest's may run threads (the
Prefect harness): so each case runs in a fresh interpreter, which reports back as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from flows import rule_split

# Writes one S package with a defect in each of cadastral, property, planning and cross,
# checks it with the rules in process and split, and prints what came out.
SCRIPT = r"""
import json, os, sys, time, logging
from pathlib import Path
from flows import rule_split
from flows.pipeline import precheck
from sample_data.defects import DEFECTS
from sample_data.generator import build_model
from sample_data.package import write
from schemas.profile import load_profile
import schemas.rules.cross as cross

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
out, case = Path(sys.argv[1]), sys.argv[2]
model = build_model("S")
for name in ("CAD-007", "PRP-006", "PLN-003", "XSV-004"):
    DEFECTS[name].apply(model)
package = write(model, out / "pkg", report_format="xlsx", as_zip=False, dxf_version="R2010", dxf_encoding=None)

def broken(ctx):
    raise RuntimeError("a rule's own bug")
broken.__module__ = "schemas.rules.cross"
cross.RULES.append(broken)

forks = []
start = rule_split._Child.start
def counted(rules, ctx):
    forks.append(len(rules))
    return start(rules, ctx)
rule_split._Child.start = counted

handed_back = []
result = rule_split._Child.result
def answered(self, count, timeout):
    got = result(self, count, timeout)
    handed_back.append(None if got is None else sum(run is None for run in got))
    return got
rule_split._Child.result = answered

if case == "dies":
    rule_split._serve = lambda rules, ctx, r, w: os._exit(3)
elif case == "babbles":
    def babble(rules, ctx, r, w):
        os.write(w, b"not a pickle")
        os._exit(0)
    rule_split._serve = babble
elif case == "hangs":
    rule_split.MIN_WAIT, rule_split.WAIT_FACTOR = 1.0, 1.0
    def hang(rules, ctx, r, w):
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
@pytest.mark.parametrize("case", ["ok", "dies", "babbles", "hangs"])
def test_split_rules_find_what_one_process_finds(tmp_path, case):
    got, log = _run(tmp_path, case)
    assert got["forks"] and all(n > 0 for n in got["forks"])  # the split check did fork
    codes = {f["code"] for f in got["alone"]}
    assert {"CAD-007", "PRP-006", "PLN-003", "XSV-004"} <= codes, codes
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


def test_a_threaded_process_runs_the_rules_itself(monkeypatch):
    """With a second Python thread alive no fork is made (a lock could be held forever)."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert not rule_split.can_fork()
        monkeypatch.setattr(rule_split._Child, "start", classmethod(lambda cls, rules, ctx: pytest.fail("forked")))
        calls = []

        def rule(ctx):
            calls.append(ctx)
            return []

        rule.__module__ = "schemas.rules.cadastral"
        found, runs = rule_split.split_rules([rule, rule], "ctx", lambda: calls.append("floors") or [])
        assert (found, runs) == ([], [([], None), ([], None)])
        assert calls == ["floors", "ctx", "ctx"]  # the floor model first, as in process
    finally:
        stop.set()
        thread.join()


def test_the_floor_model_is_out_of_reach_in_the_child():
    """Any use of the absent floor model stops the rule (a BaseException: no rule's
    ``except Exception`` swallows it)."""
    absent = rule_split._ELSEWHERE
    for use in (len, bool, iter, list, lambda m: m.get("0001"), lambda m: m.items(), lambda m: "0001" in m, lambda m: m["0001"]):
        with pytest.raises(rule_split._FloorsElsewhere):
            try:
                use(absent)
            except Exception:  # noqa: BLE001 — what a rule might do
                pytest.fail("caught as an ordinary error")


def test_no_extra_process_means_the_plain_runner():
    from schemas.check import run_in_process

    assert rule_split.split_runner(0) is run_in_process
    assert rule_split.split_runner(1) is rule_split.split_rules
