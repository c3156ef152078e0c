"""Running one check without Prefect: :func:`precheck` reads and checks one package in a
throw-away :func:`workspace`, with the collector quietened (:func:`few_collections`).

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

from engine.rule_split import split_runner
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

    ``workers``: extra processes (None: one per spare core, see
    :func:`parsers.pool.read_workers`; 0: all in this process). They read the drawings
    while the report is read; then one of them (a fork) shares the rest of the check
    (:mod:`engine.rule_split`). ``readers``: drawing readers started earlier by the caller
    (the CLI starts them before its imports).
    """
    extra = read_workers(workers)
    if readers is None:
        readers = readers_for(source, extra)  # they start while the package opens
    with few_collections():
        try:
            pkg = read_package(source, workdir, profile, progress, readers=readers, defer=True)
        finally:
            readers.close()
        if progress:
            progress("检查规则")
        return run_checks(pkg, profile, runner=split_runner(extra))


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None
GC_BATCH_THRESHOLD = 50_000


@contextlib.contextmanager
def few_collections() -> Iterator[None]:
    """Run the cyclic garbage collector every 50 000 allocations instead of 700.

    A check builds ~400 000 container objects (frames, geometries, findings) that live until
    it ends; at the default threshold the collector re-scans them over and over for nothing:
    ~10 % of an L package's check time. Reference counting still frees everything at once;
    only cycles wait a little longer. Process-wide, so shared by concurrent checks: the first
    to enter raises the threshold, the last to leave restores it.
    """
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(GC_BATCH_THRESHOLD, *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None
