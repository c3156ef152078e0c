"""The console entry starts the readers of ``duoce check PKG`` early and the CLI takes them."""

from __future__ import annotations

import json
import subprocess
import sys

from parsers import pool


def test_duoce_check_through_the_launcher(sample_s, tmp_path, monkeypatch):
    out = tmp_path / "findings.json"
    env = {"DUOCE_WORKERS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "interfaces.launch", "check", str(sample_s), "--json", str(out)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "accepted"


def test_early_readers_are_taken_once_and_only_for_their_package(tmp_path):
    readers = pool.Readers(1)
    proc = readers._workers[0].proc
    pool.hold_early(str(tmp_path / "a"), readers)
    assert pool.take_early(tmp_path / "b") is None  # another package: let go
    assert proc.wait(timeout=60) == 0
    assert pool.take_early(tmp_path / "a") is None  # taken (and dropped) already

    readers = pool.Readers(0)
    pool.hold_early(f"{tmp_path / 'a'}/", readers)  # as typed, with a trailing slash
    assert pool.take_early(str(tmp_path / "a")) is readers
    assert pool.take_early(str(tmp_path / "a")) is None


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


def test_start_early_with_no_workers_holds_none_started(tmp_path):
    pool.start_early(str(tmp_path), 0)
    readers = pool.take_early(tmp_path)
    assert readers is not None and len(readers) == 0
