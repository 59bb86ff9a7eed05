"""Membership rule trees over HTTP: versions, clear 422s that save nothing, a person's evaluation in
words as of a date, endorsements and overrides, and a vote's own rule."""
import pytest
from sqlalchemy import func, select

from canvass.pipeline.models import MembershipAttestation, MembershipRuleVersion, Vote
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import at, attended, event, resident
from tests.factories import auth_header, make_org, make_user

AND_DUES = {"op": "and", "rules": [{"kind": "events_in_window", "params": {"count": 2, "months": 6}},
                                   {"kind": "dues_current"}]}


@pytest.fixture
def office(db_session):
    org = make_org(db_session)
    admin = make_user(db_session, org=org, roles=["admin"])
    organizer = make_user(db_session, org=org, roles=["organizer"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    person = resident(db_session, org)
    return {"org": org, "admin": auth_header(db_session, admin), "organizer": auth_header(db_session, organizer),
            "canvasser": auth_header(db_session, canvasser), "person": person}


def versions(db_session, org):
    return db_session.execute(select(func.count()).select_from(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == org.id)).scalar_one()


def test_the_rule_tree_is_versioned_and_listed(client, db_session, office):
    current = client.get("/v1/membership-rule/tree", headers=office["organizer"]).get_json()
    assert current["version"] == 0 and current["tree"]["op"] == "or"
    response = client.put("/v1/membership-rule/tree", headers=office["admin"], json={"tree": AND_DUES, "note": "x"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 1 and body["tree"]["rules"][1]["params"] == {"grace_days": 7}
    assert body["warnings"][0].startswith("nobody meets this rule as of ")
    listed = client.get("/v1/membership-rule/versions", headers=office["organizer"]).get_json()
    assert [v["version"] for v in listed] == [1]
    assert_error(client.put("/v1/membership-rule/tree", headers=office["organizer"], json={"tree": AND_DUES}),
                 403, "forbidden")


@pytest.mark.parametrize("tree, where", [
    ({"op": "or", "rules": []}, "rules"),
    ({"kind": "events_in_window", "params": {"count": 0, "months": 6}}, "params.count"),
    ({"kind": "vibes"}, "kind"),
])
def test_a_bad_tree_is_a_clear_422_and_saves_nothing(client, db_session, office, tree, where):
    error = assert_error(client.put("/v1/membership-rule/tree", headers=office["admin"], json={"tree": tree}),
                         422, "invalid_rule")
    assert where in error["details"]
    assert versions(db_session, office["org"]) == 0


def test_a_person_evaluation_shows_each_node_in_words_as_of_a_date(client, db_session, office):
    org, person = office["org"], office["person"]
    for day in ("2026-01-10 18:00", "2026-02-10 18:00", "2026-03-10 18:00"):
        attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=at(day)))
    answer = client.get(f"/v1/people/{person.id}/membership/evaluation?as_of=2026-03-11",
                        headers=office["organizer"]).get_json()
    assert answer["met"] is True and answer["version"] == 0
    assert [(n["kind"], n["met"]) for n in answer["tree"]["rules"]] == [("dues_current", False),
                                                                         ("events_in_window", True)]
    assert answer["tree"]["rules"][0]["text"] == "no dues payment on record"
    assert_error(client.get(f"/v1/people/{person.id}/membership/evaluation?as_of=2026-03-11",
                            headers=office["canvasser"]), 403, "forbidden")
    assert_error(client.get("/v1/people/999999999/membership/evaluation", headers=office["organizer"]),
                 404, "person_not_found")


def test_endorsements_and_overrides_are_recorded_listed_and_revoked(client, db_session, office):
    person = office["person"].id
    endorsed = client.post(f"/v1/people/{person}/endorsements", headers=office["organizer"], json={})
    assert endorsed.status_code == 201 and endorsed.get_json()["role"] == "organizer"
    assert_error(client.post(f"/v1/people/{person}/membership-overrides", headers=office["organizer"],
                             json={"reason": "x"}), 403, "forbidden")
    assert_error(client.post(f"/v1/people/{person}/membership-overrides", headers=office["admin"], json={}),
                 422, "validation_failed")
    override = client.post(f"/v1/people/{person}/membership-overrides", headers=office["admin"],
                           json={"reason": "founding member"})
    assert override.status_code == 201
    listed = client.get(f"/v1/people/{person}/attestations", headers=office["organizer"]).get_json()
    assert {a["kind"] for a in listed} == {"endorsement", "override"}
    revoked = client.delete(f"/v1/people/{person}/attestations/{override.get_json()['id']}", headers=office["admin"])
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert_error(client.delete(f"/v1/people/{person}/attestations/999999999", headers=office["admin"]),
                 404, "attestation_not_found")
    assert db_session.execute(select(func.count()).select_from(MembershipAttestation)).scalar_one() == 2
    stranger = resident(db_session, make_org(db_session)).id
    assert_error(client.get(f"/v1/people/{stranger}/attestations", headers=office["organizer"]),
                 404, "person_not_found")
    assert_error(client.post(f"/v1/people/{stranger}/endorsements", headers=office["organizer"], json={}),
                 404, "person_not_found")


def test_a_vote_with_a_bad_rule_is_a_422_and_no_vote(client, db_session, office):
    body = {"title": "Endorse", "scope": "organization", "options": ["Yes", "No"],
            "cutoff_at": "2026-04-01T00:00:00+00:00", "opens_at": "2026-04-02T00:00:00+00:00",
            "closes_at": "2999-04-03T00:00:00+00:00", "eligibility_rule": {"op": "and", "rules": [{"kind": "x"}]}}
    error = assert_error(client.post("/v1/votes", headers=office["organizer"], json=body), 422, "invalid_rule")
    assert "rules[0].kind" in error["details"]
    assert db_session.execute(select(Vote).where(Vote.organization_id == office["org"].id)).first() is None

