"""The periodic schedule, loaded by the one cron process: `rq cron workers/cron_schedule.py`.

Lease expiry, membership ageing, the nightly rebuilds and the walk-list change-log
compaction live here, never in the web process. rq cron imports this file once and registers
what it lists; the queue comes from Settings (CANVASS_QUEUE), read when the file is loaded,
and every job gets the runtime's timeout and failure retention unless its line says longer.
rq cron has no retries: a periodic job's retry is its next tick.
"""
from __future__ import annotations

from rq import cron

from workers import runtime
from workers.jobs import JOBS

# (job name, rq cron options). Areas add their periodic jobs here.
SCHEDULE: list[tuple[str, dict]] = [
    ("expire_leases", {"interval": 60}),
    ("compact_walklist_changes_all", {"cron": "30 4 * * *", "job_timeout": 1800}),
    # Pipeline: a safety net for lost enqueues, lapses dated exactly, the nightly full rebuild.
    ("rollup_pipeline_all", {"interval": 300}),
    ("age_memberships_all", {"cron": "15 3 * * *"}),
    ("rebuild_pipeline_all", {"cron": "45 3 * * *"}),
    ("rollup_activity_all", {"interval": 300}),  # dashboards: lost enqueues only delay
    ("rebuild_activity_all", {"cron": "15 4 * * *", "job_timeout": 1800}),
    # Privacy: notes and contact details of people who never became supporters, past RETENTION_MONTHS.
    ("purge_stale_personal_data_all", {"cron": "0 5 * * *", "job_timeout": 1800}),
]


def register_schedule(register=cron.register, *, queue_name: str | None = None) -> list[str]:
    """Register every periodic job; returns their names."""
    queue_name = queue_name or runtime.settings().queue_name
    names = []
    for name, options in SCHEDULE:
        register(JOBS[name], queue_name, **{**runtime.CRON_JOB_OPTIONS, **options})
        names.append(name)
    return names


register_schedule()
