"""The catalogue's PostgreSQL schema comes from the alembic migrations (issue 13)."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from storage import accounts, case_log
from storage.catalogue import MIGRATION_HEAD, MIGRATIONS, Catalogue, metadata


def test_the_code_knows_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == MIGRATION_HEAD


def test_the_migrations_make_every_table_of_the_code(pg_url: str) -> None:
    """Catalogue, case log and accounts: every table and column the code declares, once
    (two processes' first opening at once: the advisory lock)."""
    threads = [threading.Thread(target=Catalogue, args=(pg_url,)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine = sa.create_engine(pg_url)
    try:
        inspector = sa.inspect(engine)
        for md in (metadata, case_log.metadata, accounts.metadata):
            for table in md.sorted_tables:
                columns = {c["name"] for c in inspector.get_columns(table.name)}
                assert columns == set(table.columns.keys()), table.name
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).all() == [
                (MIGRATION_HEAD,)
            ]
            assert conn.execute(sa.text("SELECT value FROM meta")).scalar() == "3"
            kinds = dict(
                conn.execute(
                    sa.text(
                        "SELECT table_name, data_type FROM information_schema.columns"
                        " WHERE column_name = 'relpath'"
                    )
                ).all()
            )
        assert kinds == {"package_files": "bytea", "product_files": "bytea"}
    finally:
        engine.dispose()


def test_the_case_log_and_accounts_opened_first_are_adopted(pg_url: str) -> None:
    """The log and the accounts make their tables when they open a new database first;
    the catalogue's migration then adopts them."""
    accounts.Accounts(pg_url)
    case_log.CaseLog(pg_url)
    catalogue = Catalogue(pg_url)
    assert catalogue.health() == [] and catalogue.revisions() == []
