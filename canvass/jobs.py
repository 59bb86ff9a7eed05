"""Background work requested by services, sent only after the transaction commits.

A service says *what* should happen later (`request_job(session, ...)`); the
edge that owns the process (the web app, a worker) installs a dispatcher that
turns requests into RQ jobs. The domain never imports rq or redis.

The catalogue at the end names the jobs services ask for and their coalescing ids, so an
area asks for another area's run (field work -> the pipeline and activity rollups) without
importing it: this module sits below every area.

Requests are coalesced by `job_id` within a transaction and dropped on rollback.
A dispatcher that fails (Redis down) must not fail the request: the data is
committed, and periodic jobs pick it up from their watermarks.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)
_PENDING_KEY = "canvass_pending_jobs"


@dataclass(frozen=True)
class JobRequest:
    name: str  # a key of workers.jobs.JOBS, e.g. "rollup_pipeline"
    job_id: str  # deterministic: letters, digits, '_' and '-' only
    kwargs: dict = field(default_factory=dict)


_dispatcher: Callable[[list[JobRequest]], None] | None = None


def set_job_dispatcher(dispatcher: Callable[[list[JobRequest]], None] | None) -> None:
    global _dispatcher
    _dispatcher = dispatcher


def request_job(session: Session, *, name: str, job_id: str, **kwargs: object) -> None:
    if not job_id.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"job ids may hold letters, digits, '_' and '-' only: {job_id!r}")
    session.info.setdefault(_PENDING_KEY, {})[job_id] = JobRequest(name=name, job_id=job_id, kwargs=kwargs)


def pending_jobs(session: Session) -> list[JobRequest]:
    return list(session.info.get(_PENDING_KEY, {}).values())


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    requests = list(session.info.pop(_PENDING_KEY, {}).values())
    if not requests:
        return
    if _dispatcher is None:
        log.warning("no job dispatcher installed; %d job request(s) left to the periodic jobs", len(requests))
        return
    try:
        _dispatcher(requests)
    except Exception:
        log.exception("could not enqueue %d job(s); periodic jobs will catch up", len(requests))


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


# --- the catalogue: what a service may ask for ------------------------------------------------
# Names are keys of workers.jobs.JOBS; ids coalesce (one pending job per organization and kind).


def rollup_job_id(organization_id: int) -> str:
    return f"rollup-pipeline-org-{organization_id}"


def request_rollup(session: Session, *, organization_id: int) -> None:
    """After this transaction commits, roll the organization's member pipeline up."""
    request_job(session, name="rollup_pipeline", job_id=rollup_job_id(organization_id), organization_id=organization_id)


def rebuild_job_id(organization_id: int) -> str:
    return f"rebuild-pipeline-org-{organization_id}"


def request_rebuild(session: Session, *, organization_id: int) -> None:
    """After this transaction commits, rebuild the organization's pipeline from scratch (a rule changed)."""
    request_job(session, name="rebuild_pipeline", job_id=rebuild_job_id(organization_id),
                organization_id=organization_id)


def activity_job_id(organization_id: int) -> str:
    return f"rollup-activity-org-{organization_id}"


def request_activity_rollup(session: Session, *, organization_id: int) -> None:
    """After this transaction commits, roll the organization's field activity (dashboards) up."""
    request_job(session, name="rollup_activity", job_id=activity_job_id(organization_id),
                organization_id=organization_id)
