from tests.pg.cluster import pg_server, pg_url  # noqa: F401 - fixtures for tests/pg
