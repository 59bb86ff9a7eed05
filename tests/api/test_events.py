"""Events and attendance over HTTP: staff create events and record who came; bad input is a clear 4xx."""
import pytest
from sqlalchemy import func, select

from canvass.pipeline.models import Event, EventAttendance
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import at, event, resident
from tests.factories import auth_header, make_boundary, make_org, make_user


@pytest.fixture
def team(db_session):
    org = make_org(db_session)
    lead = make_user(db_session, org=org, roles=["field_lead"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    return {
        "org": org,
        "headers": auth_header(db_session, lead),
        "canvasser_headers": auth_header(db_session, canvasser),
        "people": [resident(db_session, org) for _ in range(3)],
        "ward": make_boundary(db_session, org=org, name="33"),
    }


def attendance_count(session):
    return session.execute(select(func.count()).select_from(EventAttendance)).scalar_one()


def test_a_lead_creates_an_event_and_records_attendance(client, team, db_session):
    response = client.post("/v1/events", headers=team["headers"], json={
        "kind": "meeting", "title": "Tenant union meeting", "starts_at": "2026-03-01T18:00:00-06:00",
        "ward_id": team["ward"].id, "led_by_person_id": team["people"][0].id,
    })
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["title"], created["status"], created["ward_id"]) == ("Tenant union meeting", "scheduled",
                                                                          team["ward"].id)
    records = [{"person_id": p.id, "status": "attended"} for p in team["people"][:2]]
    records.append({"person_id": team["people"][2].id, "status": "no_show"})
    url = f"/v1/events/{created['id']}/attendance"
    assert client.post(url, headers=team["headers"], json={"records": records}).get_json() == {
        "created": 3, "updated": 0, "unchanged": 0}
    # Upserted by (event, person): the no-show turns out to have come late.
    fix = {"records": [{"person_id": team["people"][2].id, "status": "attended"},
                       {"person_id": team["people"][0].id, "status": "attended"}]}
    assert client.post(url, headers=team["headers"], json=fix).get_json() == {"created": 0, "updated": 1,
                                                                               "unchanged": 1}
    listed = client.get(url, headers=team["headers"]).get_json()
    assert {row["status"] for row in listed} == {"attended"} and len(listed) == 3
    detail = client.get(f"/v1/events/{created['id']}", headers=team["headers"]).get_json()
    assert detail["attendance"] == {"signed_up": 0, "attended": 3, "no_show": 0, "cancelled": 0}


def test_events_are_listed_newest_first_and_paged(client, team, db_session):
    for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
        event(db_session, org=team["org"], starts_at=at(day))
    first = client.get("/v1/events?limit=2", headers=team["headers"]).get_json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = client.get(f"/v1/events?limit=2&cursor={first['next_cursor']}", headers=team["headers"]).get_json()
    assert len(rest["data"]) == 1 and rest["next_cursor"] is None
    ranged = client.get("/v1/events?from=2026-02-01T00:00:00-06:00&to=2026-03-01T00:00:00-06:00",
                        headers=team["headers"]).get_json()
    assert [e["starts_at"][:7] for e in ranged["data"]] == ["2026-02"]


def test_moving_an_event_is_allowed_and_cancelling_stops_attendance(client, team, db_session):
    meeting = event(db_session, org=team["org"], starts_at=at("2026-03-01 18:00"))
    moved = client.patch(f"/v1/events/{meeting.id}", headers=team["headers"],
                         json={"starts_at": "2026-03-02T18:00:00-06:00", "status": "cancelled"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "cancelled"
    response = client.post(f"/v1/events/{meeting.id}/attendance", headers=team["headers"],
                           json={"records": [{"person_id": team["people"][0].id, "status": "attended"}]})
    assert_error(response, 409, "event_cancelled")


def test_attendance_for_an_event_of_another_organization_is_not_found(client, team, db_session):
    foreign = event(db_session, org=make_org(db_session), starts_at=at("2026-03-01 18:00"))
    response = client.post(f"/v1/events/{foreign.id}/attendance", headers=team["headers"],
                           json={"records": [{"person_id": team["people"][0].id, "status": "attended"}]})
    assert_error(response, 404, "event_not_found")
    assert_error(client.get(f"/v1/events/{foreign.id}", headers=team["headers"]), 404, "event_not_found")
    assert attendance_count(db_session) == 0


def test_another_organizations_person_fails_the_whole_batch(client, team, db_session):
    meeting = event(db_session, org=team["org"], starts_at=at("2026-03-01 18:00"))
    stranger = resident(db_session, make_org(db_session))
    response = client.post(f"/v1/events/{meeting.id}/attendance", headers=team["headers"], json={"records": [
        {"person_id": team["people"][0].id, "status": "attended"}, {"person_id": stranger.id, "status": "attended"}]})
    error = assert_error(response, 404, "person_not_found")
    assert error["details"] == {"person_ids": [stranger.id]}
    assert attendance_count(db_session) == 0


def test_attendance_before_the_event_begins_is_refused_but_sign_ups_are_fine(client, team, db_session):
    upcoming = event(db_session, org=team["org"], starts_at=at("2099-03-01 18:00"))
    url = f"/v1/events/{upcoming.id}/attendance"
    assert_error(client.post(url, headers=team["headers"], json={
        "records": [{"person_id": team["people"][0].id, "status": "attended"}]}), 409, "event_not_started")
    assert client.post(url, headers=team["headers"], json={
        "records": [{"person_id": team["people"][0].id, "status": "signed_up"}]}).status_code == 200


def test_more_than_500_records_is_413_and_nothing_is_stored(client, team, db_session):
    meeting = event(db_session, org=team["org"], starts_at=at("2026-03-01 18:00"))
    records = [{"person_id": n + 1, "status": "attended"} for n in range(501)]
    response = client.post(f"/v1/events/{meeting.id}/attendance", headers=team["headers"], json={"records": records})
    assert_error(response, 413, "too_many_records")
    assert attendance_count(db_session) == 0


@pytest.mark.parametrize("body, field", [
    ({"records": [{"person_id": 1, "status": "late"}]}, "records"),
    ({"records": [{"person_id": "1", "status": "attended"}]}, "records"),
    ({"records": [{"person_id": 1, "status": "attended", "mood": "good"}]}, "records"),
    ({"records": "everyone"}, "records"),
    ({"records": [], "extra": 1}, "extra"),
    ({}, "records"),
])
def test_malformed_attendance_is_422(client, team, db_session, body, field):
    meeting = event(db_session, org=team["org"], starts_at=at("2026-03-01 18:00"))
    error = assert_error(client.post(f"/v1/events/{meeting.id}/attendance", headers=team["headers"], json=body),
                         422, "validation_failed")
    assert field in error["details"]


def test_the_same_person_twice_in_one_batch_is_422(client, team, db_session):
    meeting = event(db_session, org=team["org"], starts_at=at("2026-03-01 18:00"))
    person = team["people"][0].id
    error = assert_error(client.post(f"/v1/events/{meeting.id}/attendance", headers=team["headers"], json={
        "records": [{"person_id": person, "status": "attended"}, {"person_id": person, "status": "no_show"}]}),
        422, "validation_failed")
    assert "1" in error["details"]["records"]


@pytest.mark.parametrize("body, status, code", [
    ({"kind": "party", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00"}, 422, "validation_failed"),
    ({"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00"}, 422, "validation_failed"),
    ({"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00",
      "ends_at": "2026-03-01T17:00:00-06:00"}, 422, "validation_failed"),
    ({"kind": "meeting", "title": "", "starts_at": "2026-03-01T18:00:00-06:00"}, 422, "validation_failed"),
    ({"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00", "ward_id": 999999999},
     404, "ward_not_found"),
    ({"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00", "led_by_person_id": 999999999},
     404, "person_not_found"),
    ({"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00", "campaign_id": 999999999},
     404, "campaign_not_found"),
])
def test_bad_events_are_refused_and_nothing_is_created(client, team, db_session, body, status, code):
    assert_error(client.post("/v1/events", headers=team["headers"], json=body), status, code)
    assert db_session.execute(select(func.count()).select_from(Event)).scalar_one() == 0


def test_a_taken_external_id_is_409(client, team):
    body = {"kind": "meeting", "title": "x", "starts_at": "2026-03-01T18:00:00-06:00", "external_id": "SHEET-1"}
    assert client.post("/v1/events", headers=team["headers"], json=body).status_code == 201
    assert_error(client.post("/v1/events", headers=team["headers"], json=body), 409, "event_exists")


def test_malformed_json_is_400(client, team):
    response = client.post("/v1/events", headers=team["headers"], data="{nope", content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_canvassers_cannot_manage_events(client, team):
    assert_error(client.get("/v1/events", headers=team["canvasser_headers"]), 403, "forbidden")
    assert_error(client.get("/v1/events"), 401, "missing_token")
