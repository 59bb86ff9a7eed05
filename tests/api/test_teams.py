"""Teams of canvassers, and turfs leased to a team: each member walks it, nobody else does."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from canvass.audit.models import AuditEvent
from canvass.turfs.models import Assignment, AssignmentMember, Team, TeamMember
from tests.asserts import assert_error
from tests.factories import (
    auth_header,
    make_assignment,
    make_campaign,
    make_household,
    make_org,
    make_team,
    make_turf,
    make_user,
)

NOW = lambda: datetime.now(UTC)  # noqa: E731


@pytest.fixture
def crew(db_session):
    """An organization with a lead, three canvassers (two of them a team), a campaign and a ready turf."""
    org = make_org(db_session)
    lead = make_user(db_session, org=org, roles=["field_lead"], name="Luis Lead")
    ana, ben, cy = (make_user(db_session, org=org, roles=["canvasser"], name=n) for n in ("Ana", "Ben", "Cy"))
    team = make_team(db_session, org=org, members=[ana, ben], name="Roscoe crew")
    campaign = make_campaign(db_session, org=org)
    turf = make_turf(db_session, org=org, households=[make_household(db_session, org=org) for _ in range(3)])
    return type("Crew", (), dict(
        org=org, lead=lead, ana=ana, ben=ben, cy=cy, team=team, campaign=campaign, turf=turf,
        lead_headers=auth_header(db_session, lead),
        headers={u.id: auth_header(db_session, u) for u in (ana, ben, cy)},
    ))


def lease_to_team(client, crew, **body):
    response = client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                           json={"team_id": crew.team.id, "campaign_id": crew.campaign.id, **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def members_of(client, crew, team_id=None):
    team = client.get(f"/v1/teams/{team_id or crew.team.id}", headers=crew.lead_headers).get_json()
    return [m["id"] for m in team["members"]]


def team_rows(session, org):
    session.expire_all()
    return (
        sorted(session.execute(select(Team.id, Team.name, Team.status).where(Team.organization_id == org.id)).all()),
        sorted(session.execute(select(TeamMember.team_id, TeamMember.user_id)
                               .where(TeamMember.organization_id == org.id)).all()),
    )


# --- teams ------------------------------------------------------------------------------------


def test_a_lead_creates_lists_reads_and_renames_a_team(client, crew, db_session):
    created = client.post("/v1/teams", json={"name": "  Night owls ", "member_ids": [crew.cy.id, crew.ana.id, crew.cy.id]},
                          headers=crew.lead_headers)
    assert created.status_code == 201, created.get_json()
    team = created.get_json()
    assert team["name"] == "Night owls" and team["status"] == "active" and team["archived_at"] is None
    assert team["members"] == [{"id": crew.ana.id, "name": "Ana"}, {"id": crew.cy.id, "name": "Cy"}]
    assert team["live_assignments"] == []

    listed = client.get("/v1/teams", headers=crew.lead_headers).get_json()
    assert [t["name"] for t in listed] == ["Night owls", "Roscoe crew"]
    renamed = client.patch(f"/v1/teams/{team['id']}", json={"name": "Early birds"}, headers=crew.lead_headers)
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Early birds"
    assert client.get(f"/v1/teams/{team['id']}", headers=crew.lead_headers).get_json()["name"] == "Early birds"
    actions = db_session.execute(select(AuditEvent.action).where(AuditEvent.target_type == "team",
                                                                 AuditEvent.target_id == str(team["id"]))).scalars()
    assert sorted(actions) == ["team.created", "team.updated"]


def test_an_organizer_manages_teams_an_admin_reads_them_a_canvasser_gets_403(client, crew, db_session):
    organizer = auth_header(db_session, make_user(db_session, org=crew.org, roles=["organizer"]))
    admin = auth_header(db_session, make_user(db_session, org=crew.org, roles=["admin"]))
    assert client.post("/v1/teams", json={"name": "Organizers'"}, headers=organizer).status_code == 201
    assert client.get(f"/v1/teams/{crew.team.id}", headers=admin).status_code == 200
    assert_error(client.post("/v1/teams", json={"name": "Admins'"}, headers=admin), 403, "forbidden")
    canvasser = crew.headers[crew.ana.id]
    assert_error(client.get("/v1/teams", headers=canvasser), 403, "forbidden")
    assert_error(client.post(f"/v1/teams/{crew.team.id}/members", json={"user_id": crew.cy.id}, headers=canvasser),
                 403, "forbidden")
    assert_error(client.get("/v1/teams"), 401, "missing_token")


def test_members_are_set_added_and_removed(client, crew):
    url = f"/v1/teams/{crew.team.id}/members"
    added = client.post(url, json={"user_id": crew.cy.id}, headers=crew.lead_headers)
    assert added.status_code == 200 and [m["name"] for m in added.get_json()["members"]] == ["Ana", "Ben", "Cy"]
    again = client.post(url, json={"user_id": crew.cy.id}, headers=crew.lead_headers)
    assert again.status_code == 200 and len(again.get_json()["members"]) == 3  # already on it: nothing changes
    removed = client.delete(f"{url}/{crew.ana.id}?reason=moved+away", headers=crew.lead_headers)
    assert removed.status_code == 200 and members_of(client, crew) == [crew.ben.id, crew.cy.id]
    assert_error(client.delete(f"{url}/{crew.ana.id}", headers=crew.lead_headers), 404, "team_member_not_found")
    replaced = client.put(url, json={"member_ids": [crew.ana.id]}, headers=crew.lead_headers)
    assert replaced.status_code == 200 and members_of(client, crew) == [crew.ana.id]
    assert client.put(url, json={"member_ids": []}, headers=crew.lead_headers).get_json()["members"] == []


@pytest.mark.parametrize("who, status, code", [
    ("organizer", 422, "not_a_canvasser"),
    ("deactivated", 422, "canvasser_inactive"),
    ("another_orgs_canvasser", 404, "user_not_found"),
    ("nobody", 404, "user_not_found"),
])
def test_only_active_canvassers_of_the_organization_can_be_members_and_a_refusal_changes_nothing(
        client, crew, db_session, who, status, code):
    user_id = {
        "organizer": lambda: make_user(db_session, org=crew.org, roles=["organizer"]).id,
        "deactivated": lambda: make_user(db_session, org=crew.org, roles=["canvasser"], is_active=False).id,
        "another_orgs_canvasser": lambda: make_user(db_session, org=make_org(db_session), roles=["canvasser"]).id,
        "nobody": lambda: 987654321,
    }[who]()
    before = team_rows(db_session, crew.org)
    url = f"/v1/teams/{crew.team.id}/members"
    attempts = [
        client.post(url, json={"user_id": user_id}, headers=crew.lead_headers),
        client.put(url, json={"member_ids": [crew.cy.id, user_id]}, headers=crew.lead_headers),
        client.post("/v1/teams", json={"name": "New", "member_ids": [crew.cy.id, user_id]}, headers=crew.lead_headers),
    ]
    for response in attempts:
        error = assert_error(response, status, code)
        assert str(user_id) in str(error["details"])
    assert team_rows(db_session, crew.org) == before


@pytest.mark.parametrize("method, path, body", [
    ("post", "/v1/teams", {}),
    ("post", "/v1/teams", {"name": ""}),
    ("post", "/v1/teams", {"name": "x" * 201}),
    ("post", "/v1/teams", {"name": "   "}),
    ("post", "/v1/teams", {"name": "A", "member_ids": "1,2"}),
    ("post", "/v1/teams", {"name": "A", "member_ids": ["1"]}),
    ("post", "/v1/teams", {"name": "A", "member_ids": [10**30]}),
    ("post", "/v1/teams", {"name": "A", "member_ids": list(range(1, 102))}),
    ("post", "/v1/teams", {"name": "A", "colour": "red"}),
    ("patch", "/v1/teams/{team}", {"status": "deleted"}),
    ("patch", "/v1/teams/{team}", {"name": None}),
    ("put", "/v1/teams/{team}/members", {}),
    ("put", "/v1/teams/{team}/members", {"member_ids": [0]}),
    ("post", "/v1/teams/{team}/members", {"user_id": 2**63}),
    ("post", "/v1/teams/{team}/members", {"user_ids": [1]}),
])
def test_bad_team_input_is_a_422_that_changes_nothing(client, crew, db_session, method, path, body):
    before = team_rows(db_session, crew.org)
    response = client.open(path.format(team=crew.team.id), method=method.upper(), json=body, headers=crew.lead_headers)
    assert_error(response, 422, "validation_failed")
    assert team_rows(db_session, crew.org) == before


def test_two_live_teams_may_not_share_a_name(client, crew, db_session):
    assert_error(client.post("/v1/teams", json={"name": "ROSCOE CREW"}, headers=crew.lead_headers), 409, "team_name_taken")
    other = client.post("/v1/teams", json={"name": "Other"}, headers=crew.lead_headers).get_json()
    error = assert_error(client.patch(f"/v1/teams/{other['id']}", json={"name": "roscoe crew"},
                                      headers=crew.lead_headers), 409, "team_name_taken")
    assert "'roscoe crew'" in error["message"]
    assert client.get(f"/v1/teams/{other['id']}", headers=crew.lead_headers).get_json()["name"] == "Other"
    # An archived team's name is free again; reopening it while the name is taken is refused.
    client.patch(f"/v1/teams/{crew.team.id}", json={"status": "archived"}, headers=crew.lead_headers)
    assert client.post("/v1/teams", json={"name": "Roscoe crew"}, headers=crew.lead_headers).status_code == 201
    assert_error(client.patch(f"/v1/teams/{crew.team.id}", json={"status": "active"}, headers=crew.lead_headers),
                 409, "team_name_taken")
    assert client.get(f"/v1/teams/{crew.team.id}", headers=crew.lead_headers).get_json()["status"] == "archived"


def test_another_organizations_team_and_users_are_404(client, crew, db_session):
    stranger_org = make_org(db_session)
    stranger_lead = auth_header(db_session, make_user(db_session, org=stranger_org, roles=["field_lead"]))
    theirs = make_team(db_session, org=stranger_org)
    for method, url, body in [
        ("get", f"/v1/teams/{theirs.id}", None),
        ("patch", f"/v1/teams/{theirs.id}", {"name": "Mine now"}),
        ("put", f"/v1/teams/{theirs.id}/members", {"member_ids": [crew.ana.id]}),
        ("post", f"/v1/teams/{theirs.id}/members", {"user_id": crew.ana.id}),
        ("delete", f"/v1/teams/{theirs.id}/members/{crew.ana.id}", None),
    ]:
        assert_error(client.open(url, method=method.upper(), json=body, headers=crew.lead_headers), 404,
                     "team_not_found")
    assert_error(client.delete(f"/v1/teams/{crew.team.id}/members/{crew.ana.id}", headers=stranger_lead), 404,
                 "team_not_found")
    assert [t["id"] for t in client.get("/v1/teams", headers=stranger_lead).get_json()] == [theirs.id]
    assert_error(client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                             json={"team_id": theirs.id, "campaign_id": crew.campaign.id}), 404, "team_not_found")


def test_an_archived_team_keeps_its_members_but_takes_no_changes_and_no_leases(client, crew, db_session):
    archived = client.patch(f"/v1/teams/{crew.team.id}", json={"status": "archived", "reason": "season over"},
                            headers=crew.lead_headers)
    assert archived.status_code == 200 and archived.get_json()["archived_at"] is not None
    assert len(archived.get_json()["members"]) == 2
    assert [t["id"] for t in client.get("/v1/teams?status=archived", headers=crew.lead_headers).get_json()] == [crew.team.id]
    assert client.get("/v1/teams", headers=crew.lead_headers).get_json() == []
    assert_error(client.post(f"/v1/teams/{crew.team.id}/members", json={"user_id": crew.cy.id},
                             headers=crew.lead_headers), 409, "team_archived")
    assert_error(client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                             json={"team_id": crew.team.id, "campaign_id": crew.campaign.id}), 409, "team_archived")
    reopened = client.patch(f"/v1/teams/{crew.team.id}", json={"status": "active"}, headers=crew.lead_headers)
    assert reopened.get_json()["status"] == "active" and reopened.get_json()["archived_at"] is None


def test_a_team_holding_a_lease_cannot_be_archived(client, crew):
    lease = lease_to_team(client, crew)
    error = assert_error(client.patch(f"/v1/teams/{crew.team.id}", json={"status": "archived"},
                                      headers=crew.lead_headers), 409, "team_assigned")
    assert error["details"]["assignment_ids"] == [lease["id"]]
    team = client.get(f"/v1/teams/{crew.team.id}", headers=crew.lead_headers).get_json()
    assert team["status"] == "active"
    assert team["live_assignments"] == [{"id": lease["id"], "turf": {"id": crew.turf.id, "name": crew.turf.name},
                                         "campaign": {"id": crew.campaign.id, "name": crew.campaign.name},
                                         "leased_until": lease["leased_until"]}]


# --- leases to a team ---------------------------------------------------------------------------


def test_a_team_lease_is_each_members_and_nobody_elses(client, crew, db_session):
    lease = lease_to_team(client, crew, lease_hours=8)
    assert lease["team"] == {"id": crew.team.id, "name": "Roscoe crew"} and lease["canvasser"] is None
    assert lease["members"] == [{"id": crew.ana.id, "name": "Ana"}, {"id": crew.ben.id, "name": "Ben"}]
    for member in (crew.ana, crew.ben):
        (mine,) = client.get("/v1/me/assignments", headers=crew.headers[member.id]).get_json()
        assert {"id", "status", "leased_until", "turf", "campaign"} <= set(mine)
        assert mine["id"] == lease["id"] and mine["team"] == lease["team"]
        assert client.get(f"/v1/assignments/{lease['id']}", headers=crew.headers[member.id]).status_code == 200
        walklist = client.get(f"/v1/assignments/{lease['id']}/walklist", headers=crew.headers[member.id])
        assert walklist.status_code == 200 and len(walklist.get_json()["stops"]) == 3
    outsider = crew.headers[crew.cy.id]
    assert client.get("/v1/me/assignments", headers=outsider).get_json() == []
    assert_error(client.get(f"/v1/assignments/{lease['id']}", headers=outsider), 404, "assignment_not_found")
    assert_error(client.get(f"/v1/assignments/{lease['id']}/walklist", headers=outsider), 404, "assignment_not_found")
    assert_error(client.delete(f"/v1/assignments/{lease['id']}", headers=outsider), 404, "assignment_not_found")

    turf = client.get(f"/v1/turfs/{crew.turf.id}", headers=crew.lead_headers).get_json()["properties"]
    assert turf["status"] == "checked_out"
    assert turf["assignment"]["team_id"] == crew.team.id and turf["assignment"]["canvasser_id"] is None
    (event,) = [e for e in client.get(f"/v1/turfs/{crew.turf.id}/history", headers=crew.lead_headers).get_json()
                if e["action"] == "assigned"]
    assert event["details"]["team_id"] == crew.team.id and event["actor"]["id"] == crew.lead.id
    assert event["details"]["member_ids"] == [crew.ana.id, crew.ben.id]


@pytest.mark.parametrize("body, field", [
    ({"canvasser_id": 1, "team_id": 1}, "team_id"),
    ({}, "canvasser_id"),
    ({"team_id": None}, "team_id"),
])
def test_a_lease_names_exactly_one_of_canvasser_and_team(client, crew, db_session, body, field):
    response = client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                           json={"campaign_id": crew.campaign.id, **body})
    error = assert_error(response, 422, "validation_failed")
    assert field in error["details"]
    if body == {"canvasser_id": 1, "team_id": 1}:
        assert "not both" in error["message"]
    db_session.expire_all()
    assert db_session.execute(select(Assignment).where(Assignment.turf_id == crew.turf.id)).first() is None


def test_a_team_without_active_members_cannot_take_a_lease(client, crew, db_session):
    empty = make_team(db_session, org=crew.org, members=[make_user(db_session, org=crew.org, is_active=False)])
    response = client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                           json={"team_id": empty.id, "campaign_id": crew.campaign.id})
    assert_error(response, 422, "team_has_no_members")
    assert client.get(f"/v1/turfs/{crew.turf.id}", headers=crew.lead_headers).get_json()["properties"]["status"] == "ready"


def test_a_team_lease_still_allows_one_live_lease_per_turf(client, crew):
    lease_to_team(client, crew)
    again = client.post(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers,
                        json={"canvasser_id": crew.cy.id, "campaign_id": crew.campaign.id})
    assert_error(again, 409, "turf_already_assigned")


def test_a_member_may_not_end_the_teams_lease_but_a_lead_may(client, crew):
    lease = lease_to_team(client, crew)
    url = f"/v1/assignments/{lease['id']}"
    assert_error(client.delete(url, headers=crew.headers[crew.ana.id]), 403, "cannot_release_team_lease")
    assert client.get(url, headers=crew.lead_headers).get_json()["status"] == "active"
    released = client.delete(url + "?reason=rain", headers=crew.lead_headers)
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert_error(client.get(url + "/walklist", headers=crew.headers[crew.ana.id]), 404, "assignment_ended")


def test_membership_changes_follow_a_live_lease_and_are_in_the_turfs_history(client, crew, db_session):
    lease = lease_to_team(client, crew)
    url = f"/v1/teams/{crew.team.id}/members"
    client.post(url, json={"user_id": crew.cy.id, "reason": "new volunteer"}, headers=crew.lead_headers)
    client.delete(f"{url}/{crew.ana.id}?reason=moved+away", headers=crew.lead_headers)

    assert [m["id"] for m in client.get(f"/v1/assignments/{lease['id']}", headers=crew.lead_headers).get_json()["members"]] \
        == [crew.ben.id, crew.cy.id]
    assert [a["id"] for a in client.get("/v1/me/assignments", headers=crew.headers[crew.cy.id]).get_json()] == [lease["id"]]
    assert client.get(f"/v1/assignments/{lease['id']}/walklist", headers=crew.headers[crew.cy.id]).status_code == 200
    # Taken off the team: off the lease, as if it had never been hers.
    ana = crew.headers[crew.ana.id]
    assert client.get("/v1/me/assignments", headers=ana).get_json() == []
    assert_error(client.get(f"/v1/assignments/{lease['id']}/walklist", headers=ana), 404, "assignment_not_found")
    assert_error(client.get(f"/v1/assignments/{lease['id']}", headers=ana), 404, "assignment_not_found")

    history = client.get(f"/v1/turfs/{crew.turf.id}/history", headers=crew.lead_headers).get_json()
    changes = [(e["details"]["joined"], e["details"]["left"], e["reason"], e["actor"]["id"], e["assignment_id"])
               for e in history if e["action"] == "members_changed"]
    assert changes == [([crew.cy.id], [], "new volunteer", crew.lead.id, lease["id"]),
                       ([], [crew.ana.id], "moved away", crew.lead.id, lease["id"])]


def test_rejoining_opens_a_new_stretch_and_a_set_applies_both_ways(client, crew, db_session):
    lease = lease_to_team(client, crew)
    url = f"/v1/teams/{crew.team.id}/members"
    client.delete(f"{url}/{crew.ana.id}", headers=crew.lead_headers)
    client.put(url, json={"member_ids": [crew.ana.id, crew.cy.id]}, headers=crew.lead_headers)  # Ana back, Ben off, Cy on
    db_session.expire_all()
    stints = db_session.execute(
        select(AssignmentMember.user_id, AssignmentMember.joined_at.is_not(None), AssignmentMember.left_at.is_not(None))
        .where(AssignmentMember.assignment_id == lease["id"]).order_by(AssignmentMember.id)
    ).all()
    assert stints == [(crew.ana.id, False, True), (crew.ben.id, False, True), (crew.ana.id, True, False),
                      (crew.cy.id, True, False)]
    assert [m["id"] for m in client.get(f"/v1/assignments/{lease['id']}", headers=crew.lead_headers).get_json()["members"]] \
        == [crew.ana.id, crew.cy.id]


def test_membership_changes_leave_ended_leases_alone(client, crew, db_session):
    lease = lease_to_team(client, crew)
    client.delete(f"/v1/turfs/{crew.turf.id}/assignment", headers=crew.lead_headers)
    client.post(f"/v1/teams/{crew.team.id}/members", json={"user_id": crew.cy.id}, headers=crew.lead_headers)
    db_session.expire_all()
    assert sorted(db_session.execute(select(AssignmentMember.user_id).where(
        AssignmentMember.assignment_id == lease["id"])).scalars()) == [crew.ana.id, crew.ben.id]
    history = client.get(f"/v1/turfs/{crew.turf.id}/history", headers=crew.lead_headers).get_json()
    assert [e["action"] for e in history][-1] == "released"


def test_a_turf_is_reassigned_from_a_canvasser_to_a_team_and_back(client, crew):
    url = f"/v1/turfs/{crew.turf.id}/assignment"
    first = client.post(url, json={"canvasser_id": crew.cy.id, "campaign_id": crew.campaign.id}, headers=crew.lead_headers)
    assert first.get_json()["members"] == [{"id": crew.cy.id, "name": "Cy"}] and first.get_json()["team"] is None
    to_team = client.put(url, json={"team_id": crew.team.id, "reason": "Cy needs help"}, headers=crew.lead_headers)
    assert to_team.status_code == 200 and to_team.get_json()["team"]["id"] == crew.team.id
    assert client.get("/v1/me/assignments", headers=crew.headers[crew.cy.id]).get_json() == []
    assert [a["id"] for a in client.get("/v1/me/assignments", headers=crew.headers[crew.ben.id]).get_json()] \
        == [to_team.get_json()["id"]]
    back = client.put(url, json={"canvasser_id": crew.ana.id}, headers=crew.lead_headers)
    assert back.get_json()["canvasser"]["id"] == crew.ana.id and back.get_json()["team"] is None
    assert client.get("/v1/me/assignments", headers=crew.headers[crew.ben.id]).get_json() == []
    assert_error(client.put(url, json={"canvasser_id": crew.ana.id, "team_id": crew.team.id}, headers=crew.lead_headers),
                 422, "validation_failed")
    history = client.get(f"/v1/turfs/{crew.turf.id}/history", headers=crew.lead_headers).get_json()
    reassigned = [e["details"] for e in history if e["action"] == "reassigned"]
    assert (reassigned[0]["from_canvasser_id"], reassigned[0]["team_id"]) == (crew.cy.id, crew.team.id)
    assert (reassigned[1]["from_team_id"], reassigned[1]["canvasser_id"]) == (crew.team.id, crew.ana.id)


def test_a_canvasser_on_a_team_also_keeps_their_own_leases(client, crew, db_session):
    own_turf = make_turf(db_session, org=crew.org, households=[make_household(db_session, org=crew.org)])
    own = make_assignment(db_session, org=crew.org, turf=own_turf, canvasser=crew.ana, campaign=crew.campaign,
                          leased_until=NOW() + timedelta(hours=200))
    lease = lease_to_team(client, crew, lease_hours=5)
    mine = client.get("/v1/me/assignments", headers=crew.headers[crew.ana.id]).get_json()
    assert [(a["id"], a["team"]) for a in mine] == [
        (lease["id"], {"id": crew.team.id, "name": "Roscoe crew"}), (own.id, None)]
