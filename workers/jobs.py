"""RQ jobs: thin wrappers over canvass services, each in one unit of work.

Jobs take ids, re-read state, and are safe to run twice. Areas add their jobs
to JOBS (the names services use in `request_job`).
"""
from __future__ import annotations

import logging

log = logging.getLogger(__name__)

JOBS: dict = {}


def job(fn):
    """Register a job function under its name."""
    JOBS[fn.__name__] = fn
    return fn


from workers import turf_jobs  # noqa: E402,F401
from workers import pipeline_jobs  # noqa: E402,F401
from workers import dashboard_jobs  # noqa: E402,F401
