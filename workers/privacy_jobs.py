"""Privacy jobs: the nightly retention purge (RETENTION_MONTHS), run by cron."""
from __future__ import annotations

import logging

from canvass.operations.privacy import purge_stale_personal_data
from workers import runtime
from workers.registry import job

log = logging.getLogger(__name__)


@job
def purge_stale_personal_data_all() -> dict:
    """Drop the notes and contact details of people who never became supporters, past the retention,
    in every organization (one unit of work each)."""
    months = runtime.settings().retention_months

    def purge(session, *, organization_id):
        return purge_stale_personal_data(session, organization_id=organization_id, months=months)

    outcome = runtime.for_each_organization(purge, what="retention purge")
    log.info("retention purge (%d months): %d organization(s)", months, outcome["organizations"])
    return outcome
