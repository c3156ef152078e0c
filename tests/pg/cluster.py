"""A throw-away PostgreSQL 15 + PostGIS cluster for the tests (issue 13).

``pg_server`` (session) runs ``initdb`` and ``pg_ctl`` in a fresh folder of the system's
temp dir, listening only on a Unix socket there (no TCP port), trusting local
connections, and stops it after the session. PostgreSQL refuses to run as root, so when
the tests run as root (CI does) the cluster's folder is given to an unprivileged user
(``postgres`` when Debian's package made it, else ``nobody``) and the two commands run
as that user through ``runuser``; the tests connect as the superuser ``postgres``
through the socket either way.

``pg_url`` (function) is a new database with ``postgis`` made from a template built once,
dropped after the test. The fixtures skip only when the binaries are absent *and* the
environment variables ``CI`` and ``DUOCE_CI`` (set by ``.ci/run``) are unset: in CI a missing server fails (``.ci/run`` installs
it from Debian's packages).

Registered for ``tests/pg`` by its conftest; another test folder imports the fixtures in
its own conftest (``from tests.pg.cluster import pg_server, pg_url``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEMPLATE = "duoce_postgis_template"


def _bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: on PATH, else Debian's newest version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return versions[0].parent if versions else None


def _runuser() -> str:
    """``runuser`` (util-linux): on PATH, else where Debian keeps it (a PATH without the
    sbin folders, e.g. an emptied environment, must not stop the cluster)."""
    return shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin") or "runuser"


def _run_as(user: str | None, *argv: str | Path) -> None:
    cmd = [str(a) for a in argv]
    if user is not None:
        cmd = [_runuser(), "-u", user, "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@dataclass(frozen=True)
class PgServer:
    """A running cluster: its socket folder and port; ``url(db)`` for SQLAlchemy."""

    socket_dir: Path
    port: int

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def admin(self, database: str = "postgres"):  # -> psycopg.Connection
        import psycopg

        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=True,
        )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        if os.environ.get("CI") or os.environ.get("DUOCE_CI"):
            pytest.fail("PostgreSQL (initdb, pg_ctl) is not installed: CI must have it")
        pytest.skip("PostgreSQL is not installed (initdb, pg_ctl)")
    user = None
    if os.geteuid() == 0:  # postgres refuses root
        for name in ("postgres", "nobody"):
            try:
                pwd.getpwnam(name)
            except KeyError:
                continue
            user = name
            break
        if user is None:
            pytest.fail("running as root and no user postgres or nobody to run PostgreSQL as")
    top = Path(tempfile.mkdtemp(prefix="duoce-pg-"))
    data = top / "data"
    data.mkdir()
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chmod(top, 0o755)
        os.chown(data, entry.pw_uid, entry.pw_gid)
        os.chown(top, entry.pw_uid, entry.pw_gid)
    port = 5432
    log = top / "server.log"
    try:
        _run_as(
            user, bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        options = f"-k {top} -c listen_addresses='' -p {port} -c fsync=off"
        _run_as(user, bin_dir / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(top, ignore_errors=True)
        pytest.fail(f"cannot start PostgreSQL: {exc.stderr.decode(errors='replace')}")
    server = PgServer(top, port)
    try:
        with server.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        with server.admin(TEMPLATE) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield server
    finally:
        try:
            _run_as(user, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A fresh database with PostGIS (SQLAlchemy URL), dropped after the test."""
    name = f"duoce_{uuid.uuid4().hex[:12]}"
    with pg_server.admin() as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield pg_server.url(name)
    finally:
        with pg_server.admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
