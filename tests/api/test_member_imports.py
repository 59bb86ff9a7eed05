"""Attendance and dues CSV uploads over HTTP: the CLI's import, with the same line-numbered report."""
from datetime import timedelta

from sqlalchemy import func, select

from canvass.db import utcnow
from canvass.pipeline.models import DuesPayment, EventAttendance
from tests.asserts import assert_error
from tests.canvass.pipeline.builders import event, resident
from tests.factories import auth_header, make_org, make_user


def count(session, model):
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def upload(client, path, text, headers, content_type="text/csv"):
    return client.post(path, data=text.encode(), content_type=content_type, headers=headers)


def test_an_organizer_uploads_a_sign_in_sheet_and_bad_rows_are_reported_by_line(client, db_session, clean_redis):
    org = make_org(db_session)
    headers = auth_header(db_session, make_user(db_session, org=org, roles=["organizer"]))
    resident(db_session, org, email="m@example.org")
    meeting = event(db_session, org=org, starts_at=utcnow() - timedelta(days=3))
    sheet = ("\ufeffevent_id,email,status\n"
             f"{meeting.id},m@example.org,attended\n"
             f"{meeting.id},nobody@example.org,attended\n")
    response = upload(client, "/v1/attendance-imports", sheet, headers)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["rows"], report["created"], report["skipped_count"]) == (2, 1, 1)
    assert report["skipped"][0]["line"] == 3
    assert count(db_session, EventAttendance) == 1
    again = upload(client, "/v1/attendance-imports", sheet, headers).get_json()
    assert (again["created"], count(db_session, EventAttendance)) == (0, 1)  # re-import never duplicates


def test_dues_upload_stores_payments(client, db_session, clean_redis):
    org = make_org(db_session)
    headers = auth_header(db_session, make_user(db_session, org=org, roles=["admin"]))
    resident(db_session, org, email="d@example.org")
    sheet = "email,amount,paid_on,method,period_start,period_end\nd@example.org,$10.00,2026-11-01,cash,2026-11-01,2026-11-30\n"
    report = upload(client, "/v1/dues-imports", sheet, headers).get_json()
    assert report["created"] == 1 and count(db_session, DuesPayment) == 1


def test_uploads_that_are_not_utf8_csv_are_refused_and_change_nothing(client, db_session):
    org = make_org(db_session)
    headers = auth_header(db_session, make_user(db_session, org=org, roles=["organizer"]))
    assert_error(upload(client, "/v1/dues-imports", "{}", headers, content_type="application/json"), 400, "expected_csv")
    response = client.post("/v1/dues-imports", data=b"email\n\xff\xfe\n", content_type="text/csv", headers=headers)
    assert_error(response, 400, "not_utf8")
    assert count(db_session, DuesPayment) == 0


def test_canvassers_cannot_import(client, db_session):
    org = make_org(db_session)
    headers = auth_header(db_session, make_user(db_session, org=org, roles=["canvasser"]))
    assert_error(upload(client, "/v1/attendance-imports", "event_id,email,status\n", headers), 403, "forbidden")
