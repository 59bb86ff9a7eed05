"""Dashboard jobs: the activity rollup per organization (requested after syncs), and the cron
safety nets: an incremental pass over every organization every few minutes, a nightly rebuild."""
from __future__ import annotations

import logging

from canvass.dashboards.activity import rebuild_activity as rebuild_org_activity
from canvass.dashboards.activity import rollup_activity as rollup_org_activity
from workers.registry import job
from workers.runtime import for_each_organization, unit_of_work

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


@job
def rollup_activity_all() -> dict:
    """The safety net behind the sync-triggered jobs: a lost enqueue only delays the dashboards."""
    return for_each_organization(rollup_org_activity, what="activity rollup")


@job
def rebuild_activity_all() -> dict:
    """Nightly: what the watermarks can't see (buildings moved ward, turfs re-cut, late flags)."""
    return for_each_organization(rebuild_org_activity, what="activity rebuild")
