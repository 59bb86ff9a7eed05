"""Erasing a person on request: what identifies them goes, every count stays, and it is audited."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, text

from canvass.audit.models import AuditEvent
from canvass.campaigns.models import Question
from canvass.canvassing.records import Contact, Pledge
from canvass.pipeline.models import EventAttendance
from tests.canvass.pipeline.builders import attended, conversation, dues, event, pledge
from tests.factories import auth_header, make_campaign, make_household, make_org, make_person, make_user, tenant_row

PERSONAL = ("Wilhelmina", "Okonkwo-Private", "13125550142", "13125550143", "wil.private@example.net",
            "met her at the laundromat", "my landlord never fixes the heat", "EXT-PRIVATE-9")
TABLES = ("people", "contacts", "pledges", "person_contact_details", "event_attendance", "audit_events",
          "dues_payments")


def _rows_mentioning(session, org_id: int, needle: str) -> list[str]:
    found = []
    for table in TABLES:
        count = session.execute(text(f"SELECT count(*) FROM {table} t WHERE t.organization_id = :org "
                                     "AND t::text ILIKE :needle"), {"org": org_id, "needle": f"%{needle}%"}).scalar()
        if count:
            found.append(f"{table}: {needle}")
    return found


def test_erasing_a_person_removes_what_identifies_them_and_keeps_every_count(client, db_session, clean_redis):
    org = make_org(db_session)
    organizer = make_user(db_session, org=org, roles=["organizer"])
    headers = auth_header(db_session, organizer)
    person = make_person(db_session, org=org, household=make_household(db_session, org=org), first_name="Wilhelmina",
                         last_name="Okonkwo-Private", phone="13125550142", email="wil.private@example.net",
                         external_id="EXT-PRIVATE-9")
    assert client.patch(f"/v1/people/{person.id}", headers=headers,
                        json={"phone": "312-555-0143"}).status_code == 200  # history + an audited correction
    campaign = make_campaign(db_session, org=org, questions=(("What worries you?", "text", None),))
    question = db_session.execute(select(Question).where(Question.campaign_id == campaign.id)).scalar_one()
    now = datetime.now(UTC)
    contact = conversation(db_session, person=person, campaign=campaign, occurred_at=now, question=question,
                           answer="my landlord never fixes the heat")
    contact.notes = "met her at the laundromat"
    card = pledge(db_session, person=person, occurred_at=now)
    card.phone, card.email, card.notes = "13125550142", "wil.private@example.net", "met her at the laundromat"
    attended(db_session, person=person, event_row=event(db_session, org=org, starts_at=now))
    db_session.flush()
    assert _rows_mentioning(db_session, org.id, "Okonkwo-Private")  # the check can see it before

    response = client.post(f"/v1/people/{person.id}/erasure", headers=headers)

    assert response.status_code == 200
    assert response.get_json() == {"person_id": person.id, "contacts": 1, "pledges": 1, "attendance": 1,
                                   "contact_details": 2}
    db_session.expire_all()
    assert [found for needle in PERSONAL for found in _rows_mentioning(db_session, org.id, needle)] == []
    page = client.get(f"/v1/people/{person.id}", headers=headers).get_data(as_text=True)
    assert not [needle for needle in PERSONAL if needle in page]
    counts = [db_session.execute(select(func.count()).select_from(model).where(model.person_id == person.id)).scalar()
              for model in (Contact, Pledge, EventAttendance)]
    assert counts == [1, 1, 1]
    erased = db_session.execute(select(AuditEvent).where(AuditEvent.action == "person.erased")).scalar_one()
    assert (erased.actor_user_id, erased.target_id) == (organizer.id, str(person.id))
    assert client.get(f"/v1/people/{person.id}", headers=headers).get_json()["person"]["do_not_contact"] is True


def test_a_canvasser_cannot_erase_and_another_organizations_person_is_not_found(client, db_session):
    org = make_org(db_session)
    person = make_person(db_session, org=org, first_name="Keep")
    canvasser = make_user(db_session, org=org, roles=["canvasser"])
    outsider = make_user(db_session, org=make_org(db_session), roles=["organizer"])
    assert client.post(f"/v1/people/{person.id}/erasure", headers=auth_header(db_session, canvasser)).status_code == 403
    assert client.post(f"/v1/people/{person.id}/erasure", headers=auth_header(db_session, outsider)).status_code == 404
    db_session.expire_all()
    assert tenant_row(db_session, type(person), person.id).first_name == "Keep"


def test_erasure_also_clears_door_notes_dues_text_and_unlinks_the_members_login(client, db_session, clean_redis):
    from canvass.auth.models import User

    org = make_org(db_session)
    headers = auth_header(db_session, make_user(db_session, org=org, roles=["organizer"]))
    household = make_household(db_session, org=org)
    person = make_person(db_session, org=org, household=household, first_name="Wilhelmina",
                         last_name="Okonkwo-Private")
    neighbour_door = make_household(db_session, org=org)
    campaign = make_campaign(db_session, org=org)
    now = datetime.now(UTC)
    at_the_door = Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                          household_id=household.id, occurred_at=now, result_code="come_back",
                          notes="Wilhelmina says come back after the laundromat")
    elsewhere = Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                        household_id=neighbour_door.id, occurred_at=now, result_code="come_back",
                        notes="ask for the tall neighbour")
    db_session.add_all([at_the_door, elsewhere])
    payment = dues(db_session, person=person, amount_cents=2500, paid_on="2026-11-01", period_start="2026-11-01",
                   period_end="2026-11-30")
    payment.note, payment.external_id = "paid by Wilhelmina in cash", "EXT-PRIVATE-9"
    login = make_user(db_session, org=org, roles=["canvasser"])
    login.person_id = person.id
    db_session.flush()

    assert client.post(f"/v1/people/{person.id}/erasure", headers=headers).status_code == 200

    db_session.expire_all()
    assert [found for needle in ("Wilhelmina", "EXT-PRIVATE-9", "laundromat")
            for found in _rows_mentioning(db_session, org.id, needle)] == []
    assert tenant_row(db_session, User, login.id).person_id is None
    assert tenant_row(db_session, Contact, elsewhere.id).notes == "ask for the tall neighbour"  # another door keeps its note
    kept = db_session.execute(text("SELECT amount_cents, period_end FROM dues_payments WHERE id = :id"),
                              {"id": payment.id}).one()
    assert kept.amount_cents == 2500  # the count and the money stay
