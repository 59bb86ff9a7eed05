"""Jobs requested by services are enqueued only after commit, coalesced, and never fail the commit."""
import pytest
from redis import Redis

from canvass.db import transaction
from canvass.jobs import request_job
from tests.conftest import run_jobs
from workers import jobs, runtime

CALLS = []


@jobs.job
def record_call_for_test(value):
    CALLS.append(value)


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


def test_requested_job_is_enqueued_after_commit_and_runs(worker_runtime, db_session):
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-1", value=42)
        assert worker_runtime.get_queue().count == 0  # not before the commit
    assert worker_runtime.get_queue().count == 1
    run_jobs(worker_runtime)
    assert CALLS == [42]


def test_same_job_id_coalesces_into_one_job(worker_runtime, db_session):
    for value in range(3):
        with transaction(db_session) as session:
            request_job(session, name="record_call_for_test", job_id="record-same", value=value)
    assert worker_runtime.get_queue().count == 1
    run_jobs(worker_runtime)
    assert CALLS == [0]
    # Once it has run, the id is free again: new work gets a new job.
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-same", value=9)
    assert worker_runtime.get_queue().count == 1


def test_rollback_drops_the_request(worker_runtime, db_session):
    with pytest.raises(RuntimeError):
        with transaction(db_session) as session:
            request_job(session, name="record_call_for_test", job_id="record-rolled-back", value=1)
            raise RuntimeError("boom")
    assert worker_runtime.get_queue().count == 0


def test_redis_down_does_not_fail_the_commit(worker_runtime, client, db_session, settings, caplog):
    """A sync while Redis is unreachable: the items are stored and acknowledged, the rollup it
    asked for is lost with Redis, and the cron's safety net catches it up from the watermark."""
    from sqlalchemy import func, select

    from canvass.canvassing.records import Contact
    from canvass.dashboards.models import ActivityWatermark
    from tests.canvass.canvassing.fieldwork import contact, make_canvass
    from tests.faults.services import free_port
    from workers.dashboard_jobs import rollup_activity_all

    canvass = make_canvass(db_session)
    live = worker_runtime.redis_connection()
    dead = Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.2)  # nothing listens there
    runtime.configure(settings, session_factory=runtime._runtime.session_factory, redis=dead)
    try:
        response = client.post("/v1/sync", json={"device_id": "p", "contacts": [contact(canvass)]},
                               headers=canvass.headers)
    finally:
        runtime.configure(settings, session_factory=runtime._runtime.session_factory, redis=live)
        dead.close()
    assert response.status_code == 200
    assert [r["status"] for r in response.get_json()["results"]] == ["created"]
    stored = db_session.execute(select(func.max(Contact.id)).where(
        Contact.organization_id == canvass.org.id)).scalar_one()
    assert stored == response.get_json()["results"][0]["id"]
    assert "could not enqueue" in caplog.text
    assert worker_runtime.get_queue().count == 0  # the request went nowhere
    # Redis is back: the cron's periodic rollup (not the lost job) counts the contact.
    worker_runtime.get_queue().enqueue(rollup_activity_all)
    run_jobs(worker_runtime)
    seen = db_session.execute(select(ActivityWatermark.contacts_seen).where(
        ActivityWatermark.organization_id == canvass.org.id)).scalar_one()
    assert seen >= stored


def test_job_ids_with_colons_are_refused(db_session):
    with pytest.raises(ValueError):
        request_job(db_session, name="record_call_for_test", job_id="org:1")


@jobs.job
def fail_for_test():
    raise RuntimeError("this job fails on purpose")


def test_a_failed_job_does_not_swallow_later_requests(worker_runtime, db_session):
    queue = worker_runtime.get_queue()
    queue.enqueue(fail_for_test, job_id="record-after-failure", retry=None)
    run_jobs(worker_runtime)
    assert queue.failed_job_registry.count == 1
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-after-failure", value=7)
    run_jobs(worker_runtime)
    assert CALLS == [7]


def test_a_job_finishing_while_its_id_is_checked_does_not_swallow_the_request(worker_runtime, db_session,
                                                                            monkeypatch):
    # Seen in the canvass-day load test: the coalescing check fetched the waiting job, the worker
    # finished it (its record deleted at once, result_ttl=0), and reading its status then raised.
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-vanishing", value=1)
    queue = worker_runtime.get_queue()
    real_fetch = runtime.Job.fetch

    def fetch_then_the_worker_finishes_it(job_id, connection):
        job = real_fetch(job_id, connection=connection)
        queue.remove(job_id)  # taken by the worker...
        connection.delete(job.key)  # ...run, and its record dropped
        return job

    monkeypatch.setattr(runtime.Job, "fetch", fetch_then_the_worker_finishes_it)
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-vanishing", value=2)
    monkeypatch.undo()
    run_jobs(worker_runtime)
    assert CALLS == [2]


def test_every_registered_job_is_enqueued_by_its_own_path_and_every_path_is_a_job():
    assert {name: f"{fn.__module__}.{fn.__name__}" for name, fn in jobs.JOBS.items()} == jobs.JOB_PATHS
    assert jobs.JOB_PATHS["rollup_pipeline"] == "workers.pipeline_jobs.rollup_pipeline"
