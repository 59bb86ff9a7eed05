"""Turf jobs: lease expiry (run by the cron process every minute)."""
from __future__ import annotations

import logging

from canvass.turfs.leases import expire_leases as expire_due_leases
from workers.jobs import job
from workers.runtime import unit_of_work

log = logging.getLogger(__name__)


@job
def expire_leases() -> int:
    """End every lease past its time (all organizations, one statement); their turfs are ready again."""
    with unit_of_work() as session:
        count = expire_due_leases(session)
    if count:
        log.info("expired %d lease(s)", count)
    return count
