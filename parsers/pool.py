"""Read a package's drawings in worker processes, while the caller reads the report.

Reading the DXF files is the largest single cost of a check (≈ 40 % of an L package) and
is independent of the report. On a machine with more than one core, worker processes take
the drawings, largest first, as soon as the package is opened; the caller reads and types
the report meanwhile, then joins in from the other end of the same queue, smallest first
(:meth:`PendingDrawings.collect`). So one worker is enough on two cores, and no core idles
while there is a file left.

Why processes, and plain ones: the readers are mostly Python (the tag scan, ezdxf), so
threads would queue on the GIL; forking the caller is unsafe once it runs threads (a
Prefect flow does); and multiprocessing's spawn / forkserver workers re-import the
caller's ``__main__`` (the whole CLI, or a user's script without a main guard). A worker
here is ``python -m parsers.pool``: it imports the readers only (not even pyproj), then reads one file at a
time, named on its stdin, and sends each drawing back pickled on its stdout (C libraries'
stray output goes to stderr, so it cannot corrupt that stream). :class:`Readers` can be
started before the caller's own imports, so that both import at once.

A worker that dies (a segfault in a native reader on a hostile file, the OOM killer) must
not take the check with it: the file it was reading is read again in this process by ezdxf
only (the native fast path is what could have crashed), the rest by the caller, and all
give their findings as usual. Nothing is raised to the caller.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # the readers are imported where they run: this module starts light
    from schemas.findings import Finding
    from schemas.package import Drawing

__all__ = ["PendingDrawings", "Readers", "hold_early", "read_workers", "readers_for", "start_early", "take_early"]

_log = logging.getLogger(__name__)
MIN_FILES = 4  # fewer drawings are read in process: a worker costs more than it saves
MIN_BYTES = 2 * 1024 * 1024  # ditto for less DXF than this in all
MAX_WORKERS = 3
READER_THREAD = "duoce-drawing-reader"  # the name of each worker's feeding thread here

Job = tuple[str, Path, str]  # drawing key, file, package-relative name
Read = tuple["Drawing", list["Finding"]]


def read_workers(requested: int | None = None) -> int:
    """How many worker processes to read with: ``requested`` when given (0: none; the
    ``DUOCE_WORKERS`` setting, :class:`engine.settings.Settings`), else (None or negative)
    one per usable core besides the caller's, at most :data:`MAX_WORKERS`."""
    if requested is not None and requested >= 0:
        return requested
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(0, min(MAX_WORKERS, cores - 1))


@dataclass
class _Worker:
    proc: subprocess.Popen
    current: int | None = None  # the job it is reading
    lost: int | None = None  # the job it died on
    thread: threading.Thread | None = None


class Readers:
    """Worker processes started ahead of need: they import the readers while the caller
    opens the package, then share its drawings with the caller (:meth:`read`)."""

    def __init__(self, count: int = 0) -> None:
        self._workers = [w for w in (_spawn() for _ in range(max(0, count))) if w is not None]

    def __len__(self) -> int:
        return len(self._workers)

    def read(self, jobs: Sequence[Job]) -> PendingDrawings:
        """Start reading ``jobs`` (largest first) in the workers; the caller reads the rest
        when it collects. Without workers, or for a small package, everything is read in
        process when collected. The workers are used up either way."""
        workers, self._workers = self._workers, []
        pending = PendingDrawings(list(jobs))
        sizes = [_size(path) for _, path, _ in pending.jobs]
        pending.queue.extend(sorted(range(len(sizes)), key=lambda i: -sizes[i]))
        if len(pending.jobs) < MIN_FILES or sum(sizes) < MIN_BYTES:
            workers, idle = [], workers
        else:
            workers, idle = workers[: len(pending.jobs)], workers[len(pending.jobs) :]
        for worker in idle:
            _end(worker)
        for worker in workers:
            worker.thread = threading.Thread(target=pending.feed, args=(worker,), daemon=True, name=READER_THREAD)
            worker.thread.start()
            pending.workers.append(worker)
        return pending

    def close(self) -> None:
        """Let unused workers go."""
        workers, self._workers = self._workers, []
        for worker in workers:
            _end(worker)
            worker.proc.wait()

    def __del__(self) -> None:
        self.close()


@dataclass
class PendingDrawings:
    """Drawings being read; :meth:`collect` gives them in the order of the jobs."""

    jobs: list[Job]
    queue: collections.deque[int] = field(default_factory=collections.deque)  # largest first
    workers: list[_Worker] = field(default_factory=list)
    got: dict[int, Read] = field(default_factory=dict)
    done: list[Read] | None = None

    def feed(self, worker: _Worker) -> None:
        """A worker's thread: hand it the largest job left, receive the drawing, repeat."""
        stdin, stdout = worker.proc.stdin, worker.proc.stdout
        assert stdin is not None and stdout is not None
        try:
            while True:
                try:
                    index = self.queue.popleft()
                except IndexError:
                    break
                worker.current = index
                _, path, rel = self.jobs[index]
                # absolute: the worker must open the very file this process means
                pickle.dump((os.path.abspath(path), rel), stdin, protocol=pickle.HIGHEST_PROTOCOL)
                stdin.flush()
                self.got[index] = pickle.load(stdout)
                worker.current = None
        except Exception:  # noqa: BLE001 — a dead worker or broken stream: read it here
            worker.lost = worker.current
            _log.debug("drawing reader stopped", exc_info=True)
        finally:
            _end(worker)
            with contextlib.suppress(OSError, ValueError):
                stdout.close()

    def collect(self, progress: Callable[[str], None] | None = None) -> list[tuple[str, Read]]:
        """Read what the workers have not taken (smallest first), wait for them, and read
        again here whatever a worker died on."""
        if self.done is None:
            from parsers.dxf import read_drawing, read_dxf

            while True:
                try:
                    index = self.queue.pop()
                except IndexError:
                    break
                _, path, rel = self.jobs[index]
                self.got[index] = read_drawing(path, rel)
            for worker in self.workers:
                if worker.thread is not None:
                    worker.thread.join()
                worker.proc.wait()
                if worker.lost is not None:
                    _, path, rel = self.jobs[worker.lost]
                    _log.warning("a drawing reader process stopped on %s; reading it here with ezdxf", rel)
                    self.got[worker.lost] = read_dxf(path, rel)
            self.done = []
            for index, (_key, _path, rel) in enumerate(self.jobs):
                if progress:
                    progress(f"读取图形 {rel}")
                self.done.append(self.got[index])
            self.workers = []
        return [(job[0], read) for job, read in zip(self.jobs, self.done, strict=True)]


_early: tuple[str, Readers] | None = None


def start_early(source: str, requested: int | None = None) -> None:
    """Start the readers of ``duoce check SOURCE`` before the CLI's own imports (the console
    entry, :mod:`interfaces.launch`): both import at once; the command takes them over
    (:func:`take_early`)."""
    hold_early(source, readers_for(Path(source), read_workers(requested)))


def hold_early(source: str, readers: Readers) -> None:
    """Keep readers started for ``source`` before the caller's imports (see interfaces.launch)."""
    global _early
    _early = (str(Path(source)), readers)


def take_early(source: str | Path) -> Readers | None:
    """The readers held for ``source``, once; None if there are none for it."""
    global _early
    held, _early = _early, None
    if held is None:
        return None
    if held[0] != str(Path(source)):  # "pkg/" and "pkg" are one package
        held[1].close()
        return None
    return held[1]


def readers_for(source: Path, workers: int) -> Readers:
    """Start ``workers`` readers now if ``source`` (a folder or a zip) looks big enough to be
    worth them, else none. Cheap: a walk of the folder's names, no file is opened."""
    return Readers(workers if workers >= 1 and _dxf_bytes(Path(source)) >= MIN_BYTES else 0)


def _dxf_bytes(source: Path, limit: int = 10_000) -> int:
    """DXF bytes under a folder (at most ``limit`` entries looked at), or a zip's size."""
    if source.is_file():
        return _size(source)
    total = seen = 0
    for folder, _dirs, names in os.walk(source):
        for name in names:
            seen += 1
            if name.lower().endswith(".dxf"):
                total += _size(Path(folder, name))
            if seen >= limit or total >= MIN_BYTES:
                return total
    return total


def _spawn() -> _Worker | None:
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "parsers.pool"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except (OSError, ValueError) as exc:  # no processes here (sandbox, limits): read in process
        _log.debug("no drawing reader process: %s", exc)
        return None
    return _Worker(proc)


def _end(worker: _Worker) -> None:
    """Close the worker's stdin: it ends after the file it is reading."""
    if worker.proc.stdin is not None:
        with contextlib.suppress(OSError, ValueError):
            worker.proc.stdin.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _serve(stdin: BinaryIO, out: BinaryIO) -> None:
    """The worker (readers already imported): read each file named on ``stdin`` and send
    its drawing to ``out``, until ``stdin`` ends."""
    from parsers.dxf import read_drawing

    while True:
        try:
            path, rel = pickle.load(stdin)
        except (EOFError, pickle.UnpicklingError):
            return
        pickle.dump(read_drawing(Path(path), rel), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    import gc

    gc.disable()  # a reader's frames live until sent, then go by reference counting
    # lean: a reader imports what reading one drawing needs and no more. Reading never needs a
    # CRS, and geopandas imports without pyproj (≈ 40 % of this process's import time; its
    # frames have no CRS anyway). `python -X importtime -m parsers.pool </dev/null` shows it.
    sys.modules["pyproj"] = None  # type: ignore[assignment]
    import parsers.dxf  # noqa: F401 — imported while the caller still opens the package

    # our stream gets a private descriptor; fd 1 (where native libraries print) goes to stderr
    _stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    logging.disable(logging.CRITICAL)
    _serve(sys.stdin.buffer, _stream)
    # every drawing is sent: end without tearing the interpreter down (≈ 0.15 s of freeing
    # frames and unloading pandas, which the caller would wait for in collect)
    _stream.close()
    os._exit(0)
