"""Pipeline jobs: thin wrappers over canvass.pipeline.rollup, each pass one unit of work.

  rollup_pipeline(organization_id)   requested after commit by sync, imports and edits; one
                                     pending job per organization (job id rollup-pipeline-org-N)
  rebuild_pipeline(organization_id)  the full rebuild of one organization
  rollup_all_pipelines()             cron safety net: a lost enqueue (Redis down) only delays;
                                     also snapshots the eligibility of votes that have opened
  age_all_memberships()              cron, daily: lapses and events ageing out, dated exactly
  rebuild_all_pipelines()            cron, nightly: one rebuild job per organization
"""
from __future__ import annotations

import logging

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from canvass.errors import NotFound
from canvass.jobs import JobRequest
from canvass.jobs import rebuild_job_id
from canvass.pipeline.rollup import organization_ids, refresh_pipeline
from canvass.pipeline.votes import open_due_votes
from workers.jobs import job
from workers.runtime import enqueue_requests, get_queue, redis_connection, unit_of_work

log = logging.getLogger(__name__)

# While a run works, the job's id is taken, so enqueues made meanwhile coalesce into it: the job
# looks again for rows that arrived during its pass, a few times, before it ends.
MAX_PASSES = 5


def _roll_up(organization_id: int, mode: str) -> dict:
    passes = people = 0
    while True:
        passes += 1
        try:
            with unit_of_work() as session:
                result = refresh_pipeline(session, organization_id=organization_id, mode=mode)
        except NotFound:
            log.info("organization %s is gone; nothing to roll up", organization_id)
            return {"organization_id": organization_id, "passes": passes, "people": people}
        people += result.people
        if result.skipped:
            log.info("pipeline of organization %s is being rolled up by another worker", organization_id)
        if result.skipped or mode != "incremental" or not result.new_rows or passes >= MAX_PASSES:
            return {"organization_id": organization_id, "passes": passes, "people": people}


@job
def rollup_pipeline(organization_id: int) -> dict:
    return _roll_up(organization_id, "incremental")


@job
def rebuild_pipeline(organization_id: int) -> dict:
    return _roll_up(organization_id, "full")


def _each_organization(mode: str) -> dict:
    with unit_of_work() as session:
        ids = organization_ids(session)
    done, failed = 0, []
    for organization_id in ids:
        try:
            with unit_of_work() as session:
                refresh_pipeline(session, organization_id=organization_id, mode=mode)
            if mode == "incremental":
                with unit_of_work() as session:
                    open_due_votes(session, organization_id=organization_id)
            done += 1
        except Exception:  # noqa: BLE001 - one organization's trouble must not stall the others
            log.exception("pipeline %s run failed for organization %s", mode, organization_id)
            failed.append(organization_id)
    return {"organizations": done, "failed": failed}


@job
def rollup_all_pipelines() -> dict:
    """Every organization's incremental run, here and now (not via the per-org job ids, which a
    stuck or failed job could hold); and the eligibility snapshot of votes that have opened."""
    return _each_organization("incremental")


@job
def age_all_memberships() -> dict:
    return _each_organization("due")


def _clear_finished(job_id: str) -> None:
    """A failed job keeps its id for failure_ttl; the nightly rebuild must not be blocked by it."""
    try:
        existing = Job.fetch(job_id, connection=redis_connection())
    except NoSuchJobError:
        return
    if existing.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.FINISHED, JobStatus.CANCELED,
                                              JobStatus.STOPPED):
        existing.delete()


@job
def rebuild_all_pipelines() -> dict:
    with unit_of_work() as session:
        ids = organization_ids(session)
    requests = [JobRequest(name="rebuild_pipeline", job_id=rebuild_job_id(organization_id),
                           kwargs={"organization_id": organization_id}) for organization_id in ids]
    for request in requests:
        _clear_finished(request.job_id)
    enqueue_requests(requests, queue=get_queue())
    return {"organizations": len(requests)}
