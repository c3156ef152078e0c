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

from engine.settings import get_settings
from parsers.package import read_package
from parsers.pool import Readers, read_workers, readers_for
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


def precheck(
    source: Path,
    profile: Profile,
    workdir: Path,
    progress: Progress | None = None,
    workers: int | None = None,
    readers: Readers | None = None,
) -> CheckResult:
    """Read and check one package; the pure heart of every verb.

    ``workers``: drawing-reader processes (None: the ``DUOCE_WORKERS`` setting, 0 by
    default; 0: all in this process; -1: one per spare core, see
    :func:`parsers.pool.read_workers`). They read the drawings while the report is read;
    the rest of the check runs here. ``readers``: drawing readers started earlier by the
    caller (the CLI starts them before its imports).
    """
    if readers is None:
        extra = read_workers(_workers_setting() if workers is None else workers)
        readers = readers_for(source, extra)  # they start while the package opens
    with few_collections():
        try:
            pkg = read_package(source, workdir, profile, progress, readers=readers, defer=True)
        finally:
            readers.close()
        if progress:
            progress("检查规则")
        return run_checks(pkg, profile)


def _workers_setting() -> int:
    try:
        return get_settings().workers
    except ValueError:  # a bad DUOCE_WORKERS: read in process
        return 0


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
