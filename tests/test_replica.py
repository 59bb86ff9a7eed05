"""Reads from a real streaming replica (READ_DATABASE_URL): `make test` starts one next to the embedded
cluster (scripts/bootstrap.sh, pg_basebackup -R) and passes the test database's address on it as
TEST_READ_DATABASE_URL. Replay is paused on the replica to make it lag on purpose."""
from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from canvass.exports.plans import SYNC_OVERLAP
from canvass.replica import measure_replica

REPLICA_URL = os.environ.get("TEST_READ_DATABASE_URL")
needs_replica = pytest.mark.skipif(not REPLICA_URL, reason="no streaming replica (make test starts one with the embedded cluster)")


def _empty_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT string_agg(format('%I', tablename), ', ') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
        )).scalar_one()
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def replica_engine():
    engine = create_engine(REPLICA_URL, isolation_level="AUTOCOMMIT")
    yield engine
    with engine.connect() as connection:  # never leave the shared replica paused
        connection.execute(text("SELECT pg_wal_replay_resume()"))
    engine.dispose()


@pytest.fixture
def make_app(settings):
    """create_app with setting overrides; its engines (the replica's too) closed afterwards."""
    from api import create_app
    from api.extensions import db

    made = []

    def make(**overrides):
        app = create_app(settings.with_overrides(**overrides))
        with app.app_context():
            db.session.remove()
            db.session.configure(join_transaction_mode="conditional_savepoint")
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        app.extensions["canvass_redis"].close()


@pytest.fixture
def world(settings, migrated_database):
    """An organizer with one committed turf (these tests need real commits: a replica sees no savepoint)."""
    from api import create_app
    from api.extensions import db
    from tests.factories import auth_header, make_org, make_turf, make_user

    app = create_app(settings)
    with app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")
        org = make_org(db.session)
        organizer = make_user(db.session, org=org, roles=("organizer",))
        make_turf(db.session, org=org, name="Replayed turf")
        headers = auth_header(db.session, organizer)
        org_id, email = org.id, organizer.email
        db.session.commit()
    yield {"app": app, "headers": headers, "org_id": org_id, "email": email}
    with app.app_context():
        db.engine.dispose()
    app.extensions["canvass_redis"].close()
    _empty_tables(settings.database_url)


def _wait_until_replayed(primary_url: str, replica_engine) -> None:
    primary = create_engine(primary_url)
    with primary.connect() as connection:
        lsn = connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
    primary.dispose()
    deadline = time.monotonic() + 20
    with replica_engine.connect() as connection:
        while time.monotonic() < deadline:
            if connection.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}).scalar_one():
                return
            time.sleep(0.05)
    raise AssertionError("the replica did not replay the primary's commits within 20 s")


def _add_turf_on_primary(app, org_id: int, name: str) -> None:
    from api.extensions import db
    from canvass.orgs.models import Organization
    from tests.factories import make_turf

    with app.app_context():
        make_turf(db.session, org=db.session.get(Organization, org_id), name=name)
        db.session.commit()


def _turf_names(response) -> list[str]:
    return [feature["properties"]["name"] for feature in response.get_json()["features"]]


@needs_replica
def test_dashboard_is_read_from_the_replica_and_says_how_stale(settings, world, replica_engine, make_app):
    app = make_app(read_database_url=REPLICA_URL, read_max_lag_seconds=3600)
    _wait_until_replayed(settings.database_url, replica_engine)
    with replica_engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    _add_turf_on_primary(world["app"], world["org_id"], "Only on the primary")

    response = app.test_client().get("/v1/dashboards/turfs", headers=world["headers"])

    assert response.status_code == 200, response.get_json()
    # Served from the replica: the turf committed after replay was paused is not there yet ...
    assert _turf_names(response) == ["Replayed turf"]
    assert response.headers["X-Read-Source"] == "replica"
    # ... and the response says so: the replica is behind by a measured lag, not presented as current.
    assert float(response.headers["X-Replica-Lag"]) > 0


@needs_replica
def test_a_replica_caught_up_reports_no_lag(settings, world, replica_engine, make_app):
    app = make_app(read_database_url=REPLICA_URL)
    _wait_until_replayed(settings.database_url, replica_engine)

    response = app.test_client().get("/v1/dashboards/turfs", headers=world["headers"])

    assert response.headers["X-Read-Source"] == "replica"
    assert float(response.headers["X-Replica-Lag"]) == 0
    assert _turf_names(response) == ["Replayed turf"]
    with replica_engine.connect() as connection:  # what the app read from really is a replica
        assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True


@needs_replica
def test_a_replica_lagging_past_the_limit_is_passed_over_for_the_primary(settings, world, replica_engine, make_app):
    app = make_app(read_database_url=REPLICA_URL, read_max_lag_seconds=0)
    _wait_until_replayed(settings.database_url, replica_engine)
    with replica_engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    _add_turf_on_primary(world["app"], world["org_id"], "Only on the primary")

    response = app.test_client().get("/v1/dashboards/turfs", headers=world["headers"])

    assert response.status_code == 200
    assert sorted(_turf_names(response)) == ["Only on the primary", "Replayed turf"]
    assert response.headers["X-Read-Source"] == "primary"
    assert response.headers["X-Replica-Skipped"] == "replay_lag"
    assert "X-Replica-Lag" not in response.headers


@needs_replica
def test_an_export_from_a_lagging_replica_moves_the_next_watermark_back_by_the_lag(settings, world, replica_engine, make_app):
    app = make_app(read_database_url=REPLICA_URL, read_max_lag_seconds=3600)
    _wait_until_replayed(settings.database_url, replica_engine)
    with replica_engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    _add_turf_on_primary(world["app"], world["org_id"], "Only on the primary")
    time.sleep(1.1)  # a lag of over a second, so the watermark must move back at least 2 s

    from api.extensions import db

    with world["app"].app_context():
        primary_now = db.session.execute(text("SELECT now()")).scalar_one()
        db.session.rollback()
    response = app.test_client().get("/v1/exports/people", headers=world["headers"])

    assert response.status_code == 200
    assert response.headers["X-Read-Source"] == "replica"
    lag = float(response.headers["X-Replica-Lag"])
    assert lag > 1
    # Without the replica the watermark is the export's start minus SYNC_OVERLAP; the replica's rows are
    # over a second older, so it moves back a further whole number of seconds (at least 2).
    next_since = datetime.fromisoformat(response.headers["X-Next-Changed-Since"])
    assert next_since <= primary_now - SYNC_OVERLAP - timedelta(seconds=1)


@needs_replica
def test_the_console_reads_its_own_writes_from_the_primary_until_the_replica_has_them(
        settings, world, replica_engine, make_app):
    from types import SimpleNamespace

    from tests.api.test_web_console import sign_in

    app = make_app(read_database_url=REPLICA_URL, read_max_lag_seconds=3600)
    _wait_until_replayed(settings.database_url, replica_engine)
    with replica_engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_pause()"))
    client = app.test_client()
    sign_in(client, SimpleNamespace(email=world["email"]))  # a write (the session's token), then its position

    behind = client.get("/console/turfs")

    assert behind.status_code == 200
    assert behind.headers["X-Read-Source"] == "primary"
    assert behind.headers["X-Replica-Skipped"] == "own_writes"

    with replica_engine.connect() as connection:
        connection.execute(text("SELECT pg_wal_replay_resume()"))
    _wait_until_replayed(settings.database_url, replica_engine)
    caught_up = client.get("/console/turfs")

    assert caught_up.headers["X-Read-Source"] == "replica"
    assert "Replayed turf" in caught_up.get_data(as_text=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_replica_that_is_down_leaves_reads_on_the_primary(settings, world, make_app):
    down = settings.database_url.rsplit("@", 1)[0] + f"@127.0.0.1:{_closed_port()}/nowhere"
    app = make_app(read_database_url=down)

    first = app.test_client().get("/v1/dashboards/turfs", headers=world["headers"])
    second = app.test_client().get("/v1/dashboards/turfs", headers=world["headers"])

    for response in (first, second):
        assert response.status_code == 200
        assert _turf_names(response) == ["Replayed turf"]
        assert response.headers["X-Read-Source"] == "primary"
        assert response.headers["X-Replica-Skipped"] == "unreachable"


def test_without_a_replica_reads_say_they_came_from_the_primary(settings, world):
    response = world["app"].test_client().get("/v1/dashboards/turfs", headers=world["headers"])

    assert response.headers["X-Read-Source"] == "primary"
    assert "X-Replica-Skipped" not in response.headers


def test_the_primary_measured_as_a_replica_is_current(settings, migrated_database):
    from sqlalchemy.orm import Session

    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        state = measure_replica(session, max_lag_seconds=0)
    engine.dispose()
    assert (state.usable, state.in_recovery, state.lag_seconds) == (True, False, 0.0)
