"""The console entry runs the CLI: ``duoce check`` through it gives its verdict, code and outputs."""

from __future__ import annotations

import json
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
