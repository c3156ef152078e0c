"""The case log in the store's catalogue: append-only, one transaction per transition,
consistent after a process is killed at any point."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

import storage.case_log as case_log_module
from cases.case import Refused
from storage.case_log import CASE_CRASH_POINTS, CaseLog
from storage.store import Store
from tests.cases.make import (
    ARCHIVE,
    CASE,
    HOUSING,
    PLANNING,
    REGISTRY,
    RULES,
    archived,
    concluded,
    dispatched,
    inspected,
    opened,
    opinion,
    registered,
    revision,
)

SPAWN = multiprocessing.get_context("spawn")
ROOT = Path(__file__).resolve().parents[2]


def full_case():
    return [
        opened("2026-09-18"),
        dispatched("2026-09-21"),
        inspected("2026-09-21"),
        *[opinion("2026-09-24", a) for a in (PLANNING, HOUSING, REGISTRY, ARCHIVE)],
        concluded("2026-09-28"),
        archived("2026-09-29"),
        revision("2026-09-30"),
        registered("2026-09-30"),
    ]


def test_the_log_lives_in_the_store_catalogue_and_replays_the_live_state(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    log = CaseLog.in_store(store.root)
    live = None
    for event in full_case():
        live = log.record(event, RULES)
    assert log.case(CASE) == live and live is not None and live.closed
    assert [c.case_id for c in log.cases()] == [CASE]
    rows = log.rows(CASE)
    assert [r["seq"] for r in rows] == list(range(1, len(full_case()) + 1))
    assert (rows[3]["person"], rows[3]["organisation"], rows[3]["role"]) == (
        "李规划",
        "planning",
        "department",
    )
    assert rows[3]["at"] == "2026-09-24T11:00:00" and rows[3]["recorded_at"]
    assert log.verify() == []
    # one database: the catalogue's own tables are untouched and still work
    assert log.url == store.catalogue.url
    if store.catalogue.is_sqlite:
        assert store.catalogue.path == tmp_path / "store" / "catalogue.sqlite"
        with sqlite3.connect(store.catalogue.path) as conn:
            tables = {
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    else:
        with store.catalogue.reading() as conn:
            tables = set(sa.inspect(conn).get_table_names())
    assert {"revisions", "products", "case_events"} <= tables
    assert Store(tmp_path / "store").projects() == []


def test_a_refused_event_writes_nothing(tmp_path: Path) -> None:
    log = CaseLog(log_location(tmp_path / "c.sqlite"))
    log.record(opened("2026-09-18"), RULES)
    with pytest.raises(Refused) as info:
        log.record(opinion("2026-09-21", PLANNING), RULES)  # not asked yet
    assert info.value.code == "CASE-003"
    assert len(log.rows()) == 1


def log_location(path: Path) -> str:
    """Where a test's log goes: the test's database (the postgresql runs), else ``path``."""
    return os.environ.get("DUOCE_DATABASE_URL") or str(path)


def _record_and_die(path: str, point: str) -> None:
    """Child process: record the dispatch and SIGKILL ourselves at ``point``."""

    def hook(name: str) -> None:
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    case_log_module._crash_point = hook
    CaseLog(path).record(dispatched("2026-09-21"), RULES)


@pytest.mark.parametrize("point", CASE_CRASH_POINTS)
def test_a_transition_killed_at_each_point_is_whole_or_absent(tmp_path: Path, point: str) -> None:
    path = log_location(tmp_path / "catalogue.sqlite")
    CaseLog(path).record(opened("2026-09-18"), RULES)
    child = SPAWN.Process(target=_record_and_die, args=(str(path), point))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL

    log = CaseLog(path)
    assert log.verify() == []
    committed = point == "case:committed"
    assert [r["kind"] for r in log.rows()] == (
        ["opened", "dispatched"] if committed else ["opened"]
    )
    if committed:
        with pytest.raises(Refused):
            log.record(dispatched("2026-09-21"), RULES)
    else:  # the lock is free again and the transition can be made
        assert log.record(dispatched("2026-09-21"), RULES).dispatched_at is not None
    assert log.verify() == []


WRITER = """
import sys
from storage.case_log import CaseLog
from tests.cases.make import RULES, PLANNING, dispatched, opened, opinion
import datetime as dt
log = CaseLog(sys.argv[1])
log.record(opened("2026-09-18"), RULES)
log.record(dispatched("2026-09-21"), RULES)
print(2, flush=True)
for k in range(10_000):
    e = opinion("2026-09-22", PLANNING, ("通过", "有条件通过")[k % 2], f"第 {k} 稿")
    e = e.__class__(**{**e.__dict__, "at": e.at + dt.timedelta(seconds=k)})
    print(log.record(e, RULES).version, flush=True)
"""


def test_a_writer_killed_mid_stream_loses_no_committed_event(tmp_path: Path) -> None:
    path = log_location(tmp_path / "catalogue.sqlite")
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    reported: list[int] = []
    started = time.monotonic()
    while len(reported) < 40 and time.monotonic() - started < 60:
        line = proc.stdout.readline()
        if not line:
            break
        reported.append(int(line))
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert len(reported) >= 40, "the writer did not get going"

    log = CaseLog(path)
    assert log.verify() == []
    seqs = [r["seq"] for r in log.rows(CASE)]
    assert seqs == list(range(1, len(seqs) + 1))
    assert set(reported) <= set(seqs)  # every event reported committed is there
    case = log.case(CASE)
    assert case is not None and len(case.opinions["planning"]) == len(seqs) - 2
