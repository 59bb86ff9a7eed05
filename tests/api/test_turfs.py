"""The field lead's turf endpoints: FeatureCollection with progress, drawn turfs, cuts, leases, history."""
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import text

from canvass.canvassing.records import Contact
from tests.asserts import assert_error
from tests.canvass.turfs.areas import WARD_BOX, load_area
from tests.factories import auth_header, make_campaign, make_org, make_turf, make_user

WEST_HALF = mapping(box(WARD_BOX[0], WARD_BOX[1], -87.6935, WARD_BOX[3]))


@pytest.fixture
def ward(db_session):
    org = make_org(db_session)
    load_area(db_session, org, households=300)
    lead = make_user(db_session, org=org, roles=["field_lead"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    return type("Ward", (), dict(
        org=org, lead=lead, canvasser=canvasser, campaign=make_campaign(db_session, org=org),
        lead_headers=auth_header(db_session, lead), canvasser_headers=auth_header(db_session, canvasser),
    ))


def cut(client, ward, doors=60):
    response = client.post("/v1/turf-cuts", json={"ward": "1", "target_doors": doors}, headers=ward.lead_headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def contact(session, org, campaign, household_id, *, result_code=None, minutes_ago=0):
    session.add(Contact(
        organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id, household_id=household_id,
        occurred_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), result_code=result_code,
        responses=None if result_code else [{"question_id": 1, "answer": "yes"}],
    ))
    session.flush()


def test_a_cut_answers_its_quality_and_turfs_and_the_ward_lists_them_as_geojson(client, ward, db_session):
    body = cut(client, ward)
    assert body["ward"] == "1" and body["target_doors"] == 60
    quality = body["quality"]
    assert quality["turf_count"] == 5 and quality["share_within_15pct"] == 1.0 and quality["households"] == 300
    assert body["turfs"]["type"] == "FeatureCollection" and len(body["turfs"]["features"]) == 5

    listed = client.get("/v1/turfs?ward=1", headers=ward.lead_headers)
    assert listed.status_code == 200
    collection = listed.get_json()
    assert collection["type"] == "FeatureCollection" and len(collection["features"]) == 5
    first = collection["features"][0]
    assert first["type"] == "Feature" and isinstance(first["id"], int)
    assert first["geometry"]["type"] == "MultiPolygon"
    properties = first["properties"]
    assert {"name", "ward", "door_count", "status", "progress"} <= set(properties)
    assert properties["ward"] == "1" and properties["status"] == "ready" and properties["assignment"] is None
    assert properties["progress"] == {"doors": properties["door_count"], "knocked": 0, "contacted": 0}
    assert client.get(f"/v1/turf-cuts/{body['id']}", headers=ward.lead_headers).get_json()["quality"] == quality


def test_progress_counts_doors_knocked_and_talked_to(client, ward, db_session):
    cut(client, ward, doors=300)
    turf_id = client.get("/v1/turfs?ward=1", headers=ward.lead_headers).get_json()["features"][0]["id"]
    households = db_session.execute(
        text("SELECT household_id FROM turf_stops WHERE turf_id = :t ORDER BY seq LIMIT 3"), {"t": turf_id}
    ).scalars().all()
    contact(db_session, ward.org, ward.campaign, households[0], result_code="not_home", minutes_ago=-1)
    contact(db_session, ward.org, ward.campaign, households[0], minutes_ago=-2)
    contact(db_session, ward.org, ward.campaign, households[1], result_code="refused", minutes_ago=-1)
    contact(db_session, ward.org, ward.campaign, households[2], minutes_ago=60 * 24)  # before the turf existed
    properties = client.get(f"/v1/turfs/{turf_id}", headers=ward.lead_headers).get_json()["properties"]
    assert properties["progress"] == {"doors": 300, "knocked": 2, "contacted": 1}
    other = make_campaign(db_session, org=ward.org)
    assert client.get(f"/v1/turfs?ward=1&campaign_id={other.id}",
                      headers=ward.lead_headers).get_json()["features"][0]["properties"]["progress"]["knocked"] == 0


def test_a_lead_draws_a_turf(client, ward):
    response = client.post("/v1/turfs", json={"name": "Around the park", "geometry": WEST_HALF}, headers=ward.lead_headers)
    assert response.status_code == 201
    feature = response.get_json()
    assert feature["properties"]["name"] == "Around the park" and feature["properties"]["origin"] == "drawn"
    assert feature["properties"]["door_count"] > 0


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"name": "X", "geometry": {"type": "Polygon", "coordinates": [[[-87.70, 41.94], [-87.69, 41.95], [-87.69, 41.94],
                                                                        [-87.70, 41.95], [-87.70, 41.94]]]}}, 422, "invalid_geometry"),
        ({"name": "X", "geometry": {"type": "Point", "coordinates": [-87.69, 41.94]}}, 422, "invalid_geometry"),
        ({"name": "X", "geometry": {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]}}, 422,
         "invalid_geometry"),
        ({"name": "X", "geometry": {"type": "Polygon", "coordinates": [[[-97, 141], [-96, 41], [-96, 42], [-97, 141]]]}},
         422, "invalid_geometry"),
        ({"name": "X", "geometry": mapping(box(-87.60, 41.80, -87.59, 41.81))}, 422, "empty_turf"),
        ({"name": "X", "geometry": WEST_HALF, "color": "red"}, 422, "validation_failed"),
        ({"geometry": WEST_HALF}, 422, "validation_failed"),
        ({"name": "X", "geometry": "POLYGON((0 0,1 0,1 1,0 0))"}, 422, "validation_failed"),
        ({"name": "X", "geometry": WEST_HALF, "ward": "77"}, 404, "ward_not_found"),
    ],
)
def test_a_bad_drawn_turf_gets_a_clear_error(client, ward, body, status, code):
    response = client.post("/v1/turfs", json=body, headers=ward.lead_headers)
    assert_error(response, status, code)
    assert client.get("/v1/turfs", headers=ward.lead_headers).get_json()["features"] == []


def test_malformed_json_is_a_400(client, ward):
    response = client.post("/v1/turfs", data="{nope", content_type="application/json", headers=ward.lead_headers)
    assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize(
    "body",
    [
        {"ward": "1", "target_doors": 0},
        {"ward": "1", "target_doors": 1_000_000},
        {"ward": "1", "target_doors": "100"},
        {"ward": "1", "target_doors": 12.5},
        {"ward": "1"},
        {"ward": "1", "precincts": ["1-1"], "target_doors": 50},
        {"target_doors": 50},
        {"ward": "1", "target_doors": 50, "algorithm": "kmeans"},
    ],
)
def test_a_bad_cut_request_is_refused(client, ward, body):
    response = client.post("/v1/turf-cuts", json=body, headers=ward.lead_headers)
    assert_error(response, 422, "validation_failed")
    assert client.get("/v1/turfs", headers=ward.lead_headers).get_json()["features"] == []


def test_turf_endpoints_check_roles_and_tenants(client, ward, db_session):
    assert_error(client.get("/v1/turfs", headers=ward.canvasser_headers), 403, "forbidden")
    assert_error(client.post("/v1/turf-cuts", json={"ward": "1", "target_doors": 50}, headers=ward.canvasser_headers),
                 403, "forbidden")
    assert_error(client.get("/v1/turfs"), 401, "missing_token")
    stranger_org = make_org(db_session)
    stranger = make_user(db_session, org=stranger_org, roles=["field_lead"])
    theirs = make_turf(db_session, org=stranger_org)
    headers = auth_header(db_session, stranger)
    body = cut(client, ward)
    mine = body["turfs"]["features"][0]["id"]
    assert_error(client.get(f"/v1/turfs/{mine}", headers=headers), 404, "turf_not_found")
    assert_error(client.get(f"/v1/turf-cuts/{body['id']}", headers=headers), 404, "cut_not_found")
    assert_error(client.get("/v1/turfs?ward=1", headers=headers), 404, "ward_not_found")
    assert_error(client.post(f"/v1/turfs/{theirs.id}/assignment", headers=ward.lead_headers,
                             json={"canvasser_id": ward.canvasser.id, "campaign_id": ward.campaign.id}), 404, "turf_not_found")
    assert_error(client.get(f"/v1/turfs/{theirs.id}/history", headers=ward.lead_headers), 404, "turf_not_found")


def test_the_lease_lifecycle_over_http_and_its_history(client, ward):
    turf_id = cut(client, ward)["turfs"]["features"][0]["id"]
    url = f"/v1/turfs/{turf_id}/assignment"
    assert_error(client.get(url, headers=ward.lead_headers), 404, "no_active_assignment")
    created = client.post(url, json={"canvasser_id": ward.canvasser.id, "campaign_id": ward.campaign.id, "lease_hours": 8},
                          headers=ward.lead_headers)
    assert created.status_code == 201
    assignment = created.get_json()
    assert assignment["status"] == "active" and assignment["turf"]["id"] == turf_id
    assert assignment["canvasser"]["id"] == ward.canvasser.id and assignment["campaign"]["id"] == ward.campaign.id
    assert assignment["leased_until"].endswith("+00:00")
    again = client.post(url, json={"canvasser_id": ward.canvasser.id, "campaign_id": ward.campaign.id},
                        headers=ward.lead_headers)
    assert_error(again, 409, "turf_already_assigned")
    listed = client.get("/v1/turfs?ward=1&status=checked_out", headers=ward.lead_headers).get_json()["features"]
    assert [f["id"] for f in listed] == [turf_id] and listed[0]["properties"]["assignment"]["id"] == assignment["id"]

    until = (datetime.now(UTC) + timedelta(hours=30)).isoformat()
    extended = client.patch(url, json={"leased_until": until, "reason": "weekend"}, headers=ward.lead_headers)
    assert extended.status_code == 200 and extended.get_json()["leased_until"] > assignment["leased_until"]
    other = make_user_in(client, ward)
    replaced = client.put(url, json={"canvasser_id": other, "reason": "swap"}, headers=ward.lead_headers)
    assert replaced.status_code == 200 and replaced.get_json()["canvasser"]["id"] == other
    released = client.delete(f"{url}?reason=done+for+today", headers=ward.lead_headers)
    assert released.status_code == 200 and released.get_json()["status"] == "released"
    assert_error(client.delete(url, headers=ward.lead_headers), 409, "turf_not_assigned")

    events = client.get(f"/v1/turfs/{turf_id}/history", headers=ward.lead_headers).get_json()
    assert [e["action"] for e in events] == ["created", "assigned", "extended", "reassigned", "released"]
    assert events[-1]["reason"] == "done for today" and events[-1]["actor"]["id"] == ward.lead.id
    assert events[0]["actor"]["id"] == ward.lead.id  # the lead made the cut
    assert all(e["created_at"] for e in events)


def make_user_in(client, ward):
    from api.extensions import db

    return make_user(db.session, org=ward.org, roles=["canvasser"]).id


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"canvasser_id": "x", "campaign_id": 1}, 422, "validation_failed"),
        ({"canvasser_id": 1}, 422, "validation_failed"),
        ({"canvasser_id": 1, "campaign_id": 1, "lease_hours": 0}, 422, "validation_failed"),
        ({"canvasser_id": 1, "campaign_id": 1, "lease_hours": 5, "leased_until": "2030-01-01T00:00:00+00:00"}, 422,
         "validation_failed"),
        ({"canvasser_id": 1, "campaign_id": 1, "leased_until": "2030-01-01T00:00:00"}, 422, "validation_failed"),
        ({"canvasser_id": 1, "campaign_id": 1, "leased_until": "tomorrow"}, 422, "validation_failed"),
    ],
)
def test_a_bad_assignment_request_is_refused(client, ward, body, status, code):
    turf_id = cut(client, ward)["turfs"]["features"][0]["id"]
    assert_error(client.post(f"/v1/turfs/{turf_id}/assignment", json=body, headers=ward.lead_headers), status, code)


def test_a_lease_in_the_past_is_refused_and_nothing_changes(client, ward):
    turf_id = cut(client, ward)["turfs"]["features"][0]["id"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = client.post(f"/v1/turfs/{turf_id}/assignment", headers=ward.lead_headers,
                           json={"canvasser_id": ward.canvasser.id, "campaign_id": ward.campaign.id, "leased_until": past})
    assert_error(response, 422, "lease_in_past")
    turf = client.get(f"/v1/turfs/{turf_id}", headers=ward.lead_headers).get_json()
    assert turf["properties"]["status"] == "ready"
    assert [e["action"] for e in client.get(f"/v1/turfs/{turf_id}/history", headers=ward.lead_headers).get_json()] == ["created"]


def test_a_lead_completes_archives_and_reopens_a_turf(client, ward):
    turf_id = cut(client, ward)["turfs"]["features"][0]["id"]
    url = f"/v1/turfs/{turf_id}"
    client.post(f"{url}/assignment", json={"canvasser_id": ward.canvasser.id, "campaign_id": ward.campaign.id},
                headers=ward.lead_headers)
    assert_error(client.patch(url, json={"status": "archived"}, headers=ward.lead_headers), 409, "turf_checked_out")
    assert_error(client.patch(url, json={"status": "checked_out"}, headers=ward.lead_headers), 422, "validation_failed")
    done = client.patch(url, json={"status": "completed", "name": "North end"}, headers=ward.lead_headers)
    assert done.status_code == 200 and done.get_json()["properties"]["status"] == "completed"
    assert done.get_json()["properties"]["name"] == "North end"
    assert client.patch(url, json={"status": "archived"}, headers=ward.lead_headers).status_code == 200
    assert client.get("/v1/turfs?ward=1&status=archived", headers=ward.lead_headers).get_json()["features"][0]["id"] == turf_id
    assert client.patch(url, json={"status": "ready"}, headers=ward.lead_headers).get_json()["properties"]["status"] == "ready"
