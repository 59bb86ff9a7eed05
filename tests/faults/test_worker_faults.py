"""The worker process (`python -m workers.main`, what the Procfile and `make run` start) outlives
Redis going away in the middle of a job, and works again once Redis is back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from redis import Redis
from rq import Queue

from tests.faults.jobs_for_tests import write_marker
from tests.faults.services import REPO_ROOT, wait_until


def test_worker_survives_redis_going_away_mid_job_and_runs_jobs_enqueued_after(redis_server, tmp_path):
    log = open(tmp_path / "worker.log", "w+")
    worker = subprocess.Popen(
        [sys.executable, "-m", "workers.main", "--url", redis_server.url, "--max-delay", "2", "faults"],
        cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        redis = Redis.from_url(redis_server.url)
        wait_until(lambda: redis.scard("rq:workers"), 20, what="the worker to register")
        first, started = tmp_path / "first", tmp_path / "first-started"
        Queue("faults", connection=redis).enqueue(write_marker, str(first), started=str(started), seconds=1.5)
        wait_until(started.exists, 20, what="the first job to start")
        redis_server.kill()  # mid-job: the job's own work goes on, its bookkeeping in Redis fails
        wait_until(first.exists, 10, what="the first job to finish its work")
        for _ in range(30):  # Redis stays away for ~3 s; the worker must not give up meanwhile
            assert worker.poll() is None, log_text(log)
            time.sleep(0.1)
        redis_server.start()
        redis = Redis.from_url(redis_server.url)  # the restarted server has none of the old keys
        second = tmp_path / "second"
        Queue("faults", connection=redis).enqueue(write_marker, str(second), "after")
        wait_until(second.exists, 30, interval=0.2, what="the job enqueued after Redis came back")
        assert second.read_text() == "after"
        assert worker.poll() is None
        worker.send_signal(signal.SIGTERM)
        try:
            assert worker.wait(20) == 0, log_text(log)
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGUSR1)  # faulthandler: the stacks of a hung worker
            time.sleep(1)
            raise AssertionError(log_text(log))
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        log.close()


def log_text(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()
