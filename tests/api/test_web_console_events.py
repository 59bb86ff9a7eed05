"""The console's events, dues, votes and household-upload pages through the Flask test client: the same
roles as the API, another organization's ids 404, CSRF on every POST, CSV uploads streamed to the same
importers with their line-numbered reports (a file-level error saving nothing), and the writes doing what
the API's would."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from canvass.db import utcnow
from canvass.geo.models import Household
from canvass.pipeline.models import Ballot, DuesPayment, Event, EventAttendance, PipelinePerson, Vote
from canvass.pipeline.rollup import refresh_pipeline
from tests.api.test_web_console import csrf_of, sign_in
from tests.canvass.dashboards.fieldwork import make_ward
from tests.factories import make_org, make_person, make_user, org_today

PAGES = ["/console/events", "/console/dues", "/console/votes", "/console/households"]


def _event(session, org, *, days_ago: int = 1, title: str = "Ward meeting") -> Event:
    event = Event(organization_id=org.id, kind="meeting", title=title, starts_at=utcnow() - timedelta(days=days_ago))
    session.add(event)
    session.flush()
    return event


def _count(session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return session.execute(query).scalar_one()


def _upload(client, path, content: bytes, *, filename="sheet.csv", mimetype="text/csv", token=None, **fields):
    data = {"file": (io.BytesIO(content), filename, mimetype), **fields}
    if token is not None:
        data["csrf_token"] = token
    return client.post(path, data=data, content_type="multipart/form-data")


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitor_is_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/console/sign-in?next=" in response.headers["Location"]


@pytest.mark.parametrize(("role", "path", "status"), [
    ("canvasser", "/console/events", 403), ("field_lead", "/console/events", 200),
    ("canvasser", "/console/dues", 403), ("field_lead", "/console/dues", 403), ("organizer", "/console/dues", 200),
    ("admin", "/console/dues", 200),
    ("canvasser", "/console/votes", 200), ("organizer", "/console/votes", 200),
    ("canvasser", "/console/households", 403), ("field_lead", "/console/households", 403),
    ("organizer", "/console/households", 200),
])
def test_pages_answer_by_the_apis_roles(client, db_session, role, path, status):
    org = make_org(db_session)
    sign_in(client, make_user(db_session, org=org, roles=[role]))
    assert client.get(path).status_code == status


def test_a_field_lead_may_not_import_attendance_or_record_dues(client, db_session):
    ward = make_ward(db_session)
    person = next(iter(ward.people.values()))
    sign_in(client, ward.lead)
    token = csrf_of(client, "/console/events")
    response = _upload(client, "/console/events/attendance-import", b"event_id,person_id,status\n", token=token)
    assert response.status_code == 403
    response = client.post("/console/dues", data={"csrf_token": token, "person_id": person.id, "amount": "10"})
    assert response.status_code == 403
    assert _count(db_session, DuesPayment, organization_id=ward.org.id) == 0


def test_a_canvasser_sees_votes_but_not_the_eligibility_snapshot_and_cannot_record_ballots(client, db_session):
    ward = make_ward(db_session)
    vote = _open_vote(db_session, ward)
    sign_in(client, ward.canvassers[0])
    html = client.get(f"/console/votes/{vote.id}").get_data(as_text=True)
    assert vote.title in html and "Eligibility snapshot" not in html and "Open a vote" not in html
    token = csrf_of(client, "/console/votes")
    response = client.post(f"/console/votes/{vote.id}/recorded-ballots",
                           data={"csrf_token": token, "person_id": 1, "option_id": 1})
    assert response.status_code == 403


# --- events and attendance ---------------------------------------------------------------------


def test_creating_an_event_in_the_organizations_time(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    token = csrf_of(client, "/console/events")
    response = client.post("/console/events", data={"csrf_token": token, "title": "Door-knock kickoff",
                                                     "kind": "canvass_shift", "starts_at": "2026-11-21T10:00",
                                                     "location": "Library"})
    assert response.status_code == 302
    event = db_session.execute(select(Event).where(Event.organization_id == ward.org.id)).scalar_one()
    assert event.title == "Door-knock kickoff" and event.starts_at.isoformat() == "2026-11-21T16:00:00+00:00"
    assert "Door-knock kickoff" in client.get("/console/events").get_data(as_text=True)


def test_a_bad_event_is_refused_with_its_reason_and_nothing_saved(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    token = csrf_of(client, "/console/events")
    page = client.post("/console/events", follow_redirects=True, data={
        "csrf_token": token, "title": "", "kind": "party", "starts_at": "2026-11-21T10:00"}).get_data(as_text=True)
    assert "did not pass validation" in page
    page = client.post("/console/events", follow_redirects=True, data={
        "csrf_token": token, "title": "x", "kind": "meeting", "starts_at": "soon"}).get_data(as_text=True)
    assert "start as a date and time" in page
    assert _count(db_session, Event, organization_id=ward.org.id) == 0


def test_taking_attendance_from_the_list_records_each_ticked_person_once(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    people = list(ward.people.values())[:2]
    sign_in(client, ward.lead)
    page = client.get(f"/console/events/{event.id}").get_data(as_text=True)
    assert f'value="{people[0].id}"' in page and 'type="checkbox"' in page
    token = csrf_of(client, f"/console/events/{event.id}")
    for _ in range(2):  # a resubmitted form changes nothing
        response = client.post(f"/console/events/{event.id}/attendance", follow_redirects=True, data={
            "csrf_token": token, "status": "attended", "person_ids": [p.id for p in people]})
    assert "0 new, 0 changed, 2 unchanged" in response.get_data(as_text=True)
    assert _count(db_session, EventAttendance, event_id=event.id, status="attended") == 2


def test_attendance_search_narrows_the_list(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    make_person(db_session, org=ward.org, first_name="Zelda", last_name="Quintero")
    sign_in(client, ward.lead)
    page = client.get(f"/console/events/{event.id}?q=quint").get_data(as_text=True)
    assert "Zelda Quintero" in page and "People (1 shown)" in page


def test_attendance_of_a_future_event_is_refused_with_its_reason(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org, days_ago=-3)
    person = next(iter(ward.people.values()))
    sign_in(client, ward.lead)
    token = csrf_of(client, f"/console/events/{event.id}")
    page = client.post(f"/console/events/{event.id}/attendance", follow_redirects=True, data={
        "csrf_token": token, "status": "attended", "person_ids": [person.id]}).get_data(as_text=True)
    assert "event_not_started" in page
    assert _count(db_session, EventAttendance, event_id=event.id) == 0


def test_another_organizations_event_and_person_are_not_found(client, db_session):
    ward = make_ward(db_session)
    stranger = make_org(db_session)
    theirs = _event(db_session, stranger)
    their_person = make_person(db_session, org=stranger)
    mine = _event(db_session, ward.org)
    sign_in(client, ward.lead)
    assert client.get(f"/console/events/{theirs.id}").status_code == 404
    token = csrf_of(client, "/console/events")
    response = client.post(f"/console/events/{theirs.id}/attendance", data={
        "csrf_token": token, "status": "attended", "person_ids": [their_person.id]})
    assert response.status_code == 404
    page = client.post(f"/console/events/{mine.id}/attendance", follow_redirects=True, data={
        "csrf_token": token, "status": "attended", "person_ids": [their_person.id]}).get_data(as_text=True)
    assert "person_not_found" in page
    assert _count(db_session, EventAttendance, person_id=their_person.id) == 0


def test_posts_without_the_csrf_token_are_refused_and_change_nothing(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    person = next(iter(ward.people.values()))
    sign_in(client, ward.organizer)
    posts = [
        ("/console/events", {"title": "x", "kind": "meeting", "starts_at": "2026-11-21T10:00"}),
        (f"/console/events/{event.id}/attendance", {"status": "attended", "person_ids": [person.id]}),
        ("/console/dues", {"person_id": person.id, "amount": "10", "paid_on": "2026-11-01", "method": "cash",
                           "period_start": "2026-11-01", "period_end": "2026-11-30"}),
        ("/console/votes", {"title": "x"}),
    ]
    for path, data in posts:
        for forged in ({}, {"csrf_token": "forged"}):
            assert client.post(path, data={**data, **forged}).status_code == 400, path
    for path in ("/console/events/attendance-import", "/console/dues/import", "/console/households"):
        assert _upload(client, path, b"a,b\n1,2\n").status_code == 400, path
    assert _count(db_session, EventAttendance, event_id=event.id) == 0
    assert _count(db_session, Event, organization_id=ward.org.id) == 1
    assert _count(db_session, DuesPayment, organization_id=ward.org.id) == 0


# --- attendance and dues CSV imports -------------------------------------------------------------


def test_an_attendance_csv_is_imported_with_bad_rows_listed_by_line(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    people = list(ward.people.values())
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/events")
    sheet = (f"event_id,person_id,status\n{event.id},{people[0].id},attended\n{event.id},{people[1].id},dancing\n"
             f"{event.id},abc,attended\n").encode()
    response = _upload(client, "/console/events/attendance-import", sheet, token=token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="skipped-rows"' in html
    assert "<td>3</td>" in html and "<td>4</td>" in html and "1 new" in html
    assert _count(db_session, EventAttendance, event_id=event.id) == 1


def test_an_attendance_csv_with_unknown_columns_imports_nothing(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    person = next(iter(ward.people.values()))
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/events")
    response = _upload(client, "/console/events/attendance-import",
                       f"event_id,person_id,status,shoe_size\n{event.id},{person.id},attended,9\n".encode(), token=token)
    assert response.status_code == 422 and "unknown columns: shoe_size" in response.get_data(as_text=True)
    assert _count(db_session, EventAttendance, event_id=event.id) == 0


def test_a_csv_that_is_not_utf8_imports_nothing(client, db_session):
    ward = make_ward(db_session)
    event = _event(db_session, ward.org)
    person = next(iter(ward.people.values()))
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/events")
    sheet = f"event_id,person_id,status\n{event.id},{person.id},attended\n".encode() + b"\xff\xfe,\xff,\xff\n"
    response = _upload(client, "/console/events/attendance-import", sheet, token=token)
    assert response.status_code == 422 and "not UTF-8" in response.get_data(as_text=True)
    assert _count(db_session, EventAttendance, event_id=event.id) == 0


@pytest.mark.parametrize("path", ["/console/events/attendance-import", "/console/dues/import", "/console/households"])
def test_a_file_that_is_not_csv_is_refused(client, db_session, path):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/events")
    response = _upload(client, path, b"\x89PNG\r\n", filename="photo.png", mimetype="image/png", token=token,
                       )
    assert response.status_code == 400
    assert "photo.png is not a CSV file" in client.get("/console/events").get_data(as_text=True) or \
        "photo.png is not a CSV file" in response.get_data(as_text=True)


def test_a_dues_csv_is_imported_with_bad_rows_listed_by_line(client, db_session):
    ward = make_ward(db_session)
    people = list(ward.people.values())
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/dues")
    sheet = ("person_id,amount,paid_on,method,period_start,period_end\n"
             f"{people[0].id},$25.00,2026-10-01,cash,2026-10-01,2026-12-31\n"
             f"{people[1].id},lots,2026-10-01,cash,2026-10-01,2026-12-31\n").encode()
    response = _upload(client, "/console/dues/import", sheet, token=token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<td>3</td>" in html and "1 new" in html
    assert _count(db_session, DuesPayment, organization_id=ward.org.id) == 1


# --- dues ----------------------------------------------------------------------------------------


def test_recording_a_payment_finds_the_member_and_stores_it(client, db_session):
    ward = make_ward(db_session)
    member = make_person(db_session, org=ward.org, first_name="Dana", last_name="Payer")
    sign_in(client, ward.organizer)
    page = client.get("/console/dues?q=payer").get_data(as_text=True)
    assert "Dana Payer" in page and f'value="{member.id}"' in page
    token = csrf_of(client, "/console/dues")
    today = org_today(ward.org)
    response = client.post("/console/dues", follow_redirects=True, data={
        "csrf_token": token, "person_id": member.id, "amount": "30.00", "paid_on": today.isoformat(),
        "method": "cash", "period_start": today.isoformat(), "period_end": (today + timedelta(days=90)).isoformat()})
    assert "Payment of $30.00 recorded for Dana Payer" in response.get_data(as_text=True)
    payment = db_session.execute(select(DuesPayment).where(DuesPayment.person_id == member.id)).scalar_one()
    assert payment.amount_cents == 3000 and payment.source == "api"


@pytest.mark.parametrize(("amount", "message"), [("ten", "an amount in dollars"), ("10.005", "an amount in dollars"),
                                                 ("-5", "did not pass validation")])
def test_a_bad_payment_is_refused_with_its_reason(client, db_session, amount, message):
    ward = make_ward(db_session)
    member = next(iter(ward.people.values()))
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/dues")
    page = client.post("/console/dues", follow_redirects=True, data={
        "csrf_token": token, "person_id": member.id, "amount": amount, "paid_on": "2026-10-01", "method": "cash",
        "period_start": "2026-10-01", "period_end": "2026-10-31"}).get_data(as_text=True)
    assert message in page
    assert _count(db_session, DuesPayment, organization_id=ward.org.id) == 0


def test_dues_for_another_organizations_person_are_not_found(client, db_session):
    ward = make_ward(db_session)
    theirs = make_person(db_session, org=make_org(db_session))
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/dues")
    page = client.post("/console/dues", follow_redirects=True, data={
        "csrf_token": token, "person_id": theirs.id, "amount": "10", "paid_on": "2026-10-01", "method": "cash",
        "period_start": "2026-10-01", "period_end": "2026-10-31"}).get_data(as_text=True)
    assert "person_not_found" in page
    assert _count(db_session, DuesPayment, person_id=theirs.id) == 0


def test_a_payment_makes_a_member_once_the_rollup_runs(client, db_session):
    ward = make_ward(db_session)
    member = make_person(db_session, org=ward.org, first_name="Dana", last_name="Payer")
    event = _event(db_session, ward.org)
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/dues")
    today = org_today(ward.org)
    client.post("/console/dues", data={
        "csrf_token": token, "person_id": member.id, "amount": "30.00", "paid_on": today.isoformat(),
        "method": "cash", "period_start": today.isoformat(), "period_end": (today + timedelta(days=90)).isoformat()})
    client.post(f"/console/events/{event.id}/attendance", data={
        "csrf_token": token, "status": "attended", "person_ids": [member.id]})
    refresh_pipeline(db_session, organization_id=ward.org.id, mode="full")
    db_session.commit()  # as the worker's rollup does (here: a savepoint released)
    assert db_session.get(PipelinePerson, (ward.org.id, member.id)).membership_status == "member"
    row = client.get(f"/console/events/{event.id}").get_data(as_text=True)
    table = row[row.index('id="attendance"'):row.index("take-attendance")]
    assert f'id="attendee-{member.id}"' in table and "member-member" in table, table


# --- votes ---------------------------------------------------------------------------------------


def _open_vote(session, ward, *, rule=None, closes_in=timedelta(days=2)):
    from canvass.pipeline import votes
    now = utcnow()
    return votes.create_vote(session, organization_id=ward.org.id, title="Endorse Alderperson Ruiz?",
                             scope="organization", options=["Yes", "No"], cutoff_at=now - timedelta(hours=1),
                             opens_at=now - timedelta(minutes=30), closes_at=now + closes_in, eligibility_rule=rule)


def _make_member(session, ward, person) -> None:
    today = org_today(ward.org)
    session.add(DuesPayment(organization_id=ward.org.id, person_id=person.id, amount_cents=3000,
                            paid_on=today - timedelta(days=30), method="cash",
                            period_start=today - timedelta(days=30), period_end=today + timedelta(days=60),
                            source="api"))
    session.flush()
    refresh_pipeline(session, organization_id=ward.org.id, mode="full")


def test_an_organizer_opens_a_vote_from_the_form(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/votes")
    response = client.post("/console/votes", follow_redirects=True, data={
        "csrf_token": token, "title": "Endorse?", "options": "Yes\nNo\n", "scope": "organization",
        "cutoff_at": "2026-01-01T00:00", "opens_at": "2026-01-01T00:00", "closes_at": "2099-01-01T00:00",
        "quorum_percent": "40", "rule": "membership"})
    html = response.get_data(as_text=True)
    assert "Vote created." in html and "Eligibility snapshot" in html
    vote = db_session.execute(select(Vote).where(Vote.organization_id == ward.org.id)).scalar_one()
    assert vote.quorum_percent == 40 and vote.eligibility_taken_at is not None


@pytest.mark.parametrize(("fields", "message"), [
    ({"options": "Only one"}, "give 2-20 options"),
    ({"rule": "custom", "eligibility_rule": "{not json"}, "not valid JSON"),
    ({"rule": "custom", "eligibility_rule": '{"kind": "astrology"}'}, "astrology"),
    ({"cutoff_at": "1999-12-01T00:00", "opens_at": "2000-01-01T00:00", "closes_at": "2000-01-02T00:00"},
     "must be in the future"),
])
def test_a_bad_vote_is_refused_with_its_reason_and_nothing_saved(client, db_session, fields, message):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/votes")
    data = {"csrf_token": token, "title": "Endorse?", "options": "Yes\nNo", "scope": "organization",
            "cutoff_at": "2026-01-01T00:00", "opens_at": "2026-01-01T00:00", "closes_at": "2099-01-01T00:00",
            "quorum_percent": "50", "rule": "membership", **fields}
    page = client.post("/console/votes", follow_redirects=True, data=data).get_data(as_text=True)
    assert message in page
    assert _count(db_session, Vote, organization_id=ward.org.id) == 0


def test_a_vote_with_its_own_rule_lists_who_was_left_out_and_why(client, db_session):
    ward = make_ward(db_session)
    people = list(ward.people.values())
    _make_member(db_session, ward, people[0])
    vote = _open_vote(db_session, ward, rule={"op": "and", "rules": [
        {"kind": "membership"}, {"kind": "events_in_window", "params": {"count": 1, "months": 3}}]})
    sign_in(client, ward.organizer)
    html = client.get(f"/console/votes/{vote.id}").get_data(as_text=True)
    assert 'id="excluded"' in html and people[0].last_name in html and "event" in html


def test_recording_a_ballot_once_and_results_after_closing(client, db_session):
    ward = make_ward(db_session)
    voter = list(ward.people.values())[0]
    _make_member(db_session, ward, voter)
    vote = _open_vote(db_session, ward)
    from canvass.pipeline.votes import vote_options
    yes = vote_options(db_session, vote=vote)[0]
    sign_in(client, ward.organizer)
    html = client.get(f"/console/votes/{vote.id}").get_data(as_text=True)
    assert 'id="record-ballot"' in html and f'<option value="{voter.id}">' in html
    token = csrf_of(client, "/console/votes")
    data = {"csrf_token": token, "person_id": voter.id, "option_id": yes.id}
    assert "Ballot recorded." in client.post(f"/console/votes/{vote.id}/recorded-ballots", data=data,
                                             follow_redirects=True).get_data(as_text=True)
    again = client.post(f"/console/votes/{vote.id}/recorded-ballots", data=data, follow_redirects=True)
    assert "already_voted" in again.get_data(as_text=True)
    assert _count(db_session, Ballot, vote_id=vote.id) == 1
    vote.closes_at = utcnow() - timedelta(minutes=1)
    db_session.commit()  # a savepoint released: the next request sees the vote closed
    html = client.get(f"/console/votes/{vote.id}").get_data(as_text=True)
    assert 'id="results"' in html and "1 of 1 eligible voted" in html


def test_an_organizer_closes_a_vote_early_from_its_page(client, db_session):
    ward = make_ward(db_session)
    voter = list(ward.people.values())[0]
    _make_member(db_session, ward, voter)
    vote = _open_vote(db_session, ward)
    sign_in(client, ward.organizer)
    assert 'id="close-vote"' in client.get(f"/console/votes/{vote.id}").get_data(as_text=True)
    token = csrf_of(client, "/console/votes")
    refused = client.post(f"/console/votes/{vote.id}/close", data={"csrf_token": token, "reason": ""},
                          follow_redirects=True).get_data(as_text=True)
    assert "reason_required" in refused and 'id="results"' not in refused
    html = client.post(f"/console/votes/{vote.id}/close", data={"csrf_token": token, "reason": "the meeting voted"},
                       follow_redirects=True).get_data(as_text=True)
    assert 'id="results"' in html and 'id="close-vote"' not in html and "0 of 1 eligible voted" in html


def test_another_organizations_vote_is_not_found(client, db_session):
    ward = make_ward(db_session)
    theirs = _open_vote(db_session, make_ward(db_session, ward_name="34"))
    sign_in(client, ward.organizer)
    assert client.get(f"/console/votes/{theirs.id}").status_code == 404
    token = csrf_of(client, "/console/votes")
    response = client.post(f"/console/votes/{theirs.id}/recorded-ballots",
                           data={"csrf_token": token, "person_id": 1, "option_id": 1})
    assert response.status_code == 404


# --- households upload --------------------------------------------------------------------------


HOUSEHOLDS = (
    "address,unit,city,state,zip,latitude,longitude,external_id,first_name,last_name\n"
    "101 N Main St,,Chicago,IL,60618,41.945,-87.711,v1,Ana,Lopez\n"
    "103 N Main St,2,Chicago,IL,60618,41.945,-87.712,v2,Ben,Okafor\n"
    "105 N Main St,,Chicago,IL,60618,north,-87.713,v3,Cy,Ng\n"
)


def test_a_household_csv_uploaded_from_the_browser_is_imported_with_bad_rows_listed(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    before = _count(db_session, Household, organization_id=ward.org.id)
    token = csrf_of(client, "/console/households")
    response = _upload(client, "/console/households", HOUSEHOLDS.encode(), token=token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 of 3 rows imported, 1 skipped" in html
    assert "<td>4</td>" in html and "latitude" in html
    assert _count(db_session, Household, organization_id=ward.org.id) == before + 2
    again = _upload(client, "/console/households", HOUSEHOLDS.encode(), token=token).get_data(as_text=True)
    assert "Households: 0 new" in again
    assert _count(db_session, Household, organization_id=ward.org.id) == before + 2
    # Once the file is clean and imported, uploading it again reads nothing again.
    clean = "".join(HOUSEHOLDS.splitlines(keepends=True)[:3]).encode()
    _upload(client, "/console/households", clean, token=token)
    repeated = _upload(client, "/console/households", clean, token=token).get_data(as_text=True)
    assert "2 rows are unchanged since an earlier import and were not read again." in repeated


def test_a_household_csv_without_coordinates_imports_nothing(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    before = _count(db_session, Household, organization_id=ward.org.id)
    token = csrf_of(client, "/console/households")
    response = _upload(client, "/console/households", b"address,city\n1 Main St,Chicago\n", token=token)
    assert response.status_code == 422 and "Nothing was imported" in response.get_data(as_text=True)
    assert _count(db_session, Household, organization_id=ward.org.id) == before


def test_a_file_over_max_content_length_is_refused_saying_so(client, app, db_session, monkeypatch):
    # A small limit: the test client then builds the body in memory (above 500 KB it spools to a file).
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    token = csrf_of(client, "/console/households")
    before = _count(db_session, Household, organization_id=ward.org.id)
    big = HOUSEHOLDS.encode() + b"107 N Main St,,Chicago,IL,60618,41.945,-87.714,v4,Di,Ro\n" * 2000
    response = _upload(client, "/console/households", big, token=token)
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "0.1 MB" in html and "MAX_CONTENT_LENGTH" in html and "nothing was imported" in html
    assert _count(db_session, Household, organization_id=ward.org.id) == before


def test_the_upload_page_loads_its_script_from_a_file(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.organizer)
    html = client.get("/console/households").get_data(as_text=True)
    assert "/static/js/console-upload.js" in html and "<script>" not in html and "style=" not in html
    script = client.get("/static/js/console-upload.js")
    assert script.status_code == 200
    script.close()
