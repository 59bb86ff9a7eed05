"""Fixtures for the fault tests: PostgreSQL and Redis servers of their own, which they kill."""
from __future__ import annotations

import pytest

from tests.faults.services import PgCluster, RedisServer


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def fault_database_url(pg_cluster):
    from canvass.migrate import upgrade_database

    url = pg_cluster.create_database("canvass_faults")
    upgrade_database(url)
    return url


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def fault_app(settings, fault_database_url, redis_server):
    """The app on the throwaway cluster and Redis. create_app installs the process-wide job
    dispatcher; the suite's is put back afterwards."""
    from api import create_app
    from api.extensions import db
    from canvass import jobs

    saved = jobs._dispatcher
    app = create_app(settings.with_overrides(database_url=fault_database_url, redis_url=redis_server.url))
    with app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        app.extensions["canvass_redis"].close()
        jobs.set_job_dispatcher(saved)
