"""The `worker` process: `python -m workers.main [--url REDIS_URL] [--with-scheduler] [QUEUE...]`.

An RQ worker that outlives Redis. rq's own `work()` loop waits out a lost connection only while
it is blocked waiting for a job; Redis going away anywhere else (the heartbeat, maintenance, the
bookkeeping around a job) ends `work()` ("found an unhandled exception, quitting") and with it
`rq worker`. Here that is caught, and a fresh rq Worker is started once Redis answers again,
waiting 1 s, then 2, 4, ... up to 30 s between attempts (reset once a worker has run a minute).
SIGTERM / SIGINT still stop it: rq's warm shutdown while a worker runs, at once while waiting.

A job cut off by the outage is not lost work. Its database work either committed or rolled
back (one unit of work); if Redis lost the job's bookkeeping after the commit, the job may be
counted failed or retried, which is harmless: every job is safe to run twice, and the rollups
are watermark-driven, so the next run (the cron safety nets `rollup_pipeline_all` and
`rollup_activity_all` every 5 minutes at the latest) processes everything past the watermark,
including what an interrupted or never-enqueued job would have.
"""
from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import time

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker

from canvass.config import Settings
from workers import runtime

log = logging.getLogger("workers.main")

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0
STABLE_AFTER_SECONDS = 60.0  # a worker that ran this long starts the backoff over


class _Stop(Exception):
    pass


class CanvassWorker(Worker):
    """rq's forking Worker that remembers whether it was asked to stop (rather than gave up)."""

    stop_requested = False

    def handle_warm_shutdown_request(self):
        self.stop_requested = True
        super().handle_warm_shutdown_request()

    def unsubscribe(self):
        """rq 3.0's unsubscribes first and then stops the listening thread, which redis-py 8's
        stop() joins without a timeout; a thread that is back in get_message by then waits for a
        subscription for up to `sleep_time` (60 s), so a warm shutdown sometimes took a minute
        (seen here: half the runs). Ask the thread to end first, then unsubscribe (which wakes
        it), and wait a bounded time."""
        thread = self.pubsub_thread
        if not thread:
            return
        self.log.info("Worker %s: unsubscribing from channel %s", self.name, self.pubsub_channel_name)
        thread.stop(timeout=0)  # clears its running flag; the loop ends at its next turn
        try:
            self.pubsub.unsubscribe()
        finally:
            thread.join(2)


def _raise_stop(signum, frame):
    raise _Stop()


def run_worker(redis_url: str, queue_names: list[str], *, with_scheduler: bool = False,
               first_delay: float = FIRST_DELAY_SECONDS, max_delay: float = MAX_DELAY_SECONDS,
               stable_after: float = STABLE_AFTER_SECONDS) -> int:
    """Run rq workers on the queues until asked to stop, restarting them after Redis trouble."""
    delay = first_delay
    while True:
        # Between workers (and while waiting for Redis) a signal stops us at once.
        signal.signal(signal.SIGTERM, _raise_stop)
        signal.signal(signal.SIGINT, _raise_stop)
        started = time.monotonic()
        worker = None
        try:
            connection = Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=None,
                                        health_check_interval=30)
            connection.ping()
            worker = CanvassWorker([Queue(name, connection=connection) for name in queue_names],
                                   connection=connection)
            worker.max_connection_wait_time = max_delay  # rq's own wait while it blocks on a job
            worker.work(with_scheduler=with_scheduler)  # installs rq's own signal handlers
            if worker.stop_requested:
                log.info("worker stopped on request")
                return 0
            log.error("the rq worker ended without being asked to (Redis lost?); starting another")
        except _Stop:
            log.info("stopped while waiting for Redis")
            return 0
        except (RedisConnectionError, RedisTimeoutError, OSError) as error:
            if worker is not None and worker.stop_requested:
                return 0
            log.error("Redis unavailable (%s: %s)", type(error).__name__, error)
        finally:
            if worker is not None:
                _release(worker)
        if time.monotonic() - started >= stable_after:
            delay = first_delay
        log.info("retrying in %.1f s", delay)
        try:
            signal.signal(signal.SIGTERM, _raise_stop)
            signal.signal(signal.SIGINT, _raise_stop)
            time.sleep(delay)
        except _Stop:
            log.info("stopped while waiting for Redis")
            return 0
        delay = min(delay * 2, max_delay)


def _release(worker: Worker) -> None:
    """What a worker started must not outlive it when its teardown failed (Redis gone): its
    scheduler process and the thread listening for commands on its pub/sub channel, which would
    otherwise keep retrying Redis for a worker that no longer exists."""
    try:
        thread = getattr(worker, "pubsub_thread", None)
        if thread is not None and thread.is_alive():
            thread.stop(timeout=2)  # a daemon thread: if it is stuck waiting, it dies with us
        process = worker.scheduler._process if worker.scheduler is not None else None
        if process is not None and process.is_alive():
            process.terminate()
            process.join(5)
    except Exception:  # best effort; the next worker starts its own
        log.debug("could not release what the last worker started", exc_info=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.main", description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", help="queues to work on (default: the configured queue)")
    parser.add_argument("--url", help="Redis URL (default: REDIS_URL)")
    parser.add_argument("--with-scheduler", action="store_true", help="also run rq's scheduler (retries)")
    parser.add_argument("--max-delay", type=float, default=MAX_DELAY_SECONDS,
                        help="longest wait between attempts to reach Redis, seconds")
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    if args.url:
        settings = settings.with_overrides(redis_url=args.url)
    runtime.configure(settings)  # jobs' database engine and the dispatcher for jobs they request
    return run_worker(settings.redis_url, args.queues or [settings.queue_name],
                      with_scheduler=args.with_scheduler, max_delay=args.max_delay)


if __name__ == "__main__":
    sys.exit(main())
