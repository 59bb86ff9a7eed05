"""Dashboard jobs: the activity rollup per organization (requested after syncs), and the cron
safety nets: an incremental pass over every organization every few minutes, a nightly rebuild."""
from __future__ import annotations

import logging

from canvass.dashboards.activity import rebuild_activity as rebuild_org_activity
from canvass.dashboards.activity import rollup_activity as rollup_org_activity
from canvass.pipeline.rollup import organization_ids
from workers.jobs import job
from workers.runtime import unit_of_work

log = logging.getLogger(__name__)


@job
def rollup_activity(organization_id: int) -> int:
    """Count the organization's contacts and pledge cards past the watermark into the rollups."""
    with unit_of_work() as session:
        return rollup_org_activity(session, organization_id=organization_id).cells


@job
def rebuild_activity(organization_id: int) -> int:
    with unit_of_work() as session:
        return rebuild_org_activity(session, organization_id=organization_id).cells


def _each_organization(run) -> int:
    """One transaction per organization: one failing doesn't hold back the others."""
    with unit_of_work() as session:
        ids = organization_ids(session)
    failed = 0
    for organization_id in ids:
        try:
            with unit_of_work() as session:
                run(session, organization_id=organization_id)
        except Exception:  # noqa: BLE001 - logged; the next pass retries this organization
            failed += 1
            log.exception("activity rollup failed for organization %s", organization_id)
    return failed


@job
def rollup_activity_all() -> int:
    """The safety net behind the sync-triggered jobs: a lost enqueue only delays the dashboards."""
    return _each_organization(rollup_org_activity)


@job
def rebuild_activity_all() -> int:
    """Nightly: what the watermarks can't see (buildings moved ward, turfs re-cut, late flags)."""
    return _each_organization(rebuild_org_activity)
