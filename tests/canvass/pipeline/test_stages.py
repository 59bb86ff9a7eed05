"""Stages: contacted -> supporter -> pledged -> volunteer -> member -> leader, every change stored."""
from sqlalchemy import select

from canvass.campaigns.models import Question
from canvass.pipeline.membership import update_membership_rule
from canvass.pipeline.models import PipelinePerson, StageTransition
from tests.canvass.pipeline.builders import (
    at,
    attempt,
    attended,
    conversation,
    dues,
    event,
    pledge,
    resident,
    rollup,
    support_campaign,
)
from tests.factories import make_campaign, make_household, make_org, make_user


def history(session, person):
    return session.execute(
        select(StageTransition.from_stage, StageTransition.to_stage, StageTransition.occurred_at,
               StageTransition.cause)
        .where(StageTransition.person_id == person.id).order_by(StageTransition.position)
    ).all()


def test_a_person_climbs_the_whole_ladder_with_every_transition_dated_and_caused(db_session):
    org = make_org(db_session)
    campaign, support = support_campaign(db_session, org)
    person = resident(db_session, org)
    conversation(db_session, person=person, campaign=campaign, question=support, answer=2,
                 occurred_at=at("2026-01-03 11:00"))
    conversation(db_session, person=person, campaign=campaign, question=support, answer=5,
                 occurred_at=at("2026-01-05 11:00"))
    card = pledge(db_session, person=person, campaign=campaign, occurred_at=at("2026-01-05 11:05"))
    meetings = [event(db_session, org=org, starts_at=at(day)) for day in
                ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00")]
    for meeting in meetings:
        attended(db_session, person=person, event_row=meeting)
    led = event(db_session, org=org, starts_at=at("2026-04-01 18:00"), led_by=person)

    rollup(db_session, org, at("2026-04-02"))
    assert history(db_session, person) == [
        ("none", "contacted", at("2026-01-03 11:00"), "contact"),
        ("contacted", "supporter", at("2026-01-05 11:00"), "support_answer"),
        ("supporter", "pledged", at("2026-01-05 11:05"), "pledge"),
        ("pledged", "volunteer", at("2026-01-10 18:00"), "attendance"),
        ("volunteer", "member", at("2026-03-10 18:00"), "membership_started"),
        ("member", "leader", at("2026-04-01 18:00"), "leadership"),
    ]
    causes = dict(db_session.execute(select(StageTransition.to_stage, StageTransition.cause_id)
                                     .where(StageTransition.person_id == person.id)).all())
    assert causes["pledged"] == card.id and causes["volunteer"] == meetings[0].id and causes["leader"] == led.id
    row = db_session.get(PipelinePerson, (org.id, person.id))
    assert (row.stage, row.stage_since, row.campaign_key) == ("leader", at("2026-04-01 18:00"), campaign.id)
    assert row.reached_contacted_at == at("2026-01-03 11:00") and row.reached_member_at == at("2026-03-10 18:00")


def test_a_lapse_takes_a_leader_back_to_volunteer(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day)))
    event(db_session, org=org, starts_at=at("2026-03-20 18:00"), led_by=person)
    rollup(db_session, org, at("2026-07-11"))
    assert [h[1:] for h in history(db_session, person)][-2:] == [
        ("leader", at("2026-03-20 18:00"), "leadership"),
        ("volunteer", at("2026-07-10 18:00"), "membership_lapsed"),
    ]
    row = db_session.get(PipelinePerson, (org.id, person.id))
    assert (row.stage, row.membership_status, row.reached_leader_at) == ("volunteer", "lapsed", at("2026-03-20 18:00"))


def test_pledge_cards_collected_by_a_members_own_account_make_a_leader(db_session):
    org = make_org(db_session)
    update_membership_rule(db_session, organization_id=org.id, changes={"leader": {"events_led": 0,
                                                                                   "pledges_collected": 2}})
    member = resident(db_session, org)
    dues(db_session, person=member, amount_cents=12000, paid_on="2026-01-01", period_start="2026-01-01",
         period_end="2026-12-31")
    account = make_user(db_session, org=org)
    account.person_id = member.id
    db_session.flush()
    for minute in ("10:00", "10:30"):
        pledge(db_session, person=resident(db_session, org), occurred_at=at(f"2026-02-01 {minute}"), canvasser=account)
    rollup(db_session, org, at("2026-02-02"))
    assert history(db_session, member)[-1] == ("member", "leader", at("2026-02-01 10:30"), "leadership")


def test_household_level_conversations_move_nobody(db_session):
    org = make_org(db_session)
    campaign, support = support_campaign(db_session, org)
    household = make_household(db_session, org=org)
    person = resident(db_session, org, household=household)
    contact = conversation(db_session, person=person, campaign=campaign, question=support, answer=5,
                           occurred_at=at("2026-01-03 11:00"))
    contact.person_id = None
    attempt(db_session, household=household, campaign=campaign, occurred_at=at("2026-01-04 11:00"), person=person)
    db_session.flush()
    rollup(db_session, org, at("2026-01-05"))
    assert db_session.get(PipelinePerson, (org.id, person.id)) is None


def test_a_yes_counts_as_support_only_on_the_question_the_campaign_names(db_session):
    org = make_org(db_session)
    campaign = make_campaign(db_session, org=org, questions=(("Will you vote?", "yes_no", None),
                                                             ("Do you back the union?", "yes_no", None)))
    vote_question, union_question = db_session.execute(
        select(Question).where(Question.campaign_id == campaign.id).order_by(Question.position)).scalars().all()
    person = resident(db_session, org)
    conversation(db_session, person=person, campaign=campaign, question=vote_question, answer=True,
                 occurred_at=at("2026-01-03 11:00"))
    rollup(db_session, org, at("2026-01-04"))
    assert db_session.get(PipelinePerson, (org.id, person.id)).stage == "contacted"

    campaign.settings = {"support_question_id": union_question.id}
    db_session.flush()
    conversation(db_session, person=person, campaign=campaign, question=union_question, answer=True,
                 occurred_at=at("2026-01-06 11:00"))
    rollup(db_session, org, at("2026-01-07"))
    assert db_session.get(PipelinePerson, (org.id, person.id)).stage == "supporter"


def test_a_contact_synced_late_takes_its_true_place_in_the_history(db_session):
    org = make_org(db_session)
    campaign, support = support_campaign(db_session, org)
    person = resident(db_session, org)
    pledge(db_session, person=person, campaign=campaign, occurred_at=at("2026-01-05 11:05"))
    rollup(db_session, org, at("2026-01-06"))
    assert history(db_session, person) == [("none", "pledged", at("2026-01-05 11:05"), "pledge")]

    # A phone that was offline for a week uploads the conversation behind that card.
    conversation(db_session, person=person, campaign=campaign, question=support, answer=4,
                 occurred_at=at("2026-01-05 11:00"))
    rollup(db_session, org, at("2026-01-12"))
    assert history(db_session, person) == [
        ("none", "supporter", at("2026-01-05 11:00"), "support_answer"),
        ("supporter", "pledged", at("2026-01-05 11:05"), "pledge"),
    ]


def test_people_of_other_organizations_are_untouched(db_session):
    org, other = make_org(db_session), make_org(db_session)
    campaign, _ = support_campaign(db_session, org=other)
    stranger = resident(db_session, other)
    conversation(db_session, person=stranger, campaign=campaign, occurred_at=at("2026-01-03 11:00"))
    rollup(db_session, org, at("2026-01-04"), mode="full")
    assert db_session.execute(select(PipelinePerson).where(PipelinePerson.person_id == stranger.id)).first() is None
