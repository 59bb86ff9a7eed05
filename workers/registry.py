"""Which function runs each job a service may ask for (canvass.jobs names them).

`JOB_PATHS` names the functions by dotted path, so the enqueuer (workers.runtime) needs no
import of the job modules, which themselves import the runtime: no import loop. The `@job`
decorator registers the functions as their modules load (workers.jobs loads them all); a test
holds the two to each other.
"""
from __future__ import annotations

from collections.abc import Callable

JOB_PATHS: dict[str, str] = {
    "expire_leases": "workers.turf_jobs.expire_leases",
    "compact_walklist_changes_all": "workers.turf_jobs.compact_walklist_changes_all",
    "rollup_pipeline": "workers.pipeline_jobs.rollup_pipeline",
    "rebuild_pipeline": "workers.pipeline_jobs.rebuild_pipeline",
    "rollup_pipeline_all": "workers.pipeline_jobs.rollup_pipeline_all",
    "age_memberships_all": "workers.pipeline_jobs.age_memberships_all",
    "rebuild_pipeline_all": "workers.pipeline_jobs.rebuild_pipeline_all",
    "rollup_activity": "workers.dashboard_jobs.rollup_activity",
    "rebuild_activity": "workers.dashboard_jobs.rebuild_activity",
    "rollup_activity_all": "workers.dashboard_jobs.rollup_activity_all",
    "rebuild_activity_all": "workers.dashboard_jobs.rebuild_activity_all",
    "purge_stale_personal_data_all": "workers.privacy_jobs.purge_stale_personal_data_all",
}

JOBS: dict[str, Callable] = {}


def job(fn: Callable) -> Callable:
    """Register a job function under its name. The product's jobs are listed in JOB_PATHS above
    (for processes that never load them); another (a test's) is added as it registers."""
    path = f"{fn.__module__}.{fn.__name__}"
    if JOB_PATHS.setdefault(fn.__name__, path) != path:
        raise RuntimeError(f"job {fn.__name__!r} is listed as {JOB_PATHS[fn.__name__]}, not {path}")
    JOBS[fn.__name__] = fn
    return fn
