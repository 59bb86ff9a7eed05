"""The periodic schedule, loaded by the one cron process: `rq cron workers/cron_schedule.py`.

Lease expiry, membership ageing, the nightly rebuilds and the walk-list change-log
compaction live here, never in the web process.
"""
from __future__ import annotations

import os

from rq import cron

from workers import jobs  # noqa: F401

QUEUE = os.environ.get("CANVASS_QUEUE", "canvass")


def register_schedule(register=cron.register) -> list[str]:
    """Register every periodic job; returns their names (tests check the list)."""
    names = []
    for name, kwargs in SCHEDULE:
        register(jobs.JOBS[name], QUEUE, **kwargs)
        names.append(name)
    return names


# (job name, rq cron options). Areas add their periodic jobs here.
SCHEDULE: list[tuple[str, dict]] = [
    ("expire_leases", {"interval": 60}),
    ("compact_walklist_changes_all", {"cron": "30 4 * * *", "job_timeout": 1800}),
    # Pipeline: a safety net for lost enqueues, lapses dated exactly, the nightly full rebuild.
    ("rollup_all_pipelines", {"interval": 300, "job_timeout": 900}),
    ("age_all_memberships", {"cron": "15 3 * * *", "job_timeout": 900}),
    ("rebuild_all_pipelines", {"cron": "45 3 * * *", "job_timeout": 900}),
    ("rollup_activity_all", {"interval": 300, "job_timeout": 900}),  # dashboards: lost enqueues only delay
    ("rebuild_activity_all", {"cron": "15 4 * * *", "job_timeout": 1800}),
]

register_schedule()
