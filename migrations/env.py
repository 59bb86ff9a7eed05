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
    # No prepared statements: through a transaction-mode pooler (PgBouncer) each transaction
    # may run on another server connection, where a statement prepared earlier is unknown.
    engine = create_engine(_database_url(), poolclass=pool.NullPool, connect_args={"prepare_threshold": None})
    with engine.connect() as connection:
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
            # Fail fast instead of queueing behind a long lock on a busy table. SET LOCAL, inside
            # the upgrade's own transaction: a session-level SET would stay on whichever server
            # connection a pooler gave that statement, and not follow the upgrade.
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run against a database")
run_migrations_online()
