"""The store's catalogue: one SQLite file of packages, revisions, submissions and products.

WAL mode (readers never block the writer), ``synchronous=FULL``, a busy timeout, foreign
keys on. Every write that depends on what is already there runs under ``BEGIN IMMEDIATE``:
the write lock is taken before the first read, so two processes can never allocate the
same revision or publish the same product twice. A connection is opened per operation,
so a :class:`Catalogue` may be used from any thread (Prefect runs tasks in threads) and
pickled (it holds only a path).

Tables
------
``packages`` / ``package_files``
    Raw packages by sha256 (``kind`` zip or dir; for a dir, each file's sha256).
``revisions``
    One row per (project, revision): the package, rule set, profile and verdict.
    ``UNIQUE (project_id, package_sha256, ruleset_version, profile)``.
``submissions``
    Every submission attempt, with the revision it mapped to and whether that was new.
``products`` / ``product_files``
    Published products: department, project, revision, path, manifest hash, status
    (``published``; ``recovered`` = row added by reconcile; ``missing`` = folder gone),
    the hash of the product's ``PROVENANCE.json`` (NULL for products published before
    it existed), and each file's sha256 as recorded at publication.
``revision_products``
    The departments a revision should have products for, recorded before the first is
    published: a revision with fewer visible products is incomplete (schema 2).
``publication_events``
    What happened to a revision's products besides plain publication: ``failed``
    (with the reason), ``completed`` (published later, by a resubmission),
    ``repaired`` (rebuilt with identical bytes), ``unrepairable`` (a rebuild would
    differ), ``refused`` (a folder in its place holds another package's products)
    (schema 2).
``product_annexes``
    A sealed document annexed beside a department's product of a revision (the combined
    opinion of its acceptance case): ``products/<dep>/<folder>/r<N>.case/`` holding the
    document, its own ``MANIFEST.sha256`` and ``PROVENANCE.json``; one per product key,
    its name, sha256, size, the manifest's and provenance's hashes and a status as for
    products (schema 3).

File names
----------
A ``relpath`` is the name on disk, which need not be UTF-8 (GBK names copied from
Windows; Python lists them with lone surrogates, ``surrogateescape``). SQLite text must be
UTF-8, so a name that is valid UTF-8 is stored as TEXT and any other as a BLOB of its raw
bytes (the UTF-8-with-surrogateescape bytes the package listing hashes), and a BLOB read
back is decoded the same way. The two never collide (a BLOB is never valid UTF-8), and a
catalogue written before BLOB names existed reads unchanged (docs/decisions.md).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from storage.files import check_project_id, check_sha256

SCHEMA_VERSION = 3
DEPARTMENTS: tuple[str, ...] = ("planning", "registration", "housing", "archive")
VERDICTS: tuple[str, ...] = ("accepted", "accepted_with_deficiencies", "rejected")
ProductStatus = Literal["published", "recovered", "missing"]
VISIBLE_STATUSES: tuple[str, ...] = ("published", "recovered")
EventKind = Literal["failed", "completed", "repaired", "unrepairable", "refused"]
EVENT_KINDS: tuple[str, ...] = ("failed", "completed", "repaired", "unrepairable", "refused")

_DEPS_SQL = ", ".join(f"'{d}'" for d in DEPARTMENTS)
_VERDICTS_SQL = ", ".join(f"'{v}'" for v in VERDICTS)

_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS packages (
        sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
        kind TEXT NOT NULL CHECK (kind IN ('zip', 'dir')),
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        file_count INTEGER NOT NULL,
        stored_at TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS package_files (
        package_sha256 TEXT NOT NULL REFERENCES packages (sha256) ON DELETE CASCADE,
        relpath TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (package_sha256, relpath)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS revisions (
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL CHECK (revision >= 1),
        package_sha256 TEXT NOT NULL,
        ruleset_version TEXT NOT NULL,
        profile TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ({_VERDICTS_SQL})),
        counts TEXT NOT NULL,
        firm TEXT,
        submitted_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        PRIMARY KEY (project_id, revision),
        UNIQUE (project_id, package_sha256, ruleset_version, profile)
    )""",
    f"""CREATE TABLE IF NOT EXISTS submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        is_new INTEGER NOT NULL CHECK (is_new IN (0, 1)),
        package_sha256 TEXT NOT NULL,
        ruleset_version TEXT NOT NULL,
        profile TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ({_VERDICTS_SQL})),
        counts TEXT NOT NULL,
        firm TEXT,
        submitted_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        FOREIGN KEY (project_id, revision) REFERENCES revisions (project_id, revision)
    )""",
    "CREATE INDEX IF NOT EXISTS submissions_by_project ON submissions (project_id, id)",
    f"""CREATE TABLE IF NOT EXISTS products (
        department TEXT NOT NULL CHECK (department IN ({_DEPS_SQL})),
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        path TEXT NOT NULL UNIQUE,
        manifest_sha256 TEXT NOT NULL,
        file_count INTEGER NOT NULL,
        size INTEGER NOT NULL,
        published_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('published', 'recovered', 'missing')),
        PRIMARY KEY (department, project_id, revision),
        FOREIGN KEY (project_id, revision) REFERENCES revisions (project_id, revision)
    )""",
    """CREATE TABLE IF NOT EXISTS product_files (
        department TEXT NOT NULL,
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        relpath TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (department, project_id, revision, relpath),
        FOREIGN KEY (department, project_id, revision)
            REFERENCES products (department, project_id, revision) ON DELETE CASCADE
    ) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS revision_products (
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        department TEXT NOT NULL CHECK (department IN ({_DEPS_SQL})),
        PRIMARY KEY (project_id, revision, department),
        FOREIGN KEY (project_id, revision) REFERENCES revisions (project_id, revision)
    ) WITHOUT ROWID""",
    f"""CREATE TABLE IF NOT EXISTS publication_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        department TEXT NOT NULL CHECK (department IN ({_DEPS_SQL})),
        kind TEXT NOT NULL CHECK (kind IN ({", ".join(f"'{k}'" for k in EVENT_KINDS)})),
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS product_annexes (
        department TEXT NOT NULL CHECK (department IN ({_DEPS_SQL})),
        project_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL UNIQUE,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        provenance_sha256 TEXT NOT NULL,
        annexed_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('published', 'recovered', 'missing')),
        PRIMARY KEY (department, project_id, revision),
        FOREIGN KEY (project_id, revision) REFERENCES revisions (project_id, revision)
    ) WITHOUT ROWID""",
)


def now_iso() -> str:
    """The current time, UTC, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Submission:
    """One submission attempt and the revision it was given.

    ``is_new`` is False when the same package was already recorded for the project under
    the same rule set and profile: the revision is the existing one and nothing changed.
    """

    project_id: str
    revision: int
    is_new: bool
    package_sha256: str
    ruleset_version: str
    profile: str
    verdict: str
    counts: dict[str, int]
    firm: str | None
    submitted_at: str
    recorded_at: str
    submission_id: int


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of a project: what was checked, how and with what verdict."""

    project_id: str
    revision: int
    package_sha256: str
    ruleset_version: str
    profile: str
    verdict: str
    counts: dict[str, int]
    firm: str | None
    submitted_at: str
    recorded_at: str


@dataclass(frozen=True, slots=True)
class StoredPackage:
    """A raw package in the store. ``path`` is relative to the store root."""

    sha256: str
    kind: Literal["zip", "dir"]
    path: str
    size: int
    file_count: int
    stored_at: str


@dataclass(frozen=True, slots=True)
class ProductRecord:
    """A published product as catalogued. ``path`` is relative to the store root."""

    department: str
    project_id: str
    revision: int
    path: str
    manifest_sha256: str
    file_count: int
    size: int
    published_at: str
    status: ProductStatus
    provenance_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class AnnexRecord:
    """A document annexed beside a product, as catalogued. ``path`` (the annex folder)
    is relative to the store root; ``name`` is the document's name in it."""

    department: str
    project_id: str
    revision: int
    name: str
    path: str
    sha256: str
    size: int
    manifest_sha256: str
    provenance_sha256: str
    annexed_at: str
    status: ProductStatus


@dataclass(frozen=True, slots=True)
class PublicationEvent:
    """Something that happened to one product of a revision (see ``publication_events``)."""

    project_id: str
    revision: int
    department: str
    kind: EventKind
    detail: str
    at: str
    event_id: int


def _name_value(rel: str) -> str | bytes:
    """A file name as the catalogue stores it: text if it is UTF-8, else its raw bytes."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes on disk that are not UTF-8
        return rel.encode("utf-8", "surrogateescape")
    return rel


def _name_of(value: str | bytes) -> str:
    """A stored file name (see :func:`_name_value`) back as Python lists it from disk."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _fields(row: sqlite3.Row) -> dict[str, Any]:
    """A ``revisions`` or ``submissions`` row as a dict, its ``counts`` decoded."""
    fields = {k: row[k] for k in row.keys()}  # noqa: SIM118
    fields["counts"] = json.loads(fields["counts"])
    return fields


def _submission(row: sqlite3.Row) -> Submission:
    fields = _fields(row)
    fields["submission_id"] = fields.pop("id")
    fields["is_new"] = bool(fields["is_new"])
    return Submission(**fields)


def _revision(row: sqlite3.Row) -> Revision:
    return Revision(**_fields(row))


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> sqlite3.Cursor:
    """``INSERT INTO table`` one row of ``{column: value}`` on ``conn``."""
    marks = ", ".join("?" for _ in values)
    return conn.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks})", tuple(values.values())
    )


def _product(row: sqlite3.Row) -> ProductRecord:
    return ProductRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118


class Catalogue:
    """The SQLite catalogue at ``path``; creates the schema if missing.

    Parameters
    ----------
    path
        The database file (``store/catalogue.sqlite``).
    busy_timeout
        Seconds a connection waits for another process's write lock.
    """

    def __init__(self, path: Path, *, busy_timeout: float = 30.0, read_only: bool = False) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        if not read_only:
            self._init_schema()

    @classmethod
    def open_read_only(cls, path: Path, *, busy_timeout: float = 30.0) -> Catalogue:
        """The catalogue at ``path`` for reading only: nothing is created or written.

        Raises
        ------
        FileNotFoundError
            If there is no catalogue file.
        sqlite3.DatabaseError
            If it cannot be read as a catalogue (not a database, damaged, no schema);
            ``sqlite3.OperationalError`` if SQLite cannot open it read-only in place
            (a WAL database in a folder it may not write: read a copy instead).
        """
        if not Path(path).is_file():
            raise FileNotFoundError(f"no catalogue at {path}")
        catalogue = cls(path, busy_timeout=busy_timeout, read_only=True)
        with catalogue.reading() as conn:
            conn.execute("SELECT count(*) FROM revisions").fetchone()
        return catalogue

    # --- connections ---------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            uri = f"{self.path.absolute().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=self.busy_timeout, isolation_level=None)
        else:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if not self.read_only:
            conn.execute("PRAGMA synchronous = FULL")
        return conn

    def health(self) -> list[str]:
        """What ``PRAGMA quick_check`` finds wrong in the database file (empty: sound)."""
        with self.reading() as conn:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
        return [] if rows == ["ok"] else rows

    def has_table(self, name: str) -> bool:
        """Whether the catalogue has table ``name`` (a read-only older catalogue may not)."""
        with self.reading() as conn:
            row = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
        return row is not None

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode for reads (each statement sees a snapshot)."""
        conn = self._open()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; ``ROLLBACK`` on any exception.

        The write lock is held from the start, so reads inside see the state no other
        writer can change until this commits.
        """
        conn = self._open()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _init_schema(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # journal_mode may answer "locked" without calling the busy handler while another
        # process creates the database at the same moment: retry for a while.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                with self.reading() as conn:
                    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
        with self.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {r["name"] for r in conn.execute("PRAGMA table_info(products)")}
            if "provenance_sha256" not in columns:  # schema 1 → 2
                conn.execute("ALTER TABLE products ADD COLUMN provenance_sha256 TEXT")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row["value"]) > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {row['value']}; this code knows "
                    f"{SCHEMA_VERSION}: upgrade duoce"
                )
            elif int(row["value"]) < SCHEMA_VERSION:
                conn.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )

    # --- packages ------------------------------------------------------------------------

    def add_package(
        self,
        package: StoredPackage,
        files: dict[str, tuple[str, int]] | None = None,
    ) -> bool:
        """Record a raw package (and, for a folder, its files) unless already recorded.

        Returns
        -------
        bool
            Whether a row was added.
        """
        with self.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM packages WHERE sha256 = ?", (package.sha256,)
            ).fetchone():
                return False
            conn.execute(
                "INSERT INTO packages (sha256, kind, path, size, file_count, stored_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    package.sha256,
                    package.kind,
                    package.path,
                    package.size,
                    package.file_count,
                    package.stored_at,
                ),
            )
            conn.executemany(
                "INSERT INTO package_files (package_sha256, relpath, sha256, size)"
                " VALUES (?, ?, ?, ?)",
                [(package.sha256, _name_value(rel), d, s) for rel, (d, s) in (files or {}).items()],
            )
        return True

    def package(self, sha256: str) -> StoredPackage | None:
        """One recorded raw package, or None."""
        with self.reading() as conn:
            row = conn.execute("SELECT * FROM packages WHERE sha256 = ?", (sha256,)).fetchone()
        return StoredPackage(**{k: row[k] for k in row.keys()}) if row else None  # noqa: SIM118

    def packages(self) -> list[StoredPackage]:
        """Every recorded raw package, oldest first."""
        with self.reading() as conn:
            rows = conn.execute("SELECT * FROM packages ORDER BY stored_at, sha256").fetchall()
        return [StoredPackage(**{k: r[k] for k in r.keys()}) for r in rows]  # noqa: SIM118

    def package_files(self, sha256: str) -> dict[str, str]:
        """``{relpath: sha256}`` recorded for a folder package (empty for a zip)."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT relpath, sha256 FROM package_files WHERE package_sha256 = ?", (sha256,)
            ).fetchall()
        return {_name_of(r["relpath"]): r["sha256"] for r in rows}

    # --- revisions and submissions ---------------------------------------------------------

    def record_submission(
        self,
        project_id: str,
        package_sha256: str,
        ruleset_version: str,
        profile: str,
        verdict: str,
        counts: dict[str, int],
        firm: str | None,
        submitted_at: str,
        *,
        floor: int = 0,
    ) -> Submission:
        """Give a submission its revision, and record the attempt.

        The same project, package, rule set and profile as an existing revision map to
        that revision (``is_new=False``, the revision row is left as it is); anything else
        gets the project's next revision number (1, 2, …), allocated under the write lock
        so that concurrent processes get distinct, gap-free numbers. Every call adds a row
        to ``submissions``.

        Parameters
        ----------
        project_id, package_sha256, ruleset_version, profile
            What was checked, and how. The project id must be able to name a folder (it
            names the product folders).
        verdict
            ``accepted``, ``accepted_with_deficiencies`` or ``rejected``.
        counts
            Findings per severity, e.g. ``{"error": 3, "warning": 1, "info": 0}``.
        firm
            The surveying firm (测绘单位), if known.
        submitted_at
            ISO 8601 time of the submission.
        floor
            A revision number already taken outside the catalogue (the highest ``r<N>``
            product folder of the project): a new revision gets a number above it too,
            so that a catalogue rebuilt short never reuses a number whose folders hold
            another package's products.

        Returns
        -------
        Submission

        Raises
        ------
        ValueError
            If an argument is not of its form; nothing is recorded then.
        """
        check_project_id(project_id)
        package_sha256 = check_sha256(package_sha256)
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {verdict!r}; one of {VERDICTS}")
        if not ruleset_version or not profile:
            raise ValueError("ruleset_version and profile are required")
        counts_json = json.dumps(
            {str(k): int(v) for k, v in counts.items()}, sort_keys=True, ensure_ascii=False
        )
        attempt = {  # the columns a revision and a submission row share
            "package_sha256": package_sha256,
            "ruleset_version": ruleset_version,
            "profile": profile,
            "verdict": verdict,
            "counts": counts_json,
            "firm": firm,
            "submitted_at": submitted_at,
            "recorded_at": now_iso(),
        }
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT revision FROM revisions WHERE project_id = ? AND package_sha256 = ?"
                " AND ruleset_version = ? AND profile = ?",
                (project_id, package_sha256, ruleset_version, profile),
            ).fetchone()
            if row is not None:
                revision, is_new = int(row["revision"]), False
            else:
                revision = 1 + max(
                    int(floor),
                    int(
                        conn.execute(
                            "SELECT COALESCE(MAX(revision), 0) FROM revisions WHERE project_id = ?",
                            (project_id,),
                        ).fetchone()[0]
                    ),
                )
                is_new = True
                _insert(
                    conn, "revisions", {"project_id": project_id, "revision": revision, **attempt}
                )
            cur = _insert(
                conn,
                "submissions",
                {"project_id": project_id, "revision": revision, "is_new": int(is_new), **attempt},
            )
            submission_id = int(cur.lastrowid or 0)
        return Submission(
            project_id=project_id,
            revision=revision,
            is_new=is_new,
            submission_id=submission_id,
            **{**attempt, "counts": json.loads(counts_json)},
        )

    def revision(self, project_id: str, revision: int) -> Revision | None:
        """One revision, or None."""
        with self.reading() as conn:
            row = conn.execute(
                "SELECT * FROM revisions WHERE project_id = ? AND revision = ?",
                (project_id, revision),
            ).fetchone()
        return _revision(row) if row else None

    def revisions(self, project_id: str | None = None) -> list[Revision]:
        """Revisions of one project (or all), by project and revision number."""
        return [
            _revision(r) for r in self._rows_of("revisions", project_id, "project_id, revision")
        ]

    def latest_revision(self, project_id: str) -> int | None:
        """The highest revision number of a project, or None if it has none."""
        with self.reading() as conn:
            value = conn.execute(
                "SELECT MAX(revision) FROM revisions WHERE project_id = ?", (project_id,)
            ).fetchone()[0]
        return None if value is None else int(value)

    def submissions(self, project_id: str | None = None) -> list[Submission]:
        """Every submission attempt (of one project, or all), in the order recorded."""
        return [_submission(r) for r in self._rows_of("submissions", project_id, "id")]

    def _rows_of(self, table: str, project_id: str | None, order: str) -> list[sqlite3.Row]:
        """The rows of ``table`` (of one project, or all), ordered by ``order``."""
        sql = f"SELECT * FROM {table}"
        args: tuple[str, ...] = ()
        if project_id is not None:
            sql, args = sql + " WHERE project_id = ?", (project_id,)
        with self.reading() as conn:
            return conn.execute(f"{sql} ORDER BY {order}", args).fetchall()

    def projects(self) -> list[str]:
        """Every project with at least one revision, sorted."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT DISTINCT project_id FROM revisions ORDER BY project_id"
            ).fetchall()
        return [r[0] for r in rows]

    # --- products ------------------------------------------------------------------------

    @staticmethod
    def product_in(
        conn: sqlite3.Connection, department: str, project_id: str, revision: int
    ) -> ProductRecord | None:
        """One product row read on ``conn`` (inside a caller's transaction)."""
        row = conn.execute(
            "SELECT * FROM products WHERE department = ? AND project_id = ? AND revision = ?",
            (department, project_id, revision),
        ).fetchone()
        return _product(row) if row else None

    @staticmethod
    def put_product_in(
        conn: sqlite3.Connection,
        record: ProductRecord,
        files: dict[str, tuple[str, int]],
    ) -> None:
        """Insert (or replace) a product row and its files on ``conn``."""
        key = (record.department, record.project_id, record.revision)
        conn.execute(
            "DELETE FROM products WHERE department = ? AND project_id = ? AND revision = ?", key
        )
        conn.execute(
            "INSERT INTO products (department, project_id, revision, path, manifest_sha256,"
            " file_count, size, published_at, status, provenance_sha256)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *key,
                record.path,
                record.manifest_sha256,
                record.file_count,
                record.size,
                record.published_at,
                record.status,
                record.provenance_sha256,
            ),
        )
        conn.executemany(
            "INSERT INTO product_files (department, project_id, revision, relpath, sha256,"
            " size) VALUES (?, ?, ?, ?, ?, ?)",
            [(*key, _name_value(rel), d, s) for rel, (d, s) in files.items()],
        )

    @staticmethod
    def set_product_status_in(
        conn: sqlite3.Connection,
        department: str,
        project_id: str,
        revision: int,
        status: ProductStatus,
    ) -> None:
        """Change a product row's status on ``conn``."""
        conn.execute(
            "UPDATE products SET status = ? WHERE department = ? AND project_id = ?"
            " AND revision = ?",
            (status, department, project_id, revision),
        )

    def product(self, department: str, project_id: str, revision: int) -> ProductRecord | None:
        """One product row, or None."""
        with self.reading() as conn:
            return self.product_in(conn, department, project_id, revision)

    def products(
        self,
        department: str | None = None,
        project_id: str | None = None,
        *,
        statuses: tuple[str, ...] | None = None,
    ) -> list[ProductRecord]:
        """Product rows, filtered, by department, project and revision."""
        where: list[str] = []
        args: list[Any] = []
        if department is not None:
            where.append("department = ?")
            args.append(department)
        if project_id is not None:
            where.append("project_id = ?")
            args.append(project_id)
        if statuses is not None:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            args.extend(statuses)
        sql = "SELECT * FROM products"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY department, project_id, revision", args)
            return [_product(r) for r in rows.fetchall()]

    def product_files(self, department: str, project_id: str, revision: int) -> dict[str, str]:
        """``{relpath: sha256}`` recorded at publication (the manifest itself excluded)."""
        with self.reading() as conn:
            rows = conn.execute(
                "SELECT relpath, sha256 FROM product_files WHERE department = ?"
                " AND project_id = ? AND revision = ?",
                (department, project_id, revision),
            ).fetchall()
        return {_name_of(r["relpath"]): r["sha256"] for r in rows}

    # --- annexes ---------------------------------------------------------------------------

    @staticmethod
    def annex_in(
        conn: sqlite3.Connection, department: str, project_id: str, revision: int
    ) -> AnnexRecord | None:
        """One annex row read on ``conn`` (inside a caller's transaction)."""
        row = conn.execute(
            "SELECT * FROM product_annexes WHERE department = ? AND project_id = ?"
            " AND revision = ?",
            (department, project_id, revision),
        ).fetchone()
        return AnnexRecord(**{k: row[k] for k in row.keys()}) if row else None  # noqa: SIM118

    @staticmethod
    def put_annex_in(conn: sqlite3.Connection, record: AnnexRecord) -> None:
        """Insert (or replace) an annex row on ``conn``."""
        values = {f: getattr(record, f) for f in AnnexRecord.__dataclass_fields__}
        conn.execute(
            "DELETE FROM product_annexes WHERE department = ? AND project_id = ? AND revision = ?",
            (record.department, record.project_id, record.revision),
        )
        _insert(conn, "product_annexes", values)

    @staticmethod
    def set_annex_status_in(
        conn: sqlite3.Connection,
        department: str,
        project_id: str,
        revision: int,
        status: ProductStatus,
    ) -> None:
        """Change an annex row's status on ``conn``."""
        conn.execute(
            "UPDATE product_annexes SET status = ? WHERE department = ? AND project_id = ?"
            " AND revision = ?",
            (status, department, project_id, revision),
        )

    def annex(self, department: str, project_id: str, revision: int) -> AnnexRecord | None:
        """One annex row, or None."""
        with self.reading() as conn:
            return self.annex_in(conn, department, project_id, revision)

    def annexes(
        self,
        department: str | None = None,
        project_id: str | None = None,
        *,
        statuses: tuple[str, ...] | None = None,
    ) -> list[AnnexRecord]:
        """Annex rows, filtered, by department, project and revision (none from a
        read-only catalogue older than schema 3)."""
        if self.read_only and not self.has_table("product_annexes"):
            return []
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("department", department), ("project_id", project_id)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if statuses is not None:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            args.extend(statuses)
        sql = "SELECT * FROM product_annexes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.reading() as conn:
            rows = conn.execute(sql + " ORDER BY department, project_id, revision", args)
            return [
                AnnexRecord(**{k: r[k] for k in r.keys()})  # noqa: SIM118
                for r in rows.fetchall()
            ]

    # --- what a revision should have, and what happened to it -----------------------------

    @staticmethod
    def restore_revision_in(conn: sqlite3.Connection, fields: dict[str, Any]) -> bool:
        """Insert a revision row from a product's provenance (a catalogue rebuilt from the
        folders) unless the revision is recorded; True if inserted. ``fields`` holds the
        ``revisions`` columns (``counts`` a dict)."""
        key = (fields["project_id"], fields["revision"])
        if conn.execute(
            "SELECT 1 FROM revisions WHERE project_id = ? AND revision = ?", key
        ).fetchone():
            return False
        row = {c: fields.get(c) for c in _REVISION_COLUMNS}
        row["counts"] = json.dumps(row["counts"] or {}, sort_keys=True, ensure_ascii=False)
        row["recorded_at"] = now_iso()
        _insert(conn, "revisions", row)
        return True

    def expect_products(self, project_id: str, revision: int, departments: list[str]) -> None:
        """Record the departments a revision should have products for (added to any
        recorded before; the revision must be recorded)."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO revision_products (project_id, revision, department)"
                " VALUES (?, ?, ?)",
                [(project_id, revision, d) for d in departments],
            )

    def expected_products(self) -> dict[tuple[str, int], set[str]]:
        """``{(project_id, revision): departments}`` of every revision whose products
        were announced (revisions recorded before schema 2 have none)."""
        if self.read_only and not self.has_table("revision_products"):
            return {}
        out: dict[tuple[str, int], set[str]] = {}
        with self.reading() as conn:
            for r in conn.execute("SELECT * FROM revision_products"):
                out.setdefault((r["project_id"], int(r["revision"])), set()).add(r["department"])
        return out

    def add_event(
        self, project_id: str, revision: int, department: str, kind: EventKind, detail: str
    ) -> None:
        """Record what happened to one product of a revision."""
        with self.transaction() as conn:
            _insert(
                conn,
                "publication_events",
                {
                    "project_id": project_id,
                    "revision": revision,
                    "department": department,
                    "kind": kind,
                    "detail": detail,
                    "at": now_iso(),
                },
            )

    def events(self, project_id: str | None = None) -> list[PublicationEvent]:
        """Publication events (of one project, or all), in the order recorded."""
        if self.read_only and not self.has_table("publication_events"):
            return []
        rows = self._rows_of("publication_events", project_id, "id")
        out = []
        for r in rows:
            fields = {k: r[k] for k in r.keys()}  # noqa: SIM118
            fields["event_id"] = fields.pop("id")
            out.append(PublicationEvent(**fields))
        return out


_REVISION_COLUMNS = (
    "project_id",
    "revision",
    "package_sha256",
    "ruleset_version",
    "profile",
    "verdict",
    "counts",
    "firm",
    "submitted_at",
    "recorded_at",
)
