"""Privacy operations: erasing a person on request, and the retention purge.

Erasing a person on request (a right-to-erasure request handled by an organizer or admin).

The person's record stays as an anonymous shell, so every count (doors knocked, pledges,
attendance, dues, the pipeline's funnels) stays true; what could identify them goes: name,
external id, phone and e-mail on the person and on their pledge cards, the contact-detail
history, free text (notes, text answers) on their contacts and pledges, the notes of contacts
recorded for their household as a whole (a door's note names whoever answered), the free text and
external id of their dues payments (amounts and periods stay), the link from a user account to
them, and the old values kept in earlier audit events of corrections to them. The erasure itself is audited, with counts only.
The person is marked do-not-contact so no later import or card revives them silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from canvass.audit.models import AuditEvent
from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.campaigns.models import Question
from canvass.canvassing.records import Contact, Pledge
from canvass.db import utcnow
from canvass.errors import NotFound
from canvass.people.models import Person, PersonContactDetail
from canvass.pipeline.models import DuesPayment, EventAttendance

# Audit actions whose details hold a person's earlier contact details or name.
_PERSONAL_AUDIT_ACTIONS = ("person.updated",)


@dataclass(frozen=True)
class Erasure:
    person_id: int
    contacts: int
    pledges: int
    attendance: int
    contact_details: int


def erase_person(session: Session, *, organization_id: int, person_id: int, actor, ip_address: str | None = None
                 ) -> Erasure:
    person = session.execute(
        select(Person).where(Person.organization_id == organization_id, Person.id == person_id).with_for_update()
    ).scalar_one_or_none()
    if person is None:
        raise NotFound("no such person", code="person_not_found")
    person.first_name = person.last_name = person.name_key = ""
    person.phone = person.email = person.external_id = None
    person.do_not_contact = True

    mine = (Contact.organization_id == organization_id, Contact.person_id == person_id)
    text_questions = set(session.execute(
        select(Question.id).where(Question.organization_id == organization_id, Question.kind == "text")
    ).scalars())
    contacts = session.execute(select(Contact).where(*mine)).scalars().all()
    for contact in contacts:
        contact.notes = None
        if contact.responses and any(r.get("question_id") in text_questions for r in contact.responses):
            contact.responses = [{**r, "answer": ""} if r.get("question_id") in text_questions else r
                                 for r in contact.responses]
    pledges = session.execute(
        update(Pledge).where(Pledge.organization_id == organization_id, Pledge.person_id == person_id)
        .values(notes=None, phone=None, email=None).returning(Pledge.id)
    ).all()
    if person.household_id is not None:
        # Contacts at the person's door recorded for nobody in particular: their notes may name them.
        session.execute(
            update(Contact).where(Contact.organization_id == organization_id,
                                  Contact.household_id == person.household_id, Contact.person_id.is_(None),
                                  Contact.notes.is_not(None))
            .values(notes=None)
        )
    session.execute(
        update(DuesPayment).where(DuesPayment.organization_id == organization_id, DuesPayment.person_id == person_id)
        .values(note=None, external_id=None, void_reason=None)
    )
    session.execute(
        update(User).where(User.organization_id == organization_id, User.person_id == person_id).values(person_id=None)
    )
    details = session.execute(
        delete(PersonContactDetail)
        .where(PersonContactDetail.organization_id == organization_id, PersonContactDetail.person_id == person_id)
        .returning(PersonContactDetail.id)
    ).all()
    attendance = session.execute(
        select(func.count()).select_from(EventAttendance)
        .where(EventAttendance.organization_id == organization_id, EventAttendance.person_id == person_id)
    ).scalar_one()
    session.execute(
        update(AuditEvent).where(AuditEvent.organization_id == organization_id, AuditEvent.target_type == "person",
                                 AuditEvent.target_id == str(person_id),
                                 AuditEvent.action.in_(_PERSONAL_AUDIT_ACTIONS))
        .values(details={"erased": True})
    )
    erasure = Erasure(person_id=person_id, contacts=len(contacts), pledges=len(pledges), attendance=attendance,
                      contact_details=len(details))
    record_audit_event(
        session, action="person.erased", organization_id=organization_id, actor_user_id=actor.id,
        target_type="person", target_id=person_id, ip_address=ip_address,
        details={"contacts": erasure.contacts, "pledges": erasure.pledges, "attendance": attendance,
                 "contact_details": erasure.contact_details},
    )
    session.flush()
    return erasure


# People whose free text and contact details the retention purge may drop: known for longer than
# the retention, never a supporter (nor pledged, volunteer, member or leader: the pipeline's facts,
# checked here on the records themselves too, so a pipeline that lags keeps them), no pledge card,
# no attendance, and no contact inside the retention.
_STALE_PEOPLE = """
    SELECT p.id FROM people p
    WHERE p.organization_id = :org AND p.created_at < :cutoff
      AND NOT EXISTS (SELECT 1 FROM pipeline_people pp
                      WHERE pp.organization_id = p.organization_id AND pp.person_id = p.id
                        AND (pp.reached_supporter_at IS NOT NULL OR pp.reached_pledged_at IS NOT NULL
                             OR pp.reached_volunteer_at IS NOT NULL OR pp.reached_member_at IS NOT NULL
                             OR pp.reached_leader_at IS NOT NULL))
      AND NOT EXISTS (SELECT 1 FROM pledges pl WHERE pl.organization_id = p.organization_id AND pl.person_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM event_attendance ea
                      WHERE ea.organization_id = p.organization_id AND ea.person_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.organization_id = p.organization_id AND c.person_id = p.id
                        AND c.occurred_at >= :cutoff)
"""


@dataclass(frozen=True)
class RetentionPurge:
    notes: int
    people: int
    contact_details: int


def purge_stale_personal_data(session: Session, *, organization_id: int, months: int, now=None) -> RetentionPurge:
    """The retention rule (`RETENTION_MONTHS`, 0 keeps everything): the notes on the contacts of people who never
    became supporters, and their phone, e-mail and contact-detail history, go after `months` without contact;
    so do the notes of household-level contacts older than that at doors where everyone living there is such a person.
    Names, addresses and door results stay (the walk list and the counts need them). Set-based, safe to run twice;
    audited once per run that purged anything (`retention.purged`, counts only)."""
    if months <= 0:
        return RetentionPurge(0, 0, 0)
    cutoff = session.execute(
        text("SELECT CAST(:now AS timestamptz) - make_interval(months => :months)"),
        {"now": now or utcnow(), "months": months},
    ).scalar_one()
    params = {"org": organization_id, "cutoff": cutoff}

    def changed(statement: str) -> int:
        return cast(CursorResult, session.execute(text(statement), params)).rowcount

    notes = changed(f"UPDATE contacts SET notes = NULL WHERE organization_id = :org AND notes IS NOT NULL "
                    f"AND person_id IN ({_STALE_PEOPLE})")
    # A note recorded for the household as a whole goes too once it is past the retention, unless
    # someone living there is not stale (a supporter's door keeps its history).
    notes += changed(f"UPDATE contacts c SET notes = NULL WHERE c.organization_id = :org AND c.notes IS NOT NULL "
                     f"AND c.person_id IS NULL AND c.occurred_at < :cutoff "
                     f"AND NOT EXISTS (SELECT 1 FROM people r WHERE r.organization_id = c.organization_id "
                     f"AND r.household_id = c.household_id AND r.id NOT IN ({_STALE_PEOPLE}))")
    people = changed(f"UPDATE people SET phone = NULL, email = NULL WHERE organization_id = :org "
                     f"AND (phone IS NOT NULL OR email IS NOT NULL) AND id IN ({_STALE_PEOPLE})")
    details = changed(f"DELETE FROM person_contact_details WHERE organization_id = :org "
                      f"AND person_id IN ({_STALE_PEOPLE})")
    purge = RetentionPurge(notes=notes, people=people, contact_details=details)
    if notes or people or details:
        record_audit_event(session, action="retention.purged", organization_id=organization_id,
                           details={"months": months, "notes": notes, "people": people, "contact_details": details})
    return purge
