"""The hostile families (tests/corpus/hostile.py), each in a real ``duoce check`` process
under the profile's memory budget as an address-space limit (``RLIMIT_AS``, 2 GB): the
codes it must give, the exit code, no traceback and no abort, findings.json written, the
wall time (reported, asserted only against the case's generous bound) and the peak RSS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from schemas.profile import load_profile
from tests.corpus.builders import BUILDERS
from tests.corpus.hostile import AS_LIMIT, HOSTILE
from tests.corpus.test_bad_packages import ROOT, assert_findings, cli_env

# the launcher limits the CLI's address space, waits for it and reports its own peak RSS
_LAUNCH = """
import os, resource, subprocess, sys
limit = int(sys.argv[2])
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
proc = subprocess.Popen(sys.argv[3:], preexec_fn=cap)
_pid, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_limited(args: list[str], env: dict[str, str], timeout: float, limit: int = AS_LIMIT):
    """``python -m interfaces.cli …`` under RLIMIT_AS: exit code, stdout, stderr, seconds,
    peak RSS (bytes)."""
    fd, rss_file = tempfile.mkstemp(prefix="duoce-rss-")
    os.close(fd)
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, rss_file, str(limit), sys.executable, "-m", "interfaces.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    ) as proc:
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        out, err = proc.communicate()
        timer.cancel()
    elapsed = time.perf_counter() - start
    rss = int(Path(rss_file).read_text() or 0) * 1024
    os.unlink(rss_file)
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), elapsed, rss


def test_the_corpus_has_a_hundred_builders_and_the_families() -> None:
    assert len(BUILDERS) >= 100, len(BUILDERS)
    assert len(HOSTILE) >= 25
    for family in ("xlsx-ref-", "label-", "manifest-", "project-id-", "dir-", "zip-"):
        assert any(n.startswith(family) for n in HOSTILE), family


def test_the_budget_is_the_profiles() -> None:
    limits = load_profile().limits
    assert limits.budget_memory_bytes == AS_LIMIT
    assert limits.max_findings_per_code >= 1


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_in_a_real_process_under_the_memory_budget(name: str, tmp_path: Path) -> None:
    case = BUILDERS[name](tmp_path / "pkg")
    out = tmp_path / "findings.json"
    args = ["check", str(case.path), "--json", str(out)]
    if case.profile:
        args += ["--profile", str(case.profile)]
    code, stdout, stderr, elapsed, rss = run_limited(args, cli_env(tmp_path), 2 * case.seconds + 60)
    print(f"{name}: {elapsed:.1f} s wall, peak RSS {rss / 1e6:.0f} MB, exit {code}")
    text = stdout + stderr
    assert code >= 0, f"{name}: killed by signal {-code}: {stderr[-2000:]}"
    assert "Traceback" not in text and "内部错误" not in text, stderr[-3000:]
    assert code == case.exit_code, stdout[-2000:] + stderr[-2000:]
    assert elapsed < case.seconds + 30, f"{name}: {elapsed:.1f} s"
    assert rss < (case.max_rss or AS_LIMIT), f"{name}: peak RSS {rss / 1e6:.0f} MB"
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert_findings(case, doc["findings"])
    assert out.stat().st_size < 2 << 20  # the per-code cap keeps findings.json small
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").iterdir())
