"""The throw-away cluster runs, has PostGIS, and the case log (SQLAlchemy Core) works on it."""

from __future__ import annotations

import sqlalchemy as sa


def test_the_cluster_has_postgis(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
        assert str(version).startswith("3.")
        point = conn.execute(sa.text("SELECT ST_AsText(ST_Point(1, 2))")).scalar_one()
        assert point == "POINT(1 2)"
    engine.dispose()


def test_the_case_log_runs_on_postgresql(pg_url: str) -> None:
    from cases.case import Refused
    from storage.case_log import CaseLog
    from tests.cases.make import RULES, dispatched, inspected, opened

    log = CaseLog(pg_url)
    log.record(opened("2026-09-14"), RULES)
    log.record(dispatched("2026-09-14"), RULES)
    try:
        log.record(opened("2026-09-15"), RULES)  # a second opening is refused
    except Refused:
        pass
    else:
        raise AssertionError("a second opening must be refused")
    log.record(inspected("2026-09-15"), RULES)
    assert [r["seq"] for r in log.rows()] == [1, 2, 3] and log.verify() == []
    assert log.case("LC-KFQ-2022-0137").version == 3
    log.close()
