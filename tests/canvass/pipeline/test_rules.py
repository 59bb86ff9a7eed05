"""Membership rules as AND/OR trees of explained conditions: validation, versions, evaluation
(set-based, as of a moment), words, and agreement with the rollup's standing over time."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from canvass.errors import Conflict, ValidationFailed
from canvass.orgs.models import Organization
from canvass.pipeline.membership import default_tree, get_person_membership, rule_for, update_membership_rule
from canvass.pipeline.models import MembershipRuleVersion, PipelinePerson
from canvass.pipeline.rules import (
    count_meeting,
    explain_person,
    record_attestation,
    revoke_attestation,
    rule_in_force,
    set_membership_rule,
    validate_tree,
)
from tests.canvass.pipeline.builders import at, attended, dues, event, resident, rollup
from tests.factories import make_boundary, make_org, make_user

DUES_OR_EVENTS = {"op": "or", "rules": [
    {"kind": "dues_current", "params": {"grace_days": 7}},
    {"kind": "events_in_window", "params": {"count": 3, "months": 6}}]}


def members_by_rule(session, org, tree, moment):
    count_meeting(session, organization_id=org.id, tree=tree, at=moment, tz="America/Chicago")
    return set(session.execute(text("SELECT person_id FROM rl_result WHERE met")).scalars())


def members_by_rollup(session, org):
    return set(session.execute(select(PipelinePerson.person_id).where(
        PipelinePerson.organization_id == org.id, PipelinePerson.membership_status == "member")).scalars())


def test_the_default_tree_is_the_fixed_rule_with_its_settings(db_session):
    org = make_org(db_session)
    assert default_tree(rule_for(org)) == DUES_OR_EVENTS
    assert rule_in_force(db_session, organization_id=org.id)["version"] == 0  # read from the settings
    update_membership_rule(db_session, organization_id=org.id, changes={"events_required": 2, "grace_days": 3},
                           now=at("2026-03-01"))
    # The change is a version from its moment on; before it, the old settings' tree stays in force.
    version = rule_in_force(db_session, organization_id=org.id)
    assert (version["version"], version["effective_from"]) == (2, at("2026-03-01"))
    assert version["tree"]["rules"][0]["params"] == {"grace_days": 3}
    assert version["tree"]["rules"][1]["params"] == {"count": 2, "months": 6}
    before = rule_in_force(db_session, organization_id=org.id, at=at("2026-02-28"))
    assert (before["version"], before["tree"]) == (1, DUES_OR_EVENTS)


def test_the_default_tree_and_the_rollup_agree_on_who_is_a_member_at_every_moment(db_session):
    """The fixtures of test_membership.py in one organization: dues (whole and under-paid, late,
    voided), three events, two events and a no-show, dues then events; checked at each edge."""
    org = make_org(db_session)
    paid, under, late, voided, three, two, mixed = (resident(db_session, org) for _ in range(7))
    dues(db_session, person=paid, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-03-31")
    dues(db_session, person=under, amount_cents=2500, paid_on="2026-01-05", period_start="2026-01-01",
         period_end="2026-06-30")
    dues(db_session, person=late, amount_cents=1000, paid_on="2026-05-20", period_start="2026-03-01",
         period_end="2026-03-31")
    dues(db_session, person=voided, amount_cents=1000, paid_on="2026-03-01", period_start="2026-03-01",
         period_end="2026-03-31").voided_at = at("2026-03-02")
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=three, event_row=event(db_session, org=org, starts_at=at(day)))
        attended(db_session, person=mixed, event_row=event(db_session, org=org, starts_at=at(day)))
    attended(db_session, person=two, event_row=event(db_session, org=org, starts_at=at("2026-01-10 18:00")))
    attended(db_session, person=two, event_row=event(db_session, org=org, starts_at=at("2026-02-10 18:00")))
    attended(db_session, person=two, event_row=event(db_session, org=org, starts_at=at("2026-03-10 18:00")),
             status="no_show")
    dues(db_session, person=mixed, amount_cents=1000, paid_on="2026-07-01", period_start="2026-07-01",
         period_end="2026-07-31")
    db_session.flush()

    moments = ["2026-01-04 12:00", "2026-01-05", "2026-02-10", "2026-03-08 23:59", "2026-03-09", "2026-03-10 17:59",
               "2026-03-10 18:00", "2026-04-07 23:59", "2026-04-08T00:00-05:00", "2026-05-21", "2026-07-10T17:59-05:00",
               "2026-07-10T18:00-05:00", "2026-08-07 23:59", "2026-08-08 00:00"]
    seen = set()
    for moment in map(at, moments):
        rollup(db_session, org, moment, mode="full")
        by_rollup = members_by_rollup(db_session, org)
        assert members_by_rule(db_session, org, DUES_OR_EVENTS, moment) == by_rollup, moment
        seen |= by_rollup
    assert seen == {paid.id, under.id, three.id, mixed.id}


@pytest.mark.parametrize("bad, where", [
    ({"op": "and", "rules": []}, "rules"),
    ({"op": "xor", "rules": [{"kind": "admin_override"}]}, "op"),
    ({"kind": "events_in_window", "params": {"count": 0, "months": 6}}, "params.count"),
    ({"kind": "events_in_window", "params": {"count": 3}}, "params.months"),
    ({"kind": "events_in_window", "params": {"count": True, "months": 6}}, "params.count"),
    ({"kind": "events_in_window", "params": {"count": 3, "months": 6, "kinds": ["picnic"]}}, "params.kinds"),
    ({"kind": "paid_up"}, "kind"),
    ({"kind": "membership"}, "kind"),
    ({"kind": "recent_events", "params": {"count": 5, "of_last": 3, "kind": "meeting"}}, "params.count"),
    ({"kind": "dues_current", "params": {"grace_days": 7, "bonus": 1}}, "params.bonus"),
    ({"kind": "endorsed", "params": {"role": "mayor"}}, "params.role"),
    ({"kind": "lives_in_ward", "params": {"wards": []}}, "params.wards"),
    ({"op": "or", "rules": [{"kind": "admin_override"}, {"op": "and", "rules": []}]}, "rules[1].rules"),
    ("dues", "rule"),
])
def test_a_bad_rule_is_refused_with_the_path_of_the_bad_node_and_nothing_is_saved(db_session, bad, where):
    org = make_org(db_session)
    with pytest.raises(ValidationFailed) as caught:
        set_membership_rule(db_session, organization_id=org.id, tree=bad)
    assert caught.value.code == "invalid_rule"
    assert where in caught.value.details
    assert db_session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == org.id)).first() is None


def test_validation_fills_in_defaults_and_allows_membership_only_in_a_vote_rule():
    assert validate_tree({"kind": "dues_current"}) == {"kind": "dues_current", "params": {"grace_days": 7}}
    tree = validate_tree({"op": "and", "rules": [{"kind": "membership"},
                                                 {"kind": "dues_continuous", "params": {"days": 30}}]},
                         allow_membership=True)
    assert tree["rules"][1]["params"] == {"days": 30, "grace_days": 0}


def test_a_new_version_applies_from_its_moment_and_the_past_keeps_the_old_rule(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day)))
    stricter = {"op": "and", "rules": [{"kind": "events_in_window", "params": {"count": 3, "months": 6}},
                                      {"kind": "dues_current"}]}
    saved = set_membership_rule(db_session, organization_id=org.id, tree=stricter, note="dues now required",
                                now=at("2026-04-01"))
    assert saved["version"] == 1
    assert saved["warnings"] == ["nobody meets this rule as of 2026-04-01: every person would be a non-member"]

    before = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 3, 20))
    after = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 4, 2))
    assert (before["version"], before["met"]) == (0, True)
    assert (after["version"], after["met"]) == (1, False)
    assert [node["text"] for node in after["tree"]["rules"]] == [
        "attended 3 events in the last 6 months (3 required): Meeting 2026-01-10 (2026-01-10), "
        "Meeting 2026-02-10 (2026-02-10), Meeting 2026-03-10 (2026-03-10)",
        "no dues payment on record",
    ]
    assert after["tree"]["text"] == "all of these — not met"
    again = set_membership_rule(db_session, organization_id=org.id, tree=stricter, now=at("2026-04-03"))
    assert again["version"] == 1 and again["warnings"] == ["the rule is unchanged; no new version"]


def test_each_condition_says_why_in_words(db_session):
    org = make_org(db_session)
    ward = make_boundary(db_session, org=org, name="33")
    admin = make_user(db_session, org=org, roles=["admin"], name="Ada Admin")
    lead = make_user(db_session, org=org, roles=["field_lead"], name="Lee Lead")
    person = resident(db_session, org, ward=ward)
    for month in ("01", "02", "03"):
        dues(db_session, person=person, amount_cents=1000, paid_on=f"2026-{month}-01", period_start=f"2026-{month}-01",
             period_end=f"2026-{month}-28" if month == "02" else f"2026-{month}-{'31' if month != '04' else '30'}")
    for day in ("2026-01-10", "2026-02-10", "2026-03-10", "2026-03-20"):
        row = event(db_session, org=org, starts_at=at(day + " 18:00"), kind="meeting")
        if day != "2026-02-10":
            attended(db_session, person=person, event_row=row)
    record_attestation(db_session, organization_id=org.id, person_id=person.id, kind="endorsement", actor=lead,
                       role="field_lead", expires_at=at("2026-12-31"), now=at("2026-03-01"))
    override = record_attestation(db_session, organization_id=org.id, person_id=person.id, kind="override",
                                  actor=admin, reason="paid in kind at the spring fair", now=at("2026-03-01"))
    revoke_attestation(db_session, organization_id=org.id, person_id=person.id, attestation_id=override.id,
                       actor=admin, now=at("2026-03-15"))
    tree = {"op": "and", "rules": [
        {"kind": "dues_continuous", "params": {"days": 60, "grace_days": 7}},
        {"kind": "recent_events", "params": {"count": 3, "of_last": 4, "kind": "meeting"}},
        {"kind": "lives_in_ward", "params": {"wards": ["33"]}},
        {"kind": "endorsed", "params": {"role": "field_lead"}},
        {"op": "or", "rules": [{"kind": "admin_override"}, {"kind": "member_for", "params": {"days": 30}}]},
    ]}
    result = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 3, 25),
                            tree=validate_tree(tree))
    texts = [(node["met"], node["text"]) for node in result["tree"]["rules"]]
    assert texts[:4] == [
        (True, "dues paid without a gap since 2026-01-01, at least the 60 days required"),
        (True, "attended 3 of the last 4 meeting events (3 required)"),
        (True, "lives in ward 33"),
        (True, "endorsed by Lee Lead (field_lead) on 2026-03-01 until 2026-12-31"),
    ]
    alternatives = result["tree"]["rules"][4]["rules"]
    assert [(n["met"], n["text"]) for n in alternatives] == [
        (False, "no admin override"),
        (False, "not a member at the date (30 days of membership required)"),  # no rollup has run
    ]
    assert result["met"] is False
    # While it stood, the override was met, with its reason.
    earlier = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 3, 10),
                             tree=validate_tree({"kind": "admin_override"}))
    assert earlier["tree"]["text"] == "made a member by Ada Admin on 2026-03-01: paid in kind at the spring fair"
    elsewhere = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 3, 25),
                               tree=validate_tree({"kind": "lives_in_ward", "params": {"wards": ["1", "2"]}}))
    assert elsewhere["tree"]["text"] == "lives in ward 33, not in ward 1, 2"


def test_member_for_counts_the_current_spell_from_the_rollup(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=12000, paid_on="2026-01-02", period_start="2026-01-01",
         period_end="2026-12-31")
    rollup(db_session, org, at("2026-03-01"), mode="full")
    tree = validate_tree({"kind": "member_for", "params": {"days": 30}})
    assert explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 1, 20),
                          tree=tree)["met"] is False
    late = explain_person(db_session, organization_id=org.id, person_id=person.id, as_of=date(2026, 2, 20), tree=tree)
    assert (late["met"], late["tree"]["text"]) == (True, "a member since 2026-01-02, at least 30 days")


def test_a_rule_nobody_meets_is_saved_with_a_warning(db_session):
    org = make_org(db_session)
    resident(db_session, org)
    saved = set_membership_rule(db_session, organization_id=org.id, tree={"kind": "admin_override"},
                                now=at("2026-03-01"))
    assert saved["version"] == 1
    assert saved["warnings"] and saved["warnings"][0].startswith("nobody meets this rule as of ")


def test_an_override_needs_an_admin_and_a_reason(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    organizer = make_user(db_session, org=org, roles=["organizer"])
    admin = make_user(db_session, org=org, roles=["admin"])
    with pytest.raises(Exception) as caught:
        record_attestation(db_session, organization_id=org.id, person_id=person.id, kind="override", actor=organizer,
                           reason="because")
    assert caught.value.code == "forbidden"
    with pytest.raises(ValidationFailed) as caught:
        record_attestation(db_session, organization_id=org.id, person_id=person.id, kind="override", actor=admin,
                           reason="  ")
    assert "reason" in caught.value.details


def test_rejoining_keeps_the_first_join_date_and_every_lapse(db_session):
    org = make_org(db_session)
    person = resident(db_session, org)
    dues(db_session, person=person, amount_cents=1000, paid_on="2026-01-01", period_start="2026-01-01",
         period_end="2026-01-31")
    dues(db_session, person=person, amount_cents=1000, paid_on="2026-05-01", period_start="2026-05-01",
         period_end="2026-05-31")
    rollup(db_session, org, at("2026-05-10"), mode="full")
    answer = get_person_membership(db_session, organization_id=org.id, person_id=person.id)
    assert answer["first_joined_at"] == at("2026-01-01T00:00-06:00")
    assert answer["current_spell_since"] == at("2026-05-01T00:00-05:00")
    assert answer["lapses"] == [{"since": at("2026-02-08T00:00-06:00"), "until": at("2026-05-01T00:00-05:00")}]
    assert timedelta(0) < answer["current_spell_since"] - answer["first_joined_at"]


def test_a_vote_with_its_own_rule_snapshots_who_meets_it_at_the_cutoff_and_why_others_do_not(db_session):
    from canvass.pipeline.models import VoteEligibility
    from canvass.pipeline.votes import create_vote, list_exclusions

    org = make_org(db_session)
    ward = make_boundary(db_session, org=org, name="33")
    other = make_boundary(db_session, org=org, name="47")
    steady, newcomer, away = (resident(db_session, org, ward=w, first_name=n)
                              for n, w in (("Steady", ward), ("Newcomer", ward), ("Away", other)))
    for person, paid_on in ((steady, "2026-01-01"), (newcomer, "2026-03-20"), (away, "2026-01-01")):
        dues(db_session, person=person, amount_cents=12000, paid_on=paid_on, period_start=paid_on,
             period_end="2026-12-31")
    rule = {"op": "and", "rules": [{"kind": "membership"},
                                   {"kind": "dues_continuous", "params": {"days": 30}},
                                   {"kind": "lives_in_ward", "params": {"wards": ["33"]}}]}
    vote = create_vote(db_session, organization_id=org.id, title="Endorse", scope="organization",
                       options=["Yes", "No"], cutoff_at=at("2026-04-01"), opens_at=at("2026-04-02"),
                       closes_at=at("2026-04-03"), eligibility_rule=rule, now=at("2026-04-02 13:00"))
    assert vote.eligible_count == 1
    assert db_session.get(VoteEligibility, (org.id, vote.id, steady.id)) is not None
    excluded = {row["first_name"]: row for row in list_exclusions(db_session, organization_id=org.id,
                                                                 vote_id=vote.id, now=at("2026-04-02 14:00"))}
    assert set(excluded) == {"Newcomer", "Away"}
    assert excluded["Newcomer"]["reasons"] == [
        "dues paid without a gap only since 2026-03-20, fewer than the 30 days required"]
    assert excluded["Away"]["reasons"] == ["lives in ward 47, not in ward 33"]
    membership_node = excluded["Away"]["evaluation"]["rules"][0]
    assert membership_node["met"] and membership_node["text"].startswith("the membership rule (version 0)")


def test_a_vote_with_a_bad_rule_is_refused_and_not_saved(db_session):
    from canvass.pipeline.models import Vote
    from canvass.pipeline.votes import create_vote

    org = make_org(db_session)
    with pytest.raises(ValidationFailed) as caught:
        create_vote(db_session, organization_id=org.id, title="Endorse", scope="organization", options=["Yes", "No"],
                    cutoff_at=at("2026-04-01"), opens_at=at("2026-04-02"), closes_at=at("2026-04-03"),
                    eligibility_rule={"op": "and", "rules": []}, now=at("2026-03-01"))
    assert caught.value.code == "invalid_rule"
    assert db_session.execute(select(Vote).where(Vote.organization_id == org.id)).first() is None


def test_a_settings_change_moves_a_default_tree_along_but_never_a_customised_one(db_session):
    org = make_org(db_session)
    db_session.add(MembershipRuleVersion(organization_id=org.id, version=1, tree=DUES_OR_EVENTS,
                                         effective_from=at("2026-01-01")))
    db_session.flush()
    update_membership_rule(db_session, organization_id=org.id, changes={"grace_days": 10})
    latest = rule_in_force(db_session, organization_id=org.id)
    assert latest["version"] == 2 and latest["tree"]["rules"][0]["params"] == {"grace_days": 10}
    set_membership_rule(db_session, organization_id=org.id, tree={"kind": "admin_override"})
    # A customised tree is changed as a tree: the settings' fields are refused, nothing saved.
    with pytest.raises(Conflict) as caught:
        update_membership_rule(db_session, organization_id=org.id, changes={"grace_days": 3})
    assert (caught.value.code, caught.value.details) == ("membership_rule_customised", {"fields": ["grace_days"]})
    assert rule_in_force(db_session, organization_id=org.id)["tree"] == {"kind": "admin_override", "params": {}}
    assert rule_for(db_session.get(Organization, org.id)).grace_days == 10
    # The dues' price and the leader criteria are not part of the tree: still settings.
    assert update_membership_rule(db_session, organization_id=org.id,
                                  changes={"dues_monthly_cents": 1500}).dues_monthly_cents == 1500
