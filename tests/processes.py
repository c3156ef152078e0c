"""Servers the tests start as subprocesses: wait until one answers, stop it after."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_for_http(
    proc: subprocess.Popen,
    url: str,
    log: Path | None = None,
    attempts: int = 600,
    pause: float = 0.1,
) -> None:
    """Until ``url`` answers 200 (loopback, no proxy); fails with the tail of ``log`` when
    the process ends first or ``url`` never answers."""

    def tail() -> str:
        return log.read_text(errors="replace")[-3000:] if log is not None else ""

    for _ in range(attempts):
        assert proc.poll() is None, tail()
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(pause)
    raise AssertionError(f"{url} did not answer\n{tail()}")


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
