"""Pledge cards: through sync, single posts, paper batches; people matched or created; follow-ups."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from canvass.audit.models import AuditEvent
from canvass.canvassing.records import Contact, Pledge
from canvass.people.models import Person
from tests.asserts import assert_error
from tests.canvass.canvassing.fieldwork import contact, count, counts, iso, make_canvass, minutes_ago, pledge
from tests.factories import auth_header, make_campaign, make_household, make_org, make_person, make_user, tenant_row


@pytest.fixture
def canvass(db_session):
    return make_canvass(db_session)


@pytest.fixture
def organizer(db_session, canvass):
    return make_user(db_session, org=canvass.org, roles=["organizer"])


@pytest.fixture
def organizer_headers(db_session, organizer):
    return auth_header(db_session, organizer)


def sync_pledges(client, canvass, *cards):
    response = client.post("/v1/sync", json={"pledges": list(cards)}, headers=canvass.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def stored(db_session, result) -> Pledge:
    assert result["status"] in ("created", "duplicate"), result
    return tenant_row(db_session, Pledge, result["id"])


def test_a_card_for_a_new_person_creates_them_in_the_household_with_a_follow_up_plan(client, canvass, db_session):
    occurred = datetime.now(UTC) - timedelta(hours=1)
    card = pledge(canvass, occurred_at=iso(occurred), person={
        "first_name": " José ", "last_name": "O'Brien", "phone": "(312) 555-0100", "email": "Jose@Example.ORG",
    })
    result = sync_pledges(client, canvass, card)[0]
    row = stored(db_session, result)
    person = tenant_row(db_session, Person, row.person_id)
    assert (person.first_name, person.last_name, person.name_key) == ("José", "O'Brien", "jose obrien")
    assert (person.phone, person.email, person.household_id, person.source) == (
        "13125550100", "jose@example.org", canvass.households[0].id, "door",
    )
    assert (row.pledge_type, row.source, row.campaign_id, row.canvasser_id) == (
        "vote", "door", canvass.campaign.id, canvass.canvasser.id,
    )
    assert (row.follow_up_status, row.follow_up_attempts) == ("pending", 0)
    assert row.next_follow_up_at == occurred + timedelta(days=7)


def test_matching_prefers_person_id_then_name_in_household_then_phone_then_email(client, canvass, db_session):
    household = canvass.households[0]
    resident = make_person(db_session, org=canvass.org, household=household, first_name="Ana", last_name="Ruiz")
    by_phone = make_person(db_session, org=canvass.org, first_name="Someone", last_name="Else", phone="13125550142")
    by_email = make_person(db_session, org=canvass.org, first_name="Third", last_name="Person", email="t@example.org")
    cards = [
        pledge(canvass, person_id=by_email.id, person=None),
        pledge(canvass, person={"first_name": "ANA", "last_name": "ruiz", "phone": "312-555-0142"}),
        pledge(canvass, household_id=None, assignment_id=None,
               person={"first_name": "S.", "last_name": "Else", "phone": "+1 312 555 0142"}),
        pledge(canvass, household_id=None, assignment_id=None,
               person={"first_name": "T", "last_name": "P", "email": "T@example.org"}),
    ]
    people_before = count(db_session, Person)
    results = sync_pledges(client, canvass, *cards)
    assert [stored(db_session, r).person_id for r in results] == [by_email.id, resident.id, by_phone.id, by_email.id]
    assert count(db_session, Person) == people_before
    db_session.refresh(resident)
    assert resident.phone == "13125550142"  # the card filled what was unknown


def test_two_cards_for_the_same_new_person_in_one_batch_create_one_person(client, canvass, db_session):
    people_before = count(db_session, Person)
    person = {"first_name": "Lee", "last_name": "Park", "phone": "3125550177"}
    results = sync_pledges(client, canvass, pledge(canvass, person=person),
                           pledge(canvass, person=person, pledge_type="volunteer"))
    assert stored(db_session, results[0]).person_id == stored(db_session, results[1]).person_id
    assert count(db_session, Person) == people_before + 1


def test_pledge_type_the_campaign_does_not_collect_is_rejected(client, db_session):
    canvass = make_canvass(db_session, pledge_types=["vote"])
    results = sync_pledges(client, canvass, pledge(canvass, pledge_type="dues"), pledge(canvass))
    assert results[0]["error"]["code"] == "pledge_type_not_allowed"
    assert results[1]["status"] == "created"


def test_a_card_without_any_person_is_rejected(client, canvass, db_session):
    results = sync_pledges(client, canvass, pledge(canvass, person=None), pledge(canvass, person={"first_name": "X"}))
    assert [r["error"]["code"] for r in results] == ["validation_failed", "validation_failed"]
    assert "person" in results[0]["error"]["details"]
    assert results[1]["error"]["details"] == {"person": {"last_name": ["Missing data for required field."]}}
    assert count(db_session, Pledge) == 0


@pytest.mark.parametrize("field, value", [("phone", "555-01"), ("email", "not-an-address")])
def test_a_bad_phone_or_email_on_the_card_is_rejected(client, canvass, field, value):
    card = pledge(canvass, person={"first_name": "A", "last_name": "B", field: value})
    error = sync_pledges(client, canvass, card)[0]["error"]
    assert error["code"] == "validation_failed" and field in error["details"]["person"]


def test_another_organizations_campaign_or_person_is_not_found(client, canvass, db_session):
    other = make_org(db_session)
    results = sync_pledges(
        client, canvass,
        pledge(canvass, campaign_id=make_campaign(db_session, org=other).id),
        pledge(canvass, person_id=make_person(db_session, org=other).id, person=None),
        pledge(canvass, household_id=make_household(db_session, org=other).id, assignment_id=None),
    )
    assert [r["error"]["code"] for r in results] == ["campaign_not_found", "person_not_found", "household_not_found"]


def test_a_card_without_consent_is_never_followed_up(client, canvass, db_session):
    row = stored(db_session, sync_pledges(client, canvass, pledge(canvass, consent_to_contact=False))[0])
    assert (row.follow_up_status, row.next_follow_up_at) == ("no_consent", None)


def test_the_first_call_delay_follows_the_organizations_settings(client, canvass, db_session):
    canvass.org.settings = {"pledge_follow_up": {"first_call_days": 2}}
    db_session.flush()
    occurred = datetime.now(UTC) - timedelta(hours=1)
    row = stored(db_session, sync_pledges(client, canvass, pledge(canvass, occurred_at=iso(occurred)))[0])
    assert row.next_follow_up_at == occurred + timedelta(days=2)


def test_an_event_card_without_assignment_or_household(client, canvass, db_session):
    card = pledge(canvass, assignment_id=None, household_id=None, source="event", campaign_id=canvass.campaign.id)
    row = stored(db_session, sync_pledges(client, canvass, card)[0])
    assert (row.source, row.household_id, row.assignment_id) == ("event", None, None)
    assert tenant_row(db_session, Person, row.person_id).household_id is None


def test_single_contact_post_answers_201_then_200_for_the_retry(client, canvass, db_session):
    item = contact(canvass)
    first = client.post("/v1/contacts", json=item, headers={**canvass.headers, "X-Device-Id": "tablet-2"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "created"
    retry = client.post("/v1/contacts", json=item, headers=canvass.headers)
    assert retry.status_code == 200
    assert retry.get_json() == {**first.get_json(), "status": "duplicate"}
    row = tenant_row(db_session, Contact, first.get_json()["id"])
    assert (count(db_session, Contact), row.device_id) == (1, "tablet-2")


def test_single_contact_post_answers_errors_with_their_statuses(client, canvass, db_session):
    foreign = make_household(db_session, org=make_org(db_session))
    elsewhere = make_household(db_session, org=canvass.org)
    cases = [
        (contact(canvass, household_id=foreign.id), 404, "household_not_found"),
        (contact(canvass, household_id=elsewhere.id), 403, "not_assigned"),
        (contact(canvass, client_id="nope"), 422, "validation_failed"),
        (contact(canvass, result_code="moved", responses=[]), 422, "validation_failed"),
        ({**contact(canvass), "surprise": True}, 422, "validation_failed"),
    ]
    for item, status, code in cases:
        assert_error(client.post("/v1/contacts", json=item, headers=canvass.headers), status, code)
    assert_error(client.post("/v1/contacts", data="[", content_type="application/json", headers=canvass.headers),
                 400, "malformed_json")
    assert_error(client.post("/v1/contacts", json=[contact(canvass)], headers=canvass.headers), 422, "validation_failed")
    assert count(db_session, Contact) == 0


def test_single_pledge_post_by_an_organizer_at_an_event(client, canvass, db_session, organizer_headers):
    card = pledge(canvass, assignment_id=None, household_id=None, source="event", pledge_type="member")
    response = client.post("/v1/pledges", json=card, headers=organizer_headers)
    assert response.status_code == 201, response.get_json()
    assert client.post("/v1/pledges", json=card, headers=organizer_headers).status_code == 200
    assert count(db_session, Pledge) == 1
    # An organizer has no assignment of their own to credit a card to.
    assert_error(client.post("/v1/pledges", json=pledge(canvass), headers=organizer_headers), 403, "not_assigned")


# --- paper cards ------------------------------------------------------------------------


def test_paper_cards_are_stored_once_with_source_paper_and_credit_the_assignments_canvasser(
    client, canvass, db_session, organizer_headers
):
    cards = [
        pledge(canvass, occurred_at=iso(datetime.now(UTC) - timedelta(days=20))),
        pledge(canvass, assignment_id=None, household_id=None, campaign_id=canvass.campaign.id,
               person={"first_name": "Walk", "last_name": "In"}),
    ]
    first = client.post("/v1/pledges/batch", json={"pledges": cards}, headers=organizer_headers)
    assert first.status_code == 200, first.get_json()
    results = first.get_json()["results"]
    rows = [stored(db_session, r) for r in results]
    assert [(r.source, r.canvasser_id, r.device_id) for r in rows] == [
        ("paper", canvass.canvasser.id, None), ("paper", None, None),
    ]
    again = client.post("/v1/pledges/batch", json={"pledges": cards}, headers=organizer_headers).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert count(db_session, Pledge) == 2


def test_paper_cards_take_no_source_field_and_no_canvasser_may_enter_them(client, canvass, db_session, organizer_headers):
    result = client.post("/v1/pledges/batch", json={"pledges": [pledge(canvass, source="door")]},
                         headers=organizer_headers).get_json()["results"][0]
    assert result["error"]["details"] == {"source": ["Unknown field."]}
    assert_error(client.post("/v1/pledges/batch", json={"pledges": []}, headers=canvass.headers), 403, "forbidden")


def test_more_than_500_paper_cards_is_413(client, canvass, db_session, organizer_headers):
    response = client.post("/v1/pledges/batch", json={"pledges": [pledge(canvass) for _ in range(501)]},
                           headers=organizer_headers)
    assert_error(response, 413, "batch_too_large")
    assert count(db_session, Pledge) == 0


# --- follow-ups ----------------------------------------------------------------------------


def card_due(client, canvass, db_session, days_ago=10, **fields):
    """A card signed `days_ago` (before the current lease: an event card, no assignment)."""
    fields = {"assignment_id": None, "campaign_id": canvass.campaign.id, **fields}
    card = pledge(canvass, occurred_at=iso(datetime.now(UTC) - timedelta(days=days_ago)), **fields)
    return stored(db_session, sync_pledges(client, canvass, card)[0])


def due_ids(client, headers, **query):
    response = client.get("/v1/follow-ups", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [row["pledge"]["id"] for row in response.get_json()["data"]]


def test_follow_ups_list_what_is_due_and_never_do_not_contact(client, canvass, db_session, organizer_headers):
    due = card_due(client, canvass, db_session, person={"first_name": "Due", "last_name": "Now"})
    card_due(client, canvass, db_session, days_ago=1, person={"first_name": "Not", "last_name": "Yet"})
    refused = card_due(client, canvass, db_session, person={"first_name": "No", "last_name": "Calls"})
    tenant_row(db_session, Person, refused.person_id).do_not_contact = True
    dnc_home = make_household(db_session, org=canvass.org)
    dnc_home.do_not_contact = True
    in_dnc_home = card_due(client, canvass, db_session, household_id=dnc_home.id,
                           person={"first_name": "In", "last_name": "Home"})
    db_session.flush()
    assert in_dnc_home.household_id == dnc_home.id
    response = client.get("/v1/follow-ups", headers=organizer_headers).get_json()
    assert [row["pledge"]["id"] for row in response["data"]] == [due.id]
    assert response["data"][0]["person"]["first_name"] == "Due"
    in_ten_days = iso(datetime.now(UTC) + timedelta(days=10))
    assert len(due_ids(client, organizer_headers, due_before=in_ten_days)) == 2


def test_follow_ups_page_with_a_cursor(client, canvass, db_session, organizer_headers):
    ids = [card_due(client, canvass, db_session, days_ago=20 - i, person={"first_name": f"P{i}", "last_name": "Q"}).id
           for i in range(3)]
    first = client.get("/v1/follow-ups", query_string={"limit": 2}, headers=organizer_headers).get_json()
    second = client.get("/v1/follow-ups", query_string={"limit": 2, "cursor": first["next_cursor"]},
                        headers=organizer_headers).get_json()
    assert [r["pledge"]["id"] for r in first["data"] + second["data"]] == ids
    assert second["next_cursor"] is None
    assert_error(client.get("/v1/follow-ups", query_string={"cursor": "garbage"}, headers=organizer_headers),
                 422, "validation_failed")


def attempt(client, headers, pledge_id, **body):
    return client.post(f"/v1/pledges/{pledge_id}/follow-ups", json=body, headers=headers)


def test_three_unanswered_calls_pause_the_plan_for_30_days_then_it_is_due_again(client, canvass, db_session, organizer_headers):
    card = card_due(client, canvass, db_session)
    for n, expected in ((1, "pending"), (2, "pending"), (3, "paused")):
        response = attempt(client, organizer_headers, card.id, outcome="no_answer", notes=f"call {n}")
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert (body["follow_up_attempts"], body["follow_up_status"]) == (n, expected)
    paused_until = datetime.fromisoformat(body["next_follow_up_at"])
    assert timedelta(days=29, hours=23) < paused_until - datetime.now(UTC) <= timedelta(days=30)
    assert due_ids(client, organizer_headers) == []
    assert due_ids(client, organizer_headers, due_before=iso(paused_until + timedelta(minutes=1))) == [card.id]
    audits = db_session.execute(select(AuditEvent).where(AuditEvent.action == "pledge.follow_up")).scalars().all()
    assert [a.details["attempt"] for a in audits] == [1, 2, 3]


def test_reaching_the_person_closes_the_plan_and_a_closed_plan_is_409(client, canvass, db_session, organizer_headers):
    card = card_due(client, canvass, db_session)
    assert attempt(client, organizer_headers, card.id, outcome="reached").get_json()["follow_up_status"] == "done"
    assert_error(attempt(client, organizer_headers, card.id, outcome="no_answer"), 409, "follow_up_closed")


def test_a_do_not_contact_request_on_the_phone_declines_and_marks_the_person(client, canvass, db_session, organizer_headers):
    card = card_due(client, canvass, db_session)
    body = attempt(client, organizer_headers, card.id, outcome="refused", do_not_contact=True).get_json()
    assert body["follow_up_status"] == "declined"
    person = tenant_row(db_session, Person, card.person_id)
    db_session.refresh(person)
    assert person.do_not_contact is True


def test_follow_up_outcome_must_be_a_phone_code_of_the_campaign(client, db_session):
    canvass = make_canvass(db_session)
    canvass.campaign.phone_result_codes = ["no_answer"]
    db_session.flush()
    organizer_headers = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))
    card = card_due(client, canvass, db_session)
    assert_error(attempt(client, organizer_headers, card.id, outcome="busy"), 422, "outcome_not_allowed")
    assert_error(attempt(client, organizer_headers, card.id, outcome="not_home"), 422, "validation_failed")
    assert_error(attempt(client, organizer_headers, card.id, outcome="no_answer", extra=1), 422, "validation_failed")
    assert tenant_row(db_session, Pledge, card.id).follow_up_attempts == 0


def test_another_organizations_pledge_is_not_found(client, canvass, db_session):
    other = make_canvass(db_session)
    card = card_due(client, other, db_session)
    headers = auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))
    assert_error(attempt(client, headers, card.id, outcome="reached"), 404, "pledge_not_found")
    assert_error(client.get(f"/v1/pledges/{card.id}", headers=headers), 404, "pledge_not_found")


def test_canvassers_cannot_work_the_follow_up_list(client, canvass):
    assert_error(client.get("/v1/follow-ups", headers=canvass.headers), 403, "forbidden")


def test_pledge_is_readable_by_organizers_and_leads(client, canvass, db_session, organizer_headers):
    card = card_due(client, canvass, db_session)
    body = client.get(f"/v1/pledges/{card.id}", headers=organizer_headers).get_json()
    assert (body["id"], body["follow_up_status"], body["person_id"]) == (card.id, "pending", card.person_id)


def test_counts_are_unchanged_by_rejected_cards(client, canvass, db_session):
    sync_pledges(client, canvass, pledge(canvass, client_id="x"), pledge(canvass, occurred_at=minutes_ago(-60)))
    assert counts(db_session) == (0, 0)
