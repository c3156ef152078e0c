"""The store's tests run on both catalogue backends (issue 13).

Every test of this folder runs twice, ``[sqlite]`` (the embedded ``catalogue.sqlite``) and
``[postgresql]`` (a fresh database of the session's throw-away cluster,
``tests/pg/cluster.py``, made from a template; ``DUOCE_DATABASE_URL`` points the store, the
case log and any child process at it). A test about the SQLite file itself (its bytes,
its WAL, its storage classes) is marked ``sqlite_only``, says so in its docstring, and
runs once: it is not skipped on PostgreSQL, it is not generated for it.
"""

from __future__ import annotations

import pytest

from tests.pg.cluster import pg_server, pg_url  # noqa: F401 - fixtures for the postgresql runs

BACKENDS: tuple[str, ...] = ("sqlite", "postgresql")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only: about the SQLite catalogue file itself; run on SQLite only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only_sqlite else BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``sqlite`` or ``postgresql``; for the latter ``DUOCE_DATABASE_URL`` is a fresh
    database for this test."""
    name = getattr(request, "param", "sqlite")
    if name == "postgresql":
        monkeypatch.setenv("DUOCE_DATABASE_URL", request.getfixturevalue("pg_url"))
    else:
        monkeypatch.delenv("DUOCE_DATABASE_URL", raising=False)
    return name
