"""Four real RQ worker processes and two cron processes (one too many, as on a second host started by
mistake) on one queue: the per-organization advisory locks and the coalesced job ids keep the
rollups exact. Each rq cron enqueues its interval jobs when it starts, so both crons' every-organization
rollups (rollup_pipeline_all, rollup_activity_all) run alongside the per-organization jobs. Real
processes, real commits, real Redis (docs/scaling.md)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import StartedJobRegistry

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _valid_session_mode(committing_app):
    from api.extensions import db

    with committing_app.app_context():
        db.session.remove()
        db.session.configure(join_transaction_mode="conditional_savepoint")


def _start(command: list[str], settings, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               CANVASS_QUEUE=settings.queue_name, LOG_LEVEL="WARNING")
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


@pytest.fixture
def processes(settings, tmp_path, redis_client):
    bin_dir = Path(sys.executable).parent
    started = [
        _start([sys.executable, "-m", "workers.main", "--url", settings.redis_url, settings.queue_name],
               settings, tmp_path / f"worker-{n}.log") for n in range(4)
    ] + [
        _start([str(bin_dir / "rq"), "cron", "--url", settings.redis_url, "workers/cron_schedule.py"],
               settings, tmp_path / f"cron-{n}.log") for n in range(2)
    ]
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    Queue(settings.queue_name, connection=redis_client).empty()


def _wait_until_idle(queue: Queue, *, timeout: float = 120.0) -> None:
    """Nothing queued and nothing running, twice in a row half a second apart."""
    started = StartedJobRegistry(queue=queue)
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if queue.count == 0 and started.count == 0 else 0
        if quiet >= 2:
            return
        time.sleep(0.5)
    raise AssertionError(f"the workers did not finish: {queue.count} queued, {started.count} running")


def test_four_workers_and_two_crons_roll_up_exactly_what_a_rebuild_gives(committing_app, settings, processes,
                                                                         redis_client):
    from api.extensions import db
    from canvass.dashboards.activity import activity_snapshot, rebuild_activity
    from canvass.jobs import request_activity_rollup, request_rebuild, request_rollup
    from canvass.pipeline.rollup import pipeline_snapshot, refresh_pipeline
    from tests.canvass.canvassing.fieldwork import contact, make_canvass, pledge
    from tests.concurrency import run_at_once

    with committing_app.app_context():
        canvasses = [make_canvass(db.session, doors=12) for _ in range(2)]
        db.session.commit()
        for canvass in canvasses:
            for row in (canvass.org, canvass.canvasser, canvass.campaign, canvass.assignment, *canvass.households):
                db.session.refresh(row)
        bodies = [
            {"device_id": f"phone-{n}-{batch}",
             "contacts": [contact(canvass, household=canvass.households[(batch * 3 + i) % 12]) for i in range(6)],
             "pledges": [pledge(canvass, person={"first_name": f"New{batch}{i}", "last_name": "Member"}) for i in range(2)]}
            for n, canvass in enumerate(canvasses) for batch in range(4)
        ]
        headers = [canvass.headers for canvass in canvasses for _ in range(4)]
        org_ids = [canvass.org.id for canvass in canvasses]

    def upload(body, header):
        def send():
            with committing_app.test_client() as client:
                return client.post("/v1/sync", json=body, headers=header).status_code
        return send

    # Eight phones at once: each sync's commit asks for that organization's rollups (coalesced ids).
    assert run_at_once(*(upload(b, h) for b, h in zip(bodies, headers)), timeout=120) == [200] * 8
    # And more requests than the workers could run one by one, rebuilds among them.
    with committing_app.app_context():
        for _ in range(5):
            for org_id in org_ids:
                request_rollup(db.session, organization_id=org_id)
                request_activity_rollup(db.session, organization_id=org_id)
                request_rebuild(db.session, organization_id=org_id)
            db.session.commit()

    queue = Queue(settings.queue_name, connection=redis_client)
    _wait_until_idle(queue)
    assert [process.poll() for process in processes] == [None] * 6, "a worker or cron process died"

    with committing_app.app_context():
        by_workers = {org_id: (pipeline_snapshot(db.session, organization_id=org_id),
                               activity_snapshot(db.session, organization_id=org_id)) for org_id in org_ids}
        db.session.rollback()
        for org_id in org_ids:
            refresh_pipeline(db.session, organization_id=org_id, mode="full")
            rebuild_activity(db.session, organization_id=org_id)
            rebuilt = (pipeline_snapshot(db.session, organization_id=org_id),
                       activity_snapshot(db.session, organization_id=org_id))
            assert by_workers[org_id] == rebuilt
            assert rebuilt[0]["pipeline_people"] and rebuilt[1]["activity_daily"]
        db.session.rollback()
