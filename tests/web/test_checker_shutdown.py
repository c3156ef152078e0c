"""The web service's check pool ends with the service: its processes, and what they started
(a submission in a pool process starts a temporary Prefect server), are gone after
``Checker.shutdown`` — an orphaned pool process and its server were seen outliving a test."""

from __future__ import annotations

import atexit
import os
import subprocess
import time
from pathlib import Path

from interfaces.web.checks import Checker


def start_helper_process() -> tuple[int, int]:
    """In the pool process: start a long-lived child stopped at exit, as Prefect stops its
    temporary server; return (this process's pid, the child's pid)."""
    child = subprocess.Popen(["sleep", "300"])
    atexit.register(child.terminate)
    return os.getpid(), child.pid


def start_and_stay_busy(report: str) -> None:
    """As a long submission: start the child, say who is who, then keep working."""
    pids = start_helper_process()
    Path(report).write_text(f"{pids[0]} {pids[1]}")
    time.sleep(120)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie still answers kill(0): look at its state
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_shutdown_ends_the_pool_processes_and_what_they_started(tmp_path):
    """Even a pool process busy with a long submission is ended, and what it started."""
    checker = Checker("sqlite://", tmp_path / "store", "liaocheng", tmp_path / "web", workers=1)
    report = tmp_path / "pids"
    checker.call(start_and_stay_busy, str(report))
    deadline = time.monotonic() + 120
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker, grandchild = map(int, report.read_text().split())
    assert alive(worker) and alive(grandchild)
    checker.shutdown(grace=10.0)
    deadline = time.monotonic() + 10
    while (alive(worker) or alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(worker), "the pool process outlived the service"
    assert not alive(grandchild), "what the pool process started outlived it"
