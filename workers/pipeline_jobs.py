"""Pipeline jobs: thin wrappers over canvass.pipeline.rollup, each pass one unit of work.

  rollup_pipeline(organization_id)   requested after commit by sync, imports and edits; one
                                     pending job per organization (job id rollup-pipeline-org-N)
  rebuild_pipeline(organization_id)  the full rebuild of one organization
  rollup_pipeline_all()             cron safety net: a lost enqueue (Redis down) only delays;
                                     also snapshots the eligibility of votes that have opened
  age_memberships_all()              cron, daily: lapses and events ageing out, dated exactly
  rebuild_pipeline_all()            cron, nightly: one rebuild job per organization
"""
from __future__ import annotations

import logging

from canvass.errors import NotFound
from canvass.jobs import JobRequest, rebuild_job_id
from canvass.orgs.services import list_organization_ids
from canvass.pipeline.rollup import refresh_pipeline
from canvass.pipeline.votes import open_due_votes
from workers.registry import job
from workers.runtime import enqueue_requests, for_each_organization, get_queue, unit_of_work

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


def _incremental(session, *, organization_id: int) -> None:
    refresh_pipeline(session, organization_id=organization_id, mode="incremental")
    open_due_votes(session, organization_id=organization_id)


def _ageing(session, *, organization_id: int) -> None:
    refresh_pipeline(session, organization_id=organization_id, mode="due")


@job
def rollup_pipeline_all() -> dict:
    """Every organization's incremental run, here and now (not via the per-org job ids, which a
    stuck or failed job could hold); and the eligibility snapshot of votes that have opened."""
    return for_each_organization(_incremental, what="pipeline rollup")


@job
def age_memberships_all() -> dict:
    return for_each_organization(_ageing, what="membership ageing")


@job
def rebuild_pipeline_all() -> dict:
    """One rebuild job per organization; a failed job of yesterday's does not block its id
    (enqueue_requests clears a finished or failed job that holds it)."""
    with unit_of_work() as session:
        ids = list_organization_ids(session)
    requests = [JobRequest(name="rebuild_pipeline", job_id=rebuild_job_id(organization_id),
                           kwargs={"organization_id": organization_id}) for organization_id in ids]
    enqueue_requests(requests, queue=get_queue())
    return {"organizations": len(requests)}
