"""Membership over HTTP: the rule, a person's standing explained, their pipeline, their own account."""
import pytest

from canvass.pipeline.rollup import refresh_pipeline
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import at, attended, event, forget_stale_jobs, resident
from tests.conftest import run_jobs
from tests.factories import auth_header, make_org, make_user


@pytest.fixture
def office(db_session, redis_client):
    org = make_org(db_session)
    forget_stale_jobs(redis_client, org.id)
    admin = make_user(db_session, org=org, roles=["admin"])
    organizer = make_user(db_session, org=org, roles=["organizer"])
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    return {"org": org, "admin": auth_header(db_session, admin), "organizer": auth_header(db_session, organizer),
            "canvasser_user": canvasser, "canvasser": auth_header(db_session, canvasser),
            "person": resident(db_session, org)}


def test_recording_dues_makes_a_member_once_the_rollup_job_has_run(client, office, worker_runtime):
    person = office["person"].id
    response = client.post("/v1/dues", headers=office["organizer"], json={
        "person_id": person, "amount_cents": 12000, "paid_on": "2026-01-02", "method": "card",
        "period_start": "2026-01-01", "period_end": "2026-12-31"})
    assert response.status_code == 201
    assert f"rollup-pipeline-org-{office['org'].id}" in worker_runtime.get_queue().job_ids
    run_jobs(worker_runtime)

    answer = client.get(f"/v1/people/{person}/membership", headers=office["organizer"]).get_json()
    assert answer["status"] == "member" and answer["stage"] == "member"
    assert answer["since"].startswith("2026-01-02T06:00:00")
    assert answer["good_until"].startswith("2027-01-08T06:00:00")
    assert answer["reasons"] == ["dues paid through 2026-12-31 (+7 grace days): $120.00 on 2026-01-02 by card"]
    assert answer["history"][0]["status"] == "member" and answer["evaluated_at"]
    assert answer["rule"]["events_required"] == 3

    pipeline = client.get(f"/v1/people/{person}/pipeline", headers=office["organizer"]).get_json()
    assert [(t["from"], t["to"], t["cause"]) for t in pipeline["transitions"]] == [
        ("none", "member", "membership_started")]


def test_someone_with_no_record_is_not_a_member_and_says_why(client, office):
    answer = client.get(f"/v1/people/{office['person'].id}/membership", headers=office["organizer"]).get_json()
    assert (answer["status"], answer["since"], answer["history"]) == ("not_member", None, [])
    assert answer["reasons"] == ["no dues payment or event attendance on record"]


def test_a_member_sees_their_own_membership_and_nobody_elses(client, office, db_session):
    person, other = office["person"], resident(db_session, office["org"])
    assert_error(client.get(f"/v1/people/{person.id}/membership", headers=office["canvasser"]), 403, "forbidden")
    linked = client.put(f"/v1/people/{person.id}/user", headers=office["admin"],
                        json={"user_id": office["canvasser_user"].id})
    assert linked.get_json() == {"person_id": person.id, "user_id": office["canvasser_user"].id}
    assert client.get(f"/v1/people/{person.id}/membership", headers=office["canvasser"]).status_code == 200
    assert_error(client.get(f"/v1/people/{other.id}/membership", headers=office["canvasser"]), 403, "forbidden")
    # The account belongs to one person at a time.
    assert_error(client.put(f"/v1/people/{other.id}/user", headers=office["admin"],
                            json={"user_id": office["canvasser_user"].id}), 409, "user_already_linked")
    assert client.delete(f"/v1/people/{person.id}/user", headers=office["admin"]).get_json()["user_id"] is None


def test_attendance_explained_in_words(client, office, db_session):
    person = office["person"]
    for day, title in (("2026-01-10 18:00", "Tenant meeting"), ("2026-02-10 18:00", "Rally"),
                       ("2026-03-10 18:00", "Canvass")):
        attended(db_session, person=person, event_row=event(db_session, org=office["org"], starts_at=at(day),
                                                           title=title))
    refresh_pipeline(db_session, organization_id=office["org"].id, as_of=at("2026-03-11"))
    answer = client.get(f"/v1/people/{person.id}/membership", headers=office["organizer"]).get_json()
    assert answer["reasons"] == [
        "attended 3 events in the last 6 months: Tenant meeting (2026-01-10), Rally (2026-02-10), Canvass (2026-03-10)"]
    assert answer["details"][0]["kind"] == "attendance"


def test_people_of_other_organizations_are_not_found(client, office, db_session):
    stranger = resident(db_session, make_org(db_session))
    assert_error(client.get(f"/v1/people/{stranger.id}/membership", headers=office["organizer"]), 404,
                 "person_not_found")
    assert_error(client.get(f"/v1/people/{stranger.id}/pipeline", headers=office["organizer"]), 404,
                 "person_not_found")
    assert_error(client.put(f"/v1/people/{stranger.id}/user", headers=office["admin"],
                            json={"user_id": office["canvasser_user"].id}), 404, "person_not_found")
    foreign_user = make_user(db_session, org=make_org(db_session))
    assert_error(client.put(f"/v1/people/{office['person'].id}/user", headers=office["admin"],
                            json={"user_id": foreign_user.id}), 404, "user_not_found")


def test_the_rule_is_read_and_changed_and_a_rebuild_follows(client, office, worker_runtime):
    rule = client.get("/v1/membership-rule", headers=office["organizer"]).get_json()
    assert rule == {"dues_monthly_cents": 1000, "grace_days": 7, "events_required": 3, "window_months": 6,
                    "leader": {"events_led": 1, "pledges_collected": 10}}
    changed = client.patch("/v1/membership-rule", headers=office["organizer"],
                           json={"events_required": 2, "leader": {"pledges_collected": 5}})
    assert changed.status_code == 200
    assert changed.get_json()["events_required"] == 2 and changed.get_json()["leader"] == {
        "events_led": 1, "pledges_collected": 5}
    assert f"rebuild-pipeline-org-{office['org'].id}" in worker_runtime.get_queue().job_ids
    assert client.get("/v1/membership-rule", headers=office["admin"]).get_json()["events_required"] == 2


@pytest.mark.parametrize("body, field", [
    ({"events_required": 0}, "events_required"),
    ({"window_months": 0}, "window_months"),
    ({"dues_monthly_cents": -100}, "dues_monthly_cents"),
    ({"grace_days": "seven"}, "grace_days"),
    ({"events_required": 2.5}, "events_required"),
    ({"leader": {"events_led": -1}}, "leader"),
    ({"quorum": 3}, "quorum"),
])
def test_an_impossible_rule_is_422_and_the_rule_stays(client, office, body, field):
    error = assert_error(client.patch("/v1/membership-rule", headers=office["organizer"], json=body), 422,
                         "validation_failed")
    assert field in error["details"]
    assert client.get("/v1/membership-rule", headers=office["organizer"]).get_json()["events_required"] == 3


def test_the_settings_cannot_change_a_customised_rule_tree(client, office):
    tree = {"op": "and", "rules": [{"kind": "dues_current"}, {"kind": "admin_override"}]}
    assert client.put("/v1/membership-rule/tree", headers=office["admin"], json={"tree": tree}).status_code == 200
    error = assert_error(client.patch("/v1/membership-rule", headers=office["organizer"],
                                      json={"grace_days": 3, "dues_monthly_cents": 500}), 409,
                         "membership_rule_customised")
    assert error["details"] == {"fields": ["grace_days"]}
    rule = client.get("/v1/membership-rule", headers=office["organizer"]).get_json()
    assert (rule["grace_days"], rule["dues_monthly_cents"]) == (7, 1000)  # nothing saved
    assert client.get("/v1/membership-rule/tree", headers=office["admin"]).get_json()["version"] == 1


def test_only_organizers_touch_the_rule(client, office):
    assert_error(client.patch("/v1/membership-rule", headers=office["canvasser"], json={"grace_days": 3}), 403,
                 "forbidden")
    assert_error(client.put(f"/v1/people/{office['person'].id}/user", headers=office["organizer"],
                            json={"user_id": office["canvasser_user"].id}), 403, "forbidden")
