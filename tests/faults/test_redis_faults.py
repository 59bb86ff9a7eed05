"""Redis down under the API: what only optionally uses Redis still works (sync, the walk-list
cache, the rollup enqueued after commit), /healthz names Redis, and the cron's safety-net rollup
catches up from its watermark once Redis is back. Against a Redis of the test's own."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import func, select

from canvass.canvassing.records import Contact
from canvass.dashboards.models import ActivityWatermark
from tests.canvass.canvassing.fieldwork import contact
from tests.faults.test_database_faults import seed


@contextmanager
def worker_runtime_on(settings):
    """workers.runtime configured for these servers, and put back as it was afterwards."""
    from canvass import jobs
    from workers import runtime

    saved = (runtime._runtime.settings, runtime._runtime.session_factory, runtime._runtime.redis, jobs._dispatcher)
    runtime.configure(settings)
    try:
        yield runtime
    finally:
        runtime._runtime.session_factory.kw["bind"].dispose()
        runtime._runtime.redis.close()
        (runtime._runtime.settings, runtime._runtime.session_factory, runtime._runtime.redis) = saved[:3]
        jobs.set_job_dispatcher(saved[3])


def test_sync_is_acknowledged_with_redis_down_and_the_rollup_catches_up_later(fault_app, redis_server):
    from rq import SimpleWorker

    from api.extensions import db

    canvass = seed(fault_app)
    redis_server.kill()
    with fault_app.test_client() as client:
        response = client.post("/v1/sync", json={"device_id": "p", "contacts": [contact(canvass) for _ in range(3)]},
                               headers=canvass.headers)
        assert response.status_code == 200
        assert [r["status"] for r in response.get_json()["results"]] == ["created"] * 3
        # The walk list's document cache is in Redis: a miss, built from the database.
        assert client.get(f"/v1/assignments/{canvass.assignment.id}/walklist",
                          headers=canvass.headers).status_code == 200
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"status": "degraded", "checks": {"database": "ok", "redis": "down"}}

    redis_server.start()  # empty: the rollup the sync requested after its commit was never queued
    settings = fault_app.config["CANVASS_SETTINGS"]
    with worker_runtime_on(settings) as runtime:
        queue = runtime.get_queue()
        assert queue.count == 0
        from workers.dashboard_jobs import rollup_activity_all

        queue.enqueue(rollup_activity_all)  # what the cron enqueues every 5 minutes
        SimpleWorker([queue], connection=runtime.redis_connection()).work(burst=True)
    with fault_app.app_context():
        newest = db.session.execute(select(func.max(Contact.id)).where(
            Contact.organization_id == canvass.org.id)).scalar_one()
        seen = db.session.execute(select(ActivityWatermark.contacts_seen).where(
            ActivityWatermark.organization_id == canvass.org.id)).scalar_one()
        db.session.remove()
    assert seen >= newest
