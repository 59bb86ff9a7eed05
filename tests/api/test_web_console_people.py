"""The console's people pages through the Flask test client: search, a person's page, duplicates and
merging, follow-ups, drawing a turf; the API's roles, another organization's ids (404), bad input
(4xx, nothing changed) and CSRF."""
from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from canvass.audit.models import AuditEvent
from canvass.canvassing.records import Pledge
from canvass.db import utcnow
from canvass.normalize import name_key
from canvass.people.models import Person
from canvass.turfs.models import Turf
from tests.api.test_web_console import CSRF, sign_in
from tests.canvass.dashboards.fieldwork import add_contact, make_ward
from tests.factories import make_household, make_org, make_person, make_user, tenant_row


def signed_in(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


def csrf(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def due_card(session, person, *, days_overdue: int = 1) -> Pledge:
    card = Pledge(organization_id=person.organization_id, client_id=uuid.uuid4(), pledge_type="member",
                  person_id=person.id, occurred_at=utcnow() - timedelta(days=10), consent_to_contact=True,
                  follow_up_status="pending", next_follow_up_at=utcnow() - timedelta(days=days_overdue))
    session.add(card)
    session.flush()
    return card


# --- search ------------------------------------------------------------------------------


def test_search_finds_people_by_name_phone_email_and_address_of_this_organization_only(app, db_session):
    ward = make_ward(db_session)
    home = make_household(db_session, org=ward.org, line1="1234 N MILWAUKEE AVE")
    maria = make_person(db_session, org=ward.org, household=home, first_name="María", last_name="Núñez",
                        phone="13125550199", email="maria@example.org")
    maria.name_key = name_key(maria.first_name, maria.last_name)  # folded, as every write path stores it
    db_session.flush()
    other_org = make_org(db_session)
    make_person(db_session, org=other_org, first_name="Maria", last_name="Nunez", phone="13125550199")
    client = signed_in(app, ward.lead)
    for query in ("maria nunez", "555-0199", "MARIA@example", "1234 n milwaukee"):
        page = client.get("/console/people", query_string={"q": query})
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert body.count("data-person-id=") == 1 and f'data-person-id="{maria.id}"' in body, query


def test_search_pages_and_takes_wildcards_literally(app, db_session):
    ward = make_ward(db_session)
    for i in range(30):
        make_person(db_session, org=ward.org, first_name="Zed", last_name=f"Page{i:02d}")
    client = signed_in(app, ward.lead)
    first = client.get("/console/people?q=zed").get_data(as_text=True)
    second = client.get("/console/people?q=zed&page=2").get_data(as_text=True)
    assert first.count("data-person-id=") == 25 and second.count("data-person-id=") == 5
    assert "Next page" in first and "Next page" not in second
    assert client.get("/console/people?q=%25").get_data(as_text=True).count("data-person-id=") == 0


def test_a_search_too_long_is_refused_with_a_message(app, db_session):
    ward = make_ward(db_session)
    response = signed_in(app, ward.lead).get("/console/people", query_string={"q": "x" * 201})
    assert response.status_code == 422 and "too long" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/console/people?q=pat&page=0", "/console/people?q=pat&page=two",
                                  "/console/duplicates?after=junk", "/console/follow-ups?cursor=junk"])
def test_a_bad_page_or_list_position_is_a_422_with_a_message(app, db_session, path):
    ward = make_ward(db_session)
    response = signed_in(app, ward.organizer).get(path)
    assert response.status_code == 422 and "Not possible" in response.get_data(as_text=True)


def test_canvassers_may_not_search_or_read_people(app, db_session):
    ward = make_ward(db_session)
    person = next(iter(ward.people.values()))
    client = signed_in(app, ward.canvassers[0])
    for path in ("/console/people?q=pat", f"/console/people/{person.id}", "/console/follow-ups", "/console/duplicates",
                 "/console/draw"):
        assert client.get(path).status_code == 403, path


# --- a person's page ---------------------------------------------------------------------


def test_person_page_shows_household_results_with_names_cards_rule_and_stages(app, db_session):
    ward = make_ward(db_session)
    household = ward.doors[0][0]
    person = ward.people[household.id]
    add_contact(db_session, ward, when=utcnow() - timedelta(days=1), person=True, result_code="come_back")
    due_card(db_session, person)
    body = signed_in(app, ward.organizer).get(f"/console/people/{person.id}").get_data(as_text=True)
    assert person.last_name in body and "W ADDISON ST" in body
    assert "come back" in body and ward.canvassers[0].name in body  # who knocked, by name
    assert 'data-pledge-id=' in body and "member" in body
    assert 'id="rule-tree"' in body and ("not met" in body or "met" in body)
    assert 'id="stage-history"' in body and 'id="membership-status"' in body


def test_another_organizations_person_is_404(app, db_session):
    ward = make_ward(db_session)
    stranger = make_person(db_session, org=make_org(db_session))
    client = signed_in(app, ward.organizer)
    assert client.get(f"/console/people/{stranger.id}").status_code == 404
    assert client.get(f"/console/people/{stranger.id}/merge?into={next(iter(ward.people.values())).id}").status_code == 404


# --- duplicates and merging ---------------------------------------------------------------


def _twins(session, ward):
    first = make_person(session, org=ward.org, first_name="Dup", last_name="Licate", phone="13125550111")
    second = make_person(session, org=ward.org, first_name="Dupe", last_name="Licate", phone="13125550111",
                         email="dup@example.org")
    return first, second


def test_duplicates_list_and_side_by_side_comparison(app, db_session):
    ward = make_ward(db_session)
    first, second = _twins(db_session, ward)
    client = signed_in(app, ward.organizer)
    listing = client.get("/console/duplicates").get_data(as_text=True)
    assert f'data-pair="{first.id}_{second.id}"' in listing and "same phone" in listing
    compare = client.get(f"/console/people/{second.id}/merge?into={first.id}").get_data(as_text=True)
    assert "Dupe" in compare and "dup@example.org" in compare and 'id="merge-form"' in compare


def test_merge_moves_the_record_and_is_audited_like_the_api(app, db_session):
    ward = make_ward(db_session)
    first, second = _twins(db_session, ward)
    card = due_card(db_session, second)
    client = signed_in(app, ward.organizer)
    token = csrf(client, f"/console/people/{second.id}/merge?into={first.id}")
    response = client.post(f"/console/people/{second.id}/merge", data={"into_id": first.id, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/console/people/{first.id}")
    db_session.expire_all()
    assert tenant_row(db_session, Person, second.id).merged_into_id == first.id
    assert tenant_row(db_session, Person, first.id).email == "dup@example.org"
    assert tenant_row(db_session, Pledge, card.id).person_id == first.id
    audit = db_session.execute(select(AuditEvent).where(AuditEvent.action == "person.merged",
                                                        AuditEvent.organization_id == ward.org.id)).scalar_one()
    assert audit.details["merged_id"] == second.id and audit.actor_user_id == ward.organizer.id


def test_merging_again_or_into_oneself_shows_the_message_and_changes_nothing(app, db_session):
    ward = make_ward(db_session)
    first, second = _twins(db_session, ward)
    client = signed_in(app, ward.organizer)
    token = csrf(client, f"/console/people/{first.id}")
    page = client.post(f"/console/people/{first.id}/merge", data={"into_id": first.id, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "cannot_merge_self" in page
    client.post(f"/console/people/{second.id}/merge", data={"into_id": first.id, "csrf_token": token})
    page = client.post(f"/console/people/{second.id}/merge", data={"into_id": first.id, "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "person_already_merged" in page
    assert db_session.execute(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "person.merged", AuditEvent.organization_id == ward.org.id)).scalar_one() == 1


def test_merge_without_a_target_is_a_422_and_changes_nothing(app, db_session):
    ward = make_ward(db_session)
    first, _ = _twins(db_session, ward)
    client = signed_in(app, ward.organizer)
    token = csrf(client, f"/console/people/{first.id}")
    for into in ("", "abc"):
        response = client.post(f"/console/people/{first.id}/merge", data={"into_id": into, "csrf_token": token})
        assert response.status_code == 422 and "merge into" in response.get_data(as_text=True)
        response = client.get(f"/console/people/{first.id}/merge", query_string={"into": into})
        assert response.status_code == 422 and "merge into" in response.get_data(as_text=True)
    db_session.expire_all()
    assert tenant_row(db_session, Person, first.id).merged_into_id is None


def test_a_call_logged_on_a_persons_page_returns_to_that_page(app, db_session):
    ward = make_ward(db_session)
    person = next(iter(ward.people.values()))
    card = due_card(db_session, person)
    client = signed_in(app, ward.organizer)
    page = client.get(f"/console/people/{person.id}").get_data(as_text=True)
    assert f'value="person:{person.id}"' in page
    response = client.post(f"/console/pledges/{card.id}/follow-up", data={
        "outcome": "no_answer", "back": f"person:{person.id}", "csrf_token": CSRF.search(page).group(1)})
    assert response.headers["Location"].endswith(f"/console/people/{person.id}")
    db_session.expire_all()
    assert tenant_row(db_session, Pledge, card.id).follow_up_attempts == 1


def test_merge_into_another_organizations_person_is_404_and_changes_nothing(app, db_session):
    ward = make_ward(db_session)
    first, _ = _twins(db_session, ward)
    stranger = make_person(db_session, org=make_org(db_session))
    client = signed_in(app, ward.organizer)
    token = csrf(client, f"/console/people/{first.id}")
    response = client.post(f"/console/people/{first.id}/merge", data={"into_id": stranger.id, "csrf_token": token})
    assert response.status_code == 404
    db_session.expire_all()
    assert tenant_row(db_session, Person, first.id).merged_into_id is None


def test_merge_needs_the_csrf_token_and_an_organizer(app, db_session):
    ward = make_ward(db_session)
    first, second = _twins(db_session, ward)
    organizer = signed_in(app, ward.organizer)
    assert organizer.post(f"/console/people/{second.id}/merge", data={"into_id": first.id}).status_code == 400
    lead = signed_in(app, ward.lead)
    token = csrf(lead, "/console/people")
    assert lead.post(f"/console/people/{second.id}/merge",
                     data={"into_id": first.id, "csrf_token": token}).status_code == 403
    assert lead.get("/console/duplicates").status_code == 403
    db_session.expire_all()
    assert tenant_row(db_session, Person, second.id).merged_into_id is None


# --- follow-ups ----------------------------------------------------------------------------


def test_follow_ups_due_are_listed_and_reached_marks_the_card_done(app, db_session):
    ward = make_ward(db_session)
    person = next(iter(ward.people.values()))
    card = due_card(db_session, person)
    later = due_card(db_session, person, days_overdue=-3)  # not due yet
    client = signed_in(app, ward.organizer)
    listing = client.get("/console/follow-ups").get_data(as_text=True)
    assert f'data-pledge-id="{card.id}"' in listing and f'data-pledge-id="{later.id}"' not in listing
    token = CSRF.search(listing).group(1)
    response = client.post(f"/console/pledges/{card.id}/follow-up",
                           data={"outcome": "reached", "notes": "will come", "csrf_token": token})
    assert response.status_code == 302
    db_session.expire_all()
    assert tenant_row(db_session, Pledge, card.id).follow_up_status == "done"
    assert f'data-pledge-id="{card.id}"' not in client.get("/console/follow-ups").get_data(as_text=True)


def test_a_bad_outcome_a_closed_card_or_no_csrf_changes_nothing(app, db_session):
    ward = make_ward(db_session)
    card = due_card(db_session, next(iter(ward.people.values())))
    client = signed_in(app, ward.organizer)
    token = csrf(client, "/console/follow-ups")
    page = client.post(f"/console/pledges/{card.id}/follow-up", data={"outcome": "maybe", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "unknown outcome" in page
    assert client.post(f"/console/pledges/{card.id}/follow-up", data={"outcome": "reached"}).status_code == 400
    db_session.expire_all()
    assert tenant_row(db_session, Pledge, card.id).follow_up_attempts == 0
    client.post(f"/console/pledges/{card.id}/follow-up", data={"outcome": "reached", "csrf_token": token})
    page = client.post(f"/console/pledges/{card.id}/follow-up", data={"outcome": "reached", "csrf_token": token},
                       follow_redirects=True).get_data(as_text=True)
    assert "follow_up_closed" in page
    db_session.expire_all()
    assert tenant_row(db_session, Pledge, card.id).follow_up_attempts == 1


def test_a_lead_reads_follow_ups_but_may_not_log_a_call_and_another_orgs_card_is_404(app, db_session):
    ward = make_ward(db_session)
    card = due_card(db_session, next(iter(ward.people.values())))
    stranger = due_card(db_session, make_person(db_session, org=make_org(db_session)))
    lead = signed_in(app, ward.lead)
    listing = lead.get("/console/follow-ups").get_data(as_text=True)
    assert f'data-pledge-id="{card.id}"' in listing and "Log the call" not in listing
    token = CSRF.search(listing).group(1)
    assert lead.post(f"/console/pledges/{card.id}/follow-up",
                     data={"outcome": "reached", "csrf_token": token}).status_code == 403
    organizer = signed_in(app, ward.organizer)
    token = csrf(organizer, "/console/follow-ups")
    assert organizer.post(f"/console/pledges/{stranger.id}/follow-up",
                          data={"outcome": "reached", "csrf_token": token}).status_code == 404
    db_session.expire_all()
    assert tenant_row(db_session, Pledge, stranger.id).follow_up_status == "pending"


# --- drawing a turf -------------------------------------------------------------------------

EAST_BOX = {"type": "Polygon", "coordinates": [[[-87.7102, 41.944], [-87.7002, 41.944], [-87.7002, 41.946],
                                                  [-87.7102, 41.946], [-87.7102, 41.944]]]}
EMPTY_BOX = {"type": "Polygon", "coordinates": [[[-80.0, 30.0], [-79.99, 30.0], [-79.99, 30.01], [-80.0, 30.0]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[-87.72, 41.94], [-87.70, 41.95], [-87.70, 41.94], [-87.72, 41.95],
                                                 [-87.72, 41.94]]]}


def _turf_count(session, org) -> int:
    return session.execute(select(func.count()).select_from(Turf).where(Turf.organization_id == org.id)).scalar_one()


def test_drawing_a_turf_over_free_doors_makes_it(app, db_session):
    ward = make_ward(db_session)
    for assignment in ward.assignments:  # the doors are free: no live lease
        assignment.status = "released"
    db_session.flush()
    client = signed_in(app, ward.lead)
    token = csrf(client, "/console/draw")
    response = client.post("/console/draw", data={"name": "Drawn east", "ward": "", "geometry": json.dumps(EAST_BOX),
                                                  "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    made = db_session.execute(select(Turf).where(Turf.organization_id == ward.org.id, Turf.name == "Drawn east")
                              ).scalar_one()
    assert made.origin == "drawn" and made.door_count > 0 and response.headers["Location"].endswith(f"/{made.id}")


@pytest.mark.parametrize(("geometry", "status", "words"), [
    ("", 422, "not GeoJSON"), ("{not json", 422, "not GeoJSON"), (json.dumps(EMPTY_BOX), 422, "empty_turf"),
    (json.dumps(BOW_TIE), 422, "invalid_geometry"), (json.dumps(EAST_BOX), 409, "doors_already_leased"),
])
def test_a_broken_empty_or_leased_drawing_shows_the_services_message_and_saves_nothing(app, db_session, geometry,
                                                                                       status, words):
    ward = make_ward(db_session)  # its turfs are leased
    before = _turf_count(db_session, ward.org)
    client = signed_in(app, ward.lead)
    token = csrf(client, "/console/draw")
    response = client.post("/console/draw", data={"name": "Bad", "geometry": geometry, "csrf_token": token})
    assert response.status_code == status and words in response.get_data(as_text=True)
    assert _turf_count(db_session, ward.org) == before


def test_drawing_needs_the_csrf_token_and_a_writer(app, db_session):
    ward = make_ward(db_session)
    before = _turf_count(db_session, ward.org)
    lead = signed_in(app, ward.lead)
    assert lead.post("/console/draw", data={"name": "X", "geometry": json.dumps(EAST_BOX)}).status_code == 400
    admin = signed_in(app, make_user(db_session, org=ward.org, roles=["admin"]))
    token = csrf(admin, "/console/people")
    assert admin.post("/console/draw", data={"name": "X", "geometry": json.dumps(EAST_BOX),
                                             "csrf_token": token}).status_code == 403
    assert _turf_count(db_session, ward.org) == before


def test_people_pages_have_no_inline_script_or_style(app, db_session):
    ward = make_ward(db_session)
    first, second = _twins(db_session, ward)
    due_card(db_session, first)
    client = signed_in(app, ward.organizer)
    for path in ("/console/people?q=licate", f"/console/people/{first.id}", "/console/duplicates",
                 f"/console/people/{second.id}/merge?into={first.id}", "/console/follow-ups"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "<script" not in html and " style=" not in html and "<style" not in html, path


def test_a_turf_name_cannot_end_the_maps_data_block(app, db_session):
    ward = make_ward(db_session)
    ward.turfs[0].name = "</script><form id=injected></form>"
    db_session.flush()
    client = signed_in(app, ward.lead)
    for path in ("/console/draw?ward=33", "/console/turfs?ward=33"):
        html = client.get(path).get_data(as_text=True)
        block = html.split('id="map-data">', 1)[1].split("</script>", 1)[0]
        assert "<" not in block and json.loads(block)["features"][0]["properties"]["name"].startswith("</script>")
        assert "<form id=injected>" not in html, path
