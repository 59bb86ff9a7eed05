"""Pipeline jobs on RQ: coalesced per organization, safe to run twice, a failed run leaves nothing
half-done, and the cron safety net catches up whatever a lost enqueue (Redis down) left behind."""
import uuid

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import text

from canvass.canvassing.records import Contact
from canvass.db import transaction
from canvass.jobs import request_rollup, rollup_job_id
from canvass.pipeline.events import record_attendance
from canvass.pipeline.models import PipelinePerson
from canvass.pipeline.rollup import pipeline_snapshot
from tests.canvass.pipeline.builders import at, event, forget_stale_jobs, pledge, resident, support_campaign
from tests.conftest import run_jobs
from tests.factories import tenant_row
from workers import cron_schedule, pipeline_jobs, runtime
from workers.jobs import JOBS


@pytest.fixture
def org_with_people(db_session, redis_client):
    from tests.factories import make_org

    org = make_org(db_session)
    forget_stale_jobs(redis_client, org.id)
    campaign, support = support_campaign(db_session, org)
    people = [resident(db_session, org) for _ in range(5)]
    return org, campaign, support, people


def sync_contacts(session, org, campaign, support, people, answer=5):
    """What a sync does: store contacts, ask for the organization's rollup, commit."""
    with transaction(session):
        session.add_all([Contact(
            organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id, household_id=p.household_id,
            person_id=p.id, occurred_at=at("2026-01-03 11:00"),
            responses=[{"question_id": support.id, "answer": answer}]) for p in people])
        session.flush()
        request_rollup(session, organization_id=org.id)


def pending(worker_runtime, org):
    queue = worker_runtime.get_queue()
    return [job_id for job_id in queue.job_ids if job_id == rollup_job_id(org.id)]


def test_the_jobs_are_registered_under_the_names_services_use():
    assert {"rollup_pipeline", "rebuild_pipeline", "rollup_pipeline_all", "age_memberships_all",
            "rebuild_pipeline_all"} <= set(JOBS)
    assert JOBS["rollup_pipeline"] is pipeline_jobs.rollup_pipeline


def test_the_cron_runs_the_safety_net_the_ageing_and_the_nightly_rebuild():
    registered = []
    names = cron_schedule.register_schedule(register=lambda fn, queue, **options: registered.append((fn, options)))
    assert {"rollup_pipeline_all", "age_memberships_all", "rebuild_pipeline_all"} <= set(names)
    options = {fn.__name__: opts for fn, opts in registered}
    assert options["rollup_pipeline_all"]["interval"] <= 600
    assert options["age_memberships_all"]["cron"] and options["rebuild_pipeline_all"]["cron"]


def test_a_sync_commit_queues_one_rollup_and_the_job_rolls_up(db_session, worker_runtime, org_with_people):
    org, campaign, support, people = org_with_people
    sync_contacts(db_session, org, campaign, support, people)
    assert pending(worker_runtime, org) == [rollup_job_id(org.id)]
    run_jobs(worker_runtime)
    assert db_session.get(PipelinePerson, (org.id, people[0].id)).stage == "supporter"
    assert pending(worker_runtime, org) == []


def test_many_sync_commits_never_hold_more_than_one_pending_rollup(db_session, worker_runtime, org_with_people):
    org, campaign, support, people = org_with_people
    for _ in range(100):
        sync_contacts(db_session, org, campaign, support, people * 10)
        assert len(pending(worker_runtime, org)) == 1
    run_jobs(worker_runtime)
    assert pending(worker_runtime, org) == []
    assert db_session.execute(text("SELECT count(*) FROM pipeline_people WHERE organization_id = :o"),
                              {"o": org.id}).scalar_one() == 5


def test_a_job_run_twice_gives_the_same_tables(db_session, worker_runtime, org_with_people):
    org, campaign, support, people = org_with_people
    sync_contacts(db_session, org, campaign, support, people)
    run_jobs(worker_runtime)
    first = pipeline_snapshot(db_session, organization_id=org.id)
    pipeline_jobs.rollup_pipeline(org.id)
    pipeline_jobs.rebuild_pipeline(org.id)
    db_session.expire_all()
    assert pipeline_snapshot(db_session, organization_id=org.id) == first


def test_a_job_that_dies_halfway_leaves_nothing_and_the_rerun_completes_it(db_session, worker_runtime,
                                                                            org_with_people):
    org, campaign, support, people = org_with_people
    sync_contacts(db_session, org, campaign, support, people[:2])
    run_jobs(worker_runtime)
    before = pipeline_snapshot(db_session, organization_id=org.id)
    watermark = db_session.execute(text("SELECT * FROM pipeline_watermarks WHERE organization_id = :o"),
                                   {"o": org.id}).one()
    # The worker dies writing the funnels, after stages and membership were written.
    db_session.execute(text("""
        CREATE FUNCTION pipeline_test_die() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'worker killed'; END $$;
        CREATE TRIGGER pipeline_test_die BEFORE INSERT OR UPDATE ON pipeline_funnel_daily
        FOR EACH ROW EXECUTE FUNCTION pipeline_test_die();
    """))
    sync_contacts(db_session, org, campaign, support, people[2:])
    run_jobs(worker_runtime)
    db_session.expire_all()
    assert pipeline_snapshot(db_session, organization_id=org.id) == before
    assert db_session.execute(text("SELECT * FROM pipeline_watermarks WHERE organization_id = :o"),
                              {"o": org.id}).one() == watermark

    db_session.execute(text("DROP TRIGGER pipeline_test_die ON pipeline_funnel_daily"))
    pipeline_jobs.rollup_pipeline(org.id)  # what RQ's retry runs
    db_session.expire_all()
    assert {db_session.get(PipelinePerson, (org.id, p.id)).stage for p in people} == {"supporter"}
    rerun = pipeline_snapshot(db_session, organization_id=org.id)
    pipeline_jobs.rebuild_pipeline(org.id)
    db_session.expire_all()
    assert pipeline_snapshot(db_session, organization_id=org.id) == rerun
    forget_stale_jobs(worker_runtime.redis_connection(), org.id)  # the failed job waits for its retry


def test_with_redis_down_work_is_committed_and_the_safety_net_catches_up(db_session, worker_runtime, settings,
                                                                         org_with_people):
    org, campaign, support, people = org_with_people
    meeting = event(db_session, org=org, starts_at=at("2026-03-01 18:00"))
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    runtime.configure(settings, session_factory=runtime._runtime.session_factory, redis=dead)
    try:
        with transaction(db_session) as session:
            record_attendance(session, organization_id=org.id, event_id=meeting.id,
                              records=[{"person_id": p.id, "status": "attended"} for p in people])
        pledge(db_session, person=people[0], occurred_at=at("2026-03-02 10:00"))
    finally:
        runtime.configure(settings, session_factory=runtime._runtime.session_factory,
                          redis=Redis.from_url(settings.redis_url))
    assert pending(worker_runtime, org) == []  # the enqueue was lost...
    assert db_session.get(PipelinePerson, (org.id, people[0].id)) is None

    summary = pipeline_jobs.rollup_pipeline_all()  # ...the cron's safety net picks the work up
    assert org.id not in summary["failed"]
    db_session.expire_all()
    assert {db_session.get(PipelinePerson, (org.id, p.id)).stage for p in people} == {"volunteer"}


def test_the_daily_ageing_records_a_lapse_on_its_own(db_session, worker_runtime, org_with_people):
    from canvass.pipeline.rollup import refresh_pipeline
    from tests.canvass.pipeline.builders import dues

    org, _, _, people = org_with_people
    dues(db_session, person=people[0], amount_cents=1000, paid_on="2026-01-01", period_start="2026-01-01",
         period_end="2026-01-31")
    refresh_pipeline(db_session, organization_id=org.id, as_of=at("2026-01-15"))
    assert db_session.get(PipelinePerson, (org.id, people[0].id)).membership_status == "member"
    pipeline_jobs.age_memberships_all()  # runs at the real "now", long after February 8
    db_session.expire_all()
    row = db_session.get(PipelinePerson, (org.id, people[0].id))
    assert (row.membership_status, row.stage) == ("lapsed", "none")


def test_the_nightly_rebuild_queues_one_job_per_organization(db_session, worker_runtime, org_with_people):
    org, campaign, support, people = org_with_people
    sync_contacts(db_session, org, campaign, support, people)
    pipeline_jobs.rebuild_pipeline_all()
    assert f"rebuild-pipeline-org-{org.id}" in worker_runtime.get_queue().job_ids
    run_jobs(worker_runtime)
    assert db_session.get(PipelinePerson, (org.id, people[0].id)).stage == "supporter"


def test_the_safety_net_fixes_eligibility_when_a_vote_opens_unwatched(db_session, worker_runtime, org_with_people):
    from datetime import timedelta

    from canvass.db import utcnow
    from canvass.pipeline.models import Vote
    from canvass.pipeline.votes import create_vote
    from tests.canvass.pipeline.builders import dues

    org, _, _, people = org_with_people
    today = utcnow().date()
    dues(db_session, person=people[0], amount_cents=12000, paid_on=str(today - timedelta(days=10)),
         period_start=str(today - timedelta(days=10)), period_end=str(today + timedelta(days=300)))
    now = utcnow()
    vote = create_vote(db_session, organization_id=org.id, title="Endorse", scope="organization",
                       options=["Yes", "No"], cutoff_at=now - timedelta(days=1), opens_at=now + timedelta(seconds=1),
                       closes_at=now + timedelta(hours=1), now=now)
    assert vote.eligibility_taken_at is None
    db_session.execute(text("UPDATE votes SET opens_at = now() - interval '1 minute' WHERE id = :v"), {"v": vote.id})
    pipeline_jobs.rollup_pipeline_all()
    db_session.expire_all()
    opened = tenant_row(db_session, Vote, vote.id)
    assert opened.eligibility_taken_at is not None and opened.eligible_count == 1
