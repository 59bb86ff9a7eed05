"""Field leads see integrity-flagged contacts; flags never turn work away."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, iso, make_canvass
from tests.factories import auth_header, make_user

FAR = {"lat": 41.9518, "lon": -87.71, "accuracy_m": 10}  # ~200 m from the first door


@pytest.fixture
def canvass(db_session):
    return make_canvass(db_session, doors=6)


@pytest.fixture
def lead_headers(db_session, canvass):
    return auth_header(db_session, make_user(db_session, org=canvass.org, roles=["field_lead"]))


def sync(client, canvass, items):
    results = client.post("/v1/sync", json={"contacts": items}, headers=canvass.headers).get_json()["results"]
    assert {r["status"] for r in results} == {"created"}, results
    return [r["id"] for r in results]


def test_lead_lists_flagged_contacts_newest_first_with_the_distance_to_the_door(client, canvass, lead_headers):
    start = datetime.now(UTC) - timedelta(minutes=40)
    far_id, = sync(client, canvass, [contact(canvass, location=FAR, notes="gate locked")])
    fast_ids = sync(client, canvass, [contact(canvass, household=door, occurred_at=iso(start + timedelta(seconds=8 * i)))
                                      for i, door in enumerate(canvass.households[:5])])
    sync(client, canvass, [contact(canvass, household=canvass.households[5])])  # nothing odd
    response = client.get("/v1/contacts/flagged", headers=lead_headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()["data"]
    assert [row["contact"]["id"] for row in data] == sorted([far_id, *fast_ids], reverse=True)
    far = next(row for row in data if row["contact"]["id"] == far_id)
    assert far["contact"]["flags"] == ["far_from_door"]
    assert 190 < far["distance_m"] < 210
    assert far["contact"]["location"] == {"lat": 41.9518, "lon": -87.71, "accuracy_m": 10.0}
    assert far["canvasser_name"] == canvass.canvasser.name
    assert far["address"]
    only_fast = client.get("/v1/contacts/flagged", query_string={"flag": "too_fast"}, headers=lead_headers).get_json()
    assert sorted(row["contact"]["id"] for row in only_fast["data"]) == sorted(fast_ids)


def test_flagged_contacts_page_by_cursor_and_stay_in_the_organization(client, db_session, canvass, lead_headers):
    ids = sync(client, canvass, [contact(canvass, location=FAR) for _ in range(3)])
    other = make_canvass(db_session)
    sync(client, other, [contact(other, location=FAR)])
    first = client.get("/v1/contacts/flagged", query_string={"limit": 2}, headers=lead_headers).get_json()
    rest = client.get("/v1/contacts/flagged", query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=lead_headers).get_json()
    assert [row["contact"]["id"] for row in first["data"] + rest["data"]] == sorted(ids, reverse=True)
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("query", [{"flag": "lazy"}, {"limit": 0}, {"limit": 501}, {"cursor": "x"}, {"canvasser_id": "me"}])
def test_bad_flagged_queries_are_422(client, lead_headers, query):
    assert_error(client.get("/v1/contacts/flagged", query_string=query, headers=lead_headers), 422, "validation_failed")


def test_canvassers_do_not_see_flags(client, canvass):
    assert_error(client.get("/v1/contacts/flagged", headers=canvass.headers), 403, "forbidden")
