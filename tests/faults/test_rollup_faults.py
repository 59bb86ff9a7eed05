"""Rollups under faults, with the Procfile's worker process (`python -m workers.main`): the worker
SIGKILLed in the middle of a rollup, and Redis stopped while one runs. The rollup is held at its
write to `activity_daily` by a lock the test takes, so the fault lands inside the job's
transaction. Afterwards the work is rerun (the cron's safety-net passes, which do not go through
the per-organization job ids a dead job may still hold) and the rollups equal a full rebuild."""
from __future__ import annotations

import psycopg
from redis import Redis
from rq import Queue

from bench.loadtest import verify
from tests.canvass.canvassing.fieldwork import contact
from tests.faults.phones import assert_rollups_equal_rebuild, kill_worker, rq_worker
from tests.faults.services import wait_until
from tests.faults.test_database_faults import seed
from tests.faults.test_web_faults import waiting_on_a_lock
from workers.jobs import JOB_PATHS


def sync(app, canvass, count: int) -> None:
    with app.test_client() as client:
        body = {"device_id": "p", "contacts": [contact(canvass, household=canvass.households[n % 5])
                                               for n in range(count)]}
        response = client.post("/v1/sync", json=body, headers=canvass.headers)
    assert response.status_code == 200
    assert {r["status"] for r in response.get_json()["results"]} == {"created"}


def hold_activity_writes(pg_cluster):
    blocker = psycopg.connect(pg_cluster.url("canvass_faults"))
    blocker.execute("LOCK TABLE activity_daily IN EXCLUSIVE MODE")  # reads go on, writes wait
    return blocker


def run_the_cron_passes(redis_url: str, queue_name: str, database_url: str, organization_id: int) -> None:
    queue = Queue(queue_name, connection=Redis.from_url(redis_url))
    for name in ("rollup_activity_all", "rollup_pipeline_all"):
        queue.enqueue(JOB_PATHS[name])
    wait_until(lambda: verify.check_rollups(database_url, organization_id)["watermark_covers_every_contact"]
               and queue.count == 0, 90, interval=0.5, what="the safety-net rollups")


def test_a_worker_killed_mid_rollup_leaves_nothing_half_done_and_the_rerun_equals_a_rebuild(
        fault_app, fault_database_url, redis_server, pg_cluster, tmp_path):
    canvass = seed(fault_app, doors=5)
    queue_name = fault_app.config["CANVASS_SETTINGS"].queue_name
    sync(fault_app, canvass, 30)  # queues the organization's rollups (no worker yet)
    before = verify.check_rollups(fault_database_url, canvass.org.id)
    blocker = hold_activity_writes(pg_cluster)
    try:
        with rq_worker(fault_database_url, redis_server.url, queue_name, tmp_path / "first.log") as worker:
            wait_until(lambda: waiting_on_a_lock(pg_cluster), 60, what="the rollup to reach its write")
            assert len(kill_worker(worker)) == 2  # the worker and its work horse, mid-transaction
    finally:
        blocker.rollback()
        blocker.close()
    # The killed run committed nothing: the watermark has not moved past the contacts.
    wait_until(lambda: not waiting_on_a_lock(pg_cluster), 30, what="the killed job's backend to go")
    after_kill = verify.check_rollups(fault_database_url, canvass.org.id)
    assert after_kill["activity_rows"] == before["activity_rows"] == 0
    assert not after_kill["watermark_covers_every_contact"]

    sync(fault_app, canvass, 20)  # more field work while the dead job's id still looks started
    with rq_worker(fault_database_url, redis_server.url, queue_name, tmp_path / "second.log") as worker:
        run_the_cron_passes(redis_server.url, queue_name, fault_database_url, canvass.org.id)
        assert worker.poll() is None
    found = assert_rollups_equal_rebuild(fault_database_url, canvass.org.id)
    assert found["activity_rows"] > 0


def test_redis_stopped_during_a_rollup_the_worker_carries_on_and_the_rollups_equal_a_rebuild(
        fault_app, fault_database_url, redis_server, pg_cluster, tmp_path):
    canvass = seed(fault_app, doors=5)
    queue_name = fault_app.config["CANVASS_SETTINGS"].queue_name
    sync(fault_app, canvass, 30)
    blocker = hold_activity_writes(pg_cluster)
    with rq_worker(fault_database_url, redis_server.url, queue_name, tmp_path / "worker.log") as worker:
        try:
            wait_until(lambda: waiting_on_a_lock(pg_cluster), 60, what="the rollup to reach its write")
            redis_server.kill()  # mid-rollup: the job's bookkeeping in Redis fails from here on
        finally:
            blocker.rollback()
            blocker.close()
        sync(fault_app, canvass, 20)  # acknowledged with Redis down; its rollup request is lost
        assert worker.poll() is None
        redis_server.start()  # empty: every queued job and job record is gone
        run_the_cron_passes(redis_server.url, queue_name, fault_database_url, canvass.org.id)
        assert worker.poll() is None
    found = assert_rollups_equal_rebuild(fault_database_url, canvass.org.id)
    assert found["activity_rows"] > 0
