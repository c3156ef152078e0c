"""Where the store's tables go: DUOCE_DATABASE_URL, else the store's catalogue.sqlite."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.accounts import catalogue_url
from storage.case_log import CaseLog
from storage.store import Store


@pytest.mark.sqlite_only
def test_without_a_url_everything_is_in_the_catalogue_file(tmp_path: Path) -> None:
    """SQLite only: the default, one file."""
    root = tmp_path / "store"
    store = Store(root)
    assert store.database_url is None and store.catalogue.path == root / "catalogue.sqlite"
    assert catalogue_url(root) == f"sqlite:///{root / 'catalogue.sqlite'}"
    assert CaseLog.in_store(root).url == catalogue_url(root)


def test_the_accounts_and_the_case_log_follow_the_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    url = "postgresql+psycopg://duoce@db.example/duoce"
    monkeypatch.setenv("DUOCE_DATABASE_URL", url)
    assert catalogue_url(tmp_path) == url
    monkeypatch.setenv("DUOCE_DATABASE_URL", "")
    assert catalogue_url(tmp_path).startswith("sqlite:///")
