"""The membership rule: dues (with grace) OR N events in M months, exact to the moment, explained."""
import pytest
from sqlalchemy import select

from canvass.errors import ValidationFailed
from canvass.pipeline.membership import (
    MembershipRule,
    get_person_membership,
    update_membership_rule,
    validate_rule,
)
from canvass.pipeline.models import MembershipPeriod, PipelinePerson
from tests.canvass.pipeline.builders import at, attended, dues, event, resident, rollup
from tests.factories import make_org


def periods(session, person):
    return session.execute(
        select(MembershipPeriod.status, MembershipPeriod.since, MembershipPeriod.until)
        .where(MembershipPeriod.person_id == person.id).order_by(MembershipPeriod.since)
    ).all()


def state(session, person):
    return session.get(PipelinePerson, (person.organization_id, person.id))


def test_default_rule_is_ten_dollars_a_month_or_three_events_in_six_months():
    rule = validate_rule({})
    assert (rule.dues_monthly_cents, rule.grace_days, rule.events_required, rule.window_months) == (1000, 7, 3, 6)


@pytest.mark.parametrize("bad", [
    {"events_required": 0}, {"window_months": 0}, {"dues_monthly_cents": -1}, {"grace_days": -3},
    {"events_required": "3"}, {"window_months": True}, {"surprise": 1}, {"leader": {"events_led": -1}},
    {"leader": "often"}, {"leader": {"unknown": 2}},
])
def test_rule_with_impossible_values_is_refused(bad):
    with pytest.raises(ValidationFailed) as caught:
        validate_rule(bad)
    assert caught.value.code == "invalid_membership_rule"


def test_updating_the_rule_keeps_other_fields_and_refuses_zero_events(db_session):
    org = make_org(db_session)
    rule = update_membership_rule(db_session, organization_id=org.id, changes={"events_required": 2})
    assert rule == MembershipRule(events_required=2)
    with pytest.raises(ValidationFailed):
        update_membership_rule(db_session, organization_id=org.id, changes={"window_months": 0})
    assert org.settings["membership"]["events_required"] == 2
    assert org.settings["membership"]["window_months"] == 6


def test_dues_make_a_member_until_the_period_end_plus_grace_days(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-03-31")

    rollup(db_session, org, at("2026-04-07 23:59"))
    assert state(db_session, person).membership_status == "member"
    assert state(db_session, person).member_since == at("2026-03-01T00:00-06:00")
    # March 31 + 7 grace days: a member through April 7, lapsed from April 8 (Chicago time, CDT).
    assert state(db_session, person).member_until == at("2026-04-08T00:00-05:00")

    rollup(db_session, org, at("2026-04-08T00:00-05:00"), mode="due")
    assert periods(db_session, person) == [
        ("member", at("2026-03-01T00:00-06:00"), at("2026-04-08T00:00-05:00")),
        ("lapsed", at("2026-04-08T00:00-05:00"), None),
    ]
    assert state(db_session, person).membership_status == "lapsed"


def test_an_underpayment_covers_whole_months_only(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=2500, paid_on="2026-01-05", period_start="2026-01-01",
         period_end="2026-06-30")
    rollup(db_session, org, at("2026-02-10"))
    # $25 at $10 a month: January and February; coverage starts the day it was paid.
    assert state(db_session, person).member_since == at("2026-01-05T00:00-06:00")
    assert state(db_session, person).member_until == at("2026-03-08T00:00-06:00")


def test_dues_paid_after_the_period_and_grace_ran_out_make_nobody_a_member(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=1000, paid_on="2026-05-20", period_start="2026-03-01",
         period_end="2026-03-31")
    rollup(db_session, org, at("2026-05-21"))
    assert periods(db_session, person) == []


def test_voided_dues_no_longer_count(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    payment = dues(db_session, person=person, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
                   period_end="2026-03-31")
    payment.voided_at = at("2026-03-02")
    db_session.flush()
    rollup(db_session, org, at("2026-03-05"), mode="full")
    assert state(db_session, person) is None


def test_three_events_in_six_months_make_a_member_until_the_first_ages_out(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day)))

    rollup(db_session, org, at("2026-03-11"))
    member = state(db_session, person)
    assert member.membership_status == "member"
    assert member.member_since == at("2026-03-10 18:00")
    # The January meeting leaves the 6-month window on July 10 at the hour it began.
    assert member.member_until == at("2026-07-10T18:00-05:00")
    assert member.next_change_at == member.member_until

    rollup(db_session, org, at("2026-07-10T18:00-05:00"), mode="due")
    assert periods(db_session, person)[-1] == ("lapsed", at("2026-07-10T18:00-05:00"), None)


def test_two_events_are_not_enough_and_no_shows_do_not_count(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at("2026-01-10 18:00")))
    attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at("2026-02-10 18:00")))
    attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at("2026-03-10 18:00")),
             status="no_show")
    rollup(db_session, org, at("2026-03-11"))
    assert state(db_session, person).membership_status == "not_member"
    assert state(db_session, person).stage == "volunteer"


def test_dues_or_participation_merge_into_one_membership(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day)))
    dues(db_session, person=person, amount_cents=12000, paid_on="2026-07-01", period_start="2026-07-01",
         period_end="2027-06-30")
    rollup(db_session, org, at("2026-08-01"))
    assert periods(db_session, person) == [("member", at("2026-03-10 18:00"), None)]
    assert state(db_session, person).member_until == at("2027-07-08T00:00-05:00")


def test_a_rule_of_one_event_in_one_month(db_session):
    org = make_org(db_session)
    # In force from before the facts (a rule change applies from its moment on, never to the past).
    update_membership_rule(db_session, organization_id=org.id, changes={"events_required": 1, "window_months": 1},
                           now=at("2026-01-01"))
    person = resident(db_session, org)
    attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at("2026-01-31 18:00")))
    rollup(db_session, org, at("2026-02-01"))
    # One month after January 31 is February 28: month arithmetic clamps to the month's end.
    assert state(db_session, person).member_until == at("2026-02-28 18:00")


def test_membership_explains_itself(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    for day, title in (("2026-01-10 18:00", "Tenant meeting"), ("2026-02-10 18:00", "Rally"),
                       ("2026-03-10 18:00", "Canvass")):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day), title=title))
    dues(db_session, person=person, amount_cents=3000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-05-31", method="check")
    rollup(db_session, org, at("2026-03-15"))

    answer = get_person_membership(db_session, organization_id=org.id, person_id=person.id)
    assert answer["status"] == "member"
    assert answer["since"] == at("2026-03-01T00:00-06:00")
    assert answer["reasons"] == [
        "dues paid through 2026-05-31 (+7 grace days): $30.00 on 2026-03-01 by check",
        "attended 3 events in the last 6 months: Tenant meeting (2026-01-10), Rally (2026-02-10), Canvass (2026-03-10)",
    ]
