"""The phone's walk list and assignments (CONTRACT.md): shape, order, filters, last results, ETag, access."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from canvass.canvassing.records import Contact
from canvass.turfs.models import Turf
from canvass.turfs.services import create_drawn_turf
from tests.asserts import assert_error
from tests.canvass.turfs.areas import WARD_BOX, load_area
from tests.factories import (
    auth_header,
    make_assignment,
    make_building,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
    tenant_row,
)

NOW = lambda: datetime.now(UTC)  # noqa: E731


@pytest.fixture
def walk(db_session):
    org = make_org(db_session)
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    campaign = make_campaign(db_session, org=org, questions=(("Who will you vote for?", "choice", ["A", "B"]),))
    building = make_building(db_session, org=org, line1="2150 W ROSCOE ST")
    flats = [make_household(db_session, org=org, building=building, unit=u) for u in ("1", "2")]
    house = make_household(db_session, org=org, line1="2160 W ROSCOE ST", lon=-87.7099)
    households = flats + [house]
    people = [make_person(db_session, org=org, household=h, first_name="Ana", last_name=f"Doe{i}",
                          phone="13125550100", email="ana@example.org") for i, h in enumerate(households)]
    turf = make_turf(db_session, org=org, households=households, name="Roscoe")
    assignment = make_assignment(db_session, org=org, turf=turf, canvasser=canvasser, campaign=campaign)
    return type("Walk", (), dict(
        org=org, canvasser=canvasser, campaign=campaign, households=households, people=people, turf=turf,
        assignment=assignment, headers=auth_header(db_session, canvasser),
        url=f"/v1/assignments/{assignment.id}/walklist",
    ))


def contact(session, walk, household, *, result_code=None, minutes_ago=0, campaign=None):
    session.add(Contact(
        organization_id=walk.org.id, client_id=uuid.uuid4(), campaign_id=(campaign or walk.campaign).id,
        household_id=household.id, assignment_id=walk.assignment.id, canvasser_id=walk.canvasser.id,
        occurred_at=NOW() - timedelta(minutes=minutes_ago), result_code=result_code,
        responses=None if result_code else [{"question_id": 1, "answer": "A"}],
    ))
    session.flush()


def stops(client, walk):
    response = client.get(walk.url, headers=walk.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["stops"]


def test_the_walk_list_has_the_contract_shape_in_walking_order(client, walk):
    response = client.get(walk.url, headers=walk.headers)
    assert response.status_code == 200 and response.headers["ETag"]
    body = response.get_json()
    assert {"assignment_id", "turf", "campaign", "stops"} <= set(body) and body["assignment_id"] == walk.assignment.id
    assert body["turf"]["id"] == walk.turf.id and body["turf"]["name"] == "Roscoe"
    assert body["turf"]["geometry"]["type"] == "MultiPolygon"
    campaign = body["campaign"]
    assert set(campaign) == {"id", "name", "script", "questions", "result_codes", "pledge_types", "translations"}
    assert campaign["questions"] == [{"id": campaign["questions"][0]["id"], "prompt": "Who will you vote for?",
                                      "kind": "choice", "choices": ["A", "B"]}]
    assert {"code": "not_home", "label": "Not home"} in campaign["result_codes"]
    assert {"code": "vote", "label": "Pledge to vote"} in campaign["pledge_types"]
    assert [s["seq"] for s in body["stops"]] == [1, 2, 3]
    first = body["stops"][0]
    assert set(first) == {"seq", "household_id", "address", "location", "people", "last_result", "languages"}
    assert first["address"] == {"line1": "2150 W ROSCOE ST", "unit": "1", "city": "Chicago", "state": "IL", "zip": "60618"}
    assert first["location"] == {"lat": 41.95, "lon": -87.71}
    assert first["people"] == [{"id": walk.people[0].id, "first_name": "Ana", "last_name": "Doe0", "language": None}]
    assert first["last_result"] is None
    # Only what a canvasser needs: no phone numbers or e-mail addresses anywhere.
    assert b"5550100" not in response.data and b"example.org" not in response.data


def test_doors_and_people_the_organization_must_not_knock_are_left_out(client, walk, db_session):
    walk.households[0].do_not_contact = True
    walk.households[1].wrong_address = True
    house = walk.households[2]
    make_person(db_session, org=walk.org, household=house, first_name="Moved", residence_current=False)
    make_person(db_session, org=walk.org, household=house, first_name="Late", deceased=True)
    make_person(db_session, org=walk.org, household=house, first_name="Private", do_not_contact=True)
    make_person(db_session, org=walk.org, household=house, first_name="Merged", merged_into_id=walk.people[2].id)
    db_session.flush()
    result = stops(client, walk)
    assert [s["household_id"] for s in result] == [house.id]
    assert [p["id"] for p in result[0]["people"]] == [walk.people[2].id]


def test_last_result_is_the_latest_contact_of_this_campaign(client, walk, db_session):
    flat1, flat2, house = walk.households
    contact(db_session, walk, flat1, result_code="not_home", minutes_ago=30)
    contact(db_session, walk, flat1, minutes_ago=10)  # a conversation later: canvassed
    contact(db_session, walk, flat2, result_code="come_back", minutes_ago=5)
    contact(db_session, walk, flat2, result_code="not_home", minutes_ago=50)  # older, synced late
    contact(db_session, walk, house, result_code="moved", campaign=make_campaign(db_session, org=walk.org))
    assert [s["last_result"] for s in stops(client, walk)] == ["canvassed", "come_back", None]


def test_a_refusal_takes_the_door_off_unless_the_campaign_recontacts_refusals(client, walk, db_session):
    contact(db_session, walk, walk.households[1], result_code="refused")
    assert [s["household_id"] for s in stops(client, walk)] == [walk.households[0].id, walk.households[2].id]
    walk.campaign.settings = {"recontact_refused": True}
    db_session.flush()
    assert [s["last_result"] for s in stops(client, walk)] == [None, "refused", None]


def test_if_none_match_answers_304_until_something_changes(client, walk, db_session):
    first = client.get(walk.url, headers=walk.headers)
    etag = first.headers["ETag"]
    again = client.get(walk.url, headers={**walk.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    contact(db_session, walk, walk.households[2], result_code="not_home")
    changed = client.get(walk.url, headers={**walk.headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["stops"][2]["last_result"] == "not_home"


def test_another_canvassers_assignment_is_not_found_but_leads_may_read_it(client, walk, db_session):
    other = make_user(db_session, org=walk.org, roles=["canvasser"])
    assert_error(client.get(walk.url, headers=auth_header(db_session, other)), 404, "assignment_not_found")
    lead = make_user(db_session, org=walk.org, roles=["field_lead"])
    assert client.get(walk.url, headers=auth_header(db_session, lead)).status_code == 200
    stranger_lead = make_user(db_session, org=make_org(db_session), roles=["field_lead"])
    assert_error(client.get(walk.url, headers=auth_header(db_session, stranger_lead)), 404, "assignment_not_found")
    assert_error(client.get("/v1/assignments/987654321/walklist", headers=walk.headers), 404, "assignment_not_found")
    assert_error(client.get(walk.url), 401, "missing_token")


@pytest.mark.parametrize("how", ["released", "expired_by_cron", "past_its_time"])
def test_an_ended_assignment_is_404_assignment_ended_for_the_canvasser(client, walk, db_session, how):
    if how == "released":
        walk.assignment.status, walk.assignment.ended_at = "released", NOW()
    elif how == "expired_by_cron":
        walk.assignment.status, walk.assignment.ended_at = "expired", NOW()
    else:
        walk.assignment.leased_until = NOW() - timedelta(minutes=1)
    db_session.flush()
    error = assert_error(client.get(walk.url, headers=walk.headers), 404, "assignment_ended")
    assert error["details"]["status"] in ("released", "expired")
    lead = make_user(db_session, org=walk.org, roles=["organizer"])
    assert client.get(walk.url, headers=auth_header(db_session, lead)).status_code == 200


def test_my_assignments_have_the_contract_shape(client, walk, db_session):
    response = client.get("/v1/me/assignments", headers=walk.headers)
    assert response.status_code == 200
    (item,) = response.get_json()
    assert {"id", "status", "leased_until", "turf", "campaign"} <= set(item)
    assert item["id"] == walk.assignment.id and item["status"] == "active"
    assert item["turf"] == {"id": walk.turf.id, "name": "Roscoe", "ward": None, "door_count": 3}
    assert item["campaign"] == {"id": walk.campaign.id, "name": walk.campaign.name}
    lead = make_user(db_session, org=walk.org, roles=["field_lead"])
    assert_error(client.get("/v1/me/assignments", headers=auth_header(db_session, lead)), 403, "forbidden")


def test_a_canvasser_reads_and_hands_back_their_own_assignment(client, walk, db_session):
    url = f"/v1/assignments/{walk.assignment.id}"
    assert client.get(url, headers=walk.headers).get_json()["turf"]["id"] == walk.turf.id
    assert_error(client.patch(url, json={"lease_hours": 5}, headers=walk.headers), 403, "forbidden")
    other = make_user(db_session, org=walk.org, roles=["canvasser"])
    assert_error(client.delete(url, headers=auth_header(db_session, other)), 404, "assignment_not_found")
    assert_error(client.get(url, headers=auth_header(db_session, other)), 404, "assignment_not_found")
    released = client.delete(url, headers=walk.headers)
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert client.get("/v1/me/assignments", headers=walk.headers).get_json() == []


def test_a_lead_extends_by_assignment_id(client, walk, db_session):
    lead = make_user(db_session, org=walk.org, roles=["field_lead"])
    headers = auth_header(db_session, lead)
    url = f"/v1/assignments/{walk.assignment.id}"
    assert_error(client.patch(url, json={}, headers=headers), 422, "validation_failed")
    extended = client.patch(url, json={"lease_hours": 200}, headers=headers)
    assert extended.status_code == 200
    assert datetime.fromisoformat(extended.get_json()["leased_until"]) > NOW() + timedelta(hours=199)


def test_a_cut_turfs_walk_list_keeps_the_units_of_a_building_together(client, db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=120)
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    campaign = make_campaign(db_session, org=org)
    listing = create_drawn_turf(db_session, organization_id=org.id, actor_id=None, name="All", geometry={
        "type": "Polygon", "coordinates": [[[WARD_BOX[0], WARD_BOX[1]], [WARD_BOX[2], WARD_BOX[1]],
                                            [WARD_BOX[2], WARD_BOX[3]], [WARD_BOX[0], WARD_BOX[3]],
                                            [WARD_BOX[0], WARD_BOX[1]]]]})
    assignment = make_assignment(db_session, org=org, turf=tenant_row(db_session, Turf, listing.id), canvasser=canvasser,
                                 campaign=campaign)
    body = client.get(f"/v1/assignments/{assignment.id}/walklist", headers=auth_header(db_session, canvasser)).get_json()
    addresses = [s["address"]["line1"] for s in body["stops"]]
    assert len(addresses) == 120
    runs = [a for i, a in enumerate(addresses) if i == 0 or addresses[i - 1] != a]
    assert len(runs) == len(set(addresses))
    assert all(s["people"] for s in body["stops"])
