"""Turf jobs: lease expiry (every minute) and the walk lists' change-log compaction (nightly), run by cron."""
from __future__ import annotations

import logging
from datetime import timedelta

from canvass.turfs.leases import expire_leases as expire_due_leases
from canvass.turfs.walklist import compact_walklist_changes, organizations_with_changes_to_compact
from workers.registry import job
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

# Rows younger than this are left alone: a day's changes stay as written, for anyone reading them.
COMPACT_OLDER_THAN = timedelta(hours=1)


@job
def compact_walklist_changes_all() -> int:
    """Fold the walk lists' change log, one organization per transaction (versions do not change)."""
    with unit_of_work() as session:
        organizations = organizations_with_changes_to_compact(session, older_than=COMPACT_OLDER_THAN)
    removed = 0
    for organization_id in organizations:
        with unit_of_work() as session:
            removed += compact_walklist_changes(session, organization_id=organization_id,
                                                older_than=COMPACT_OLDER_THAN)
    log.info("walk-list change log: %d row(s) folded away for %d organization(s)", removed, len(organizations))
    return removed
