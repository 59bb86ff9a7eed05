"""Two leads assigning the same turf at the same moment: exactly one wins; a team's membership changing while
its lease is made: the lease ends up with the team as it is after both (real commits, separate connections)."""

import pytest
from sqlalchemy import func, select

from canvass.turfs.leases import assign_turf
from canvass.turfs.models import Assignment, AssignmentMember, TurfEvent
from canvass.turfs.teams import remove_team_member
from tests.concurrency import hold_while, run_at_once
from tests.factories import auth_header, make_campaign, make_household, make_org, make_team, make_turf, make_user


def committed_field(app):
    from api.extensions import db

    with app.app_context():
        org = make_org(db.session)
        leads = [make_user(db.session, org=org, roles=["field_lead"]) for _ in range(2)]
        canvassers = [make_user(db.session, org=org, roles=["canvasser"]) for _ in range(2)]
        campaign = make_campaign(db.session, org=org)
        turf = make_turf(db.session, org=org, households=[make_household(db.session, org=org) for _ in range(4)])
        team = make_team(db.session, org=org, members=canvassers)
        ids = dict(org=org.id, turf=turf.id, campaign=campaign.id, leads=[u.id for u in leads], team=team.id,
                   canvassers=[u.id for u in canvassers], headers=[auth_header(db.session, u) for u in leads])
        db.session.commit()
        return ids


def post_assignment(app, ids, slot, holder=None):
    with app.test_client() as client:
        response = client.post(
            f"/v1/turfs/{ids['turf']}/assignment", headers=ids["headers"][slot],
            json={**(holder or {"canvasser_id": ids["canvassers"][slot]}), "campaign_id": ids["campaign"]},
        )
        return response.status_code, response.get_json()


def outcome(app, ids):
    from api.extensions import db

    with app.app_context():
        active = db.session.execute(select(Assignment).where(
            Assignment.turf_id == ids["turf"], Assignment.status == "active")).scalars().all()
        assigned_events = db.session.execute(select(func.count()).select_from(TurfEvent).where(
            TurfEvent.turf_id == ids["turf"], TurfEvent.action == "assigned")).scalar_one()
        return active, assigned_events


@pytest.mark.parametrize("to_team", [False, True])
def test_two_leads_assigning_at_once_get_one_201_and_one_409(committing_app, to_team):
    ids = committed_field(committing_app)
    # With to_team, the first lead leases the turf to the team, the second to a canvasser.
    holders = [{"team_id": ids["team"]} if to_team else None, None]
    answers = run_at_once(*(lambda slot=slot: post_assignment(committing_app, ids, slot, holders[slot]) for slot in (0, 1)))
    assert sorted(status for status, _ in answers) == [201, 409], answers
    loser = next(body for status, body in answers if status == 409)
    assert loser["error"]["code"] == "turf_already_assigned"
    winner = next(body for status, body in answers if status == 201)
    active, events = outcome(committing_app, ids)
    assert [a.id for a in active] == [winner["id"]] and events == 1


@pytest.mark.parametrize("first_commits, second_status", [(True, 409), (False, 201)])
def test_a_lead_waiting_on_another_leads_open_assignment_gets_the_right_answer(committing_app, first_commits,
                                                                               second_status):
    ids = committed_field(committing_app)
    _, (status, body) = hold_while(
        committing_app,
        lambda session: assign_turf(session, organization_id=ids["org"], turf_id=ids["turf"],
                                    canvasser_id=ids["canvassers"][0], campaign_id=ids["campaign"],
                                    actor_id=ids["leads"][0], default_lease_hours=72),
        lambda: post_assignment(committing_app, ids, 1),
        commit=first_commits,
    )
    assert status == second_status, body
    active, events = outcome(committing_app, ids)
    assert len(active) == 1 and events == 1
    assert active[0].canvasser_id == ids["canvassers"][0 if first_commits else 1]


def lease_members(app, assignment_id):
    from api.extensions import db

    with app.app_context():
        return db.session.execute(
            select(AssignmentMember.user_id, AssignmentMember.left_at.is_not(None))
            .where(AssignmentMember.assignment_id == assignment_id).order_by(AssignmentMember.user_id)
        ).all()


def test_a_team_lease_waiting_on_a_member_removal_leaves_the_removed_member_out(committing_app):
    ids = committed_field(committing_app)
    leaving, staying = ids["canvassers"]
    _, (status, body) = hold_while(
        committing_app,
        lambda session: remove_team_member(session, organization_id=ids["org"], team_id=ids["team"],
                                           actor_id=ids["leads"][0], user_id=leaving),
        lambda: post_assignment(committing_app, ids, 1, {"team_id": ids["team"]}),
    )
    assert status == 201, body
    assert lease_members(committing_app, body["id"]) == [(staying, False)]


def test_a_member_removal_waiting_on_a_team_lease_takes_them_off_it(committing_app):
    from api.extensions import db

    ids = committed_field(committing_app)
    leaving, staying = ids["canvassers"]
    def remove():
        with committing_app.test_client() as client:
            response = client.delete(f"/v1/teams/{ids['team']}/members/{leaving}", headers=ids["headers"][1])
            return response.status_code, response.get_json()

    lease, (status, body) = hold_while(
        committing_app,
        lambda session: assign_turf(session, organization_id=ids["org"], turf_id=ids["turf"], team_id=ids["team"],
                                    campaign_id=ids["campaign"], actor_id=ids["leads"][0], default_lease_hours=72),
        remove,
    )
    assert status == 200, body
    assert lease_members(committing_app, lease.id) == [(leaving, True), (staying, False)]
    with committing_app.app_context():
        changed = db.session.execute(select(TurfEvent.details).where(
            TurfEvent.assignment_id == lease.id, TurfEvent.action == "members_changed")).scalars().all()
    assert changed == [{"team_id": ids["team"], "joined": [], "left": [leaving]}]
