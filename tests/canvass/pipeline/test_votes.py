"""Endorsement votes: eligibility is a snapshot of members at the cutoff; one ballot per member."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from canvass.audit.models import AuditEvent
from canvass.errors import Conflict, Forbidden, NotFound, ValidationFailed
from canvass.pipeline.models import Ballot, VoteEligibility
from canvass.pipeline.votes import (
    cast_ballot,
    create_vote,
    describe_vote,
    link_user_to_person,
    list_eligible,
    vote_results,
)
from tests.canvass.pipeline.builders import at, attended, dues, event, resident
from tests.factories import make_boundary, make_household, make_org, make_user

CUTOFF, OPENS, CLOSES = at("2026-10-01 00:00"), at("2026-10-15 18:00"), at("2026-10-15 21:00")
DURING = at("2026-10-15 19:00")


@pytest.fixture
def ward_org(db_session):
    org = make_org(db_session)
    ward, other_ward = make_boundary(db_session, org=org, name="33"), make_boundary(db_session, org=org, name="35")

    def person_in(w, name):
        return resident(db_session, org, household=make_household(db_session, org=org, ward=w), first_name=name)

    payer = person_in(ward, "Payer")  # dues through October
    dues(db_session, person=payer, amount_cents=12000, paid_on="2026-01-02", period_start="2026-01-01",
         period_end="2026-12-31")
    regular = person_in(ward, "Regular")  # three meetings since summer
    for day in ("2026-07-10 18:00", "2026-08-10 18:00", "2026-09-10 18:00"):
        attended(db_session, person=regular, event_row=event(db_session, org=org, starts_at=at(day)))
    lapsed = person_in(ward, "Lapsed")  # paid for March only
    dues(db_session, person=lapsed, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-03-31")
    late = person_in(ward, "Late")  # joined after the cutoff
    dues(db_session, person=late, amount_cents=1000, paid_on="2026-10-05", period_start="2026-10-01",
         period_end="2026-10-31")
    neighbour = person_in(other_ward, "Neighbour")  # a member, of the other ward
    dues(db_session, person=neighbour, amount_cents=12000, paid_on="2026-01-02", period_start="2026-01-01",
         period_end="2026-12-31")
    organizer = make_user(db_session, org=org, roles=("organizer",))
    return org, {"payer": payer, "regular": regular, "lapsed": lapsed, "late": late, "neighbour": neighbour}, organizer


def open_vote(session, org, organizer, **overrides):
    fields = dict(title="Endorse for alderperson", scope="organization", options=["Rivera", "Chen", "No endorsement"],
                  cutoff_at=CUTOFF, opens_at=OPENS, closes_at=CLOSES, quorum_percent=50, created_by_id=organizer.id,
                  now=at("2026-10-02"))
    fields.update(overrides)
    return create_vote(session, organization_id=org.id, **fields)


def member_account(session, org, person):
    user = make_user(session, org=org, roles=("canvasser",))
    link_user_to_person(session, organization_id=org.id, person_id=person.id, user_id=user.id)
    return user


def test_eligibility_is_the_members_in_good_standing_at_the_cutoff(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer)
    assert vote.eligibility_taken_at is None  # not open yet
    detail = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)
    assert detail["status"] == "open" and detail["vote"].eligible_count == 3
    eligible = {row["first_name"]: row for row in list_eligible(db_session, organization_id=org.id, vote_id=vote.id)}
    assert set(eligible) == {"Payer", "Regular", "Neighbour"}
    assert [r["kind"] for r in eligible["Payer"]["reasons"]] == ["dues"]
    assert eligible["Regular"]["reasons"][0]["count"] == 3


def test_a_ward_vote_counts_only_that_wards_members(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer, scope="ward", ward="33", now=DURING)
    assert vote.eligible_count == 2


def test_the_snapshot_does_not_move_once_taken(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer, now=DURING)
    # Back dues paid during the meeting don't make anyone eligible after the fact.
    dues(db_session, person=people["lapsed"], amount_cents=12000, paid_on="2026-10-15", period_start="2026-09-01",
         period_end="2027-08-31")
    describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=CLOSES)
    assert len(list_eligible(db_session, organization_id=org.id, vote_id=vote.id)) == 3


def test_a_member_votes_once_with_their_own_account(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer)
    rivera = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)["options"][0]
    account = member_account(db_session, org, people["payer"])
    ballot = cast_ballot(db_session, organization_id=org.id, vote_id=vote.id, option_id=rivera.id, actor=account,
                         now=DURING)
    assert (ballot.person_id, ballot.method) == (people["payer"].id, "self")
    with pytest.raises(Conflict) as caught:
        cast_ballot(db_session, organization_id=org.id, vote_id=vote.id, option_id=rivera.id, actor=account,
                    now=DURING)
    assert caught.value.code == "already_voted"
    mine = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, viewer=account, now=DURING)["mine"]
    assert mine == {"eligible": True, "voted": True}


def test_ineligible_unlinked_early_and_late_ballots_are_refused(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer)
    option = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)["options"][0]

    def refused(error, code, actor, now=DURING, option_id=option.id, person_id=None):
        with pytest.raises(error) as caught:
            cast_ballot(db_session, organization_id=org.id, vote_id=vote.id, option_id=option_id, actor=actor,
                        person_id=person_id, now=now)
        assert caught.value.code == code

    refused(Forbidden, "not_eligible", member_account(db_session, org, people["late"]))
    refused(Forbidden, "not_eligible", make_user(db_session, org=org))
    payer = member_account(db_session, org, people["payer"])
    refused(Conflict, "vote_not_open", payer, now=at("2026-10-15 17:59"))
    refused(Conflict, "vote_closed", payer, now=CLOSES)
    refused(ValidationFailed, "unknown_option", payer, option_id=option.id + 1000)
    refused(Forbidden, "not_eligible", organizer, person_id=people["lapsed"].id)
    stranger = resident(db_session, make_org(db_session))
    refused(NotFound, "person_not_found", organizer, person_id=stranger.id)
    assert db_session.execute(select(Ballot).where(Ballot.vote_id == vote.id)).first() is None


def test_an_organizer_records_a_ballot_at_the_meeting_and_it_is_audited(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer)
    chen = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)["options"][1]
    ballot = cast_ballot(db_session, organization_id=org.id, vote_id=vote.id, option_id=chen.id, actor=organizer,
                         person_id=people["regular"].id, now=DURING)
    assert (ballot.method, ballot.cast_by_user_id) == ("recorded", organizer.id)
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "vote.ballot_recorded",
                                                        AuditEvent.organization_id == org.id)).scalar_one()
    assert audit.details == {"ballot_id": ballot.id, "person_id": people["regular"].id}
    assert audit.actor_user_id == organizer.id


def test_results_come_with_turnout_and_quorum_once_closed(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer)
    rivera, chen, _ = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)["options"]
    with pytest.raises(Conflict) as caught:
        vote_results(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)
    assert caught.value.code == "vote_not_closed"
    for person, option in ((people["payer"], rivera), (people["regular"], rivera)):
        cast_ballot(db_session, organization_id=org.id, vote_id=vote.id, option_id=option.id, actor=organizer,
                    person_id=person.id, now=DURING)
    results = vote_results(db_session, organization_id=org.id, vote_id=vote.id, now=CLOSES)
    assert [(o["label"], o["votes"]) for o in results["options"]] == [("Rivera", 2), ("Chen", 0),
                                                                      ("No endorsement", 0)]
    assert (results["ballots_cast"], results["eligible"], results["turnout"], results["quorum_met"]) == (
        2, 3, 0.6667, True)


def test_the_database_refuses_a_second_or_an_ineligible_ballot(db_session, ward_org):
    org, people, organizer = ward_org
    vote = open_vote(db_session, org, organizer, now=DURING)
    option = describe_vote(db_session, organization_id=org.id, vote_id=vote.id, now=DURING)["options"][0]
    db_session.add(Ballot(organization_id=org.id, vote_id=vote.id, person_id=people["payer"].id, option_id=option.id,
                          method="self", cast_by_user_id=organizer.id))
    db_session.flush()
    for person in (people["payer"], people["lapsed"]):
        with pytest.raises(IntegrityError):
            with db_session.begin_nested():
                db_session.add(Ballot(organization_id=org.id, vote_id=vote.id, person_id=person.id,
                                      option_id=option.id, method="self", cast_by_user_id=organizer.id))
                db_session.flush()
    assert db_session.get(VoteEligibility, (org.id, vote.id, people["lapsed"].id)) is None


@pytest.mark.parametrize("overrides, field", [
    ({"options": ["Rivera"]}, "options"),
    ({"options": ["Rivera", "rivera"]}, "options"),
    ({"closes_at": OPENS}, "closes_at"),
    ({"cutoff_at": CLOSES}, "cutoff_at"),
    ({"closes_at": at("2026-09-01"), "opens_at": at("2026-08-01"), "cutoff_at": at("2026-08-01")}, "closes_at"),
    ({"scope": "ward"}, "ward"),
    ({"quorum_percent": 101}, "quorum_percent"),
    ({"title": " "}, "title"),
])
def test_impossible_votes_are_refused(db_session, ward_org, overrides, field):
    org, people, organizer = ward_org
    with pytest.raises(ValidationFailed) as caught:
        open_vote(db_session, org, organizer, **overrides)
    assert field in caught.value.details


def test_a_ward_of_another_organization_is_not_found(db_session, ward_org):
    org, people, organizer = ward_org
    make_boundary(db_session, org=make_org(db_session), name="40")
    with pytest.raises(NotFound):
        open_vote(db_session, org, organizer, scope="ward", ward="40")
