"""Accounts of the web service: organisations, people, sessions, API tokens and uploads.

Its own tables (``acct_*``) in the store's catalogue file (``store/catalogue.sqlite``), kept
apart from the catalogue's tables. SQLAlchemy Core, so moving them to PostgreSQL is a change
of the database URL in the settings: they follow the catalogue (``DUOCE_DATABASE_URL``) unless
``DUOCE_WEB_DATABASE_URL`` names another database; not a change of this code.

What is stored is what the caller gives: password hashes, token and session digests (the
hashing is ``interfaces.web.security``'s). Identifiers of organisations, people and uploads
are random (``secrets.token_urlsafe``): an id says nothing about how many exist.

Roles (``shared/spec/case.md``): an organisation is a ``firm``, a ``department`` (with its
department code: planning, registration, housing, archive …) or the ``lead`` office; a
person of a department or of the lead office may be an ``analyst``. ``is_admin`` marks the
people who may create organisations and people.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from storage.store import CATALOGUE_NAME

ORG_KINDS: tuple[str, ...] = ("firm", "department", "lead")
PERSON_ROLES: tuple[str, ...] = ("member", "analyst")
UPLOAD_STATES: tuple[str, ...] = ("queued", "checking", "done", "failed")
RUN_KINDS: tuple[str, ...] = ("precheck", "submit", "rerun")

metadata = sa.MetaData()

organisations = sa.Table(
    "acct_organisations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("department", sa.String(32)),  # the department code, for kind department
    sa.Column("created_at", sa.Float, nullable=False),
    sa.CheckConstraint("kind IN ('firm', 'department', 'lead')", name="acct_org_kind"),
    sa.CheckConstraint(
        "(kind = 'department') = (department IS NOT NULL)", name="acct_org_department"
    ),
)

people = sa.Table(
    "acct_people",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("org_id", sa.String(32), sa.ForeignKey("acct_organisations.id"), nullable=False),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(16), nullable=False, server_default="member"),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.CheckConstraint("role IN ('member', 'analyst')", name="acct_person_role"),
)

sessions = sa.Table(
    "acct_sessions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # sha256 of the session id
    sa.Column("person_id", sa.String(32), sa.ForeignKey("acct_people.id"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

tokens = sa.Table(
    "acct_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("person_id", sa.String(32), sa.ForeignKey("acct_people.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),  # sha256 of the token
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float),
    sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
)

uploads = sa.Table(
    "acct_uploads",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("org_id", sa.String(32), sa.ForeignKey("acct_organisations.id"), nullable=False),
    sa.Column("person_id", sa.String(32), sa.ForeignKey("acct_people.id"), nullable=False),
    sa.Column("filename", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("project_id", sa.String(100)),
    sa.Column("verdict", sa.String(40)),
    sa.Column("counts", sa.Text),  # JSON {"error": n, "warning": n, "info": n}
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.CheckConstraint(
        "state IN ('queued', 'checking', 'done', 'failed')", name="acct_upload_state"
    ),
    sa.Index("acct_uploads_by_org", "org_id", "created_at"),
)


# A piece of work started off the request: an upload's pre-check or submission (a Prefect
# flow run when the service has Prefect, else the check pool) or an analyst's rerun.
runs = sa.Table(
    "acct_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("org_id", sa.String(32), sa.ForeignKey("acct_organisations.id"), nullable=False),
    sa.Column("person_id", sa.String(32), sa.ForeignKey("acct_people.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("upload_id", sa.String(32)),
    sa.Column("flow_run_id", sa.String(40)),  # None: run by the check pool
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("project_id", sa.String(100)),
    sa.Column("revision", sa.Integer),
    sa.Column("verdict", sa.String(40)),
    sa.Column("detail", sa.Text),  # the Prefect state's message, or why it failed
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float),
    sa.CheckConstraint("kind IN ('precheck', 'submit', 'rerun')", name="acct_run_kind"),
    sa.CheckConstraint("state IN ('queued', 'checking', 'done', 'failed')", name="acct_run_state"),
    sa.Index("acct_runs_by_upload", "upload_id", "created_at"),
    sa.Index("acct_runs_by_org", "org_id", "kind", "created_at"),
)

# Which firm a project belongs to: the first firm that submitted it through the service.
projects = sa.Table(
    "acct_projects",
    metadata,
    sa.Column("project_id", sa.String(100), primary_key=True),
    sa.Column("org_id", sa.String(32), sa.ForeignKey("acct_organisations.id"), nullable=False),
    sa.Column("claimed_at", sa.Float, nullable=False),
)


# Failed logins, so that the lockout (five in 15 minutes) holds across the web service's
# processes and restarts: one row per failure, kept for the window (sha256 of the user
# name as typed, so that any input has the same size).
login_failures = sa.Table(
    "acct_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_digest", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("acct_login_failures_by_user", "user_digest", "at"),
)


def new_id() -> str:
    """A random identifier (22 URL-safe characters, 128 bits)."""
    return secrets.token_urlsafe(16)


def _user_digest(username: str) -> str:
    return hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()


def catalogue_url(store_root: Path | str) -> str:
    """The SQLAlchemy URL of the store's catalogue: ``DUOCE_DATABASE_URL`` when it is set
    (the accounts beside the catalogue in PostgreSQL), else the store's catalogue file.
    ``DUOCE_WEB_DATABASE_URL`` still moves the accounts elsewhere (the web settings)."""
    from storage.catalogue import configured_database_url

    url = configured_database_url()
    return url or f"sqlite:///{(Path(store_root).absolute() / CATALOGUE_NAME).as_posix()}"


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    kind: str
    department: str | None


@dataclass(frozen=True)
class Person:
    id: str
    org_id: str
    username: str
    display_name: str
    password_hash: str
    role: str
    is_admin: bool
    active: bool


@dataclass(frozen=True)
class Token:
    id: str
    person_id: str
    name: str
    created_at: float
    last_used_at: float | None
    revoked: bool


@dataclass(frozen=True)
class Upload:
    id: str
    org_id: str
    person_id: str
    filename: str
    size: int
    sha256: str
    state: str
    project_id: str | None
    verdict: str | None
    counts: dict[str, int] | None
    error: str | None
    created_at: float
    finished_at: float | None


@dataclass(frozen=True)
class Run:
    id: str
    org_id: str
    person_id: str
    kind: str
    upload_id: str | None
    flow_run_id: str | None
    state: str
    project_id: str | None
    revision: int | None
    verdict: str | None
    detail: str | None
    created_at: float
    finished_at: float | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


class AccountError(ValueError):
    """A request the accounts refuse (duplicate name, unknown organisation …)."""


def _row(cls: type, row: Any) -> Any:
    data = dict(row._mapping)
    if cls is Upload and data.get("counts") is not None:
        data["counts"] = json.loads(data["counts"])
    return cls(**{k: data[k] for k in cls.__dataclass_fields__})


class Accounts:
    """The account tables behind one database URL (created if missing).

    Parameters
    ----------
    url
        A SQLAlchemy URL; ``catalogue_url(store_root)`` for the embedded store.
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        self.engine = sa.create_engine(
            url, connect_args={"timeout": busy_timeout} if sqlite else {}, future=True
        )
        if sqlite:

            @sa.event.listens_for(self.engine, "connect")
            def _pragmas(dbapi_conn, _record):  # noqa: ANN001 - DB-API connection
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
                cur.close()

        metadata.create_all(self.engine)

    def __getstate__(self) -> dict:  # pickled into check processes: the URL only
        return {"url": self.url}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["url"])

    def dispose(self) -> None:
        self.engine.dispose()

    # --- organisations ----------------------------------------------------------------------

    def add_org(self, name: str, kind: str, department: str | None = None) -> Organisation:
        name = name.strip()
        if not name:
            raise AccountError("单位名称不能为空")
        if kind not in ORG_KINDS:
            raise AccountError(f"单位类型只能是 {', '.join(ORG_KINDS)}")
        if (kind == "department") != bool(department):
            raise AccountError("职能部门须给出部门代码（planning、registration …），其他单位不给")
        org = Organisation(new_id(), name, kind, department or None)
        try:
            with self.engine.begin() as conn:
                conn.execute(organisations.insert().values(**org.__dict__, created_at=time.time()))
        except sa.exc.IntegrityError:
            raise AccountError(f"单位已存在：{name}") from None
        return org

    def org(self, org_id: str) -> Organisation | None:
        with self.engine.connect() as conn:
            row = conn.execute(organisations.select().where(organisations.c.id == org_id)).first()
        return _row(Organisation, row) if row else None

    def org_by_name(self, name: str) -> Organisation | None:
        with self.engine.connect() as conn:
            row = conn.execute(organisations.select().where(organisations.c.name == name)).first()
        return _row(Organisation, row) if row else None

    def orgs(self) -> list[Organisation]:
        with self.engine.connect() as conn:
            rows = conn.execute(organisations.select().order_by(organisations.c.name)).all()
        return [_row(Organisation, r) for r in rows]

    # --- people -----------------------------------------------------------------------------

    def add_person(
        self,
        org_id: str,
        username: str,
        display_name: str,
        password_hash: str,
        *,
        role: str = "member",
        is_admin: bool = False,
    ) -> Person:
        org = self.org(org_id)
        if org is None:
            raise AccountError("单位不存在")
        if role not in PERSON_ROLES:
            raise AccountError(f"角色只能是 {', '.join(PERSON_ROLES)}")
        if role == "analyst" and org.kind == "firm":
            raise AccountError("分析人员属于牵头部门或职能部门，不属于测绘单位")
        username = username.strip()
        if not username or len(username) > 64:
            raise AccountError("用户名不能为空，且不超过 64 个字符")
        person = Person(
            new_id(),
            org_id,
            username,
            display_name.strip() or username,
            password_hash,
            role,
            is_admin,
            True,
        )
        try:
            with self.engine.begin() as conn:
                conn.execute(people.insert().values(**person.__dict__, created_at=time.time()))
        except sa.exc.IntegrityError:
            raise AccountError(f"用户名已存在：{username}") from None
        return person

    def person(self, person_id: str) -> Person | None:
        with self.engine.connect() as conn:
            row = conn.execute(people.select().where(people.c.id == person_id)).first()
        return _row(Person, row) if row else None

    def person_by_username(self, username: str) -> Person | None:
        with self.engine.connect() as conn:
            row = conn.execute(people.select().where(people.c.username == username)).first()
        return _row(Person, row) if row else None

    def people(self) -> list[Person]:
        with self.engine.connect() as conn:
            rows = conn.execute(people.select().order_by(people.c.username)).all()
        return [_row(Person, r) for r in rows]

    def set_password_hash(self, person_id: str, password_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                people.update().where(people.c.id == person_id).values(password_hash=password_hash)
            )
            conn.execute(sessions.delete().where(sessions.c.person_id == person_id))

    # --- sessions ---------------------------------------------------------------------------

    def add_session(self, digest: str, person_id: str, lifetime: float) -> None:
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.expires_at < now))
            conn.execute(
                sessions.insert().values(
                    digest=digest, person_id=person_id, created_at=now, expires_at=now + lifetime
                )
            )

    def session_person(self, digest: str) -> Person | None:
        """The active person of an unexpired session, or None."""
        q = (
            sa.select(people)
            .join(sessions, sessions.c.person_id == people.c.id)
            .where(
                sessions.c.digest == digest,
                sessions.c.expires_at > time.time(),
                people.c.active == sa.true(),
            )
        )
        with self.engine.connect() as conn:
            row = conn.execute(q).first()
        return _row(Person, row) if row else None

    def end_session(self, digest: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sessions.delete().where(sessions.c.digest == digest))

    # --- API tokens -------------------------------------------------------------------------

    def add_token(self, person_id: str, name: str, digest: str) -> Token:
        token = Token(new_id(), person_id, name.strip() or "token", time.time(), None, False)
        with self.engine.begin() as conn:
            conn.execute(tokens.insert().values(**token.__dict__, digest=digest))
        return token

    def token_person(self, digest: str) -> Person | None:
        """The active person of an unrevoked token (and the token's use recorded), or None."""
        q = (
            sa.select(people, tokens.c.id.label("token_id"))
            .join(tokens, tokens.c.person_id == people.c.id)
            .where(
                tokens.c.digest == digest,
                tokens.c.revoked == sa.false(),
                people.c.active == sa.true(),
            )
        )
        with self.engine.begin() as conn:
            row = conn.execute(q).first()
            if row is None:
                return None
            conn.execute(
                tokens.update().where(tokens.c.id == row.token_id).values(last_used_at=time.time())
            )
        return _row(Person, row)

    def tokens_of(self, person_id: str) -> list[Token]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                tokens.select().where(tokens.c.person_id == person_id).order_by(tokens.c.created_at)
            ).all()
        return [_row(Token, r) for r in rows]

    def revoke_token(self, person_id: str, token_id: str) -> bool:
        """Revoke one of ``person_id``'s tokens; False when they have no such token."""
        with self.engine.begin() as conn:
            done = conn.execute(
                tokens.update()
                .where(tokens.c.id == token_id, tokens.c.person_id == person_id)
                .values(revoked=True)
            )
        return done.rowcount == 1

    # --- uploads ----------------------------------------------------------------------------

    def add_upload(
        self, upload_id: str, org_id: str, person_id: str, filename: str, size: int, sha256: str
    ) -> Upload:
        with self.engine.begin() as conn:
            conn.execute(
                uploads.insert().values(
                    id=upload_id,
                    org_id=org_id,
                    person_id=person_id,
                    filename=filename[:255],
                    size=size,
                    sha256=sha256,
                    state="queued",
                    created_at=time.time(),
                )
            )
        found = self.upload(upload_id, org_id)
        assert found is not None
        return found

    def upload(self, upload_id: str, org_id: str) -> Upload | None:
        """The upload ``upload_id`` if it belongs to ``org_id`` (None otherwise: no hint
        whether it exists)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                uploads.select().where(uploads.c.id == upload_id, uploads.c.org_id == org_id)
            ).first()
        return _row(Upload, row) if row else None

    def uploads_of(self, org_id: str, limit: int = 200) -> list[Upload]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                uploads.select()
                .where(uploads.c.org_id == org_id)
                .order_by(uploads.c.created_at.desc())
                .limit(limit)
            ).all()
        return [_row(Upload, r) for r in rows]

    def unfinished_uploads(self) -> list[Upload]:
        """Uploads queued or being checked (after a restart: to check again)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                uploads.select()
                .where(uploads.c.state.in_(("queued", "checking")))
                .order_by(uploads.c.created_at)
            ).all()
        return [_row(Upload, r) for r in rows]

    def set_upload_state(self, upload_id: str, state: str, **values: Any) -> None:
        if state not in UPLOAD_STATES:
            raise ValueError(f"unknown upload state {state!r}")
        if "counts" in values and values["counts"] is not None:
            values["counts"] = json.dumps(values["counts"], sort_keys=True)
        if state in ("done", "failed"):
            values["finished_at"] = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                uploads.update().where(uploads.c.id == upload_id).values(state=state, **values)
            )

    # --- runs (pre-checks, submissions, reruns off the request) -------------------------------

    def add_run(
        self,
        org_id: str,
        person_id: str,
        kind: str,
        upload_id: str | None = None,
        project_id: str | None = None,
    ) -> Run:
        if kind not in RUN_KINDS:
            raise ValueError(f"unknown run kind {kind!r}")
        run_id = new_id()
        with self.engine.begin() as conn:
            conn.execute(
                runs.insert().values(
                    id=run_id,
                    org_id=org_id,
                    person_id=person_id,
                    kind=kind,
                    upload_id=upload_id,
                    project_id=project_id,
                    state="queued",
                    created_at=time.time(),
                )
            )
        found = self.run(run_id, org_id)
        assert found is not None
        return found

    def run(self, run_id: str, org_id: str) -> Run | None:
        """The run if it belongs to ``org_id`` (None otherwise: no hint whether it exists)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                runs.select().where(runs.c.id == run_id, runs.c.org_id == org_id)
            ).first()
        return _row(Run, row) if row else None

    def runs_of_upload(self, upload_id: str, org_id: str, kind: str | None = None) -> list[Run]:
        """The upload's runs (oldest first), only if it belongs to ``org_id``."""
        query = runs.select().where(runs.c.upload_id == upload_id, runs.c.org_id == org_id)
        if kind is not None:
            query = query.where(runs.c.kind == kind)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(runs.c.created_at)).all()
        return [_row(Run, r) for r in rows]

    def runs_of(self, org_id: str, kind: str, limit: int = 100) -> list[Run]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                runs.select()
                .where(runs.c.org_id == org_id, runs.c.kind == kind)
                .order_by(runs.c.created_at.desc())
                .limit(limit)
            ).all()
        return [_row(Run, r) for r in rows]

    def runs_of_flow_run(self, flow_run_id: str) -> list[Run]:
        """The runs (of any organisation) that a Prefect flow run carries out."""
        with self.engine.connect() as conn:
            rows = conn.execute(runs.select().where(runs.c.flow_run_id == flow_run_id)).all()
        return [_row(Run, r) for r in rows]

    def unfinished_runs(self) -> list[Run]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                runs.select()
                .where(runs.c.state.in_(("queued", "checking")))
                .order_by(runs.c.created_at)
            ).all()
        return [_row(Run, r) for r in rows]

    def set_run(self, run_id: str, state: str | None = None, **values: Any) -> None:
        if state is not None:
            if state not in UPLOAD_STATES:
                raise ValueError(f"unknown run state {state!r}")
            values["state"] = state
            if state in ("done", "failed"):
                values["finished_at"] = time.time()
        with self.engine.begin() as conn:
            conn.execute(runs.update().where(runs.c.id == run_id).values(**values))

    # --- failed logins (the lockout) -------------------------------------------------------

    def login_failures(self, username: str, window: float) -> int:
        """How many failed logins of ``username`` the last ``window`` seconds saw."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(login_failures)
                .where(
                    login_failures.c.user_digest == _user_digest(username),
                    login_failures.c.at > time.time() - window,
                )
            ).scalar_one()

    def add_login_failure(self, username: str, window: float) -> None:
        """Record a failed login of ``username``; failures older than ``window`` go."""
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(login_failures.delete().where(login_failures.c.at <= now - window))
            conn.execute(login_failures.insert().values(user_digest=_user_digest(username), at=now))

    def clear_login_failures(self, username: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                login_failures.delete().where(
                    login_failures.c.user_digest == _user_digest(username)
                )
            )

    # --- projects: which firm a project belongs to ------------------------------------------

    def claim_project(self, project_id: str, org_id: str) -> bool:
        """True when ``project_id`` is ``org_id``'s (claimed now, or before); False when
        another organisation submitted it first."""
        with self.engine.begin() as conn:
            owner = conn.execute(
                sa.select(projects.c.org_id).where(projects.c.project_id == project_id)
            ).scalar()
            if owner is None:
                conn.execute(
                    projects.insert().values(
                        project_id=project_id, org_id=org_id, claimed_at=time.time()
                    )
                )
                return True
        return owner == org_id

    def project_owner(self, project_id: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(projects.c.org_id).where(projects.c.project_id == project_id)
            ).scalar()

    def projects_of(self, org_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(projects.c.project_id)
                    .where(projects.c.org_id == org_id)
                    .order_by(projects.c.claimed_at)
                ).scalars()
            )
