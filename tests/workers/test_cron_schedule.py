"""The one cron process loads its schedule the way `rq cron workers/cron_schedule.py` does."""
from pathlib import Path

from rq.cron import CronScheduler

from workers.cron_schedule import SCHEDULE

SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "workers" / "cron_schedule.py"


def test_rq_cron_loads_every_periodic_job(redis_client):
    scheduler = CronScheduler(connection=redis_client)
    scheduler.load_config_from_file(str(SCHEDULE_FILE))
    loaded = sorted(job.func.__name__ for job in scheduler.get_jobs())
    assert loaded == sorted(name for name, _ in SCHEDULE)
    assert {"expire_leases", "rollup_all_pipelines", "age_all_memberships", "rebuild_all_pipelines"} <= set(loaded)
