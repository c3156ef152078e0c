"""Read a package's drawings in worker processes, while the caller reads the report.

Reading the DXF files is the largest single cost of a check (≈ 40 % of an L package) and
is independent of the report. On a machine with more than one core the drawings go to a
few worker processes as soon as the package is opened; the caller reads and types the
report meanwhile and collects the drawings when it needs them
(:meth:`PendingDrawings.collect`).

Why processes, and plain ones: the readers are mostly Python (the tag scan, ezdxf), so
threads would queue on the GIL; forking the caller is unsafe once it runs threads (a
Prefect flow does); and multiprocessing's spawn / forkserver workers re-import the
caller's ``__main__`` (the whole CLI, or a user's script without a main guard). A worker
here is ``python -m parsers.pool``: it imports the readers only, takes its list of files
on stdin and sends each drawing back pickled on its stdout (C libraries' stray output is
sent to stderr, so it cannot corrupt that stream). Files are shared out by size before
the start, largest first.

A worker that dies (a segfault in a native reader on a hostile file, the OOM killer) must
not take the check with it: the files it did not deliver are read again in this process,
by ezdxf only (the native fast path is what could have crashed), and give their findings
as usual. Nothing is raised to the caller.
"""

from __future__ import annotations

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

__all__ = ["PendingDrawings", "Readers", "read_workers", "readers_for", "start_reading"]

_log = logging.getLogger(__name__)
MIN_FILES = 4  # fewer drawings are read in process: a worker costs more than it saves
MIN_BYTES = 2 * 1024 * 1024  # ditto for less DXF than this in all
MAX_WORKERS = 4

Job = tuple[str, Path, str]  # drawing key, file, package-relative name
Read = tuple["Drawing", list["Finding"]]


def read_workers(requested: int | None = None) -> int:
    """How many worker processes to read with: ``requested`` when given (0 or 1: none),
    else one per usable core, at most :data:`MAX_WORKERS` (none on a single core)."""
    if requested is not None:
        return max(0, requested)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(MAX_WORKERS, cores)


@dataclass
class _Worker:
    proc: subprocess.Popen
    jobs: list[int] = field(default_factory=list)  # indexes into PendingDrawings.jobs
    got: dict[int, Read] = field(default_factory=dict)
    thread: threading.Thread | None = None


class Readers:
    """Worker processes started ahead of need: they import the readers while the caller
    opens the package, then take their share of its drawings (:meth:`read`)."""

    def __init__(self, count: int = 0) -> None:
        self._workers = [w for w in (_spawn() for _ in range(count if count >= 2 else 0)) if w is not None]

    def __len__(self) -> int:
        return len(self._workers)

    def read(self, jobs: Sequence[Job]) -> PendingDrawings:
        """Share ``jobs`` out by size (largest first, to the least loaded worker) and start
        reading; without workers, or for a small package, they are read in process when
        collected. The workers are used up either way."""
        workers, self._workers = self._workers, []
        pending = PendingDrawings(list(jobs))
        sizes = [_size(path) for _, path, _ in pending.jobs]
        if len(workers) < 2 or len(pending.jobs) < MIN_FILES or sum(sizes) < MIN_BYTES:
            workers, idle = [], workers
        else:
            workers, idle = workers[: len(pending.jobs)], workers[len(pending.jobs) :]
        loads = [0] * len(workers)
        for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]) if workers else ():
            k = loads.index(min(loads))
            workers[k].jobs.append(i)
            loads[k] += sizes[i]
        for worker in idle:
            _send(worker, [])
        for worker in workers:
            if _send(worker, [(str(pending.jobs[i][1]), pending.jobs[i][2]) for i in worker.jobs]):
                worker.thread = threading.Thread(target=_drain, args=(worker,), daemon=True, name="duoce-drawing-reader")
                worker.thread.start()
            pending.workers.append(worker)  # one that took nothing: its files are read here
        return pending

    def close(self) -> None:
        """Let unused workers go."""
        workers, self._workers = self._workers, []
        for worker in workers:
            _send(worker, [])
            worker.proc.wait()

    def __del__(self) -> None:
        self.close()


@dataclass
class PendingDrawings:
    """Drawings being read; :meth:`collect` gives them in the order of the jobs."""

    jobs: list[Job]
    workers: list[_Worker] = field(default_factory=list)
    done: list[Read] | None = None

    def collect(self, progress: Callable[[str], None] | None = None) -> list[tuple[str, Read]]:
        """Wait for every drawing; read in process whatever no worker delivered."""
        if self.done is None:
            delivered: dict[int, Read] = {}
            lost: set[int] = set()
            for worker in self.workers:
                if worker.thread is not None:
                    worker.thread.join()
                worker.proc.wait()
                delivered.update(worker.got)
                lost.update(i for i in worker.jobs if i not in worker.got)
            if lost:
                names = [self.jobs[i][2] for i in sorted(lost)]
                _log.warning("a drawing reader process stopped; reading %s here with ezdxf", names)
            from parsers.dxf import read_drawing, read_dxf

            self.done = []
            for index, (_key, path, rel) in enumerate(self.jobs):
                if progress:
                    progress(f"读取图形 {rel}")
                if index in delivered:
                    self.done.append(delivered[index])
                elif index in lost:  # a worker died on it: not the native fast path again
                    self.done.append(read_dxf(path, rel))
                else:
                    self.done.append(read_drawing(path, rel))
            self.workers = []
        return [(job[0], read) for job, read in zip(self.jobs, self.done, strict=True)]


def readers_for(source: Path, workers: int) -> Readers:
    """Start ``workers`` readers now if ``source`` (a folder or a zip) looks big enough to be
    worth them, else none. Cheap: a walk of the folder's names, no file is opened."""
    return Readers(workers if workers >= 2 and _dxf_bytes(Path(source)) >= MIN_BYTES else 0)


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


def start_reading(jobs: Sequence[Job], workers: int) -> PendingDrawings:
    """Start reading ``jobs`` in ``workers`` fresh processes (see :meth:`Readers.read`)."""
    big = len(jobs) >= MIN_FILES and sum(_size(path) for _, path, _ in jobs) >= MIN_BYTES
    return Readers(workers if big else 0).read(jobs)


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
            cwd=root,
        )
    except (OSError, ValueError) as exc:  # no processes here (sandbox, limits): read in process
        _log.debug("no drawing reader process: %s", exc)
        return None
    return _Worker(proc)


def _send(worker: _Worker, files: list[tuple[str, str]]) -> bool:
    """Give a worker its files (none: it ends); False if it is already gone."""
    stdin = worker.proc.stdin
    if stdin is None or stdin.closed:
        return False
    try:
        pickle.dump(files, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.close()
        return True
    except (OSError, ValueError):  # broken pipe: the worker died while starting
        with contextlib.suppress(OSError, ValueError):
            stdin.close()
        return False


def _drain(worker: _Worker) -> None:
    """Receive (position, drawing, findings) until the worker ends or breaks off."""
    stream = worker.proc.stdout
    assert stream is not None
    try:
        while True:
            position, read = pickle.load(stream)
            worker.got[worker.jobs[position]] = read
    except EOFError:
        pass
    except Exception:  # noqa: BLE001 — a broken stream: what was not delivered is read again
        _log.debug("drawing reader stream broke off", exc_info=True)
    finally:
        stream.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _serve(stdin: BinaryIO, out: BinaryIO) -> None:
    """The worker (readers already imported): read each file given on ``stdin``, send each
    drawing to ``out``. No files, or the caller gone: it ends."""
    from parsers.dxf import read_drawing

    try:
        files: list[tuple[str, str]] = pickle.load(stdin)
    except (EOFError, pickle.UnpicklingError):
        return
    for position, (path, rel) in enumerate(files):
        pickle.dump((position, read_drawing(Path(path), rel)), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    import parsers.dxf  # noqa: F401 — imported while the caller still opens the package

    # our stream gets a private descriptor; fd 1 (where native libraries print) goes to stderr
    _stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    logging.disable(logging.CRITICAL)
    _serve(sys.stdin.buffer, _stream)
