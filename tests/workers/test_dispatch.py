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


def test_redis_down_does_not_fail_the_commit(worker_runtime, db_session, settings):
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    runtime.configure(settings, session_factory=runtime._runtime.session_factory, redis=dead)
    with transaction(db_session) as session:
        request_job(session, name="record_call_for_test", job_id="record-no-redis", value=1)
    # committed without error; nothing queued anywhere
    runtime.configure(settings, session_factory=runtime._runtime.session_factory, redis=Redis.from_url(settings.redis_url))


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
