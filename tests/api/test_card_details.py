"""Pledge cards' phone and e-mail: stored on the card always, applied to the person by the newest
consented card (occurred_at, not arrival order), the rest kept in the person's history.

Fixed dates (October 2025, Chicago: UTC-5); the assignment's lease is set to cover them, so
nothing here depends on the wall clock (an ended lease still takes work done inside it).
"""
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from canvass.canvassing.records import Pledge
from canvass.people.models import Person, PersonContactDetail
from tests.canvass.canvassing.fieldwork import make_canvass, pledge
from tests.factories import auth_header, make_person, make_user, tenant_row

LEASE_START = datetime(2025, 10, 6, 13, 0, tzinfo=UTC)  # 08:00 in Chicago


def at(hour: int, day: int = 6) -> str:
    return f"2025-10-{day:02d}T{hour:02d}:00:00-05:00"


@pytest.fixture
def canvass(db_session):
    canvass = make_canvass(db_session)
    canvass.assignment.leased_at, canvass.assignment.leased_until = LEASE_START, LEASE_START + timedelta(hours=10)
    db_session.flush()
    return canvass


@pytest.fixture
def resident(db_session, canvass):
    """On file (an import): a phone and an e-mail, no history yet."""
    person = canvass.people[0]
    person.phone, person.email = "13125550100", "pat@example.org"
    db_session.flush()
    return person


@pytest.fixture
def organizer_headers(db_session, canvass):
    return auth_header(db_session, make_user(db_session, org=canvass.org, roles=["organizer"]))


def card(canvass, person, when, *, phone=..., email=..., consent=True, **fields):
    details = {key: value for key, value in (("phone", phone), ("email", email)) if value is not ...}
    return pledge(canvass, person_id=person.id, person={"first_name": person.first_name,
                                                        "last_name": person.last_name, **details},
                  occurred_at=when, consent_to_contact=consent, **fields)


def sync(client, canvass, *cards):
    response = client.post("/v1/sync", json={"pledges": list(cards)}, headers=canvass.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def paper(client, headers, *cards):
    response = client.post("/v1/pledges/batch", json={"pledges": list(cards)}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"]


def history(db_session, person, kind):
    """(value, source, consent, preferred) of the person's rows of that kind, oldest first."""
    rows = db_session.execute(
        select(PersonContactDetail).where(PersonContactDetail.person_id == person.id, PersonContactDetail.kind == kind)
        .order_by(PersonContactDetail.occurred_at.asc().nulls_first(), PersonContactDetail.id)
    ).scalars()
    return [(r.value, r.source, r.consent, r.consent and r.superseded_at is None) for r in rows]


def reload(db_session, row):
    db_session.expire(row)
    return row


def test_a_card_with_the_same_details_answers_unchanged_and_keeps_them_on_the_card(client, db_session, canvass, resident):
    (result,) = sync(client, canvass, card(canvass, resident, at(10), phone="(312) 555-0100", email="PAT@example.org"))
    assert (result["status"], result["contact_details"]) == ("created", "unchanged")
    stored = tenant_row(db_session, Pledge, result["id"])
    assert (stored.phone, stored.email) == ("13125550100", "pat@example.org")
    assert (reload(db_session, resident).phone, resident.email) == ("13125550100", "pat@example.org")
    assert history(db_session, resident, "phone") == [("13125550100", "card", True, True)]


def test_a_new_phone_on_a_consented_card_becomes_preferred_and_the_old_one_is_kept(client, db_session, canvass, resident):
    (result,) = sync(client, canvass, card(canvass, resident, at(10), phone="312-555-0199"))
    assert result["contact_details"] == "updated"
    assert (reload(db_session, resident).phone, resident.email) == ("13125550199", "pat@example.org")
    assert history(db_session, resident, "phone") == [
        ("13125550100", "on_file", True, False),  # what was on file, superseded
        ("13125550199", "card", True, True),
    ]
    assert tenant_row(db_session, Pledge, result["id"]).phone == "13125550199"


def test_a_new_email_on_a_consented_card_becomes_preferred(client, db_session, canvass, resident):
    (result,) = sync(client, canvass, card(canvass, resident, at(10), phone="3125550100", email="pat.new@example.org"))
    assert result["contact_details"] == "updated"  # the phone was the same; the e-mail was applied
    assert (reload(db_session, resident).phone, resident.email) == ("13125550100", "pat.new@example.org")
    assert history(db_session, resident, "email") == [
        ("pat@example.org", "on_file", True, False), ("pat.new@example.org", "card", True, True),
    ]


def test_a_card_without_consent_is_stored_on_the_card_only(client, db_session, canvass, resident, organizer_headers):
    (result,) = sync(client, canvass, card(canvass, resident, at(10), phone="3125550177", consent=False))
    assert result["contact_details"] == "not_consented"
    assert tenant_row(db_session, Pledge, result["id"]).phone == "13125550177"
    assert reload(db_session, resident).phone == "13125550100"  # not the preferred contact
    assert history(db_session, resident, "phone") == [("13125550177", "card", False, False)]
    # ... and never called: a no-consent card is not on the worklist.
    listed = client.get("/v1/follow-ups", query_string={"due_before": "2026-01-01T00:00:00Z"},
                        headers=organizer_headers).get_json()["data"]
    assert listed == []


def test_a_new_person_from_a_card_without_consent_gets_no_preferred_details(client, db_session, canvass):
    (result,) = sync(client, canvass, pledge(canvass, person={"first_name": "Noa", "last_name": "Reyes",
                                                                "phone": "3125550166"},
                                             occurred_at=at(10), consent_to_contact=False))
    person = tenant_row(db_session, Person, tenant_row(db_session, Pledge, result["id"]).person_id)
    assert (result["contact_details"], person.phone) == ("not_consented", None)
    # Matching still knows the number: the next card with it finds the same person.
    (again,) = sync(client, canvass, pledge(canvass, household_id=..., person={"first_name": "N", "last_name": "R",
                                                                                 "phone": "312 555 0166"},
                                            occurred_at=at(11), consent_to_contact=True))
    assert tenant_row(db_session, Pledge, again["id"]).person_id == person.id
    assert (again["contact_details"], reload(db_session, person).phone) == ("updated", "13125550166")


def test_an_older_paper_card_keyed_later_does_not_override_the_newer_phone_card(
    client, db_session, canvass, resident, organizer_headers
):
    (phone_card,) = sync(client, canvass, card(canvass, resident, at(15), phone="3125550111"))
    assert phone_card["contact_details"] == "updated"
    # Signed in the morning, typed in days later.
    (paper_card,) = paper(client, organizer_headers, card(canvass, resident, at(9), phone="3125550122",
                                                          assignment_id=..., household_id=...))
    assert (paper_card["status"], paper_card["contact_details"]) == ("created", "kept_newer")
    assert reload(db_session, resident).phone == "13125550111"
    assert history(db_session, resident, "phone") == [
        ("13125550100", "on_file", True, False),
        ("13125550122", "card", True, False),  # older: kept in the history, never preferred
        ("13125550111", "card", True, True),
    ]
    assert tenant_row(db_session, Pledge, paper_card["id"]).phone == "13125550122"


def test_cards_of_one_upload_are_applied_in_occurred_at_order_not_upload_order(client, db_session, canvass, resident):
    newer, older = card(canvass, resident, at(16), phone="3125550133"), card(canvass, resident, at(11), phone="3125550144")
    results = sync(client, canvass, newer, older)
    assert [r["contact_details"] for r in results] == ["updated", "updated"]  # each was newest when applied
    assert reload(db_session, resident).phone == "13125550133"


def test_the_worklist_and_the_export_use_the_newest_consented_detail(client, db_session, canvass, organizer_headers):
    person = make_person(db_session, org=canvass.org, household=canvass.households[1], first_name="Ana",
                         last_name="Ortiz")
    first, second = sync(client, canvass, card(canvass, person, at(12), phone="3125550155"),
                         card(canvass, person, at(14), phone="3125550156", consent=False))
    (late_paper,) = paper(client, organizer_headers, card(canvass, person, at(10), phone="3125550157",
                                                          assignment_id=..., household_id=...))
    assert [first["contact_details"], second["contact_details"], late_paper["contact_details"]] == [
        "updated", "not_consented", "kept_newer"]

    listed = client.get("/v1/follow-ups", query_string={"due_before": "2026-01-01T00:00:00Z"},
                        headers=organizer_headers).get_json()["data"]
    assert {item["pledge"]["id"]: item["person"]["phone"] for item in listed} == {
        first["id"]: "13125550155", late_paper["id"]: "13125550155",  # the consented, newest detail
    }
    assert {item["pledge"]["id"]: item["pledge"]["phone"] for item in listed}[late_paper["id"]] == "13125550157"

    response = client.get("/v1/exports/pledges", headers=organizer_headers)
    exported = {int(row["id"]): row for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    response.close()
    assert exported[first["id"]]["phone"] == "13125550155"
    assert exported[late_paper["id"]]["phone"] == "13125550155"
    assert exported[second["id"]]["phone"] == ""  # the card without consent carries no way to reach them
    assert exported[first["id"]]["card_phone"] == "13125550155"
    assert exported[second["id"]]["card_phone"] == ""  # its own number is not exported either


def test_an_organizers_correction_is_newer_than_cards_signed_before_it(client, db_session, canvass, resident,
                                                                     organizer_headers):
    response = client.patch(f"/v1/people/{resident.id}", json={"phone": "3125550188"}, headers=organizer_headers)
    assert response.status_code == 200, response.get_json()
    (late,) = paper(client, organizer_headers, card(canvass, resident, at(10), phone="3125550199",
                                                    assignment_id=..., household_id=...))
    assert late["contact_details"] == "kept_newer"
    assert reload(db_session, resident).phone == "13125550188"
    detail = client.get(f"/v1/people/{resident.id}", headers=organizer_headers).get_json()
    preferred = [d for d in detail["contact_details"] if d["preferred"]]
    assert [(d["kind"], d["value"], d["source"]) for d in preferred] == [("phone", "13125550188", "manual")]


def test_a_card_without_details_says_nothing_about_them(client, db_session, canvass, resident):
    (result,) = sync(client, canvass, pledge(canvass, person_id=resident.id, person=..., occurred_at=at(10)))
    assert result["status"] == "created" and "contact_details" not in result
