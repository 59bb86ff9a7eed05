"""Standing over time from the membership rule trees (standing.py): the rollup's member stage
follows the rule version in force, each version's spells stay readable after a change, join dates
and lapses agree with the spells, and votes without their own rule use the same machinery."""
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from canvass.db import utcnow
from canvass.errors import ValidationFailed
from canvass.orgs.services import timezone_for
from canvass.pipeline.membership import get_person_membership, get_standing_history
from canvass.pipeline.models import MembershipRuleVersion, PipelinePerson, VoteEligibility
from canvass.pipeline.rollup import pipeline_snapshot
from canvass.pipeline.rules import (
    explain_person,
    record_attestation,
    revoke_attestation,
    set_membership_rule,
    validate_tree,
)
from canvass.pipeline.votes import create_vote
from tests.canvass.pipeline.builders import at, attended, dues, event, resident, rollup
from tests.canvass.pipeline.test_rollup import CUSTOM_RULE, build_neighbourhood
from tests.canvass.pipeline.test_rules import members_by_rollup, members_by_rule
from tests.factories import make_org, make_user, org_today

DUES_AND_ENDORSED = {"op": "and", "rules": [{"kind": "dues_current", "params": {"grace_days": 7}},
                                            {"kind": "endorsed", "params": {"role": "field_lead"}}]}


def spells(history):
    return {v["version"]: [(s["since"], s["until"]) for s in v["spells"]] for v in history}


def test_changing_the_rule_keeps_the_old_versions_history_and_computes_the_new_standing_under_the_new_one(
        db_session):
    org = make_org(db_session)
    db_session.add(MembershipRuleVersion(organization_id=org.id, version=1, effective_from=at("2025-01-01"),
                                         tree={"op": "or", "rules": [
                                             {"kind": "dues_current", "params": {"grace_days": 7}},
                                             {"kind": "events_in_window", "params": {"count": 3, "months": 6}}]}))
    db_session.flush()
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=6000, paid_on="2026-01-02", period_start="2026-01-01",
         period_end="2026-06-30")
    rollup(db_session, org, at("2026-02-01"))
    before = get_standing_history(db_session, organization_id=org.id, person_id=person.id)
    assert spells(before) == {1: [(at("2026-01-02 00:00"), None)]}

    # The rule changes on March 1: dues alone are no longer enough, an endorsement is needed too.
    set_membership_rule(db_session, organization_id=org.id, tree=DUES_AND_ENDORSED, now=at("2026-03-01 09:00"))
    rollup(db_session, org, at("2026-03-10"))  # an incremental run: the new version makes it a rebuild
    history = get_standing_history(db_session, organization_id=org.id, person_id=person.id)
    assert spells(history) == {1: [(at("2026-01-02 00:00"), at("2026-03-01 09:00"))], 2: []}
    assert [v["effective_from"] for v in history] == [at("2025-01-01"), at("2026-03-01 09:00")]
    membership = get_person_membership(db_session, organization_id=org.id, person_id=person.id)
    assert membership["status"] == "lapsed"
    assert membership["lapses"] == [{"since": at("2026-03-01 09:00"), "until": None}]

    # Endorsed on March 20: a member again, under version 2, until the dues run out (June 30 + 7 days).
    lead = make_user(db_session, org=org, roles=("field_lead",), name="Lee Lead")
    record_attestation(db_session, organization_id=org.id, person_id=person.id, kind="endorsement", actor=lead,
                       role="field_lead", now=at("2026-03-20 15:00"))
    rollup(db_session, org, at("2026-04-01"))
    history = get_standing_history(db_session, organization_id=org.id, person_id=person.id)
    assert spells(history) == {1: [(at("2026-01-02 00:00"), at("2026-03-01 09:00"))],
                               2: [(at("2026-03-20 15:00"), None)]}
    state = db_session.get(PipelinePerson, (org.id, person.id))
    assert (state.membership_status, state.member_until) == ("member", at("2026-07-08 00:00"))
    # Join dates and lapses agree with the spells: the first join under version 1 survives.
    membership = get_person_membership(db_session, organization_id=org.id, person_id=person.id)
    assert membership["first_joined_at"] == at("2026-01-02 00:00")
    assert membership["current_spell_since"] == at("2026-03-20 15:00")
    assert membership["lapses"] == [{"since": at("2026-03-01 09:00"), "until": at("2026-03-20 15:00")}]
    assert membership["reasons"][0].startswith("dues paid through 2026-06-30 (+7 grace days)")
    assert membership["reasons"][1] == "endorsed by Lee Lead (field_lead) on 2026-03-20"
    assert spells(membership["standing_history"]) == spells(history)
    # The point evaluation says the same of a day under each version.
    assert explain_person(db_session, organization_id=org.id, person_id=person.id,
                          as_of=date(2026, 2, 15))["met"] is True
    assert explain_person(db_session, organization_id=org.id, person_id=person.id,
                          as_of=date(2026, 3, 10))["met"] is False
    # A full rebuild from nothing reads the same history.
    kept = pipeline_snapshot(db_session, organization_id=org.id)
    rollup(db_session, org, at("2026-04-01"), mode="full")
    assert pipeline_snapshot(db_session, organization_id=org.id) == kept


def test_a_migrated_default_version_gives_the_same_members_as_the_settings_rule(db_session):
    """Migration 0008's version 1 (the settings' tree, stored) against version 0 (read from the
    settings) on the rollup fixtures: the same derived rows, apart from the version the spells name."""
    results = {}
    for stored in (False, True):
        org = make_org(db_session)
        if stored:
            db_session.add(MembershipRuleVersion(organization_id=org.id, version=1, effective_from=at("1970-01-01"),
                                                 tree={"op": "or", "rules": [
                                                     {"kind": "dues_current", "params": {"grace_days": 7}},
                                                     {"kind": "events_in_window",
                                                      "params": {"count": 3, "months": 6}}]}))
            db_session.flush()
        _, _, people, _ = build_neighbourhood(db_session, org)
        rollup(db_session, org, at("2026-03-20"))
        index = {p.id: n for n, p in enumerate(people)}
        snapshot = pipeline_snapshot(db_session, organization_id=org.id)
        results[stored] = {
            "members": sorted((index[row[1]], row[2], row[3]) for row in snapshot["membership_periods"]),
            "spells": sorted((index[row[1]], row[3], row[4]) for row in snapshot["membership_standing_spells"]),
            "versions": {row[2] for row in snapshot["membership_standing_spells"]},
            "stages": sorted((index[row.person_id], row.stage, row.membership_status) for row in db_session.execute(
                select(PipelinePerson).where(PipelinePerson.organization_id == org.id)).scalars()),
        }
    assert results[False]["versions"] == {0} and results[True]["versions"] == {1}
    for key in ("members", "spells", "stages"):
        assert results[False][key] == results[True][key]
    # people[2] went to three meetings (Jan, Feb, Mar 15); people[7] paid February's dues.
    assert (2, "member", "member") in results[True]["stages"]
    assert {spell[0] for spell in results[True]["spells"]} == {2, 5, 7}


def test_member_for_is_refused_in_the_membership_rule(db_session):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed) as caught:
        set_membership_rule(db_session, organization_id=org.id, tree={"op": "or", "rules": [
            {"kind": "dues_current"}, {"kind": "member_for", "params": {"days": 30}}]})
    assert caught.value.code == "invalid_rule" and "member_for" in caught.value.details["rule"][0]
    assert db_session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == org.id)).first() is None


def test_a_vote_without_its_own_rule_takes_the_membership_rule_in_force_at_the_cutoff(db_session):
    org = make_org(db_session)
    admin = make_user(db_session, org=org, roles=("admin",), name="Ada Admin")
    payer, overridden, attender = (resident(db_session, org) for _ in range(3))
    dues(db_session, person=payer, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-03-31")
    for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
        attended(db_session, person=attender, event_row=event(db_session, org=org, starts_at=at(f"{day} 18:00")))
    record_attestation(db_session, organization_id=org.id, person_id=overridden.id, kind="override", actor=admin,
                       reason="founding member", now=at("2026-03-02 10:00"))
    set_membership_rule(db_session, organization_id=org.id, now=at("2026-03-05 00:00"), tree={"op": "or", "rules": [
        {"kind": "dues_current", "params": {"grace_days": 0}}, {"kind": "admin_override"}]})
    vote = create_vote(db_session, organization_id=org.id, title="Endorse", scope="organization",
                       options=["Yes", "No"], cutoff_at=at("2026-03-15 12:00"), opens_at=at("2026-03-16 12:00"),
                       closes_at=at("2026-03-20 12:00"), now=at("2026-03-17 12:00"))
    eligible = {row.person_id: row.reasons for row in db_session.execute(
        select(VoteEligibility).where(VoteEligibility.vote_id == vote.id)).scalars()}
    # Three events count under the old rule, not under the one in force at the cutoff.
    assert set(eligible) == {payer.id, overridden.id}
    assert eligible[payer.id][0]["kind"] == "dues"
    assert eligible[overridden.id][0]["kind"] == "admin_override"
    assert eligible[overridden.id][0]["evidence"][0]["reason"] == "founding member"


def test_a_rule_changed_at_an_awkward_hour_splits_the_standing_at_that_moment(awkward_clock, db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    today = org_today(org)
    start = today - timedelta(days=40)
    dues(db_session, person=person, amount_cents=3000, paid_on=start.isoformat(), period_start=start.isoformat(),
         period_end=(today + timedelta(days=40)).isoformat())
    rollup(db_session, org, utcnow())
    changed_at = utcnow()
    set_membership_rule(db_session, organization_id=org.id, tree=DUES_AND_ENDORSED)
    rollup(db_session, org, utcnow())
    history = spells(get_standing_history(db_session, organization_id=org.id, person_id=person.id))
    assert list(history) == [0, 1]  # version 0 (the settings' tree until the change), version 1 (the new one)
    [(since, until)] = history[0]
    assert since.astimezone(org_zone(org)).date() == start
    assert changed_at <= until <= utcnow()
    assert history[1] == []
    # The organization's today is judged under the new rule; yesterday under the old one.
    assert explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=today)["version"] == 1
    assert explain_person(db_session, organization_id=org.id, person_id=person.id,
                          as_of=today - timedelta(days=1))["met"] is True
    assert db_session.get(PipelinePerson, (org.id, person.id)).membership_status == "lapsed"


def org_zone(org):
    return ZoneInfo(timezone_for(org))


def test_the_rollup_and_the_point_evaluation_agree_on_a_customised_tree_at_every_edge(db_session):
    """CUSTOM_RULE (AND/OR of dues with grace, lives in ward, recent meetings AND an endorsement, 3
    events in 3 months, an override, dues without a gap for 20 days) in force from 1970: who the
    rollup says is a member equals who rules.py says meets the tree, at each moment a leaf changes."""
    org = make_org(db_session)
    tree = validate_tree(CUSTOM_RULE)
    db_session.add(MembershipRuleVersion(organization_id=org.id, version=1, tree=tree, effective_from=at("1970-01-01")))
    db_session.flush()
    _, _, people, _ = build_neighbourhood(db_session, org)
    lead = make_user(db_session, org=org, roles=("field_lead",), name="Lee Lead")
    admin = make_user(db_session, org=org, roles=("admin",), name="Ada Admin")
    record_attestation(db_session, organization_id=org.id, person_id=people[1].id, kind="endorsement", actor=lead,
                       role="field_lead", expires_at=at("2026-06-01"), now=at("2026-02-01 08:00"))
    override = record_attestation(db_session, organization_id=org.id, person_id=people[11].id, kind="override",
                                  actor=admin, reason="paid in kind", now=at("2026-03-25 10:00"))
    revoke_attestation(db_session, organization_id=org.id, person_id=people[11].id, attestation_id=override.id,
                       actor=admin, now=at("2026-04-05 10:00"))
    moments = ["2026-01-15 17:59", "2026-01-15 18:00", "2026-02-01 08:00", "2026-02-15 17:59", "2026-02-15 18:00",
               "2026-02-20 23:59", "2026-02-21 00:00", "2026-03-03 23:59", "2026-03-04 00:00", "2026-03-15 18:00",
               "2026-03-25 10:00", "2026-04-05 09:59", "2026-04-05 10:00", "2026-04-15 17:59", "2026-04-15 18:00",
               "2026-05-31 23:59", "2026-06-01 00:00"]
    seen = set()
    for moment in map(at, moments):
        rollup(db_session, org, moment, mode="full")
        by_rollup = members_by_rollup(db_session, org)
        assert members_by_rule(db_session, org, tree, moment) == by_rollup, moment
        seen |= by_rollup
    # Each branch admitted someone: ward-35 dues (people[7]), meetings + endorsement (people[1]),
    # three events in three months (people[2], [5]), the override while it stood (people[11]).
    assert seen == {people[n].id for n in (1, 2, 5, 7, 11)}
