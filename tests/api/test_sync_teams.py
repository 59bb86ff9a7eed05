"""POST /v1/sync for a turf leased to a team: a member's work counts while they were on the team."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from canvass.canvassing.records import Contact
from canvass.turfs import teams
from tests.canvass.canvassing.fieldwork import contact, iso, make_canvass, minutes_ago, pledge
from tests.factories import auth_header, make_assignment, make_team, make_turf, make_user


@pytest.fixture
def team_canvass(db_session):
    """make_canvass's turf, leased to a team of two (Ana and Ben) instead of one canvasser."""
    canvass = make_canvass(db_session)
    db_session.delete(canvass.assignment)
    db_session.flush()
    ana = canvass.canvasser
    ben = make_user(db_session, org=canvass.org, roles=["canvasser"])
    team = make_team(db_session, org=canvass.org, members=[ana, ben])
    canvass.assignment = make_assignment(db_session, org=canvass.org, turf=canvass.turf, team=team,
                                         campaign=canvass.campaign, leased_at=datetime.now(UTC) - timedelta(hours=5))
    canvass.team, canvass.ana, canvass.ben = team, ana, ben
    return canvass


def sync_as(client, session, user, contacts=(), pledges=()):
    response = client.post("/v1/sync", json={"device_id": f"phone-{user.id}", "contacts": list(contacts),
                                             "pledges": list(pledges)}, headers=auth_header(session, user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def rejection(result):
    assert result["status"] == "rejected", result
    return result["error"]["code"], set(result["error"]["details"])


def change_members(session, canvass, *, add=(), remove=()):
    for user in add:
        teams.add_team_member(session, organization_id=canvass.org.id, team_id=canvass.team.id, actor_id=None,
                              user_id=user.id)
    for user in remove:
        teams.remove_team_member(session, organization_id=canvass.org.id, team_id=canvass.team.id, actor_id=None,
                                 user_id=user.id)
    session.flush()


def backdate_membership(session, canvass, user, *, joined=None, left=None):
    """Membership changes happen 'now'; move them back to build an afternoon's timeline."""
    session.execute(text("""
        UPDATE assignment_members SET joined_at = coalesce(CAST(:joined AS timestamptz), joined_at),
                                      left_at = coalesce(CAST(:left AS timestamptz), left_at)
         WHERE assignment_id = :a AND user_id = :u AND id = (
               SELECT max(id) FROM assignment_members WHERE assignment_id = :a AND user_id = :u)
    """), {"a": canvass.assignment.id, "u": user.id, "joined": joined, "left": left})


def test_each_member_syncs_their_own_work_on_the_teams_lease(client, db_session, team_canvass):
    canvass = team_canvass
    results = sync_as(client, db_session, canvass.ana, [contact(canvass)], [pledge(canvass)])
    results += sync_as(client, db_session, canvass.ben, [contact(canvass, household=canvass.households[1])])
    assert [r["status"] for r in results] == ["created", "created", "created"]
    stored = db_session.execute(select(Contact.id, Contact.canvasser_id, Contact.assignment_id)
                                .order_by(Contact.id)).all()
    assert [(c.canvasser_id, c.assignment_id) for c in stored] == [
        (canvass.ana.id, canvass.assignment.id), (canvass.ben.id, canvass.assignment.id)]


def test_a_canvasser_who_is_not_on_the_team_is_not_assigned(client, db_session, team_canvass):
    outsider = make_user(db_session, org=team_canvass.org, roles=["canvasser"])
    (result,) = sync_as(client, db_session, outsider, [contact(team_canvass)])
    assert rejection(result) == ("not_assigned", {"assignment_id"})
    (card,) = sync_as(client, db_session, outsider, pledges=[pledge(team_canvass)])
    assert rejection(card) == ("not_assigned", {"assignment_id"})
    assert db_session.execute(select(Contact)).first() is None


def test_a_removed_members_offline_work_from_before_counts_and_later_work_does_not(client, db_session, team_canvass):
    canvass = team_canvass
    change_members(db_session, canvass, remove=[canvass.ben])
    now = datetime.now(UTC)
    backdate_membership(db_session, canvass, canvass.ben, left=now - timedelta(hours=2))
    while_on = contact(canvass, occurred_at=iso(now - timedelta(hours=3)))  # the phone was offline since
    after = contact(canvass, occurred_at=iso(now - timedelta(hours=1)))
    results = sync_as(client, db_session, canvass.ben, [while_on, after])
    assert results[0]["status"] == "created"
    assert rejection(results[1]) == ("not_assigned", {"occurred_at"})
    # The lead's view and the phone agree: the lease is no longer Ben's.
    assert client.get("/v1/me/assignments", headers=auth_header(db_session, canvass.ben)).get_json() == []


def test_a_member_who_joined_late_is_credited_from_joining(client, db_session, team_canvass):
    canvass = team_canvass
    cy = make_user(db_session, org=canvass.org, roles=["canvasser"])
    change_members(db_session, canvass, add=[cy])
    now = datetime.now(UTC)
    backdate_membership(db_session, canvass, cy, joined=now - timedelta(hours=2))
    results = sync_as(client, db_session, cy, [contact(canvass, occurred_at=iso(now - timedelta(hours=3))),
                                               contact(canvass, occurred_at=iso(now - timedelta(hours=1)))])
    assert rejection(results[0]) == ("not_assigned", {"occurred_at"})
    assert results[1]["status"] == "created"


def test_leaving_and_rejoining_counts_both_stretches_and_not_the_gap(client, db_session, team_canvass):
    canvass = team_canvass
    now = datetime.now(UTC)
    change_members(db_session, canvass, remove=[canvass.ben])
    backdate_membership(db_session, canvass, canvass.ben, left=now - timedelta(hours=3))
    change_members(db_session, canvass, add=[canvass.ben])
    backdate_membership(db_session, canvass, canvass.ben, joined=now - timedelta(hours=1))
    at = [contact(canvass, occurred_at=iso(now - timedelta(hours=h))) for h in (4, 2, 0.5)]
    results = sync_as(client, db_session, canvass.ben, at)
    assert [r["status"] for r in results] == ["created", "rejected", "created"]


def test_a_team_lease_that_has_since_expired_still_takes_work_done_inside_it(client, db_session, team_canvass):
    canvass = team_canvass
    now = datetime.now(UTC)
    canvass.assignment.leased_until = now - timedelta(hours=2)
    canvass.assignment.status, canvass.assignment.ended_at = "expired", now - timedelta(hours=1)
    db_session.flush()
    results = sync_as(client, db_session, canvass.ben, [contact(canvass, occurred_at=iso(now - timedelta(hours=3))),
                                                        contact(canvass, occurred_at=minutes_ago(30))])
    assert results[0]["status"] == "created"
    assert rejection(results[1]) == ("not_assigned", {"occurred_at"})


def test_a_members_own_lease_and_the_teams_sync_in_one_batch(client, db_session, team_canvass):
    canvass = team_canvass
    own_turf = make_turf(db_session, org=canvass.org, households=canvass.households[:1])
    own = make_assignment(db_session, org=canvass.org, turf=own_turf, canvasser=canvass.ana,
                          campaign=canvass.campaign)
    results = sync_as(client, db_session, canvass.ana, [contact(canvass), contact(canvass, assignment_id=own.id)])
    assert [r["status"] for r in results] == ["created", "created"]


def test_a_team_members_upload_takes_as_many_statements_for_200_items_as_for_10(db_session, team_canvass, statements):
    from canvass.canvassing.sync import sync_field_work

    canvass = team_canvass
    change_members(db_session, canvass, remove=[canvass.ana])
    change_members(db_session, canvass, add=[canvass.ana])  # two stretches on the lease

    def upload(size):
        items = [contact(canvass, household=canvass.households[i % 3]) for i in range(size)]
        results = sync_field_work(db_session, organization_id=canvass.org.id, canvasser_id=canvass.ana.id,
                                  device_id="phone", contacts=items, pledges=[], max_items=500)
        assert {r.status for r in results} == {"created"}

    upload(10)  # warm-up
    statements.clear()
    upload(10)
    small = len(statements)
    statements.clear()
    upload(200)
    assert len(statements) == small
