"""alembic's environment for the catalogue's PostgreSQL schema (issue 13).

:func:`storage.catalogue.migrate` runs the migrations on first use of a database, on its
own connection under an advisory lock (``config.attributes["connection"]``). By hand, with
alembic's command line, the database is ``DUOCE_DATABASE_URL``::

    DUOCE_DATABASE_URL=postgresql+psycopg://… alembic -c storage/migrations/alembic.ini upgrade head

SQLite stores do not use this: their schema is created and upgraded in code
(storage/catalogue.py), so a store made by earlier code opens unchanged.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    url = os.environ.get("DUOCE_DATABASE_URL")
    if not url:
        raise SystemExit("DUOCE_DATABASE_URL is not set: which database to migrate?")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
else:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
