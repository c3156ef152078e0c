"""The store's catalogue: packages, revisions, submissions and products, in SQLite or
PostgreSQL.

One :class:`Catalogue` API on two backends, through SQLAlchemy Core:

* **SQLite** (the embedded default): the file ``store/catalogue.sqlite``. WAL mode
  (readers never block the writer), ``synchronous=FULL``, a busy timeout, foreign keys
  on. Every write that depends on what is already there runs under ``BEGIN IMMEDIATE``:
  the write lock is taken before the first read, so two processes can never allocate the
  same revision or publish the same product twice. The schema is created and upgraded in
  code (:data:`_SCHEMA`, ``meta.schema_version``), as before: a store made by earlier
  code opens unchanged.
* **PostgreSQL** (``DUOCE_DATABASE_URL=postgresql+psycopg://…``): the schema comes from
  the alembic migrations in ``storage/migrations/`` (run on first use, under an advisory
  lock). The write lock is one transaction-level advisory lock for the whole catalogue,
  ``pg_advisory_xact_lock(WRITE_LOCK)``, taken as the first statement of every write
  transaction: writers are serialised exactly as SQLite's ``BEGIN IMMEDIATE`` serialises
  them, and every read after it (READ COMMITTED: a fresh snapshot per statement) sees
  every commit made before it. Readers take no lock. (SERIALIZABLE would need every
  caller to retry on serialisation failures; row locks cannot guard a row not yet
  inserted, such as a project's next revision.) docs/decisions.md.

A connection is opened per operation (SQLite: no pool; PostgreSQL: the process's pool),
so a :class:`Catalogue` may be used from any thread (Prefect runs tasks in threads) and
pickled (it holds only its URL). Errors are the driver's own (``sqlite3.*``,
``psycopg.*``), unwrapped from SQLAlchemy's: :func:`db_errors` and
:func:`operational_errors` name both.

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
catalogue written before BLOB names existed reads unchanged (docs/decisions.md). On
PostgreSQL every ``relpath`` is ``bytea``: the name's bytes, UTF-8 or not.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

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


def _name_of(value: str | bytes | memoryview) -> str:
    """A stored file name (see :func:`_name_value`) back as Python lists it from disk."""
    if isinstance(value, memoryview):
        value = bytes(value)
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


class FileName(sa.types.TypeDecorator):
    """A ``relpath``: SQLite TEXT or BLOB (:func:`_name_value`), PostgreSQL ``bytea``."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Text())
        return dialect.type_descriptor(sa.LargeBinary())

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _name_value(value)
        return value.encode("utf-8", "surrogateescape")

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else _name_of(value)


# --- the tables, for SQLAlchemy Core (SQLite's DDL is _SCHEMA; PostgreSQL's the migrations)

metadata = sa.MetaData()
_STATUS_CHECK = "status IN ('published', 'recovered', 'missing')"
meta = sa.Table(
    "meta", metadata, sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)  # fmt: skip
packages = sa.Table(
    "packages",
    metadata,
    sa.Column("sha256", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("stored_at", sa.Text, nullable=False),
    sa.CheckConstraint("length(sha256) = 64", name="packages_sha256"),
    sa.CheckConstraint("kind IN ('zip', 'dir')", name="packages_kind"),
)
package_files = sa.Table(
    "package_files",
    metadata,
    sa.Column(
        "package_sha256",
        sa.Text,
        sa.ForeignKey("packages.sha256", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("relpath", FileName, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)
_ATTEMPT_COLUMNS = (
    ("package_sha256", sa.Text, False),
    ("ruleset_version", sa.Text, False),
    ("profile", sa.Text, False),
    ("verdict", sa.Text, False),
    ("counts", sa.Text, False),
    ("firm", sa.Text, True),
    ("submitted_at", sa.Text, False),
    ("recorded_at", sa.Text, False),
)
revisions = sa.Table(
    "revisions",
    metadata,
    sa.Column("project_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    *(sa.Column(n, t, nullable=null) for n, t, null in _ATTEMPT_COLUMNS),
    sa.CheckConstraint("revision >= 1", name="revisions_revision"),
    sa.CheckConstraint(f"verdict IN ({_VERDICTS_SQL})", name="revisions_verdict"),
    sa.UniqueConstraint(
        "project_id", "package_sha256", "ruleset_version", "profile", name="revisions_package"
    ),
)
submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("is_new", sa.Integer, nullable=False),
    *(sa.Column(n, t, nullable=null) for n, t, null in _ATTEMPT_COLUMNS),
    sa.CheckConstraint("is_new IN (0, 1)", name="submissions_is_new"),
    sa.CheckConstraint(f"verdict IN ({_VERDICTS_SQL})", name="submissions_verdict"),
    sa.ForeignKeyConstraint(
        ["project_id", "revision"], ["revisions.project_id", "revisions.revision"]
    ),
    sa.Index("submissions_by_project", "project_id", "id"),
)
products = sa.Table(
    "products",
    metadata,
    sa.Column("department", sa.Text, primary_key=True),
    sa.Column("project_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("manifest_sha256", sa.Text, nullable=False),
    sa.Column("file_count", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("published_at", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("provenance_sha256", sa.Text),
    sa.CheckConstraint(f"department IN ({_DEPS_SQL})", name="products_department"),
    sa.CheckConstraint(_STATUS_CHECK, name="products_status"),
    sa.ForeignKeyConstraint(
        ["project_id", "revision"], ["revisions.project_id", "revisions.revision"]
    ),
)
product_files = sa.Table(
    "product_files",
    metadata,
    sa.Column("department", sa.Text, primary_key=True),
    sa.Column("project_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("relpath", FileName, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.ForeignKeyConstraint(
        ["department", "project_id", "revision"],
        ["products.department", "products.project_id", "products.revision"],
        ondelete="CASCADE",
    ),
)
revision_products = sa.Table(
    "revision_products",
    metadata,
    sa.Column("project_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("department", sa.Text, primary_key=True),
    sa.CheckConstraint(f"department IN ({_DEPS_SQL})", name="revision_products_department"),
    sa.ForeignKeyConstraint(
        ["project_id", "revision"], ["revisions.project_id", "revisions.revision"]
    ),
)
publication_events = sa.Table(
    "publication_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project_id", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("department", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("at", sa.Text, nullable=False),
    sa.CheckConstraint(f"department IN ({_DEPS_SQL})", name="publication_events_department"),
    sa.CheckConstraint(
        f"kind IN ({', '.join(repr(k) for k in EVENT_KINDS)})", name="publication_events_kind"
    ),
)
product_annexes = sa.Table(
    "product_annexes",
    metadata,
    sa.Column("department", sa.Text, primary_key=True),
    sa.Column("project_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False, unique=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("manifest_sha256", sa.Text, nullable=False),
    sa.Column("provenance_sha256", sa.Text, nullable=False),
    sa.Column("annexed_at", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.CheckConstraint(f"department IN ({_DEPS_SQL})", name="product_annexes_department"),
    sa.CheckConstraint(_STATUS_CHECK, name="product_annexes_status"),
    sa.ForeignKeyConstraint(
        ["project_id", "revision"], ["revisions.project_id", "revisions.revision"]
    ),
)


def _fields(row: Any) -> dict[str, Any]:
    """A ``revisions`` or ``submissions`` row as a dict, its ``counts`` decoded."""
    fields = dict(row._mapping)
    fields["counts"] = json.loads(fields["counts"])
    return fields


def _submission(row: Any) -> Submission:
    fields = _fields(row)
    fields["submission_id"] = fields.pop("id")
    fields["is_new"] = bool(fields["is_new"])
    return Submission(**fields)


def _revision(row: Any) -> Revision:
    return Revision(**_fields(row))


def _product(row: Any) -> ProductRecord:
    return ProductRecord(**row._mapping)


def _annex(row: Any) -> AnnexRecord:
    return AnnexRecord(**row._mapping)


def _key(table: sa.Table, department: str, project_id: str, revision: int) -> sa.ColumnElement:
    return sa.and_(
        table.c.department == department,
        table.c.project_id == project_id,
        table.c.revision == revision,
    )


# --- errors, engines, the write lock -----------------------------------------------------

WRITE_LOCK = 0x6475_6F63_6501  # pg_advisory_xact_lock key of the catalogue's write lock
MIGRATION_LOCK = 0x6475_6F63_6502  # held while the migrations run
MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_HEAD = "0001"  # the newest revision in storage/migrations/versions (a test checks)


def db_errors() -> tuple[type[BaseException], ...]:
    """The drivers' error base classes (``except db_errors():``); psycopg's only once it is
    loaded (it is imported only for a PostgreSQL URL: it costs a second to import)."""
    if "psycopg" in sys.modules:
        return (sqlite3.Error, sys.modules["psycopg"].Error)
    return (sqlite3.Error,)


def operational_errors() -> tuple[type[BaseException], ...]:
    """The drivers' errors of the database itself failing (disk, lock, connection), worth
    a retry: ``sqlite3.OperationalError``, ``psycopg.OperationalError``."""
    if "psycopg" in sys.modules:
        return (sqlite3.OperationalError, sys.modules["psycopg"].OperationalError)
    return (sqlite3.OperationalError,)


@contextmanager
def driver_errors() -> Iterator[None]:
    """Raise the driver's own error instead of SQLAlchemy's wrapper of it."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, Exception):
            raise exc.orig from exc
        raise


def database_url(location: Path | str) -> str:
    """A SQLAlchemy URL: ``location`` itself when it is one, else the SQLite file's."""
    if isinstance(location, str) and "://" in location:
        return location
    return f"sqlite:///{Path(location).absolute().as_posix()}"


def configured_database_url() -> str | None:
    """``DUOCE_DATABASE_URL`` (environment or ``.env``), or None: the embedded SQLite."""
    from engine.settings import get_settings

    return get_settings().database_url


_ENGINES: dict[tuple[str, float, bool, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def engine_for(url: str, *, busy_timeout: float = 30.0, read_only: bool = False) -> Engine:
    """The process's engine for ``url`` (one per URL and mode; a forked child makes its
    own). SQLite: a new connection per use, with the catalogue's pragmas, ``BEGIN
    IMMEDIATE`` for a write; PostgreSQL: a small pool, connections checked before use."""
    key = (url, busy_timeout, read_only, os.getpid())
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = _make_engine(url, busy_timeout, read_only)
        return engine


def _make_engine(url: str, busy_timeout: float, read_only: bool) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=8)
    path = Path(sa.make_url(url).database or "")

    def connect() -> sqlite3.Connection:
        if read_only:
            return sqlite3.connect(
                f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=busy_timeout,
                isolation_level=None, check_same_thread=False,
            )  # fmt: skip
        return sqlite3.connect(
            path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
        )

    engine = sa.create_engine("sqlite://", creator=connect, poolclass=NullPool)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        dbapi_conn.execute("PRAGMA foreign_keys = ON")
        if not read_only:
            dbapi_conn.execute("PRAGMA synchronous = FULL")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("duoce_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def take_write_lock(conn: Connection) -> None:
    """On PostgreSQL, the catalogue's write lock for the rest of ``conn``'s transaction
    (SQLite's is ``BEGIN IMMEDIATE``, taken when the transaction begins)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})


def migrate(engine: Engine) -> None:
    """Bring a PostgreSQL database to the migrations' head (``storage/migrations``), in
    one transaction under an advisory lock; nothing when it is there already."""
    with driver_errors(), engine.connect() as conn:
        if _at_head(conn):
            return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with driver_errors(), engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK})
        if not _at_head(conn):  # another process may have done it meanwhile
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def _at_head(conn: Connection) -> bool:
    if conn.execute(sa.text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return False
    version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return version == MIGRATION_HEAD


class Catalogue:
    """The catalogue at ``location``; creates (or migrates) the schema if missing.

    Parameters
    ----------
    location
        The SQLite file (``store/catalogue.sqlite``), or a database URL
        (``postgresql+psycopg://…``, ``sqlite:///…``).
    busy_timeout
        Seconds a SQLite connection waits for another process's write lock.
    read_only
        Read only: nothing is created, migrated or written.
    """

    def __init__(
        self, location: Path | str, *, busy_timeout: float = 30.0, read_only: bool = False
    ) -> None:
        self.url = database_url(location)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.path = Path(sa.make_url(self.url).database or "")
        else:  # for messages: the URL without its password
            self.path = Path(sa.make_url(self.url).render_as_string(hide_password=True))
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        if not read_only:
            self._init_schema()

    def __repr__(self) -> str:
        return f"Catalogue({str(self.path)!r})"

    @property
    def engine(self) -> Engine:
        return engine_for(self.url, busy_timeout=self.busy_timeout, read_only=self.read_only)

    @classmethod
    def open_read_only(cls, location: Path | str, *, busy_timeout: float = 30.0) -> Catalogue:
        """The catalogue at ``location`` for reading only: nothing is created or written.

        Raises
        ------
        FileNotFoundError
            If there is no catalogue file.
        sqlite3.DatabaseError
            If it cannot be read as a catalogue (not a database, damaged, no schema);
            ``sqlite3.OperationalError`` if SQLite cannot open it read-only in place
            (a WAL database in a folder it may not write: read a copy instead). On
            PostgreSQL, ``psycopg.Error``.
        """
        url = database_url(location)
        if url.startswith("sqlite") and not Path(sa.make_url(url).database or "").is_file():
            raise FileNotFoundError(f"no catalogue at {location}")
        catalogue = cls(location, busy_timeout=busy_timeout, read_only=True)
        with catalogue.reading() as conn:
            conn.execute(sa.select(sa.func.count()).select_from(revisions)).scalar()
        return catalogue

    # --- connections ---------------------------------------------------------------------

    def health(self) -> list[str]:
        """What is wrong with the database itself (empty: sound): SQLite's ``PRAGMA
        quick_check``; on PostgreSQL, a schema version other than this code's."""
        with self.reading() as conn:
            if self.is_sqlite:
                rows = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
                return [] if rows == ["ok"] else rows
            version = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
        return [] if version == str(SCHEMA_VERSION) else [f"schema version {version}"]

    def has_table(self, name: str) -> bool:
        """Whether the catalogue has table ``name`` (a read-only older catalogue may not)."""
        with self.reading() as conn:
            return sa.inspect(conn).has_table(name)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads (on SQLite a deferred transaction: one snapshot)."""
        with driver_errors(), self.engine.connect() as conn:
            if self.read_only and not self.is_sqlite:
                conn = conn.execution_options(postgresql_readonly=True)
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, the write lock held from its start (SQLite ``BEGIN
        IMMEDIATE``, PostgreSQL the advisory lock); ``ROLLBACK`` on any exception.

        Reads inside see the state no other writer can change until this commits.
        """
        with driver_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(duoce_write=True)
            with conn.begin():
                take_write_lock(conn)
                yield conn

    def _init_schema(self) -> None:
        if not self.is_sqlite:
            migrate(self.engine)
            self._check_version()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # journal_mode may answer "locked" without calling the busy handler while another
        # process creates the database at the same moment: retry for a while.
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                with self.engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    mode = raw.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sa.exc.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise exc.orig from exc
                time.sleep(0.05)
        if str(mode).lower() != "wal":
            raise RuntimeError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
        with self.transaction() as conn:
            for statement in _SCHEMA:
                conn.exec_driver_sql(statement)
            columns = {r[1] for r in conn.exec_driver_sql("PRAGMA table_info(products)")}
            if "provenance_sha256" not in columns:  # schema 1 → 2
                conn.exec_driver_sql("ALTER TABLE products ADD COLUMN provenance_sha256 TEXT")
            row = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            elif int(row.value) > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} has schema version {row.value}; this code knows "
                    f"{SCHEMA_VERSION}: upgrade duoce"
                )
            elif int(row.value) < SCHEMA_VERSION:
                conn.execute(
                    meta.update()
                    .where(meta.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )

    def _check_version(self) -> None:
        """The schema version this database says it has (its row put back when the tables
        were emptied), never one newer than this code's."""
        with self.transaction() as conn:
            value = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == "schema_version")
            ).scalar()
            if value is None:
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        if value is not None and int(value) > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {value}; this code knows "
                f"{SCHEMA_VERSION}: upgrade duoce"
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
                sa.select(packages.c.sha256).where(packages.c.sha256 == package.sha256)
            ).first():
                return False
            conn.execute(packages.insert().values(**_as_dict(package)))
            rows = [
                {"package_sha256": package.sha256, "relpath": rel, "sha256": d, "size": s}
                for rel, (d, s) in (files or {}).items()
            ]
            if rows:
                conn.execute(package_files.insert(), rows)
        return True

    def package(self, sha256: str) -> StoredPackage | None:
        """One recorded raw package, or None."""
        with self.reading() as conn:
            row = conn.execute(sa.select(packages).where(packages.c.sha256 == sha256)).first()
        return StoredPackage(**row._mapping) if row else None

    def packages(self) -> list[StoredPackage]:
        """Every recorded raw package, oldest first."""
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(packages).order_by(packages.c.stored_at, packages.c.sha256)
            ).all()
        return [StoredPackage(**r._mapping) for r in rows]

    def package_files(self, sha256: str) -> dict[str, str]:
        """``{relpath: sha256}`` recorded for a folder package (empty for a zip)."""
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(package_files.c.relpath, package_files.c.sha256).where(
                    package_files.c.package_sha256 == sha256
                )
            ).all()
        return {r.relpath: r.sha256 for r in rows}

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
        r = revisions.c
        with self.transaction() as conn:
            existing = conn.execute(
                sa.select(r.revision).where(
                    r.project_id == project_id,
                    r.package_sha256 == package_sha256,
                    r.ruleset_version == ruleset_version,
                    r.profile == profile,
                )
            ).scalar()
            if existing is not None:
                revision, is_new = int(existing), False
            else:
                latest = conn.execute(
                    sa.select(sa.func.coalesce(sa.func.max(r.revision), 0)).where(
                        r.project_id == project_id
                    )
                ).scalar()
                revision, is_new = 1 + max(int(floor), int(latest or 0)), True
                conn.execute(
                    revisions.insert().values(project_id=project_id, revision=revision, **attempt)
                )
            result = conn.execute(
                submissions.insert().values(
                    project_id=project_id, revision=revision, is_new=int(is_new), **attempt
                )
            )
            submission_id = int(result.inserted_primary_key[0] or 0)
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
                sa.select(revisions).where(
                    revisions.c.project_id == project_id, revisions.c.revision == revision
                )
            ).first()
        return _revision(row) if row else None

    def revisions(self, project_id: str | None = None) -> list[Revision]:
        """Revisions of one project (or all), by project and revision number."""
        order = (revisions.c.project_id, revisions.c.revision)
        return [_revision(r) for r in self._rows_of(revisions, project_id, order)]

    def latest_revision(self, project_id: str) -> int | None:
        """The highest revision number of a project, or None if it has none."""
        with self.reading() as conn:
            value = conn.execute(
                sa.select(sa.func.max(revisions.c.revision)).where(
                    revisions.c.project_id == project_id
                )
            ).scalar()
        return None if value is None else int(value)

    def submissions(self, project_id: str | None = None) -> list[Submission]:
        """Every submission attempt (of one project, or all), in the order recorded."""
        return [_submission(r) for r in self._rows_of(submissions, project_id, (submissions.c.id,))]

    def _rows_of(
        self, table: sa.Table, project_id: str | None, order: tuple[sa.Column, ...]
    ) -> list[Any]:
        """The rows of ``table`` (of one project, or all), ordered by ``order``."""
        q = sa.select(table).order_by(*order)
        if project_id is not None:
            q = q.where(table.c.project_id == project_id)
        with self.reading() as conn:
            return conn.execute(q).all()

    def projects(self) -> list[str]:
        """Every project with at least one revision, sorted."""
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(revisions.c.project_id).distinct().order_by(revisions.c.project_id)
            ).all()
        return [r[0] for r in rows]

    @staticmethod
    def revision_package_in(conn: Connection, project_id: str, revision: int) -> str | None:
        """The package sha256 of a recorded revision, read on ``conn``, or None."""
        return conn.execute(
            sa.select(revisions.c.package_sha256).where(
                revisions.c.project_id == project_id, revisions.c.revision == revision
            )
        ).scalar()

    # --- products ------------------------------------------------------------------------

    @staticmethod
    def product_in(
        conn: Connection, department: str, project_id: str, revision: int
    ) -> ProductRecord | None:
        """One product row read on ``conn`` (inside a caller's transaction)."""
        return _one_in(conn, products, _product, department, project_id, revision)

    @staticmethod
    def put_product_in(
        conn: Connection,
        record: ProductRecord,
        files: dict[str, tuple[str, int]],
    ) -> None:
        """Insert (or replace) a product row and its files on ``conn``."""
        key = (record.department, record.project_id, record.revision)
        conn.execute(product_files.delete().where(_key(product_files, *key)))
        _replace_in(conn, products, record)
        rows = [
            {
                "department": key[0],
                "project_id": key[1],
                "revision": key[2],
                "relpath": rel,
                "sha256": d,
                "size": s,
            }
            for rel, (d, s) in files.items()
        ]
        if rows:
            conn.execute(product_files.insert(), rows)

    @staticmethod
    def set_product_status_in(
        conn: Connection, department: str, project_id: str, revision: int, status: ProductStatus
    ) -> None:
        """Change a product row's status on ``conn``."""
        _set_status_in(conn, products, (department, project_id, revision), status)

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
        return self._listed(products, _product, department, project_id, statuses)

    def product_files(self, department: str, project_id: str, revision: int) -> dict[str, str]:
        """``{relpath: sha256}`` recorded at publication (the manifest itself excluded)."""
        with self.reading() as conn:
            rows = conn.execute(
                sa.select(product_files.c.relpath, product_files.c.sha256).where(
                    _key(product_files, department, project_id, revision)
                )
            ).all()
        return {r.relpath: r.sha256 for r in rows}

    # --- annexes ---------------------------------------------------------------------------

    @staticmethod
    def annex_in(
        conn: Connection, department: str, project_id: str, revision: int
    ) -> AnnexRecord | None:
        """One annex row read on ``conn`` (inside a caller's transaction)."""
        return _one_in(conn, product_annexes, _annex, department, project_id, revision)

    @staticmethod
    def put_annex_in(conn: Connection, record: AnnexRecord) -> None:
        """Insert (or replace) an annex row on ``conn``."""
        _replace_in(conn, product_annexes, record)

    @staticmethod
    def set_annex_status_in(
        conn: Connection, department: str, project_id: str, revision: int, status: ProductStatus
    ) -> None:
        """Change an annex row's status on ``conn``."""
        _set_status_in(conn, product_annexes, (department, project_id, revision), status)

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
        return self._listed(product_annexes, _annex, department, project_id, statuses)

    def _listed(
        self,
        table: sa.Table,
        record: Callable[[Any], Any],
        department: str | None,
        project_id: str | None,
        statuses: tuple[str, ...] | None,
    ) -> list[Any]:
        """``table``'s rows (products or annexes) as records, filtered, by department,
        project and revision."""
        q = _filtered(table, department, project_id, statuses)
        with self.reading() as conn:
            return [record(r) for r in conn.execute(q).all()]

    # --- what a revision should have, and what happened to it -----------------------------

    @staticmethod
    def restore_revision_in(conn: Connection, fields: dict[str, Any]) -> bool:
        """Insert a revision row from a product's provenance (a catalogue rebuilt from the
        folders) unless the revision, or its package under another number, is recorded;
        True if inserted. ``fields`` holds the ``revisions`` columns (``counts`` a dict)."""
        r = revisions.c
        taken = conn.execute(
            sa.select(r.revision).where(
                sa.or_(
                    sa.and_(r.project_id == fields["project_id"], r.revision == fields["revision"]),
                    sa.and_(
                        r.project_id == fields["project_id"],
                        r.package_sha256 == fields.get("package_sha256"),
                        r.ruleset_version == fields.get("ruleset_version"),
                        r.profile == fields.get("profile"),
                    ),
                )
            )
        ).first()
        if taken is not None:
            return False
        row = {c: fields.get(c) for c in _REVISION_COLUMNS}
        row["counts"] = json.dumps(row["counts"] or {}, sort_keys=True, ensure_ascii=False)
        row["recorded_at"] = now_iso()
        conn.execute(revisions.insert().values(**row))
        return True

    @staticmethod
    def expect_products_in(
        conn: Connection, project_id: str, revision: int, departments: list[str]
    ) -> None:
        """Add the departments a revision should have products for on ``conn`` (those
        recorded already are kept)."""
        known = set(
            conn.execute(
                sa.select(revision_products.c.department).where(
                    revision_products.c.project_id == project_id,
                    revision_products.c.revision == revision,
                )
            ).scalars()
        )
        rows = [
            {"project_id": project_id, "revision": revision, "department": d}
            for d in dict.fromkeys(departments)
            if d not in known
        ]
        if rows:
            conn.execute(revision_products.insert(), rows)

    def expect_products(self, project_id: str, revision: int, departments: list[str]) -> None:
        """Record the departments a revision should have products for (added to any
        recorded before; the revision must be recorded)."""
        with self.transaction() as conn:
            self.expect_products_in(conn, project_id, revision, departments)

    def expected_products(self) -> dict[tuple[str, int], set[str]]:
        """``{(project_id, revision): departments}`` of every revision whose products
        were announced (revisions recorded before schema 2 have none)."""
        if self.read_only and not self.has_table("revision_products"):
            return {}
        out: dict[tuple[str, int], set[str]] = {}
        with self.reading() as conn:
            for r in conn.execute(sa.select(revision_products)):
                out.setdefault((r.project_id, int(r.revision)), set()).add(r.department)
        return out

    def add_event(
        self, project_id: str, revision: int, department: str, kind: EventKind, detail: str
    ) -> None:
        """Record what happened to one product of a revision."""
        with self.transaction() as conn:
            conn.execute(
                publication_events.insert().values(
                    project_id=project_id,
                    revision=revision,
                    department=department,
                    kind=kind,
                    detail=detail,
                    at=now_iso(),
                )
            )

    def events(self, project_id: str | None = None) -> list[PublicationEvent]:
        """Publication events (of one project, or all), in the order recorded."""
        if self.read_only and not self.has_table("publication_events"):
            return []
        rows = self._rows_of(publication_events, project_id, (publication_events.c.id,))
        out = []
        for r in rows:
            fields = dict(r._mapping)
            fields["event_id"] = fields.pop("id")
            out.append(PublicationEvent(**fields))
        return out


def _as_dict(record: Any) -> dict[str, Any]:
    """A dataclass record's fields as a dict (its columns)."""
    return {f: getattr(record, f) for f in record.__dataclass_fields__}


def _one_in(
    conn: Connection,
    table: sa.Table,
    record: Callable[[Any], Any],
    department: str,
    project_id: str,
    revision: int,
) -> Any:
    """The row of ``table`` (products or annexes) with this key as a record, or None."""
    row = conn.execute(
        sa.select(table).where(_key(table, department, project_id, revision))
    ).first()
    return record(row) if row else None


def _replace_in(conn: Connection, table: sa.Table, record: Any) -> None:
    """Insert ``record`` into ``table`` (products or annexes), replacing the row of its key."""
    key = (record.department, record.project_id, record.revision)
    conn.execute(table.delete().where(_key(table, *key)))
    conn.execute(table.insert().values(**_as_dict(record)))


def _set_status_in(
    conn: Connection, table: sa.Table, key: tuple[str, str, int], status: ProductStatus
) -> None:
    """Change the status of the row of ``key`` in ``table`` (products or annexes)."""
    conn.execute(table.update().where(_key(table, *key)).values(status=status))


def _filtered(
    table: sa.Table,
    department: str | None,
    project_id: str | None,
    statuses: tuple[str, ...] | None,
) -> sa.Select:
    """``table``'s rows filtered, by department, project and revision."""
    q = sa.select(table).order_by(table.c.department, table.c.project_id, table.c.revision)
    if department is not None:
        q = q.where(table.c.department == department)
    if project_id is not None:
        q = q.where(table.c.project_id == project_id)
    if statuses is not None:
        q = q.where(table.c.status.in_(statuses))
    return q


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
