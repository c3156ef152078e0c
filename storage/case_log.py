"""The case log: every case's events, append-only, in the store's catalogue file.

One table, ``case_events``: a row per event (case, its sequence number, kind, organisation,
person, role, the event's time, the time recorded, the payload as JSON). Rows are only ever
inserted. ``UNIQUE (case_id, seq)`` is the guard against two writers: a transition reads
the case's events, lets :func:`cases.case.handle` check the new one against the state they
give, and inserts it as ``seq = version + 1`` — all in one transaction, so a refused event
writes nothing and a second writer that read the same version fails on the constraint and
tries again on the new state.

Written through SQLAlchemy Core, so the scaled PostgreSQL backend is a different URL
(``CaseLog("postgresql+psycopg://…")``; its tables come from the catalogue's migrations
and a transaction takes the catalogue's advisory write lock). On SQLite (the default: the store's
``catalogue.sqlite``, beside :mod:`storage.catalogue`'s tables, WAL) each connection sets
what the catalogue sets — ``synchronous = FULL``, a busy timeout — and a transaction is
``BEGIN IMMEDIATE``: the write lock is held before the first read, as for submissions. A
process killed at any point leaves either the whole event or nothing (SQLite's atomic
commit); :meth:`CaseLog.verify` checks the log (sequence 1…n, an opening first, every row
readable, the state replayable).

Beside the events: ``case_flags``, what the daily check found overdue (a row per case,
stage or item and day, so running it twice a day records nothing new), and the case's
documents — the combined opinion — written atomically into ``<store>/cases/<case>/``
(:func:`write_case_document`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from cases.case import Case, handle, replay
from cases.events import Event, from_record, to_record
from cases.profile import CaseRules
from storage.catalogue import configured_database_url, migrate, take_write_lock
from storage.files import folder_name, fsync_dir, fsync_file, makedirs_durably, temp_slot

__all__ = [
    "CASES_DIR",
    "CASE_CRASH_POINTS",
    "CaseLog",
    "Flag",
    "LoggedEvent",
    "case_events",
    "case_flags",
    "case_folder",
    "write_case_document",
]

CASES_DIR = "cases"  # <store>/cases/<case folder>/: the case's documents

CATALOGUE_NAME = "catalogue.sqlite"  # storage.store.CATALOGUE_NAME, the store's catalogue
CASE_CRASH_POINTS: tuple[str, ...] = (
    "case:read",  # inside the transaction: the case's events read, nothing written
    "case:inserted",  # the row inserted, not committed
    "case:committed",  # committed
)

metadata = sa.MetaData()
case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("seq", sa.Integer, sa.CheckConstraint("seq >= 1"), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("organisation", sa.Text, nullable=False),
    sa.Column("person", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),  # the event's time, ISO 8601
    sa.Column("recorded_at", sa.Text, nullable=False),  # when written, UTC
    sa.Column("payload", sa.Text, nullable=False),  # JSON
    sa.UniqueConstraint("case_id", "seq", name="case_events_case_seq"),
)
case_flags = sa.Table(
    "case_flags",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("day", sa.Text, nullable=False),  # the day checked, ISO 8601
    sa.Column("case_id", sa.Text, nullable=False),
    sa.Column("what", sa.Text, nullable=False),  # a stage, or "item:<code>"
    sa.Column("responsible", sa.Text, nullable=False),  # organisations, comma-separated
    sa.Column("days_over", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.Text, nullable=False),  # UTC
    sa.UniqueConstraint("day", "case_id", "what", name="case_flags_day_case_what"),
)

Flag = tuple[str, str, tuple[str, ...], int]  # (case_id, what, responsible, days_over)


def _crash_point(name: str) -> None:
    """A hook the crash tests replace (kill the process at ``name``); does nothing."""


LoggedEvent = tuple[int, Event]  # (seq, event)


class CaseLog:
    """The case events at ``url`` (a database URL, or the path of a SQLite file).

    Parameters
    ----------
    url
        ``sqlite:///…``, ``postgresql+psycopg://…``, or a path (SQLite).
    busy_timeout
        Seconds a SQLite connection waits for another process's write lock.
    """

    def __init__(self, url: str | Path, *, busy_timeout: float = 30.0) -> None:
        if isinstance(url, Path) or "://" not in str(url):
            path = Path(url)
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        self.url = str(url)
        self.busy_timeout = busy_timeout
        self.engine = _engine(self.url, busy_timeout)
        if self.url.startswith("sqlite"):
            metadata.create_all(self.engine)
        else:  # the catalogue's migrations make the tables (storage/migrations)
            migrate(self.engine)

    @classmethod
    def in_store(cls, root: Path | str, **kw: Any) -> CaseLog:
        """The log in the catalogue of the store at ``root`` (in ``DUOCE_DATABASE_URL``'s
        database when it is set, as the store's catalogue)."""
        return cls(configured_database_url() or Path(root) / CATALOGUE_NAME, **kw)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """One write transaction (on SQLite ``BEGIN IMMEDIATE``: the write lock first)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(duoce_write=True)
            with conn.begin():
                take_write_lock(conn)  # PostgreSQL: the catalogue's write lock
                yield conn

    # --- writing ------------------------------------------------------------------------

    def record(self, event: Event, rules: CaseRules, *, attempts: int = 3) -> Case:
        """Check ``event`` against its case as logged and append it, in one transaction.

        Returns
        -------
        Case
            The case's state after the event.

        Raises
        ------
        cases.case.Refused
            The rules refuse it; nothing is written.
        """
        for attempt in range(attempts):
            try:
                with self._transaction() as conn:
                    case = replay(e for _, e in self._events_on(conn, event.case_id))
                    _crash_point("case:read")
                    after = handle(case, event, rules)
                    self._insert(conn, event, after.version)
                    _crash_point("case:inserted")
                _crash_point("case:committed")
                return after
            except sa.exc.IntegrityError:  # another writer took this seq: read again
                if attempt == attempts - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    @staticmethod
    def _insert(conn: Connection, event: Event, seq: int) -> None:
        rec = to_record(event)
        conn.execute(
            case_events.insert().values(
                case_id=rec["case_id"],
                seq=seq,
                kind=rec["kind"],
                organisation=rec["organisation"],
                person=rec["person"],
                role=rec["role"],
                at=rec["at"],
                recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
                payload=json.dumps(rec["payload"], ensure_ascii=False, sort_keys=True),
            )
        )

    # --- reading ------------------------------------------------------------------------

    @staticmethod
    def _events_on(conn: Connection, case_id: str | None) -> list[LoggedEvent]:
        q = sa.select(case_events).order_by(case_events.c.case_id, case_events.c.seq)
        if case_id is not None:
            q = q.where(case_events.c.case_id == case_id)
        return [(int(r.seq), _event_of(r._mapping)) for r in conn.execute(q)]

    def events(self, case_id: str) -> list[Event]:
        """A case's events, in order."""
        with self.engine.connect() as conn:
            return [e for _, e in self._events_on(conn, case_id)]

    def case(self, case_id: str) -> Case | None:
        """A case's state from its events (None if it was never opened)."""
        return replay(self.events(case_id))

    def cases(self) -> list[Case]:
        """Every case's state, by case id."""
        with self.engine.connect() as conn:
            logged = self._events_on(conn, None)
        by_case: dict[str, list[Event]] = {}
        for _, e in logged:
            by_case.setdefault(e.case_id, []).append(e)
        return [c for events in by_case.values() if (c := replay(events)) is not None]

    def rows(self, case_id: str | None = None) -> list[dict[str, Any]]:
        """The raw rows (who, organisation, when, payload …), for the record and audits."""
        q = sa.select(case_events).order_by(case_events.c.id)
        if case_id is not None:
            q = q.where(case_events.c.case_id == case_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    # --- the daily check's flags --------------------------------------------------------

    def record_flags(self, day: str, flags: list[Flag]) -> int:
        """Record what was overdue on ``day`` (ISO date); a flag already recorded for that
        day is kept as it was. Returns how many rows are new."""
        now = datetime.now(UTC).isoformat(timespec="seconds")
        new = 0
        with self._transaction() as conn:
            seen = {
                (r.case_id, r.what)
                for r in conn.execute(sa.select(case_flags).where(case_flags.c.day == day))
            }
            for case_id, what, responsible, days_over in flags:
                if (case_id, what) in seen:
                    continue
                seen.add((case_id, what))
                conn.execute(
                    case_flags.insert().values(
                        day=day,
                        case_id=case_id,
                        what=what,
                        responsible=",".join(responsible),
                        days_over=int(days_over),
                        recorded_at=now,
                    )
                )
                new += 1
        return new

    def flags(self, day: str | None = None) -> list[dict[str, Any]]:
        """The recorded flags (of one day), in the order recorded."""
        q = sa.select(case_flags).order_by(case_flags.c.id)
        if day is not None:
            q = q.where(case_flags.c.day == day)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def verify(self) -> list[str]:
        """What is wrong with the log (empty: consistent): per case, sequence numbers
        1…n without gaps, an opening first and only first, every row readable, and the
        events replay."""
        problems: list[str] = []
        by_case: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows():
            by_case.setdefault(row["case_id"], []).append(row)
        for case_id, rows in by_case.items():
            rows.sort(key=lambda r: r["seq"])
            if [r["seq"] for r in rows] != list(range(1, len(rows) + 1)):
                problems.append(f"{case_id}: sequence {[r['seq'] for r in rows]}")
            kinds = [r["kind"] for r in rows]
            if kinds[0] != "opened" or "opened" in kinds[1:]:
                problems.append(f"{case_id}: opened must come first and once, not {kinds}")
            try:
                replay(_event_of(r) for r in rows)
            except (ValueError, KeyError, TypeError, StopIteration) as exc:
                problems.append(f"{case_id}: does not replay: {exc}")
        return problems


def _event_of(row: Any) -> Event:
    return from_record({**row, "payload": json.loads(row["payload"])})


def _engine(url: str, busy_timeout: float) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        _wal(cur, busy_timeout)
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("duoce_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _wal(cur: Any, busy_timeout: float) -> None:
    """WAL journal, as the catalogue keeps it; "locked" while another process creates the
    file at the same moment is retried for a while."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            break
        except Exception as exc:  # sqlite3.OperationalError: locked
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    if str(mode).lower() != "wal":
        raise RuntimeError(f"cannot use WAL journal mode (got {mode!r})")


# ------------------------------------------------------------------ the case's documents


def case_folder(root: Path | str, case_id: str) -> Path:
    """Where a case's documents go: ``<store>/cases/<case folder>`` (the case id itself
    when it is a plain name, else a safe name derived from it, as for projects)."""
    return Path(root) / CASES_DIR / folder_name(case_id)


def write_case_document(root: Path | str, case_id: str, name: str, data: bytes) -> Path:
    """Write one document of a case (e.g. the combined opinion) whole or not at all.

    The bytes go to a temp slot in the store's ``tmp/`` (same file system), are fsynced and
    made read-only, then renamed over ``<store>/cases/<case>/<name>`` and the folder is
    fsynced: a reader sees the old document or the new one, never a part. The same bytes
    again change nothing.

    Raises
    ------
    ValueError
        ``name`` is not a plain file name.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    target = case_folder(root, case_id) / name
    if target.is_file() and target.read_bytes() == data:
        return target
    tmp_dir = Path(root) / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with temp_slot(tmp_dir, "case") as work:
        with open(work, "xb") as fh:
            fh.write(data)
        fsync_file(work)
        os.chmod(work, 0o444)
        makedirs_durably(target.parent)
        os.replace(work, target)
        fsync_dir(target.parent)
    return target
