"""Dues over HTTP: recorded, listed, voided; impossible payments are refused with a clear 422."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from canvass.audit.models import AuditEvent
from canvass.pipeline.models import DuesPayment
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import resident
from tests.factories import auth_header, make_org, make_user, org_today


@pytest.fixture
def treasurer(db_session):
    org = make_org(db_session)
    return {
        "org": org,
        "headers": auth_header(db_session, make_user(db_session, org=org, roles=["organizer"])),
        "lead_headers": auth_header(db_session, make_user(db_session, org=org, roles=["field_lead"])),
        "person": resident(db_session, org),
    }


def payment(person_id, **changes):
    body = {"person_id": person_id, "amount_cents": 1000, "paid_on": "2026-03-01", "method": "cash",
            "period_start": "2026-03-01", "period_end": "2026-03-31"}
    body.update(changes)
    return body


def payment_count(session):
    return session.execute(select(func.count()).select_from(DuesPayment)).scalar_one()


def test_an_organizer_records_lists_and_voids_a_payment(client, treasurer, db_session):
    person = treasurer["person"].id
    response = client.post("/v1/dues", headers=treasurer["headers"],
                           json=payment(person, external_id="RCPT-1", note="at the March meeting"))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["amount_cents"], created["period_end"], created["voided_at"]) == (1000, "2026-03-31", None)
    listed = client.get(f"/v1/dues?person_id={person}", headers=treasurer["headers"]).get_json()
    assert [p["id"] for p in listed["data"]] == [created["id"]] and listed["next_cursor"] is None

    voided = client.post(f"/v1/dues/{created['id']}/void", headers=treasurer["headers"],
                         json={"reason": "entered twice"})
    assert voided.status_code == 200 and voided.get_json()["void_reason"] == "entered twice"
    assert_error(client.post(f"/v1/dues/{created['id']}/void", headers=treasurer["headers"],
                             json={"reason": "again"}), 409, "dues_payment_voided")
    assert db_session.execute(select(AuditEvent).where(AuditEvent.action == "dues.voided")).scalar_one()


def test_the_same_receipt_is_recorded_once(client, treasurer, db_session):
    body = payment(treasurer["person"].id, external_id="RCPT-9")
    assert client.post("/v1/dues", headers=treasurer["headers"], json=body).status_code == 201
    assert_error(client.post("/v1/dues", headers=treasurer["headers"], json=body), 409, "dues_payment_exists")
    assert payment_count(db_session) == 1


@pytest.mark.parametrize("changes, field", [
    ({"amount_cents": -1000}, "amount_cents"),
    ({"amount_cents": 0}, "amount_cents"),
    ({"amount_cents": 10.5}, "amount_cents"),
    ({"amount_cents": "1000"}, "amount_cents"),
    ({"period_start": "2026-03-31", "period_end": "2026-03-01"}, "period_end"),
    ({"period_end": "2036-03-31"}, "period_end"),
    ({"period_start": "2026-02-30"}, "period_start"),
    ({"paid_on": "2099-01-01"}, "paid_on"),
    ({"paid_on": "1999-12-31"}, "paid_on"),
    ({"method": "bitcoin"}, "method"),
    ({"currency": "USD"}, "currency"),
])
def test_impossible_payments_are_422_and_nothing_is_recorded(client, treasurer, db_session, changes, field):
    error = assert_error(client.post("/v1/dues", headers=treasurer["headers"],
                                     json=payment(treasurer["person"].id, **changes)), 422, "validation_failed")
    assert field in error["details"]
    assert payment_count(db_session) == 0


def test_a_person_of_another_organization_is_not_found(client, treasurer, db_session):
    stranger = resident(db_session, make_org(db_session))
    assert_error(client.post("/v1/dues", headers=treasurer["headers"], json=payment(stranger.id)), 404,
                 "person_not_found")
    foreign = DuesPayment(organization_id=stranger.organization_id, person_id=stranger.id, amount_cents=1000,
                          paid_on=payment(0)["paid_on"], method="cash", period_start=payment(0)["period_start"],
                          period_end=payment(0)["period_end"])
    db_session.add(foreign)
    db_session.flush()
    assert_error(client.get(f"/v1/dues/{foreign.id}", headers=treasurer["headers"]), 404, "dues_payment_not_found")
    assert_error(client.post(f"/v1/dues/{foreign.id}/void", headers=treasurer["headers"], json={"reason": "x"}),
                 404, "dues_payment_not_found")


def test_field_leads_do_not_see_the_books(client, treasurer):
    assert_error(client.get("/v1/dues", headers=treasurer["lead_headers"]), 403, "forbidden")


def test_a_payment_dated_the_organizations_today_is_taken_at_any_hour(awkward_clock, client, treasurer, db_session):
    today = org_today(treasurer["org"])
    body = payment(treasurer["person"].id, paid_on=str(today), period_start=str(today),
                   period_end=str(today + timedelta(days=30)))
    assert client.post("/v1/dues", headers=treasurer["headers"], json=body).status_code == 201
    too_late = payment(treasurer["person"].id, paid_on=str(today + timedelta(days=3)))
    assert "paid_on" in assert_error(client.post("/v1/dues", headers=treasurer["headers"], json=too_late),
                                     422, "validation_failed")["details"]
    assert payment_count(db_session) == 1
