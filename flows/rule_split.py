"""Run the survey rules on two cores: once the geometry model is built, the check forks;
the child runs the cadastral, planning and cross rules while this process runs the
property rules, and the child's findings come back pickled through a pipe.

Why: the rules are the last ≈ 0.55 s of an L package's check and, until now, ran on one
core while the drawing reader sat idle. Why fork: the child gets the whole context (the
parsed package, the typed tables and the geometry model, ≈ 250 MB on L) for nothing.
Sending it to a process costs more than it saves (measured on L: pickling the package
0.07 s, unpickling it 0.12 s, the geometry 0.04 + 0.03 s).

When: only on Linux and only when this process runs no other Python thread — forking a
threaded process can leave a lock held forever in the child. So a Prefect flow (its
engine runs threads) and any caller with threads run the rules in process, as does a
caller that allows no extra process (``workers`` = 0). ``duoce check`` qualifies: its
drawing readers' threads have ended by then and its progress line refreshes without a
thread.

Nothing is lost if the child fails: if it dies, sends something unreadable or takes far
longer than this process took for its own share, it is killed and its rules are run
again here. The outcome is the same as :func:`schemas.check.run_rules`, rule for rule,
in the order of the rules.
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

from schemas.check import Rule, RuleRun, run_rules
from schemas.context import Context

__all__ = ["CHILD_MODULES", "can_fork", "split_runner"]

_log = logging.getLogger(__name__)
CHILD_MODULES = ("cadastral", "planning", "cross")  # the property rules stay here: about half
MIN_WAIT = 30.0  # s: the child is given at least this long to answer …
WAIT_FACTOR = 4.0  # … or this many times what this process took for its own share


def can_fork() -> bool:
    """Forking is safe here: Linux, and no Python thread but this one."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def split_runner(processes: int):
    """A :data:`schemas.check.Runner` that may use up to ``processes`` extra processes
    (0: none, the rules run in process; more than one is used as one)."""
    if processes < 1:
        return run_rules

    def run(rules: list[Rule], ctx: Context) -> list[RuleRun]:
        return forked_rules(rules, ctx)

    return run


def forked_rules(rules: list[Rule], ctx: Context) -> list[RuleRun]:
    """Each rule's outcome, the :data:`CHILD_MODULES` ones computed in a forked child."""
    theirs = [i for i, rule in enumerate(rules) if _module(rule) in CHILD_MODULES]
    mine = [i for i in range(len(rules)) if i not in set(theirs)]
    if not theirs or not mine or not can_fork():
        return run_rules(rules, ctx)
    child = _Child.start([rules[i] for i in theirs], ctx)
    if child is None:
        return run_rules(rules, ctx)
    outcome: dict[int, RuleRun] = {}
    try:
        started = time.monotonic()
        outcome.update(zip(mine, run_rules([rules[i] for i in mine], ctx), strict=True))
        got = child.result(len(theirs), max(MIN_WAIT, WAIT_FACTOR * (time.monotonic() - started)))
    finally:
        child.end()
    if got is None:
        _log.warning("the rule process failed; its %d rules are run here", len(theirs))
        got = run_rules([rules[i] for i in theirs], ctx)
    outcome.update(zip(theirs, got, strict=True))
    return [outcome[i] for i in range(len(rules))]


def _module(rule: Rule) -> str:
    return str(getattr(rule, "__module__", "")).rpartition(".")[2]


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

    def result(self, count: int, timeout: float) -> list[RuleRun] | None:
        """The child's outcomes for ``count`` rules, or None if it failed or timed out."""
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
        data = pickle.dumps(run_rules(rules, ctx), protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
        code = 0
    except BaseException:  # noqa: BLE001 — whatever happens, the parent runs them itself
        pass
    finally:
        os._exit(code)


def _well_formed(got: object, count: int) -> bool:
    return (
        isinstance(got, list)
        and len(got) == count
        and all(
            isinstance(run, tuple) and len(run) == 2 and isinstance(run[0], list)
            and (run[1] is None or isinstance(run[1], str))
            for run in got
        )
    )
