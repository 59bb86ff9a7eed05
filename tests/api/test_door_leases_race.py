"""Two leads leasing overlapping turfs (sharing doors) for the same campaign at the same moment: exactly one
wins, the other gets 409 doors_already_leased (real commits, separate connections). Leases of other campaigns
do not wait on each other."""
import threading

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from canvass.turfs.leases import assign_turf
from canvass.turfs.models import Assignment
from tests.concurrency import hold_while, run_at_once
from tests.factories import auth_header, make_campaign, make_household, make_org, make_turf, make_user


def committed_overlap(app):
    """Turfs A (doors 0-3) and B (doors 2-5) share two doors."""
    from api.extensions import db

    with app.app_context():
        org = make_org(db.session)
        doors = [make_household(db.session, org=org, lon=-87.719 + i * 0.002, lat=41.95) for i in range(6)]
        leads = [make_user(db.session, org=org, roles=["field_lead"]) for _ in range(2)]
        canvassers = [make_user(db.session, org=org, roles=["canvasser"]) for _ in range(2)]
        campaigns = [make_campaign(db.session, org=org) for _ in range(2)]
        turfs = [make_turf(db.session, org=org, households=doors[0:4]),
                 make_turf(db.session, org=org, households=doors[2:6])]
        ids = dict(org=org.id, turfs=[t.id for t in turfs], campaigns=[c.id for c in campaigns],
                   leads=[u.id for u in leads], canvassers=[u.id for u in canvassers],
                   headers=[auth_header(db.session, u) for u in leads])
        db.session.commit()
        return ids


def post_assignment(app, ids, slot, campaign=0):
    with app.test_client() as client:
        response = client.post(
            f"/v1/turfs/{ids['turfs'][slot]}/assignment", headers=ids["headers"][slot],
            json={"canvasser_id": ids["canvassers"][slot], "campaign_id": ids["campaigns"][campaign]},
        )
        return response.status_code, response.get_json()


def live_leases(app, ids):
    from api.extensions import db

    with app.app_context():
        return db.session.execute(select(Assignment.turf_id, Assignment.campaign_id).where(
            Assignment.organization_id == ids["org"], Assignment.status == "active").order_by(Assignment.turf_id)).all()


def lease_first(ids, campaign=0):
    return lambda session: assign_turf(session, organization_id=ids["org"], turf_id=ids["turfs"][0],
                                       canvasser_id=ids["canvassers"][0], campaign_id=ids["campaigns"][campaign],
                                       actor_id=ids["leads"][0], default_lease_hours=72)


def test_two_leads_leasing_overlapping_turfs_at_once_get_one_201_and_one_409(committing_app):
    ids = committed_overlap(committing_app)
    answers = run_at_once(lambda: post_assignment(committing_app, ids, 0), lambda: post_assignment(committing_app, ids, 1))
    assert sorted(status for status, _ in answers) == [201, 409], answers
    loser = next(body for status, body in answers if status == 409)
    assert loser["error"]["code"] == "doors_already_leased" and loser["error"]["details"]["shared_doors"] == 2
    assert len(live_leases(committing_app, ids)) == 1


@pytest.mark.parametrize("first_commits, second_status", [(True, 409), (False, 201)])
def test_a_lead_waiting_on_an_overlapping_open_lease_gets_the_right_answer(committing_app, first_commits,
                                                                          second_status):
    ids = committed_overlap(committing_app)
    _, (status, body) = hold_while(committing_app, lease_first(ids), lambda: post_assignment(committing_app, ids, 1),
                                   commit=first_commits)
    assert status == second_status, body
    if status == 409:
        assert body["error"]["code"] == "doors_already_leased"
    winner = ids["turfs"][0 if first_commits else 1]
    assert live_leases(committing_app, ids) == [(winner, ids["campaigns"][0])]


def test_a_drawn_turf_waiting_on_an_open_lease_of_its_doors_is_refused(committing_app):
    ids = committed_overlap(committing_app)

    def draw():
        polygon = box(-87.719 + 3 * 0.002 - 0.0005, 41.9495, -87.719 + 5 * 0.002 + 0.0005, 41.9505)
        with committing_app.test_client() as client:
            response = client.post("/v1/turfs", json={"name": "Drawn", "geometry": mapping(polygon)},
                                   headers=ids["headers"][1])
            return response.status_code, response.get_json()

    _, (status, body) = hold_while(committing_app, lease_first(ids), draw)
    assert status == 409 and body["error"]["code"] == "doors_already_leased", body
    assert body["error"]["details"]["shared_doors"] == 1


def test_leases_of_another_campaign_do_not_wait(committing_app):
    from sqlalchemy.orm import Session

    from api.extensions import db

    ids = committed_overlap(committing_app)
    answers = []
    with committing_app.app_context():
        first = Session(db.engine)
        try:
            lease_first(ids, campaign=0)(first)  # left open, holding campaign 0's doors lock
            thread = threading.Thread(target=lambda: answers.append(post_assignment(committing_app, ids, 1, campaign=1)))
            thread.start()
            thread.join(timeout=20)
            finished = not thread.is_alive()
            first.commit()
        finally:
            first.close()
    thread.join(timeout=20)
    assert finished, "a lease for another campaign waited on this one"
    assert answers[0][0] == 201, answers
    assert live_leases(committing_app, ids) == [(ids["turfs"][0], ids["campaigns"][0]),
                                                 (ids["turfs"][1], ids["campaigns"][1])]
