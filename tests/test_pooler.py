"""Correct behind PgBouncer in transaction mode (docs/scaling.md): each transaction may run on another
server connection, so nothing may rely on session state. `make test` runs this file, and the sync,
lease and rollup tests (tests/conftest.py PGBOUNCER_SUBSET), a second time through a real PgBouncer
with DATABASE_POOLER=transaction."""
from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import REPO_ROOT

# Session state that would stay behind on a pooled server connection (or be missing on the next one).
SESSION_STATE = re.compile(
    r"pg_advisory_lock|pg_try_advisory_lock\(|pg_advisory_unlock|\bLISTEN\b|\bPREPARE\s+\w+\s+AS"
    r"|[\"']\s*SET\s+(?!LOCAL\b|NULL\b|TRANSACTION\b)[a-z_]+\s*(=|TO\b)",
    re.IGNORECASE,
)


def test_no_code_keeps_session_state_on_a_connection():
    offenders = []
    for area in ("canvass", "api", "workers", "migrations"):
        for path in (REPO_ROOT / area).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if SESSION_STATE.search(line):
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "use SET LOCAL and pg_advisory_xact_lock (transaction-scoped):\n" + "\n".join(offenders)


def test_the_check_finds_session_level_set_and_locks():
    assert SESSION_STATE.search('session.execute(text("SET lock_timeout = \'10s\'"))')
    assert SESSION_STATE.search("SELECT pg_advisory_lock(1)")
    assert not SESSION_STATE.search('text("SET LOCAL lock_timeout = \'10s\'")')
    assert not SESSION_STATE.search("SELECT pg_advisory_xact_lock(1)")
    assert not SESSION_STATE.search("UPDATE turfs SET status = 'ready'")


def test_a_statement_repeated_across_transactions_runs_through_the_pooler(settings, migrated_database):
    # psycopg prepares a statement on the server after 5 runs, named per client connection (_pg3_0 ...).
    # Through PgBouncer 1.18 (no max_prepared_statements) two clients taking turns share a server
    # connection, so the second's prepare collides with the first's ("_pg3_0 already exists") unless
    # DATABASE_POOLER=transaction turns preparing off (measured: it fails without it).
    engine = create_engine(settings.database_url, connect_args=settings.engine_connect_args())
    try:
        with engine.connect() as first, engine.connect() as second:
            for n in range(8):
                for connection in (first, second):
                    query = text("SELECT count(*) + :n FROM organizations WHERE id < 0")
                    assert connection.execute(query, {"n": n}).scalar_one() == n
                    connection.commit()
    finally:
        engine.dispose()


def test_a_setting_made_in_a_transaction_ends_with_it(settings, migrated_database):
    engine = create_engine(settings.database_url, connect_args=settings.engine_connect_args())
    try:
        with engine.connect() as connection:
            default = connection.execute(text("SHOW lock_timeout")).scalar_one()
            connection.commit()
            connection.execute(text("SET LOCAL lock_timeout = '3s'"))
            assert connection.execute(text("SHOW lock_timeout")).scalar_one() == "3s"
            connection.commit()
            assert connection.execute(text("SHOW lock_timeout")).scalar_one() == default
    finally:
        engine.dispose()


def test_the_pooler_pass_really_goes_through_pgbouncer(settings):
    if os.environ.get("TEST_DATABASE_POOLER") != "transaction":
        return  # the first pass talks to PostgreSQL directly; the check below is the second pass's
    port = os.environ["TEST_PGBOUNCER_PORT"]
    assert f"127.0.0.1:{port}/" in settings.database_url
    assert settings.engine_connect_args()["prepare_threshold"] is None


def test_settings_read_the_pooler_and_replica_from_the_environment():
    from canvass.config import ConfigError, Settings

    env = {"DATABASE_URL": "postgres://app@primary/canvass"}
    plain = Settings.from_env(env)
    assert (plain.database_pooler, plain.read_database_url, plain.read_max_lag_seconds) == ("none", None, 30)
    assert "prepare_threshold" not in plain.engine_connect_args()

    scaled = Settings.from_env({**env, "DATABASE_POOLER": "transaction", "READ_DATABASE_URL": "postgres://app@replica/canvass",
                                "READ_MAX_LAG_SECONDS": "5"})
    assert scaled.engine_connect_args()["prepare_threshold"] is None
    assert scaled.read_database_url == "postgresql+psycopg://app@replica/canvass"
    assert scaled.read_max_lag_seconds == 5
    with pytest.raises(ConfigError, match="DATABASE_POOLER"):
        Settings.from_env({**env, "DATABASE_POOLER": "session"})
    with pytest.raises(ConfigError, match="READ_MAX_LAG_SECONDS"):
        Settings.from_env({**env, "READ_MAX_LAG_SECONDS": "-1"})
