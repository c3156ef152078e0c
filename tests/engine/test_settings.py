"""The settings: DUOCE_* from the environment or .env, typed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine.settings import Settings, get_settings


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.upper().startswith("DUOCE_")]:
        monkeypatch.delenv(key)
    return monkeypatch


def test_defaults(env):
    assert get_settings() == Settings()
    assert get_settings().backend == "local" and get_settings().store == Path("store")


def test_environment_typed_and_overrides_win(env):
    env.setenv("DUOCE_BACKEND", "dask")
    env.setenv("DUOCE_WORKDIR", "/tmp/x")
    env.setenv("duoce_profile", "other")
    s = get_settings(store=Path("elsewhere"), profile=None)
    assert (s.backend, s.workdir, s.profile, s.store) == ("dask", Path("/tmp/x"), "other", Path("elsewhere"))


def test_dotenv_read_and_environment_wins(env, tmp_path):
    (tmp_path / ".env").write_text('# comment\nDUOCE_PROFILE="fromfile"\nexport DUOCE_BACKEND=dask\n', encoding="utf-8")
    assert (get_settings().profile, get_settings().backend) == ("fromfile", "dask")
    env.setenv("DUOCE_BACKEND", "local")
    assert get_settings().backend == "local"


def test_the_removed_reader_setting_is_ignored(env):
    """DUOCE_WORKERS / DUOCE_READ_WORKERS named the drawing-reader processes, removed in
    issue 16: left in an environment they change nothing."""
    env.setenv("DUOCE_WORKERS", "2")
    env.setenv("DUOCE_READ_WORKERS", "many")
    assert get_settings() == Settings()


def test_bad_values_raise_value_error(env):
    env.setenv("DUOCE_BACKEND", "spark")
    with pytest.raises(ValueError):
        get_settings()


def test_duoce_check_path_does_not_import_pydantic_settings():
    code = "import sys, interfaces.cli, engine.precheck, engine.settings as s; s.get_settings(); " \
           "print('pydantic_settings' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "False", done.stderr


def test_database_url_is_read_and_must_be_a_url(env):
    assert get_settings().database_url is None  # the embedded SQLite
    env.setenv("DUOCE_DATABASE_URL", "postgresql+psycopg://duoce@db.example/duoce")
    assert get_settings().database_url == "postgresql+psycopg://duoce@db.example/duoce"
    env.setenv("DUOCE_DATABASE_URL", "  ")
    assert get_settings().database_url is None  # empty: the default
    env.setenv("DUOCE_DATABASE_URL", "db.example")
    with pytest.raises(ValueError, match="DUOCE_DATABASE_URL"):
        get_settings()
