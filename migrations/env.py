"""Alembic environment: online migrations against DATABASE_URL (or the URL the caller configured)."""
from __future__ import annotations

import os

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, pool, text

import canvass.models  # noqa: F401  (registers every table on the metadata)
from canvass.config import Settings
from canvass.db import Base
from canvass.migrate import include_object

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    return Settings.from_env(os.environ).database_url


def run_migrations_online() -> None:
    engine = create_engine(_database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        # Fail fast instead of queueing behind a long lock on a busy table. The SET runs
        # in its own, committed transaction: otherwise the upgrade's transaction would
        # start inside it and be rolled back silently at the end.
        connection.execute(text("SET lock_timeout = '10s'"))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            compare_type=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
