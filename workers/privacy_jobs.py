"""Privacy jobs: the nightly retention purge (RETENTION_MONTHS) and the purge of old failed sign-ins, run by cron."""
from __future__ import annotations

import logging

from canvass.audit.services import SIGN_IN_FAILURE_DAYS, purge_sign_in_failures
from canvass.operations.privacy import purge_stale_personal_data
from workers import runtime
from workers.registry import job

log = logging.getLogger(__name__)


@job
def purge_stale_personal_data_all() -> dict:
    """Drop the notes and contact details of people who never became supporters, past the retention,
    in every organization (one unit of work each); then the failed sign-ins of unknown e-mails older than
    SIGN_IN_FAILURE_DAYS (they belong to no organization)."""
    months = runtime.settings().retention_months

    def purge(session, *, organization_id):
        return purge_stale_personal_data(session, organization_id=organization_id, months=months)

    outcome = runtime.for_each_organization(purge, what="retention purge")
    log.info("retention purge (%d months): %d organization(s)", months, outcome["organizations"])
    with runtime.unit_of_work() as session:
        outcome["sign_in_failures"] = purge_sign_in_failures(session)
    log.info("purged %d failed sign-in(s) older than %d days", outcome["sign_in_failures"], SIGN_IN_FAILURE_DAYS)
    return outcome
