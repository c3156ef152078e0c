"""Running one check without Prefect: :func:`precheck` reads and checks one package in a
throw-away :func:`workspace`, with the cyclic collector off (:func:`few_collections`).

A firm's pre-check (`duoce check`) calls :func:`precheck` directly, with no Prefect server;
the flows (:mod:`flows.pipeline`) and the analysts' rerun call the very same function.
"""

from __future__ import annotations

import contextlib
import gc
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from parsers.package import read_package
from schemas.check import CheckResult, run_checks
from schemas.profile import Profile

Progress = Callable[[str], None]


@contextlib.contextmanager
def workspace(parent: Path | None = None) -> Iterator[Path]:
    """A throw-away folder for extraction, removed afterwards whatever happens."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="duoce-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def precheck(source: Path, profile: Profile, workdir: Path, progress: Progress | None = None) -> CheckResult:
    """Read and check one package in this process; the pure heart of every verb."""
    with few_collections():
        pkg = read_package(source, workdir, profile, progress, defer=True)
        if progress:
            progress("检查规则")
        return run_checks(pkg, profile)


_gc_lock = threading.Lock()
_gc_users = 0
_gc_was_enabled = False


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Switch the cyclic garbage collector off while a check runs.

    A check builds ~400 000 container objects (frames, geometries, findings) that live until
    it ends; the collector would re-scan them over and over for nothing (L: 3.49 s CPU with
    the default threshold, 3.24 s with the collector off). Reference counting still frees
    everything at once; only cycles wait until the check ends. Process-wide, so shared by
    concurrent checks: the first to enter switches it off, the last to leave switches it
    back on (if it was on).
    """
    global _gc_users, _gc_was_enabled
    with _gc_lock:
        if _gc_users == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_was_enabled:
                gc.enable()
