"""The admin's boundary import endpoint and the leads' boundary reads."""
import json

import pytest

from tests.asserts import assert_error
from tests.data import CHICAGO
from tests.factories import auth_header, make_building, make_household, make_org, make_user

SQUARE = [[-87.72, 41.94], [-87.70, 41.94], [-87.70, 41.96], [-87.72, 41.96], [-87.72, 41.94]]


def ward_file(*features):
    return {"type": "FeatureCollection", "features": list(features) or [
        {"type": "Feature", "properties": {"ward": "47"}, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}]}


@pytest.fixture
def org_admin(db_session):
    org = make_org(db_session)
    admin = make_user(db_session, org=org, roles=["admin"])
    return org, auth_header(db_session, admin)


def test_an_admin_imports_the_real_ward_file_larger_than_the_usual_body_limit(client, org_admin):
    org, headers = org_admin
    raw = (CHICAGO / "wards_2023.geojson").read_text()
    body = json.dumps({"level": "ward", "name_field": "ward", "geojson": json.loads(raw)})
    assert len(body) > 2 * 1024 * 1024
    response = client.post("/v1/boundaries", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"level": "ward", "features": 50, "created": 50, "updated": 0, "unchanged": 0,
                                   "repaired": [], "buildings_placed": 0}


def test_leads_list_boundaries_with_their_doors_and_read_one_as_geojson(client, org_admin, db_session):
    org, headers = org_admin
    building = make_building(db_session, org=org)
    make_household(db_session, org=org, building=building, unit="1")
    make_household(db_session, org=org, building=building, unit="2")
    client.post("/v1/boundaries", json={"level": "ward", "name_field": "ward", "geojson": ward_file()}, headers=headers)
    lead_headers = auth_header(db_session, make_user(db_session, org=org, roles=["field_lead"]))
    listed = client.get("/v1/boundaries?level=ward", headers=lead_headers)
    assert listed.status_code == 200
    (ward,) = listed.get_json()
    assert (ward["name"], ward["level"], ward["buildings"], ward["households"]) == ("47", "ward", 1, 2)
    one = client.get(f"/v1/boundaries/{ward['id']}", headers=lead_headers).get_json()
    assert one["type"] == "Feature" and one["id"] == ward["id"]
    assert one["geometry"]["type"] == "MultiPolygon" and one["properties"]["name"] == "47"


@pytest.mark.parametrize(
    "body, code, detail",
    [
        ({"level": "ward", "name_field": "ward", "geojson": {"type": "Point", "coordinates": [0, 0]}},
         "invalid_geojson", None),
        ({"level": "ward", "name_field": "ward", "geojson": ward_file(
            {"type": "Feature", "properties": {"ward": "1"}, "geometry": {"type": "Polygon", "coordinates": [SQUARE]}},
            {"type": "Feature", "properties": {"ward": "2"}, "geometry": {"type": "Polygon", "coordinates": [[
                [-87.72, 41.94], [-87.70, 41.96], [-87.70, 41.94], [-87.72, 41.96], [-87.72, 41.95]]]}})},
         "invalid_boundaries", {"index": 1, "reason": "polygon exterior ring is not closed: its first and last positions differ"}),
        ({"level": "county", "name_field": "ward", "geojson": ward_file()}, "validation_failed", None),
        ({"level": "ward", "geojson": ward_file()}, "validation_failed", None),
        ({"level": "ward", "name_field": "ward", "geojson": ward_file(), "srid": 3435}, "validation_failed", None),
        ({"level": "ward", "name_field": "ward", "geojson": "not json"}, "validation_failed", None),
    ],
)
def test_a_bad_boundary_import_is_refused_and_writes_nothing(client, org_admin, body, code, detail):
    _, headers = org_admin
    error = assert_error(client.post("/v1/boundaries", json=body, headers=headers), 422, code)
    if detail:
        assert error["details"]["features"] == [detail]
    assert client.get("/v1/boundaries", headers=headers).get_json() == []


def test_only_admins_import_and_other_tenants_are_not_found(client, org_admin, db_session):
    org, headers = org_admin
    lead_headers = auth_header(db_session, make_user(db_session, org=org, roles=["field_lead", "organizer"]))
    body = {"level": "ward", "name_field": "ward", "geojson": ward_file()}
    assert_error(client.post("/v1/boundaries", json=body, headers=lead_headers), 403, "forbidden")
    assert client.post("/v1/boundaries", json=body, headers=headers).status_code == 201
    ward_id = client.get("/v1/boundaries", headers=headers).get_json()[0]["id"]
    stranger = auth_header(db_session, make_user(db_session, org=make_org(db_session), roles=["admin"]))
    assert_error(client.get(f"/v1/boundaries/{ward_id}", headers=stranger), 404, "boundary_not_found")
    assert client.get("/v1/boundaries", headers=stranger).get_json() == []
    canvasser = auth_header(db_session, make_user(db_session, org=org, roles=["canvasser"]))
    assert_error(client.get("/v1/boundaries", headers=canvasser), 403, "forbidden")
