"""Fixtures: real PostGIS and real Redis, never mocks.

The schema is built once per run from the migrations. Each test runs inside an
outer transaction that is rolled back; the app's commits become savepoint
releases (join_transaction_mode="create_savepoint"). Tests that need real
commits from several connections (races) use `committing_app` instead.

Pure tests (geometry, parsing) use none of these fixtures and need no database.
"""
from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from redis import Redis
from sqlalchemy import create_engine, event, text

from canvass.config import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent


def _required_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the tests with `make test`, which creates a throwaway database")
    return value


@pytest.fixture(scope="session")
def settings() -> Settings:
    run_id = uuid.uuid4().hex[:10]
    return Settings(
        database_url=_required_env("TEST_DATABASE_URL"),
        redis_url=_required_env("TEST_REDIS_URL"),
        secret_key="test-secret",
        testing=True,
        queue_name=f"canvass-test-{run_id}",
        redis_key_prefix=f"canvass-test-{run_id}",
        database_pooler=os.environ.get("TEST_DATABASE_POOLER") or "none",
    ).with_overrides()


# The tests `make test` runs a second time through a real PgBouncer in transaction mode (scripts/test.sh):
# sync, leases and rollups, their races with real commits, and the migrations (the fixtures migrate the
# pass's fresh database through the pooler first).
PGBOUNCER_SUBSET = (
    "tests/api/test_sync.py",
    "tests/api/test_sync_race.py",
    "tests/api/test_door_leases_race.py",
    "tests/api/test_turfs_race.py",
    "tests/canvass/turfs/test_leases.py",
    "tests/canvass/pipeline/test_rollup.py",
    "tests/test_pooler.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(item.fspath).resolve().relative_to(REPO_ROOT).as_posix() in PGBOUNCER_SUBSET:
            item.add_marker(pytest.mark.pgbouncer)


@pytest.fixture(scope="session")
def migrated_database(settings):
    from canvass.migrate import upgrade_database

    upgrade_database(settings.database_url)
    return settings.database_url


@pytest.fixture(scope="session")
def app(settings, migrated_database):
    from api import create_app
    from api.extensions import db

    app = create_app(settings)
    yield app
    with app.app_context():
        db.engine.dispose()
    app.extensions["canvass_redis"].close()


@pytest.fixture
def db_connection(app):
    """One connection with an outer transaction, rolled back after the test."""
    from api.extensions import db

    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    yield connection
    outer.rollback()
    connection.close()


@pytest.fixture
def db_session(app, db_connection):
    """The app's session, on the test's connection: its commits become savepoint releases."""
    from api.extensions import db

    with app.app_context():
        engines = db.engines
        engine = engines[None]
        connection = db_connection
        engines[None] = connection
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session.configure(join_transaction_mode="conditional_savepoint")  # the default
            engines[None] = engine


@pytest.fixture
def client(app, db_session):
    return app.test_client()


@pytest.fixture(scope="session")
def redis_client(settings):
    connection = Redis.from_url(settings.redis_url)
    yield connection
    keys = list(connection.scan_iter(f"{settings.redis_key_prefix}*")) + list(
        connection.scan_iter(f"rq:*{settings.queue_name}*")
    )
    if keys:
        connection.delete(*keys)


def _job_keys_of_queue(redis_client, settings) -> list:
    """Our queue's keys and the hashes of jobs that came from it (job ids are deterministic,
    so a leftover failed job would coalesce a later test's enqueue away)."""
    keys = list(redis_client.scan_iter(f"rq:*{settings.queue_name}*"))
    for key in redis_client.scan_iter("rq:job:*"):
        if redis_client.type(key) == b"hash" and redis_client.hget(key, "origin") == settings.queue_name.encode():
            keys.append(key)
    return keys


@pytest.fixture(autouse=False)
def clean_redis(redis_client, settings):
    """Forget throttle counters and queued jobs of this run between tests."""
    yield redis_client
    keys = list(redis_client.scan_iter(f"{settings.redis_key_prefix}*")) + _job_keys_of_queue(redis_client, settings)
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def committing_app(settings, migrated_database):
    """An app whose transactions really commit (for races between connections).

    Tables are emptied afterwards, so use it only where a rollback can't serve.
    """
    from api import create_app
    from api.extensions import db

    app = create_app(settings)
    yield app
    with app.app_context():
        db.engine.dispose()
    app.extensions["canvass_redis"].close()
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        tables = connection.execute(
            text(
                "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
                "WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
            )
        ).scalar_one()
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        # Organizations' own partitions (a first big household import) go too: ids start again at 1.
        for (partition,) in connection.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE '%\\_\\_org\\_%'")):
            connection.execute(text(f'DROP TABLE "{partition}"'))
    engine.dispose()


@pytest.fixture
def worker_runtime(settings, db_connection, redis_client):
    """Jobs run in-process on the test's connection (so they see the test's data)."""
    from sqlalchemy.orm import sessionmaker

    from workers import runtime

    runtime.configure(
        settings,
        session_factory=sessionmaker(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        redis=redis_client,
    )
    runtime.get_queue().empty()  # jobs earlier tests requested (a sync asks for rollups) are not this test's
    yield runtime
    runtime.get_queue().empty()
    keys = _job_keys_of_queue(redis_client, settings)
    if keys:
        redis_client.delete(*keys)


def run_jobs(runtime) -> None:
    """Run every queued job now, in this process (SimpleWorker, burst mode)."""
    from rq import SimpleWorker

    SimpleWorker([runtime.get_queue()], connection=runtime.redis_connection()).work(burst=True)


@pytest.fixture
def statements(db_connection):
    """The SQL statements the test's connection runs, in order (to count queries)."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db_connection, "before_cursor_execute", record)
    yield seen
    event.remove(db_connection, "before_cursor_execute", record)


# Hours at which the UTC date and the organization's date (America/Chicago) differ: a test
# that builds "today" in UTC where the code uses the organization's day fails only then.
AWKWARD_HOURS = {
    "0200_utc": (time(2, 0), UTC),
    "2330_chicago": (time(23, 30), ZoneInfo("America/Chicago")),
}


@pytest.fixture(params=sorted(AWKWARD_HOURS))
def awkward_clock(request):
    """Runs the test with the clock at 02:00 UTC and again at 23:30 America/Chicago of the
    current day (the date follows the run, so month ends are met too; the hour is fixed).
    The clock ticks on from there; PostgreSQL's now() is not moved, so the date-sensitive
    code under test must take its time from Python (canvass.db.utcnow), as the services do.
    Name it first among a test's fixtures, so that tokens and rows are made on the moved clock."""
    hour, zone = AWKWARD_HOURS[request.param]
    moment = datetime.combine(datetime.now(zone).date(), hour, tzinfo=zone)
    with time_machine.travel(moment, tick=True):
        yield moment
