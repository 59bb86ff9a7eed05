"""RQ jobs: thin wrappers over canvass services, each in one unit of work.

Jobs take ids, re-read state, and are safe to run twice. Importing this module loads every job
module, so JOBS (workers.registry) holds them all: the cron schedule and tests read it here.
"""
from __future__ import annotations

from workers import dashboard_jobs, pipeline_jobs, privacy_jobs, turf_jobs
from workers.registry import JOB_PATHS, JOBS, job

__all__ = ["JOBS", "JOB_PATHS", "dashboard_jobs", "job", "pipeline_jobs", "privacy_jobs", "turf_jobs"]
