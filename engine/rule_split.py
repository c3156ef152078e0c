"""Finish a check on two cores. Once every drawing is read, the check forks:

- the child types the report, judges the envelope, the CRS and the site and parcel
  models, sends them back (the *prelude*), then runs every rule that does not read the
  floor plans' model and sends their outcomes;
- this process meanwhile builds the floor plans' model, takes the prelude, and runs
  :data:`FLOOR_RULES`, the rules that read that model.

Why: typing the report, the models and the rules were the last ≈ 1.0 s of an L package's
check, on one core while the drawing reader sat idle. Why fork: the child gets the parsed
package (≈ 250 MB of frames on L) for nothing; sending it to a process would cost more
than it saves (measured on L: pickling it 0.07 s, unpickling 0.12 s). What comes back is
small: the typed tables (2.4 MB, 0.01 s each way), the site and parcel models, findings.

Which rule runs where decides speed, never a finding: in the child the floor plans' model
is absent, and a rule that reaches for it (one missing from :data:`FLOOR_RULES`, or one
that does so only for some packages) stops there and is handed back, to run here.

When: only on Linux and only when this process runs no other Python thread — forking a
threaded process can leave a lock held forever in the child. So a Prefect flow (its
engine runs threads), any caller with threads and a caller that allows no extra process
(``workers`` = 0) run every step here. ``duoce check`` qualifies: its drawing readers'
threads have ended by then and its progress line refreshes without a thread.

Nothing is lost if the child fails: if it dies, sends something unreadable or takes far
longer than this process took for its own share, it is killed and what it did not deliver
is done here. The outcome is that of :func:`schemas.check.run_in_process`, finding for
finding, in the same order.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
from typing import Any, NoReturn

from parsers.pool import READER_THREAD
from schemas.check import Outcome, Rule, RuleRun, Runner, Steps, run_in_process, run_rule, run_rules
from schemas.context import Context
from schemas.crs import Zone
from schemas.drawings import Geometry
from schemas.findings import Finding, Place
from schemas.tables import Tables

__all__ = ["FLOOR_RULES", "can_fork", "split_runner", "split_steps"]

_log = logging.getLogger(__name__)
# the rules that read the floor plans' model (module.rule): they run in this process
FLOOR_RULES = frozenset(
    {"property.drawn_area", "property.unit_polygons", "property.unit_positions", "property.balconies", "cross.storeys_vs_plan"}
)
TYPE_HERE_ROWS = 50_000  # a report with more rows is typed here, with no split (see split_steps)
MIN_WAIT = 30.0  # s: the child is given at least this long for each answer …
WAIT_FACTOR = 4.0  # … or this many times what this process took for its own share
_LENGTH = struct.Struct("!Q")  # each message: its length, then its pickle


def can_fork(ending: tuple[str, ...] = ()) -> bool:
    """Forking is safe here: Linux, and no Python thread but this one (and threads named
    in ``ending``, which will have ended by the time of the fork)."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    main = threading.main_thread()
    return all(t is main or (t.name in ending and t is not threading.current_thread()) for t in threading.enumerate())


def split_runner(processes: int) -> Runner:
    """A :data:`schemas.check.Runner` that may use up to ``processes`` extra processes
    (0: none, every step here; more than one is used as one)."""
    return split_steps if processes >= 1 else run_in_process


def split_steps(steps: Steps) -> Outcome:
    """The steps over this process and a forked child; see the module's docstring.

    A report of more than :data:`TYPE_HERE_ROWS` rows is typed here, and every step run
    here: its findings may be as many as its rows, and each costs ≈ 5 µs to send and
    rebuild (0.5 s for 100 000), more than the split saves."""
    if sum(len(frame) for frame in steps.pkg.tables.values()) > TYPE_HERE_ROWS or not can_fork(ending=(READER_THREAD,)):
        return run_in_process(steps)  # the report typed while the drawings' readers read
    settled = steps.settle()  # first: the child must inherit every drawing (the readers end)
    here = [i for i, rule in enumerate(steps.rules) if _name(rule) in FLOOR_RULES]
    there = [i for i in range(len(steps.rules)) if i not in set(here)]
    child = _Child.start(steps, [steps.rules[i] for i in there]) if there and can_fork() else None
    if child is None:
        return run_in_process(steps, settled)
    try:
        started = time.monotonic()
        floors, floored = steps.floors()
        prelude = child.receive(_is_prelude, max(MIN_WAIT, WAIT_FACTOR * (time.monotonic() - started)))
        if prelude is None:  # the child is gone: its share is done here
            tables, typed = steps.type()
            zone, geometry, judged = steps.judge(tables)
        else:
            tables, typed, zone, geometry, judged = prelude
            typed, judged = _unpack(typed), _unpack(judged)
        geometry.floors = floors
        ctx = steps.context(tables, zone, geometry)
        runs = dict(zip(here, run_rules([steps.rules[i] for i in here], ctx), strict=True))
        theirs = None
        if prelude is not None:
            wait = max(MIN_WAIT, WAIT_FACTOR * (time.monotonic() - started))
            theirs = child.receive(lambda got: _are_runs(got, len(there)), wait)
            theirs = _unpack_runs(theirs) if theirs is not None else None
    finally:
        child.end()
    if theirs is None:
        _log.warning("the rule process failed; its work is done here")
        theirs = [None] * len(there)
    for i, run in zip(there, theirs, strict=True):
        runs[i] = run if run is not None else run_rule(steps.rules[i], ctx)  # None: handed back
    return Outcome(tables, zone, geometry, typed + settled + judged + floored, [runs[i] for i in range(len(steps.rules))])


def _name(rule: Rule) -> str:
    module = str(getattr(rule, "__module__", "")).rpartition(".")[2]
    return f"{module}.{getattr(rule, '__name__', '')}"


class _FloorsElsewhere(BaseException):
    """Raised in the child by any use of the floor plans' model. A BaseException, so that
    a rule's own ``except Exception`` cannot take it for a finding-free result."""


class _Elsewhere:
    """The floor plans' model as the child sees it: built in the other process."""

    def _absent(self, *args: object, **kwargs: object) -> NoReturn:
        raise _FloorsElsewhere

    __getitem__ = __iter__ = __len__ = __contains__ = __bool__ = get = items = keys = values = _absent


class _Child:
    """A forked process doing the child's share and writing its messages to a pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd = pid, fd
        self.reaped = False

    @classmethod
    def start(cls, steps: Steps, rules: list[Rule]) -> _Child | None:
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return None
        gc.freeze()  # the child's collector then leaves the inherited objects (their pages) alone
        try:
            pid = os.fork()
        except OSError as exc:  # no process to spare (limits): do it all here
            _log.debug("no rule process: %s", exc)
            gc.unfreeze()
            os.close(read_fd)
            os.close(write_fd)
            return None
        if pid == 0:  # pragma: no cover - the child (its outcome is tested through the parent)
            _serve(steps, rules, read_fd, write_fd)
        gc.unfreeze()
        os.close(write_fd)
        return cls(pid, read_fd)

    def receive(self, valid, timeout: float) -> Any:
        """The child's next message if it comes within ``timeout`` s and ``valid`` accepts
        it, else None (and the child is let go)."""
        deadline = time.monotonic() + timeout
        try:
            head = self._read(_LENGTH.size, deadline)
            body = self._read(_LENGTH.unpack(head)[0], deadline) if head is not None else None
            got = pickle.loads(body) if body is not None else None
        except Exception:  # noqa: BLE001 — an unreadable answer is no answer
            _log.debug("reading the rule process failed", exc_info=True)
            got = None
        if got is None or not valid(got):
            self.end()
            return None
        return got

    def _read(self, size: int, deadline: float) -> bytes | None:
        chunks, left = [], size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([self.fd], [], [], wait)[0]:
                _log.warning("the rule process did not answer in time")
                return None
            chunk = os.read(self.fd, min(left, 1 << 20))
            if not chunk:  # it ended before saying all
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def end(self) -> None:
        """Close the pipe; kill and reap the child (it has nothing more to say)."""
        if self.reaped:
            return
        self.reaped = True
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)


def _serve(steps: Steps, rules: list[Rule], read_fd: int, write_fd: int) -> None:  # pragma: no cover
    """The child: the prelude, then the rules' outcomes (None for a rule handed back);
    then it ends at once (no atexit, none of the parent's finally blocks)."""
    code = 1
    try:
        os.close(read_fd)
        tables, typed = steps.type()
        zone, geometry, judged = steps.judge(tables)
        _send(write_fd, (tables, _pack(typed), zone, geometry, _pack(judged)))
        geometry.floors = _Elsewhere()  # type: ignore[assignment]  # a stand-in, by design
        ctx = steps.context(tables, zone, geometry)
        _send(write_fd, _pack_runs([_try(rule, ctx) for rule in rules]))
        code = 0
    except BaseException:  # noqa: BLE001 — whatever happens, the parent does it itself
        pass
    finally:
        os._exit(code)


def _send(fd: int, message: object) -> None:  # pragma: no cover - in the child
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _try(rule: Rule, ctx: Context) -> RuleRun | None:  # pragma: no cover - in the child
    """A rule's outcome, or None if it needs the floor plans' model."""
    try:
        return run_rule(rule, ctx)
    except _FloorsElsewhere:
        return None


# ---------------------------------------------------------------- findings as columns
# A list of findings goes through the pipe as one list per field (of the finding and of
# its place): pickling 100 000 frozen dataclasses one by one took 1.0 s each way, columns
# take 0.1 s, and rebuilding the findings from them 0.4 s.

_FIELDS = tuple(name for name in Finding.__slots__ if name != "object")
_AT = Finding.__slots__.index("object")
Packed = tuple[list[list[Any]], list[list[Any]]]


def _pack(findings: list[Finding]) -> Packed:
    return (
        [[getattr(f, name) for f in findings] for name in _FIELDS],
        [[getattr(f.object, name) for f in findings] for name in Place.__slots__],
    )


def _unpack(packed: Packed) -> list[Finding]:
    fields, places = packed
    out = []
    for values, place in zip(zip(*fields, strict=True), (Place(*p) for p in zip(*places, strict=True)), strict=True):
        args = list(values)
        args.insert(_AT, place)
        out.append(Finding(*args))
    return out


def _pack_runs(runs: list[RuleRun | None]) -> tuple[list[int | None], list[str | None], Packed]:
    """Rule outcomes as: how many findings each gave (None: handed back), its error, and
    all their findings packed together."""
    counts = [None if run is None else len(run[0]) for run in runs]
    errors = [None if run is None else run[1] for run in runs]
    return counts, errors, _pack([f for run in runs if run is not None for f in run[0]])


def _unpack_runs(got: tuple[list[int | None], list[str | None], Packed]) -> list[RuleRun | None]:
    counts, errors, packed = got
    findings = _unpack(packed)
    runs: list[RuleRun | None] = []
    at = 0
    for count, error in zip(counts, errors, strict=True):
        runs.append(None if count is None else (findings[at : at + count], error))
        at += count or 0
    return runs


def _is_packed(got: object) -> bool:
    return (
        isinstance(got, tuple)
        and len(got) == 2
        and isinstance(got[0], list)
        and len(got[0]) == len(_FIELDS)
        and isinstance(got[1], list)
        and len(got[1]) == len(Place.__slots__)
        and len({len(column) for column in got[0] + got[1]}) <= 1
    )


def _is_prelude(got: object) -> bool:
    return (
        isinstance(got, tuple)
        and len(got) == 5
        and isinstance(got[0], Tables)
        and _is_packed(got[1])
        and isinstance(got[2], Zone)
        and isinstance(got[3], Geometry)
        and _is_packed(got[4])
    )


def _are_runs(got: object, count: int) -> bool:
    if not (isinstance(got, tuple) and len(got) == 3 and _is_packed(got[2])):
        return False
    counts, errors, packed = got
    return (
        isinstance(counts, list)
        and isinstance(errors, list)
        and len(counts) == len(errors) == count
        and all(n is None or (isinstance(n, int) and n >= 0) for n in counts)
        and all(e is None or isinstance(e, str) for e in errors)
        and sum(n or 0 for n in counts) == len(packed[0][0])
    )
