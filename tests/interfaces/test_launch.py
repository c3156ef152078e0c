"""The console entry runs the CLI: ``duoce check`` through it gives its verdict, code and outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_duoce_check_through_the_launcher(sample_s, tmp_path, monkeypatch):
    out = tmp_path / "findings.json"
    env = {"PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.launch", "check", str(sample_s), "--json", str(out)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "accepted"


def test_check_ends_at_once_with_its_code_and_all_its_output(tmp_path):
    """``duoce check`` ends without interpreter teardown: the exit code, the printed summary
    and findings.json are all there."""
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    out = tmp_path / "findings.json"
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.launch", "check", str(bad), "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert done.returncode == 1
    assert "PKG-001" in done.stdout and "findings.json" in done.stdout
    assert [f["code"] for f in json.loads(out.read_text(encoding="utf-8"))["findings"]] == ["PKG-001"]


LAUNCH_THEN_NUMPY = """
import glob, os, sys
sys.argv = ["duoce", "rules", "PKG-001"]
from interfaces.launch import main
try:
    main()
except SystemExit:
    pass
import numpy
print(os.environ["OPENBLAS_NUM_THREADS"], len(glob.glob("/proc/self/task/*")))
"""


def test_the_entry_starts_no_blas_thread_pool_unless_asked(tmp_path):
    """numpy's OpenBLAS pool spins a thread at start-up for nothing a check needs: the entry
    asks for none; a user's own OPENBLAS_NUM_THREADS is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH_THEN_NUMPY], capture_output=True, text=True,
        timeout=120, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["1", "1"]  # the setting, and one thread: the main one
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH_THEN_NUMPY], capture_output=True, text=True,
        timeout=120, env={**env, "OPENBLAS_NUM_THREADS": "2"}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2] == "2"
