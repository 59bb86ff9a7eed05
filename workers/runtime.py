"""What a worker process needs: settings, a database engine, Redis, the queue.

Configured once per process by `configure(settings)` (the worker entry point,
or a test); nothing is read at import time.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from canvass.config import Settings
from canvass.db import transaction
from canvass.jobs import JobRequest, set_job_dispatcher
from canvass.orgs.services import list_organization_ids
from workers.registry import JOB_PATHS

log = logging.getLogger(__name__)

# Timeouts and retries, set in one place for every job.
JOB_TIMEOUT_SECONDS = 15 * 60
JOB_RETRY = Retry(max=3, interval=[10, 60, 300])
FAILED_JOB_TTL_SECONDS = 7 * 86400
# The periodic jobs (workers/cron_schedule.py) get the same, and keep no result.
CRON_JOB_OPTIONS = {"job_timeout": JOB_TIMEOUT_SECONDS, "result_ttl": 0, "failure_ttl": FAILED_JOB_TTL_SECONDS}


class _Runtime:
    settings: Settings | None = None
    session_factory: sessionmaker | None = None
    redis: Redis | None = None
    engine: Engine | None = None  # the one configure() made (not one a caller passed in a session_factory)


_runtime = _Runtime()


def configure(settings: Settings, *, session_factory: sessionmaker | None = None, redis: Redis | None = None) -> None:
    # Configured again (tests, a worker restarting after Redis came back): close the pool made last time,
    # or its connections are left open for the garbage collector.
    previous = _runtime.engine
    _runtime.settings = settings
    if session_factory is None:
        _runtime.engine = create_engine(settings.database_url, pool_pre_ping=True,
                                        connect_args=settings.engine_connect_args())
        session_factory = sessionmaker(_runtime.engine, expire_on_commit=False)
    elif session_factory.kw.get("bind") is not previous:
        _runtime.engine = None  # the caller's engine is the caller's to close
    if previous is not None and previous is not _runtime.engine:
        previous.dispose()
    _runtime.session_factory = session_factory
    _runtime.redis = redis or Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    set_job_dispatcher(lambda requests: enqueue_requests(requests, queue=get_queue()))


def _ensure_configured() -> None:
    if _runtime.settings is None:
        configure(Settings.from_env())


def settings() -> Settings:
    _ensure_configured()
    return _runtime.settings


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One transaction for a job: committed at the end, rolled back on error."""
    _ensure_configured()
    session = _runtime.session_factory()
    try:
        with transaction(session):
            yield session
    finally:
        session.close()


def redis_connection() -> Redis:
    _ensure_configured()
    return _runtime.redis


def get_queue(redis: Redis | None = None, settings_: Settings | None = None) -> Queue:
    _ensure_configured()
    return Queue((settings_ or _runtime.settings).queue_name, connection=redis or _runtime.redis)


def enqueue_requests(requests: list[JobRequest], *, queue: Queue) -> None:
    """Enqueue each request once: a job with the same id already waiting coalesces it."""
    for request in requests:
        try:
            queue.enqueue(
                JOB_PATHS[request.name],  # rq imports the function by its path when it runs
                kwargs=request.kwargs,
                job_id=request.job_id,
                unique=True,
                job_timeout=JOB_TIMEOUT_SECONDS,
                retry=JOB_RETRY,
                result_ttl=0,  # a finished job must not block the next enqueue of its id
                failure_ttl=FAILED_JOB_TTL_SECONDS,
            )
        except DuplicateJobError:
            if _clear_if_done(queue, request.job_id):
                enqueue_requests([request], queue=queue)
            else:
                log.debug("job %s already waiting or running; coalesced", request.job_id)


def _clear_if_done(queue: Queue, job_id: str) -> bool:
    """A failed (or otherwise finished) job keeps its record for days; it must not swallow new work.
    True when the id is free again (the job was done, or is gone)."""
    try:
        job = Job.fetch(job_id, connection=queue.connection)
    except NoSuchJobError:
        return True
    try:
        status = job.get_status(refresh=True)
    except InvalidJobOperation:
        # It finished between the two reads and its record went with it (result_ttl=0): the id is free.
        return True
    if status in (JobStatus.FAILED, JobStatus.FINISHED, JobStatus.STOPPED, JobStatus.CANCELED):
        job.delete()
        return True
    return False


def for_each_organization(run: Callable[..., object], *, what: str) -> dict:
    """`run(session, organization_id=...)` for every organization, one unit of work each, so one
    organization's trouble (logged) does not hold back the others; the next pass retries it."""
    with unit_of_work() as session:
        ids = list_organization_ids(session)
    done, failed = 0, []
    for organization_id in ids:
        try:
            with unit_of_work() as session:
                run(session, organization_id=organization_id)
            done += 1
        except Exception:
            log.exception("%s failed for organization %s", what, organization_id)
            failed.append(organization_id)
    return {"organizations": done, "failed": failed}
