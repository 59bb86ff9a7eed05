"""The rollup: incremental runs from watermarks give exactly what a full rebuild gives; runs are
idempotent; a run that dies halfway leaves nothing behind and the next one completes it."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from canvass.pipeline.models import MembershipRuleVersion, PipelinePerson, PipelineWatermark
from canvass.pipeline.rollup import pipeline_snapshot, refresh_pipeline
from canvass.pipeline.rules import record_attestation, revoke_attestation, validate_tree
from canvass.pipeline.runs import note_people_changed
from tests.canvass.pipeline.builders import (
    at,
    attended,
    conversation,
    dues,
    event,
    pledge,
    resident,
    rollup,
    support_campaign,
)
from tests.factories import make_boundary, make_household, make_org, make_user


def build_neighbourhood(session, org):
    """Two wards, two campaigns, a dozen people at every stage."""
    wards = [make_boundary(session, org=org, name="33"), make_boundary(session, org=org, name="35")]
    campaigns = [support_campaign(session, org) for _ in range(2)]
    people = []
    for n in range(12):
        household = make_household(session, org=org, ward=wards[n % 2])
        person = resident(session, org, household=household)
        campaign, support = campaigns[n % 2]
        day = at(f"2026-01-{n + 1:02d} 11:00")
        conversation(session, person=person, campaign=campaign, question=support, answer=3 + n % 3, occurred_at=day)
        if n % 3 == 0:
            pledge(session, person=person, campaign=campaign, occurred_at=day + timedelta(minutes=5))
        people.append(person)
    meetings = [event(session, org=org, starts_at=at(f"2026-0{m}-15 18:00")) for m in (1, 2, 3)]
    for person in people[:6]:
        for meeting in meetings[: 1 + people.index(person) % 3]:
            attended(session, person=person, event_row=meeting)
    dues(session, person=people[7], amount_cents=1000, paid_on="2026-02-01", period_start="2026-02-01",
         period_end="2026-02-28")
    return wards, campaigns, people, meetings


# A customised rule of many kinds (AND/OR, an endorsement, an override, lives in a ward), and a
# second version in force from February 20 (before the first run: both versions are in play in
# every incremental run, and no run is turned into a rebuild by a version coming into force).
CUSTOM_RULE = {"op": "or", "rules": [
    {"op": "and", "rules": [{"kind": "dues_current", "params": {"grace_days": 3}},
                            {"kind": "lives_in_ward", "params": {"wards": ["35"]}}]},
    {"op": "and", "rules": [{"kind": "recent_events", "params": {"count": 2, "of_last": 3, "kind": "meeting"}},
                            {"kind": "endorsed", "params": {"role": "field_lead"}}]},
    {"kind": "events_in_window", "params": {"count": 3, "months": 3}},
    {"kind": "admin_override"},
    {"kind": "dues_continuous", "params": {"days": 20}},
]}
LATER_RULE = {"op": "or", "rules": [
    {"op": "and", "rules": [{"kind": "events_in_window", "params": {"count": 1, "months": 1, "kinds": ["meeting"]}},
                            {"kind": "lives_in_ward", "params": {"wards": ["33"]}}]},
    {"kind": "admin_override"},
    {"kind": "endorsed", "params": {"role": "field_lead"}},
]}


def store_rules(session, org):
    session.add_all([
        MembershipRuleVersion(organization_id=org.id, version=1, tree=validate_tree(CUSTOM_RULE),
                              effective_from=at("2025-01-01")),
        MembershipRuleVersion(organization_id=org.id, version=2, tree=validate_tree(LATER_RULE),
                              effective_from=at("2026-02-20 09:30")),
    ])
    session.flush()


@pytest.mark.parametrize("rule", ["default", "custom"])
def test_incremental_runs_give_exactly_what_a_full_rebuild_gives(db_session, rule):
    org = make_org(db_session)
    if rule == "custom":
        store_rules(db_session, org)
    wards, campaigns, people, meetings = build_neighbourhood(db_session, org)
    lead = make_user(db_session, org=org, roles=("field_lead",), name="Lee Lead")
    admin = make_user(db_session, org=org, roles=("admin",), name="Ada Admin")
    record_attestation(db_session, organization_id=org.id, person_id=people[1].id, kind="endorsement", actor=lead,
                       role="field_lead", expires_at=at("2026-06-01"), now=at("2026-02-01 08:00"))
    rollup(db_session, org, at("2026-03-20"))

    # More facts arrive between runs: a late conversation, an extra meeting, dues, a voided payment.
    campaign, support = campaigns[0]
    conversation(db_session, person=people[9], campaign=campaign, question=support, answer=5,
                 occurred_at=at("2025-12-30 10:00"))
    april = event(db_session, org=org, starts_at=at("2026-04-02 18:00"))
    for person in people[:4]:
        attended(db_session, person=person, event_row=april)
    payment = dues(db_session, person=people[10], amount_cents=6000, paid_on="2026-03-25",
                   period_start="2026-04-01", period_end="2026-09-30")
    override = record_attestation(db_session, organization_id=org.id, person_id=people[11].id, kind="override",
                                  actor=admin, reason="paid in kind", now=at("2026-03-25 10:00"))
    rollup(db_session, org, at("2026-04-03"))
    revoke_attestation(db_session, organization_id=org.id, person_id=people[11].id, attestation_id=override.id,
                       actor=admin, now=at("2026-04-05 10:00"))
    payment.voided_at = at("2026-04-04")
    payment.change_seq = text("nextval('pipeline_change_seq')")
    newcomer = resident(db_session, org, household=make_household(db_session, org=org, ward=wards[1]))
    pledge(db_session, person=newcomer, campaign=campaigns[1][0], occurred_at=at("2026-04-04 12:00"))
    db_session.flush()
    # Time passes: the ageing picks up lapses (the February dues) on its own.
    rollup(db_session, org, at("2026-08-01"))
    incremental = pipeline_snapshot(db_session, organization_id=org.id)

    rollup(db_session, org, at("2026-08-01"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == incremental
    assert len(incremental["pipeline_people"]) == 13
    assert incremental["pipeline_funnel_daily"] and incremental["pipeline_stage_counts"]
    # Member spells were found under each version in play (so the rules really were exercised).
    versions = {row[2] for row in incremental["membership_standing_spells"]}
    assert versions == ({0} if rule == "default" else {1, 2})
    overridden = any(row[1] == people[11].id for row in incremental["membership_standing_spells"])
    assert overridden is (rule == "custom")  # the override counts only where the rule names it


def test_a_run_twice_gives_the_same_tables(db_session):
    org = make_org(db_session)
    build_neighbourhood(db_session, org)
    rollup(db_session, org, at("2026-03-20"))
    first = pipeline_snapshot(db_session, organization_id=org.id)
    rollup(db_session, org, at("2026-03-20"))
    rollup(db_session, org, at("2026-03-20"), mode="full")
    rollup(db_session, org, at("2026-03-20"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == first


def test_a_run_that_dies_halfway_leaves_nothing_and_the_next_run_completes_it(db_session):
    org = make_org(db_session)
    _, _, people, _ = build_neighbourhood(db_session, org)
    rollup(db_session, org, at("2026-03-20"))
    before = pipeline_snapshot(db_session, organization_id=org.id)
    watermark_before = tuple(db_session.execute(
        text("SELECT * FROM pipeline_watermarks WHERE organization_id = :org"), {"org": org.id}).one())
    late = resident(db_session, org)
    pledge(db_session, person=late, occurred_at=at("2026-03-21 10:00"))

    # The funnel step fails after stages and membership were written (a disk, a deploy, an OOM kill).
    db_session.execute(text("""
        CREATE FUNCTION pipeline_test_fail() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'worker killed'; END $$;
        CREATE TRIGGER pipeline_test_fail BEFORE INSERT ON pipeline_funnel_daily
        FOR EACH ROW EXECUTE FUNCTION pipeline_test_fail();
    """))
    with pytest.raises(Exception, match="worker killed"):
        with db_session.begin_nested():
            refresh_pipeline(db_session, organization_id=org.id, as_of=at("2026-03-22"))
    db_session.expire_all()
    assert pipeline_snapshot(db_session, organization_id=org.id) == before
    assert tuple(db_session.execute(text("SELECT * FROM pipeline_watermarks WHERE organization_id = :org"),
                                    {"org": org.id}).one()) == watermark_before

    db_session.execute(text("DROP TRIGGER pipeline_test_fail ON pipeline_funnel_daily"))
    rollup(db_session, org, at("2026-03-22"))
    assert db_session.get(PipelinePerson, (org.id, late.id)).stage == "pledged"
    completed = pipeline_snapshot(db_session, organization_id=org.id)
    rollup(db_session, org, at("2026-03-22"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == completed


def test_the_watermark_records_what_was_read(db_session):
    org = make_org(db_session)
    _, _, people, _ = build_neighbourhood(db_session, org)
    result = rollup(db_session, org, at("2026-03-20"))
    assert result.new_rows and result.people == 12
    watermark = db_session.get(PipelineWatermark, org.id)
    highest_contact = db_session.execute(text("SELECT max(id) FROM contacts WHERE organization_id = :org"),
                                         {"org": org.id}).scalar_one()
    assert watermark.contacts_seen == highest_contact and watermark.last_as_of == at("2026-03-20")
    assert watermark.guard_xid > 0

    again = rollup(db_session, org, at("2026-03-20"))
    assert not again.new_rows


def test_noted_changes_are_recomputed_and_then_forgotten(db_session):
    org = make_org(db_session)
    _, _, people, meetings = build_neighbourhood(db_session, org)
    rollup(db_session, org, at("2026-03-20"))
    # An edit the sources can't show (the meeting moved a year back): noted by the service that made it.
    meetings[0].starts_at = at("2025-01-15 18:00")
    db_session.flush()
    db_session.execute(text("UPDATE event_attendance SET change_seq = nextval('pipeline_change_seq') "
                            "WHERE event_id = :e"), {"e": meetings[0].id})
    note_people_changed(db_session, organization_id=org.id, person_ids=[people[0].id], reason="test")
    rollup(db_session, org, at("2026-03-21"))
    assert db_session.get(PipelinePerson, (org.id, people[0].id)).reached_volunteer_at == at("2025-01-15 18:00")
    incremental = pipeline_snapshot(db_session, organization_id=org.id)
    rollup(db_session, org, at("2026-03-21"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == incremental


def test_a_second_run_on_the_same_organization_is_skipped_while_the_first_holds_it(committing_app, settings):
    """Two workers never roll one organization up at once: the second sees the lock and skips."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as first, Session(engine) as second:
            org = make_org(first)
            first.commit()
            assert not refresh_pipeline(first, organization_id=org.id, as_of=at("2026-01-01")).skipped
            assert refresh_pipeline(second, organization_id=org.id, as_of=at("2026-01-01")).skipped
            first.commit()
            second.rollback()
            assert not refresh_pipeline(second, organization_id=org.id, as_of=at("2026-01-01")).skipped
            second.commit()
    finally:
        engine.dispose()


def test_a_row_committed_late_with_a_lower_id_is_still_rolled_up(committing_app, settings):
    """Ids are drawn at insert, commits land in any order: a long sync transaction commits its
    contact after a later one was already rolled up; the next run still picks it up."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as setup:
            org = make_org(setup)
            campaign, support = support_campaign(setup, org)
            slow_person, quick_person = resident(setup, org), resident(setup, org)
            setup.commit()
            org_id = org.id
            slow_id, quick_id = slow_person.id, quick_person.id
            slow_household, quick_household = slow_person.household_id, quick_person.household_id
            campaign_id, question_id = campaign.id, support.id

        def insert_contact(session, person_id, household_id):
            session.execute(text("""
                INSERT INTO contacts (organization_id, client_id, campaign_id, household_id, person_id, occurred_at,
                                      responses)
                VALUES (:org, gen_random_uuid(), :campaign, :household, :person, :at,
                        jsonb_build_array(jsonb_build_object('question_id', :question, 'answer', 5)))
            """), {"org": org_id, "campaign": campaign_id, "household": household_id, "person": person_id,
                   "at": at("2026-01-05 11:00"), "question": question_id})

        with Session(engine) as slow, Session(engine) as quick, Session(engine) as worker:
            insert_contact(slow, slow_id, slow_household)  # draws the lower id, commits last
            insert_contact(quick, quick_id, quick_household)
            quick.commit()
            refresh_pipeline(worker, organization_id=org_id, as_of=at("2026-01-06"))
            worker.commit()
            assert worker.get(PipelinePerson, (org_id, quick_id)) is not None
            assert worker.get(PipelinePerson, (org_id, slow_id)) is None
            slow.commit()
            for _ in range(2):
                refresh_pipeline(worker, organization_id=org_id, as_of=at("2026-01-06"))
                worker.commit()
            assert worker.get(PipelinePerson, (org_id, slow_id)).stage == "supporter"
    finally:
        engine.dispose()


def test_merging_two_records_of_one_person_moves_their_pipeline_records(db_session):
    from canvass.pipeline.models import DuesPayment, EventAttendance
    from canvass.pipeline.rollup import move_person_records
    from tests.factories import make_user

    org = make_org(db_session)
    kept, gone = resident(db_session, org), resident(db_session, org)
    both = event(db_session, org=org, starts_at=at("2026-01-10 18:00"))
    only_gone = event(db_session, org=org, starts_at=at("2026-02-10 18:00"), led_by=gone)
    attended(db_session, person=kept, event_row=both, status="no_show")
    attended(db_session, person=gone, event_row=both)
    attended(db_session, person=gone, event_row=only_gone)
    dues(db_session, person=gone, amount_cents=1000, paid_on="2026-02-01", period_start="2026-02-01",
         period_end="2026-02-28")
    account = make_user(db_session, org=org)
    account.person_id = gone.id
    db_session.flush()
    rollup(db_session, org, at("2026-02-15"))

    move_person_records(db_session, organization_id=org.id, from_person_id=gone.id, into_person_id=kept.id)
    gone.merged_into_id = kept.id
    db_session.flush()
    rollup(db_session, org, at("2026-02-15"))
    statuses = dict(db_session.execute(select(EventAttendance.event_id, EventAttendance.status)
                                       .where(EventAttendance.person_id == kept.id)).all())
    assert statuses == {both.id: "attended", only_gone.id: "attended"}
    assert db_session.execute(select(DuesPayment.person_id)).scalars().all() == [kept.id]
    assert (only_gone.led_by_person_id, account.person_id) == (kept.id, kept.id)
    assert db_session.get(PipelinePerson, (org.id, gone.id)) is None
    assert db_session.get(PipelinePerson, (org.id, kept.id)).membership_status == "member"
    incremental = pipeline_snapshot(db_session, organization_id=org.id)
    rollup(db_session, org, at("2026-02-15"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == incremental
