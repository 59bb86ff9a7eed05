"""The one cron process loads its schedule the way `rq cron workers/cron_schedule.py` does, and
runs what is written below: the expectation is spelled out here, independently of SCHEDULE, so a
job dropped, renamed, re-timed or pointed at the wrong queue fails this test."""
from pathlib import Path

from rq.cron import CronScheduler

from canvass.config import Settings
from workers import runtime

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "workers" / "cron_schedule.py"

# function (module.name) -> (every N seconds or a cron line, job_timeout or None)
EXPECTED = {
    "workers.turf_jobs.expire_leases": (60, 900),  # the runtime's JOB_TIMEOUT_SECONDS, as every job
    "workers.turf_jobs.compact_walklist_changes_all": ("30 4 * * *", 1800),
    "workers.pipeline_jobs.rollup_pipeline_all": (300, 900),  # safety net for lost enqueues
    "workers.pipeline_jobs.age_memberships_all": ("15 3 * * *", 900),
    "workers.pipeline_jobs.rebuild_pipeline_all": ("45 3 * * *", 900),
    "workers.dashboard_jobs.rollup_activity_all": (300, 900),  # safety net for lost enqueues
    "workers.dashboard_jobs.rebuild_activity_all": ("15 4 * * *", 1800),
    "workers.privacy_jobs.purge_stale_personal_data_all": ("0 5 * * *", 1800),  # RETENTION_MONTHS
}


def test_rq_cron_loads_the_expected_periodic_jobs(redis_client, monkeypatch):
    # The queue is the one the process's Settings name (CANVASS_QUEUE), not a constant of the file.
    monkeypatch.setattr(runtime, "settings", lambda: Settings(database_url="postgresql://unused/x",
                                                              queue_name="canvass-cron-test"))
    scheduler = CronScheduler(connection=redis_client)
    scheduler.load_config_from_file(str(SCHEDULE_FILE))
    loaded = {}
    for job in scheduler.get_jobs():
        assert job.func_name not in loaded, f"{job.func_name} is scheduled twice"
        assert job.queue_name == "canvass-cron-test"
        loaded[job.func_name] = (job.interval or job.cron, job.job_options.get("job_timeout"))
    assert loaded == EXPECTED

