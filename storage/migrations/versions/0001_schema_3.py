"""Schema 3: the catalogue, the case log and the web service's accounts (PostgreSQL).

The tables as the code had them when the PostgreSQL backend came (issue 13): the
catalogue at its SQLite schema version 3 (``packages``, ``package_files``, ``revisions``,
``submissions``, ``products``, ``product_files``, ``revision_products``,
``publication_events``, ``product_annexes``, ``meta``), ``case_events`` and
``case_flags`` (storage/case_log.py) and the ``acct_*`` tables (storage/accounts.py),
frozen here as DDL. ``IF NOT EXISTS``: the case log and the accounts create their own
tables when they open a database first, and this revision then adopts them. File names
(``relpath``) are ``bytea``.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA_VERSION = "3"  # storage.catalogue.SCHEMA_VERSION of these tables

STATEMENTS: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS meta (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (key)
)""",
    """CREATE TABLE IF NOT EXISTS packages (
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    size BIGINT NOT NULL,
    file_count INTEGER NOT NULL,
    stored_at TEXT NOT NULL,
    PRIMARY KEY (sha256),
    CONSTRAINT packages_sha256 CHECK (length(sha256) = 64),
    CONSTRAINT packages_kind CHECK (kind IN ('zip', 'dir')),
    UNIQUE (path)
)""",
    """CREATE TABLE IF NOT EXISTS publication_events (
    id SERIAL NOT NULL,
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    department TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT publication_events_department CHECK (department IN ('planning', 'registration', 'housing', 'archive')),
    CONSTRAINT publication_events_kind CHECK (kind IN ('failed', 'completed', 'repaired', 'unrepairable', 'refused'))
)""",
    """CREATE TABLE IF NOT EXISTS revisions (
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    package_sha256 TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    profile TEXT NOT NULL,
    verdict TEXT NOT NULL,
    counts TEXT NOT NULL,
    firm TEXT,
    submitted_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (project_id, revision),
    CONSTRAINT revisions_revision CHECK (revision >= 1),
    CONSTRAINT revisions_verdict CHECK (verdict IN ('accepted', 'accepted_with_deficiencies', 'rejected')),
    CONSTRAINT revisions_package UNIQUE (project_id, package_sha256, ruleset_version, profile)
)""",
    """CREATE TABLE IF NOT EXISTS package_files (
    package_sha256 TEXT NOT NULL,
    relpath BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (package_sha256, relpath),
    FOREIGN KEY(package_sha256) REFERENCES packages (sha256) ON DELETE CASCADE
)""",
    """CREATE TABLE IF NOT EXISTS product_annexes (
    department TEXT NOT NULL,
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    provenance_sha256 TEXT NOT NULL,
    annexed_at TEXT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (department, project_id, revision),
    CONSTRAINT product_annexes_department CHECK (department IN ('planning', 'registration', 'housing', 'archive')),
    CONSTRAINT product_annexes_status CHECK (status IN ('published', 'recovered', 'missing')),
    FOREIGN KEY(project_id, revision) REFERENCES revisions (project_id, revision),
    UNIQUE (path)
)""",
    """CREATE TABLE IF NOT EXISTS products (
    department TEXT NOT NULL,
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    path TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    file_count INTEGER NOT NULL,
    size BIGINT NOT NULL,
    published_at TEXT NOT NULL,
    status TEXT NOT NULL,
    provenance_sha256 TEXT,
    PRIMARY KEY (department, project_id, revision),
    CONSTRAINT products_department CHECK (department IN ('planning', 'registration', 'housing', 'archive')),
    CONSTRAINT products_status CHECK (status IN ('published', 'recovered', 'missing')),
    FOREIGN KEY(project_id, revision) REFERENCES revisions (project_id, revision),
    UNIQUE (path)
)""",
    """CREATE TABLE IF NOT EXISTS revision_products (
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    department TEXT NOT NULL,
    PRIMARY KEY (project_id, revision, department),
    CONSTRAINT revision_products_department CHECK (department IN ('planning', 'registration', 'housing', 'archive')),
    FOREIGN KEY(project_id, revision) REFERENCES revisions (project_id, revision)
)""",
    """CREATE TABLE IF NOT EXISTS submissions (
    id SERIAL NOT NULL,
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    is_new INTEGER NOT NULL,
    package_sha256 TEXT NOT NULL,
    ruleset_version TEXT NOT NULL,
    profile TEXT NOT NULL,
    verdict TEXT NOT NULL,
    counts TEXT NOT NULL,
    firm TEXT,
    submitted_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT submissions_is_new CHECK (is_new IN (0, 1)),
    CONSTRAINT submissions_verdict CHECK (verdict IN ('accepted', 'accepted_with_deficiencies', 'rejected')),
    FOREIGN KEY(project_id, revision) REFERENCES revisions (project_id, revision)
)""",
    """CREATE INDEX IF NOT EXISTS submissions_by_project ON submissions (project_id, id)""",
    """CREATE TABLE IF NOT EXISTS product_files (
    department TEXT NOT NULL,
    project_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    relpath BYTEA NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (department, project_id, revision, relpath),
    FOREIGN KEY(department, project_id, revision) REFERENCES products (department, project_id, revision) ON DELETE CASCADE
)""",
    """CREATE TABLE IF NOT EXISTS case_events (
    id SERIAL NOT NULL,
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    kind TEXT NOT NULL,
    organisation TEXT NOT NULL,
    person TEXT NOT NULL,
    role TEXT NOT NULL,
    at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT case_events_case_seq UNIQUE (case_id, seq)
)""",
    """CREATE TABLE IF NOT EXISTS case_flags (
    id SERIAL NOT NULL,
    day TEXT NOT NULL,
    case_id TEXT NOT NULL,
    what TEXT NOT NULL,
    responsible TEXT NOT NULL,
    days_over INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT case_flags_day_case_what UNIQUE (day, case_id, what)
)""",
    """CREATE TABLE IF NOT EXISTS acct_login_failures (
    id SERIAL NOT NULL,
    user_digest VARCHAR(64) NOT NULL,
    at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
    """CREATE INDEX IF NOT EXISTS acct_login_failures_by_user ON acct_login_failures (user_digest, at)""",
    """CREATE TABLE IF NOT EXISTS acct_organisations (
    id VARCHAR(32) NOT NULL,
    name VARCHAR(200) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    department VARCHAR(32),
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT acct_org_kind CHECK (kind IN ('firm', 'department', 'lead')),
    CONSTRAINT acct_org_department CHECK ((kind = 'department') = (department IS NOT NULL)),
    UNIQUE (name)
)""",
    """CREATE TABLE IF NOT EXISTS acct_people (
    id VARCHAR(32) NOT NULL,
    org_id VARCHAR(32) NOT NULL,
    username VARCHAR(64) NOT NULL,
    display_name VARCHAR(100) NOT NULL,
    password_hash VARCHAR(300) NOT NULL,
    role VARCHAR(16) DEFAULT 'member' NOT NULL,
    is_admin BOOLEAN DEFAULT false NOT NULL,
    active BOOLEAN DEFAULT true NOT NULL,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT acct_person_role CHECK (role IN ('member', 'analyst')),
    FOREIGN KEY(org_id) REFERENCES acct_organisations (id),
    UNIQUE (username)
)""",
    """CREATE TABLE IF NOT EXISTS acct_projects (
    project_id VARCHAR(100) NOT NULL,
    org_id VARCHAR(32) NOT NULL,
    claimed_at FLOAT NOT NULL,
    PRIMARY KEY (project_id),
    FOREIGN KEY(org_id) REFERENCES acct_organisations (id)
)""",
    """CREATE TABLE IF NOT EXISTS acct_runs (
    id VARCHAR(32) NOT NULL,
    org_id VARCHAR(32) NOT NULL,
    person_id VARCHAR(32) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    upload_id VARCHAR(32),
    flow_run_id VARCHAR(40),
    state VARCHAR(16) NOT NULL,
    project_id VARCHAR(100),
    revision INTEGER,
    verdict VARCHAR(40),
    detail TEXT,
    created_at FLOAT NOT NULL,
    finished_at FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT acct_run_kind CHECK (kind IN ('precheck', 'submit', 'rerun')),
    CONSTRAINT acct_run_state CHECK (state IN ('queued', 'checking', 'done', 'failed')),
    FOREIGN KEY(org_id) REFERENCES acct_organisations (id),
    FOREIGN KEY(person_id) REFERENCES acct_people (id)
)""",
    """CREATE INDEX IF NOT EXISTS acct_runs_by_upload ON acct_runs (upload_id, created_at)""",
    """CREATE INDEX IF NOT EXISTS acct_runs_by_org ON acct_runs (org_id, kind, created_at)""",
    """CREATE TABLE IF NOT EXISTS acct_sessions (
    digest VARCHAR(64) NOT NULL,
    person_id VARCHAR(32) NOT NULL,
    created_at FLOAT NOT NULL,
    expires_at FLOAT NOT NULL,
    PRIMARY KEY (digest),
    FOREIGN KEY(person_id) REFERENCES acct_people (id)
)""",
    """CREATE TABLE IF NOT EXISTS acct_tokens (
    id VARCHAR(32) NOT NULL,
    person_id VARCHAR(32) NOT NULL,
    name VARCHAR(100) NOT NULL,
    digest VARCHAR(64) NOT NULL,
    created_at FLOAT NOT NULL,
    last_used_at FLOAT,
    revoked BOOLEAN DEFAULT false NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(person_id) REFERENCES acct_people (id),
    UNIQUE (digest)
)""",
    """CREATE TABLE IF NOT EXISTS acct_uploads (
    id VARCHAR(32) NOT NULL,
    org_id VARCHAR(32) NOT NULL,
    person_id VARCHAR(32) NOT NULL,
    filename VARCHAR(255) NOT NULL,
    size BIGINT NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,
    project_id VARCHAR(100),
    verdict VARCHAR(40),
    counts TEXT,
    error TEXT,
    created_at FLOAT NOT NULL,
    finished_at FLOAT,
    PRIMARY KEY (id),
    CONSTRAINT acct_upload_state CHECK (state IN ('queued', 'checking', 'done', 'failed')),
    FOREIGN KEY(org_id) REFERENCES acct_organisations (id),
    FOREIGN KEY(person_id) REFERENCES acct_people (id)
)""",
    """CREATE INDEX IF NOT EXISTS acct_uploads_by_org ON acct_uploads (org_id, created_at)""",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)
    op.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', '" + SCHEMA_VERSION + "')"
        " ON CONFLICT (key) DO NOTHING"
    )


def downgrade() -> None:
    raise NotImplementedError("the first revision is not undone: drop the database")
