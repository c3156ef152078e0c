"""Finish a check on two cores: once the site and parcel models are built, the check
forks. This process builds the floor plans' model and runs the rules that read it; the
child runs every other rule meanwhile, and its outcomes come back pickled through a pipe.

Why: the floor model and the rules are the last ≈ 0.8 s of an L package's check and ran
on one core while the drawing reader sat idle. Why fork: the child gets the whole context
(the parsed package, the typed tables, the site and parcel models; ≈ 250 MB on L) for
nothing. Sending it to a process costs more than it saves (measured on L: pickling the
package 0.07 s, unpickling it 0.12 s).

Which rule runs where: :data:`FLOOR_RULES` read the floor plans' model and run here, after
it is built. In the child that model is absent: a rule that reaches for it (one missing
from the list, or one that does so only for some packages) stops there and is handed back,
to run here once the model exists. So the list only decides speed, never a finding.

When: only on Linux and only when this process runs no other Python thread — forking a
threaded process can leave a lock held forever in the child. So a Prefect flow (its engine
runs threads), any caller with threads and a caller that allows no extra process
(``workers`` = 0) do it all in process. ``duoce check`` qualifies: its drawing readers'
threads have ended by then and its progress line refreshes without a thread.

Nothing is lost if the child fails: if it dies, sends something unreadable or takes far
longer than this process took for its own share, it is killed and its rules are run here.
The outcome is that of :func:`schemas.check.run_in_process`, rule for rule, in order.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import NoReturn

from schemas.check import Rule, RuleRun, Runner, run_in_process, run_rule, run_rules
from schemas.context import Context
from schemas.findings import Finding

__all__ = ["FLOOR_RULES", "can_fork", "split_runner"]

_log = logging.getLogger(__name__)
# the rules that read the floor plans' model (module.rule): they run in this process
FLOOR_RULES = frozenset(
    {"property.drawn_area", "property.unit_polygons", "property.unit_positions", "property.balconies", "cross.storeys_vs_plan"}
)
MIN_WAIT = 30.0  # s: the child is given at least this long to answer …
WAIT_FACTOR = 4.0  # … or this many times what this process took for its own share

Floors = Callable[[], list[Finding]]


def can_fork() -> bool:
    """Forking is safe here: Linux, and no Python thread but this one."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def split_runner(processes: int) -> Runner:
    """A :data:`schemas.check.Runner` that may use up to ``processes`` extra processes
    (0: none, all runs in process; more than one is used as one)."""
    return split_rules if processes >= 1 else run_in_process


def split_rules(rules: list[Rule], ctx: Context, floors: Floors) -> tuple[list[Finding], list[RuleRun]]:
    """The floor plans' model and :data:`FLOOR_RULES` here, the other rules in a forked
    child; see the module's docstring."""
    here = [i for i, rule in enumerate(rules) if _name(rule) in FLOOR_RULES]
    there = [i for i in range(len(rules)) if i not in set(here)]
    if not there or not can_fork():
        return run_in_process(rules, ctx, floors)
    built = ctx.geometry.floors
    ctx.geometry.floors = _ELSEWHERE  # what the child sees
    try:
        child = _Child.start([rules[i] for i in there], ctx)
    finally:
        ctx.geometry.floors = built
    if child is None:
        return run_in_process(rules, ctx, floors)
    outcome: dict[int, RuleRun] = {}
    try:
        started = time.monotonic()
        found = floors()
        outcome.update(zip(here, run_rules([rules[i] for i in here], ctx), strict=True))
        got = child.result(len(there), max(MIN_WAIT, WAIT_FACTOR * (time.monotonic() - started)))
    finally:
        child.end()
    if got is None:
        _log.warning("the rule process failed; its %d rules are run here", len(there))
        got = [None] * len(there)
    for i, run in zip(there, got, strict=True):
        outcome[i] = run if run is not None else run_rule(rules[i], ctx)  # None: handed back
    return found, [outcome[i] for i in range(len(rules))]


def _name(rule: Rule) -> str:
    module = str(getattr(rule, "__module__", "")).rpartition(".")[2]
    return f"{module}.{getattr(rule, '__name__', '')}"


class _FloorsElsewhere(BaseException):
    """Raised in the child by any use of the floor plans' model. A BaseException, so that
    a rule's own ``except Exception`` cannot take it for a finding-free result."""


class _Elsewhere:
    """The floor plans' model as the child sees it: not built yet."""

    def _absent(self, *args: object, **kwargs: object) -> NoReturn:
        raise _FloorsElsewhere

    __getitem__ = __iter__ = __len__ = __contains__ = __bool__ = get = items = keys = values = _absent


_ELSEWHERE = _Elsewhere()


class _Child:
    """A forked process computing some rules' outcomes and writing them to a pipe."""

    def __init__(self, pid: int, fd: int) -> None:
        self.pid, self.fd, self.status = pid, fd, None

    @classmethod
    def start(cls, rules: list[Rule], ctx: Context) -> _Child | None:
        try:
            read_fd, write_fd = os.pipe()
        except OSError:
            return None
        gc.freeze()  # the child's collector then leaves the inherited objects (their pages) alone
        try:
            pid = os.fork()
        except OSError as exc:  # no process to spare (limits): run them all here
            _log.debug("no rule process: %s", exc)
            os.close(read_fd)
            os.close(write_fd)
            gc.unfreeze()
            return None
        if pid == 0:  # pragma: no cover - the child (its outcome is tested through the parent)
            _serve(rules, ctx, read_fd, write_fd)
        gc.unfreeze()
        os.close(write_fd)
        return cls(pid, read_fd)

    def result(self, count: int, timeout: float) -> list[RuleRun | None] | None:
        """The child's outcomes for ``count`` rules (None for a rule handed back), or None
        if it failed or timed out."""
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    _log.warning("the rule process did not answer within %.0f s", timeout)
                    return None
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            _, status = os.waitpid(self.pid, 0)
            self.status = status
            if status != 0:
                return None
            got = pickle.loads(b"".join(chunks))
        except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
            _log.debug("reading the rule process failed", exc_info=True)
            return None
        return got if _well_formed(got, count) else None

    def end(self) -> None:
        """Close the pipe; kill and reap the child unless it has been reaped."""
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self.status is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)


def _serve(rules: list[Rule], ctx: Context, read_fd: int, write_fd: int) -> None:  # pragma: no cover
    """The child: compute, send, and end at once (no atexit, no parent's finally blocks)."""
    code = 1
    try:
        os.close(read_fd)
        data = pickle.dumps([_try(rule, ctx) for rule in rules], protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:  # noqa: BLE001 — whatever happens, the parent runs them itself
        pass
    finally:
        os._exit(code)


def _try(rule: Rule, ctx: Context) -> RuleRun | None:  # pragma: no cover - in the child
    """A rule's outcome, or None if it needs the floor plans' model."""
    try:
        return run_rule(rule, ctx)
    except _FloorsElsewhere:
        return None


def _well_formed(got: object, count: int) -> bool:
    return (
        isinstance(got, list)
        and len(got) == count
        and all(
            run is None
            or (isinstance(run, tuple) and len(run) == 2 and isinstance(run[0], list) and (run[1] is None or isinstance(run[1], str)))
            for run in got
        )
    )
