"""CSV imports: good rows land set-based, bad rows are reported by line, re-imports never duplicate."""
import io

import pytest
from sqlalchemy import func, select

from canvass.errors import ValidationFailed
from canvass.pipeline.imports import import_attendance, import_dues
from canvass.pipeline.models import DuesPayment, Event, EventAttendance
from tests.canvass.pipeline.builders import at, event, resident
from tests.factories import make_org


def csv_file(*lines):
    return io.StringIO("\n".join(lines) + "\n")


@pytest.fixture
def org_people(db_session):
    org = make_org(db_session)
    ana = resident(db_session, org, first_name="Ana", email="ana@example.org", external_id="M-1")
    ben = resident(db_session, org, first_name="Ben", email="ben@example.org")
    twin_a = resident(db_session, org, email="shared@example.org")
    twin_b = resident(db_session, org, email="shared@example.org")
    return org, ana, ben, (twin_a, twin_b)


def test_attendance_import_creates_events_upserts_and_reports_bad_lines(db_session, org_people):
    org, ana, ben, _ = org_people
    stranger = resident(db_session, make_org(db_session))
    meeting = event(db_session, org=org, starts_at=at("2026-03-01 18:00"))
    file = csv_file(
        "event_external_id,event_title,event_kind,event_starts_at,person_external_id,email,person_id,status",
        "SHEET-7,March rally,action,2026-03-07T11:00:00-06:00,M-1,,,attended",
        ",,,,,ben@example.org,,attended",  # line 3: no event
        "SHEET-7,,,,,ben@example.org,,no_show",
        f"SHEET-7,,,,,,{stranger.id},attended",  # line 5: another organization's person
        "SHEET-7,,,,,shared@example.org,,attended",  # line 6: two people share the e-mail
        "SHEET-7,,,,,ben@example.org,,attended",  # line 7: Ben again, this row wins
        "SHEET-8,,,,,ben@example.org,,attended",  # line 8: unknown event
        "SHEET-7,,,,,,,maybe",  # line 9: no person, bad status
    )
    report = import_attendance(db_session, organization_id=org.id, file=file, now=at("2026-03-08"))
    assert (report.rows, report.created, report.events_created) == (8, 2, 1)
    assert [line for line, _ in report.skipped] == [3, 4, 5, 6, 8, 9]
    assert "shared@example.org" in dict(report.skipped)[6] and "line 7" in dict(report.skipped)[4]
    rally = db_session.execute(select(Event).where(Event.external_id == "SHEET-7")).scalar_one()
    assert (rally.title, rally.kind) == ("March rally", "action")
    statuses = dict(db_session.execute(select(EventAttendance.person_id, EventAttendance.status)
                                       .where(EventAttendance.event_id == rally.id)).all())
    assert statuses == {ana.id: "attended", ben.id: "attended"}

    again = import_attendance(db_session, organization_id=org.id, file=csv_file(
        "event_id,person_id,status", f"{meeting.id},{ana.id},attended", f"{rally.id},{ana.id},attended",
        f"{rally.id},{ben.id},no_show"), now=at("2026-03-08"))
    assert (again.created, again.updated, again.unchanged, again.skipped) == (1, 1, 1, [])


def test_attendance_cannot_be_recorded_before_the_event_begins(db_session, org_people):
    org, ana, ben, _ = org_people
    future = event(db_session, org=org, starts_at=at("2026-05-01 18:00"))
    report = import_attendance(db_session, organization_id=org.id, file=csv_file(
        "event_id,person_id,status", f"{future.id},{ana.id},attended", f"{future.id},{ben.id},signed_up"),
        now=at("2026-04-01"))
    assert report.created == 1 and report.skipped == [(2, "the event has not begun: only sign-ups can be recorded")]


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("event_id,person_id,colour\n1,2,red\n", "unknown columns: colour"),
    ("person_id,status\n1,attended\n", "event_id, event_external_id"),
    ("event_id,event_id,person_id\n1,1,2\n", "twice"),
])
def test_a_file_with_a_bad_header_is_refused_whole(db_session, org_people, content, message):
    org, *_ = org_people
    with pytest.raises(ValidationFailed, match=message):
        import_attendance(db_session, organization_id=org.id, file=io.StringIO(content))
    assert db_session.execute(select(func.count()).select_from(EventAttendance)).scalar_one() == 0


def test_dues_import_checks_every_row_and_reimports_without_duplicates(db_session, org_people):
    org, ana, ben, _ = org_people
    lines = (
        "email,person_external_id,amount,paid_on,method,period_start,period_end,external_id,note",
        ",M-1,$120.00,2026-01-03,check,2026-01-01,2026-12-31,CHK-1001,annual",
        "ben@example.org,,10,2026-02-01,cash,2026-02-01,2026-02-28,,",
        "ben@example.org,,-10,2026-02-01,cash,2026-02-01,2026-02-28,,",  # line 4: negative
        "ben@example.org,,10,2026-02-01,cash,2026-02-28,2026-02-01,,",  # line 5: period backwards
        "ben@example.org,,10,2026-02-30,cash,2026-02-01,2026-02-28,,",  # line 6: no such day
        "ben@example.org,,10,2026-02-01,barter,2026-02-01,2026-02-28,,",  # line 7: unknown method
        "nobody@example.org,,10,2026-02-01,cash,2026-02-01,2026-02-28,,",  # line 8: unknown person
        "ben@example.org,,10,2026-02-01,cash,2026-02-01,2040-02-28,,",  # line 9: a 14-year period
    )
    report = import_dues(db_session, organization_id=org.id, file=csv_file(*lines))
    assert (report.created, [line for line, _ in report.skipped]) == (2, [4, 5, 6, 7, 8, 9])
    assert db_session.execute(select(DuesPayment.amount_cents).where(DuesPayment.external_id == "CHK-1001")
                              ).scalar_one() == 12000

    again = import_dues(db_session, organization_id=org.id, file=csv_file(*lines[:3]))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    corrected = import_dues(db_session, organization_id=org.id, file=csv_file(
        lines[0], ",M-1,$60.00,2026-01-03,check,2026-01-01,2026-06-30,CHK-1001,half year"))
    assert corrected.updated == 1
    assert db_session.execute(select(func.count()).select_from(DuesPayment)
                              .where(DuesPayment.organization_id == org.id)).scalar_one() == 2
