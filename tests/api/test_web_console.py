"""The console's pages through the Flask test client: sign-in by session cookie, the same roles as the
API, CSRF on every POST, tenant scoping, and the writes (lease, cut, paper results) doing what the
API's would."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from api.security import tile_origin
from canvass.canvassing.records import Contact
from canvass.turfs.entry_codes import encode_entry_code
from canvass.turfs.models import Assignment, Turf
from tests.canvass.dashboards.fieldwork import make_ward
from tests.factories import DEFAULT_PASSWORD, make_org, make_turf, make_user, org_today, tenant_row

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path="/console/sign-in") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, user):
    token = csrf_of(client)
    response = client.post("/console/sign-in", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                                     "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def test_the_session_cookie_is_http_only_and_same_site_lax(client, db_session):
    ward = make_ward(db_session)
    cookie = sign_in(client, ward.lead).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/console/turfs")
    assert response.status_code == 302 and "/console/sign-in?next=/console/turfs" in response.headers["Location"]


def test_wrong_password_is_refused_with_a_message(client, db_session):
    ward = make_ward(db_session)
    token = csrf_of(client)
    response = client.post("/console/sign-in", data={"email": ward.lead.email, "password": "nope", "csrf_token": token})
    assert response.status_code == 401 and "wrong" in response.get_data(as_text=True)


def test_an_unknown_emails_sign_in_is_recorded_apart_and_bounded(client, db_session):
    """The console's form has no length limit: the e-mail kept in sign_in_failures is cut to an e-mail's."""
    from canvass.audit.models import AuditEvent, SignInFailure

    typed = "X" * 300 + "@Example.org"
    response = client.post("/console/sign-in", data={"email": typed, "password": "nope", "csrf_token": csrf_of(client)})
    assert response.status_code == 401
    assert db_session.execute(select(SignInFailure.email)).scalars().all() == [typed.lower()[:254]]
    assert db_session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_sign_in_without_the_csrf_token_is_refused(client, db_session):
    ward = make_ward(db_session)
    client.get("/console/sign-in")
    response = client.post("/console/sign-in", data={"email": ward.lead.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_sign_in_sends_a_lead_to_turfs_and_a_canvasser_to_their_assignments(client, app, db_session):
    ward = make_ward(db_session)
    assert sign_in(client, ward.lead).headers["Location"].endswith("/console/turfs")
    other = app.test_client()
    assert sign_in(other, ward.canvassers[0]).headers["Location"].endswith("/console/my-assignments")
    page = other.get("/console/my-assignments")
    assert page.status_code == 200 and ward.turfs[0].name in page.get_data(as_text=True)


def test_sign_in_ignores_a_next_url_to_another_site(client, db_session):
    ward = make_ward(db_session)
    token = csrf_of(client)
    response = client.post("/console/sign-in?next=//evil.example/x", data={
        "email": ward.lead.email, "password": DEFAULT_PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/console/turfs")


@pytest.mark.parametrize("path", ["/console/turfs", "/console/canvassers", "/console/cut", "/console/paper"])
def test_a_canvasser_gets_403_on_lead_pages(client, db_session, path):
    ward = make_ward(db_session)
    sign_in(client, ward.canvassers[0])
    response = client.get(path)
    assert response.status_code == 403 and "My assignments" in response.get_data(as_text=True)


def test_a_canvasser_cannot_post_a_lease_change(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.canvassers[0])
    token = csrf_of(client, "/console/my-assignments")
    response = client.post(f"/console/turfs/{ward.turfs[0].id}/assignment",
                           data={"action": "release", "csrf_token": token})
    assert response.status_code == 403
    assert tenant_row(db_session, Assignment, ward.assignments[0].id).status == "active"


def test_another_organizations_turf_is_404(client, db_session):
    ward = make_ward(db_session)
    stranger = make_org(db_session)
    theirs = make_turf(db_session, org=stranger)
    sign_in(client, ward.lead)
    assert client.get(f"/console/turfs/{theirs.id}").status_code == 404
    token = csrf_of(client, "/console/turfs")
    response = client.post(f"/console/turfs/{theirs.id}/assignment", data={"action": "release", "csrf_token": token})
    assert response.status_code == 404


def test_a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    for data in ({"action": "release"}, {"action": "release", "csrf_token": "forged"}):
        response = client.post(f"/console/turfs/{ward.turfs[0].id}/assignment", data=data)
        assert response.status_code == 400
    db_session.expire_all()
    assert tenant_row(db_session, Assignment, ward.assignments[0].id).status == "active"


def test_turfs_page_lists_state_holder_and_overlaps(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    html = client.get("/console/turfs?ward=33").get_data(as_text=True)
    assert ward.turfs[0].name in html and "checked out" in html and "Canvasser 0" in html
    assert 'id="map-data"' in html


def test_assigning_a_held_turf_shows_turf_already_assigned(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    token = csrf_of(client, f"/console/turfs/{ward.turfs[0].id}")
    response = client.post(f"/console/turfs/{ward.turfs[0].id}/assignment", follow_redirects=True, data={
        "action": "assign", "holder": f"canvasser:{ward.canvassers[1].id}", "campaign_id": ward.campaign.id,
        "csrf_token": token})
    assert "turf_already_assigned" in response.get_data(as_text=True)


def test_release_then_assign_and_the_history_names_people(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    turf_id = ward.turfs[0].id
    token = csrf_of(client, f"/console/turfs/{turf_id}")
    client.post(f"/console/turfs/{turf_id}/assignment", data={"action": "release", "csrf_token": token})
    response = client.post(f"/console/turfs/{turf_id}/assignment", follow_redirects=True, data={
        "action": "assign", "holder": f"canvasser:{ward.canvassers[1].id}", "campaign_id": ward.campaign.id,
        "lease_hours": "24", "csrf_token": token})
    html = response.get_data(as_text=True)
    assert "leased to Canvasser 1" in html
    history = html[html.index('id="turf-history"'):]
    assert "Canvasser 1" in history and ward.lead.name in history


def test_cut_preview_saves_nothing_and_keep_saves_the_cut(client, db_session):
    ward = make_ward(db_session, doors_per_turf=6)
    sign_in(client, ward.lead)
    before = db_session.scalar(select(func.count()).select_from(Turf))
    preview = client.get("/console/cut?ward=33&target_doors=4")
    assert preview.status_code == 200 and "Preview: 3 turfs" in preview.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Turf)) == before
    token = csrf_of(client, "/console/turfs")
    kept = client.post("/console/cut", data={"ward": "33", "target_doors": "4", "csrf_token": token})
    assert kept.status_code == 302
    assert db_session.scalar(select(func.count()).select_from(Turf).where(Turf.origin == "cut")) == 3


def test_cut_preview_of_an_unknown_ward_says_so(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    response = client.get("/console/cut?ward=999&target_doors=4")
    assert response.status_code == 200 and 'id="cut-error"' in response.get_data(as_text=True)


def _paper_form(ward, token, rows, walked_on="2026-01-05"):
    data = {"csrf_token": token, "assignment_id": ward.assignments[0].id, "walked_on": walked_on,
            "row_count": len(rows)}
    question_id = ward.campaign.questions[0].id
    for index, (code, result, answer) in enumerate(rows):
        data |= {f"code_{index}": code, f"result_{index}": result, f"answer_{index}_{question_id}": answer}
    return data


def test_paper_results_are_stored_once_and_a_typo_is_refused_in_its_row(client, db_session):
    ward = make_ward(db_session, doors_per_turf=3)
    sign_in(client, ward.lead)
    token = csrf_of(client, f"/console/paper?assignment_id={ward.assignments[0].id}")
    door0, door1 = (encode_entry_code(h.id) for h in ward.doors[0][:2])
    typo = door1[:-1] + ("A" if door1[-1] != "A" else "B")
    other_turf = encode_entry_code(ward.doors[1][0].id)
    rows = [(door0, "T", "y"), (door1, "not_home", ""), (typo, "refused", ""), (other_turf, "not_home", "")]
    first = client.post("/console/paper", data=_paper_form(ward, token, rows)).get_data(as_text=True)
    assert "2 stored, 0 already stored, 2 refused" in first
    assert "typo" in first and "not on assignment" in first
    stored = db_session.execute(select(Contact).where(Contact.assignment_id == ward.assignments[0].id)).scalars().all()
    assert len(stored) == 2 and {c.canvasser_id for c in stored} == {ward.canvassers[0].id}
    assert {c.household_id for c in stored} == {ward.doors[0][0].id, ward.doors[0][1].id}

    again = client.post("/console/paper", data=_paper_form(ward, token, rows)).get_data(as_text=True)
    assert "0 stored, 2 already stored" in again
    count = db_session.scalar(select(func.count()).select_from(Contact).where(Contact.organization_id == ward.org.id))
    assert count == 2


def test_paper_page_of_another_organizations_assignment_is_404(client, db_session):
    ward = make_ward(db_session)
    other = make_ward(db_session)
    sign_in(client, ward.lead)
    assert client.get(f"/console/paper?assignment_id={other.assignments[0].id}").status_code == 404


def test_a_lead_prints_a_held_turfs_walk_list_from_the_console(client, db_session):
    ward = make_ward(db_session)
    lease = ward.assignments[0]
    sign_in(client, ward.lead)
    turf_page = client.get(f"/console/turfs/{lease.turf_id}").get_data(as_text=True)
    assert f'href="/console/assignments/{lease.id}/print"' in turf_page
    sheet = client.get(f"/console/assignments/{lease.id}/print")
    assert sheet.status_code == 200
    codes = re.findall(r'<td class="entry-code"><code>([2-9A-Z]{8})</code></td>', sheet.get_data(as_text=True))
    assert codes == [encode_entry_code(h.id) for h in ward.doors[0]]


def test_printing_another_organizations_or_as_a_canvasser_is_refused(client, db_session):
    ward = make_ward(db_session)
    other = make_ward(db_session)
    sign_in(client, ward.lead)
    assert client.get(f"/console/assignments/{other.assignments[0].id}/print").status_code == 404
    sign_in(client, ward.canvassers[0])
    assert client.get(f"/console/assignments/{ward.assignments[0].id}/print").status_code == 403


def test_admin_adds_a_canvasser_and_a_lead_cannot(client, app, db_session):
    ward = make_ward(db_session)
    admin = make_user(db_session, org=ward.org, roles=["admin"])
    sign_in(client, admin)
    token = csrf_of(client, "/console/canvassers")
    response = client.post("/console/users", follow_redirects=True, data={
        "name": "New Walker", "email": "new.walker@example.org", "role_canvasser": "1", "csrf_token": token})
    assert "New Walker added" in response.get_data(as_text=True)
    lead = app.test_client()
    sign_in(lead, ward.lead)
    token = csrf_of(lead, "/console/canvassers")
    refused = lead.post("/console/users", data={"name": "X", "email": "x@example.org", "csrf_token": token})
    assert refused.status_code == 403


def test_a_lead_builds_a_team(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    token = csrf_of(client, "/console/canvassers")
    response = client.post("/console/teams", follow_redirects=True, data={
        "name": "Porch crew", "member_ids": [str(c.id) for c in ward.canvassers], "csrf_token": token})
    html = response.get_data(as_text=True)
    assert "Team Porch crew made" in html and "Canvasser 0, Canvasser 1" in html


def test_console_pages_have_no_inline_script_or_style(client, db_session):
    ward = make_ward(db_session)
    sign_in(client, ward.lead)
    for path in ("/console/turfs", f"/console/turfs/{ward.turfs[0].id}", "/console/canvassers", "/console/cut",
                 f"/console/paper?assignment_id={ward.assignments[0].id}"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        # The map's data is a JSON block, never run; every other script is a file.
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r'tabindex="[1-9]', html), path


@pytest.mark.parametrize(("url", "origin"), [
    ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "https://*.tile.openstreetmap.org"),
    ("https://tiles.example.org:8443/{z}/{x}/{y}.png", "https://tiles.example.org:8443"),
    (None, None), ("javascript:alert(1)", None), ("https://x.org;script-src */{z}", None),
])
def test_the_tile_url_gives_the_one_extra_image_origin(url, origin):
    assert tile_origin(url) == origin


def test_a_lead_resolves_a_conflict_from_the_queue(client, app, db_session):
    from tests.api.test_door_conflicts import Door, conflict_pair

    door = Door(db_session)
    first, second = conflict_pair(app.test_client(), door)
    sign_in(client, door.lead)
    html = client.get("/console/conflicts").get_data(as_text=True)
    row = html[html.index(f'id="conflict-{second["id"]}"'):]
    assert "Bea" in row and "moved" in row and "talked" in row
    token = CSRF.search(html).group(1)
    assert client.post(f"/console/conflicts/{second['id']}", data={"keep_contact_id": first["id"]}).status_code == 400
    response = client.post(f"/console/conflicts/{second['id']}", follow_redirects=True,
                           data={"keep_contact_id": first["id"], "csrf_token": token})
    assert "Conflict resolved" in response.get_data(as_text=True)
    db_session.expire_all()
    assert tenant_row(db_session, Contact, second["id"]).conflict_resolved_at is not None
    again = client.post(f"/console/conflicts/{second['id']}", follow_redirects=True,
                        data={"keep_contact_id": first["id"], "csrf_token": token})
    assert "conflict_already_resolved" in again.get_data(as_text=True)


def test_the_conflicts_queue_is_for_leads_and_organizers(client, db_session):
    ward = make_ward(db_session)
    admin = make_user(db_session, org=ward.org, roles=["admin"])
    sign_in(client, admin)
    assert client.get("/console/conflicts").status_code == 403  # as the API: leads and organizers


def test_the_paper_sheets_day_defaults_to_the_organizations_today(awkward_clock, client, db_session):
    ward = make_ward(db_session, doors_per_turf=3)
    sign_in(client, ward.lead)
    page = client.get(f"/console/paper?assignment_id={ward.assignments[0].id}").get_data(as_text=True)
    assert f'name="walked_on" type="date" value="{org_today(ward.org).isoformat()}"' in page


def test_paper_yes_no_answers_take_the_letters_of_each_translated_legend():
    from types import SimpleNamespace

    from api.web.console import _answer

    question = SimpleNamespace(kind="yes_no", prompt="Will you vote?", choices=None)
    assert [_answer(question, raw) for raw in ("Y", "s", "Sí", "T", "tak", "是")] == [True] * 6
    assert [_answer(question, raw) for raw in ("N", "no", "Nie", "否")] == [False] * 4
    with pytest.raises(ValueError):
        _answer(question, "maybe")
