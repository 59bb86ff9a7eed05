"""People operations that reach into the records of other areas: finding people by name, phone,
e-mail or address (people and their households' buildings), a person's page (their contacts
and pledge cards) and merging two records of one person (contacts, pledges, the pipeline's
attendance and dues, and the contact-detail history all move to the survivor)."""
from __future__ import annotations

import re

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.canvassing.records import Contact, Pledge
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.geo.models import Building, Household
from canvass.normalize import name_key
from canvass.people.details import list_person_details, move_details_on_merge
from canvass.people.models import Person
from canvass.pipeline.rollup import move_person_records

MAX_SEARCH_LENGTH = 200
_DIGITS = re.compile(r"\D")


def _like(value: str) -> str:
    """A LIKE pattern that finds `value` anywhere, its own % and _ taken literally."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_people(session: Session, *, organization_id: int, query: str, limit: int = 25, offset: int = 0) -> list:
    """People (not merged away) whose name, phone, e-mail or household address holds `query`, by name.

    Names match folded (accents, case and punctuation ignored, like duplicate matching); a query
    with four or more digits also matches phones by their digits. Rows: id, first_name,
    last_name, phone, email, do_not_contact, household_id, line1, unit, city.
    """
    query = (query or "").strip()
    if not query:
        return []
    if len(query) > MAX_SEARCH_LENGTH:
        raise ValidationFailed("the search is too long", code="search_too_long",
                               details={"q": [f"At most {MAX_SEARCH_LENGTH} characters."]})
    folded, digits = name_key(query, ""), _DIGITS.sub("", query)
    matches = [Person.email.ilike(_like(query.lower())), Building.line1.ilike(_like(query))]
    if folded:
        matches.append(Person.name_key.like(_like(folded)))
    if len(digits) >= 4:
        matches.append(Person.phone.like(_like(digits)))
    rows = (
        select(Person.id, Person.first_name, Person.last_name, Person.phone, Person.email, Person.do_not_contact,
               Person.household_id, Building.line1, Household.unit, Building.city)
        .outerjoin(Household, (Household.organization_id == Person.organization_id)
                   & (Household.id == Person.household_id))
        .outerjoin(Building, (Building.organization_id == Household.organization_id)
                   & (Building.id == Household.building_id))
        .where(Person.organization_id == organization_id, Person.merged_into_id.is_(None), or_(*matches))
        .order_by(Person.last_name, Person.first_name, Person.id)
        .limit(limit).offset(offset)
    )
    return list(session.execute(rows).all())


def get_person_detail(session: Session, *, organization_id: int, person_id: int, limit: int = 50) -> dict:
    """The person, their latest contacts and every pledge card, as plain rows (a read for display)."""
    person = session.execute(
        select(Person.__table__).where(Person.organization_id == organization_id, Person.id == person_id)
    ).one_or_none()
    if person is None:
        raise NotFound("no such person", code="person_not_found")
    contacts, pledges = Contact.__table__, Pledge.__table__
    household = session.execute(
        select(Household.id, Household.unit, Household.do_not_contact, Building.line1, Building.city, Building.state,
               Building.zip)
        .join(Building, (Building.organization_id == Household.organization_id) & (Building.id == Household.building_id))
        .where(Household.organization_id == organization_id, Household.id == person.household_id)
    ).one_or_none() if person.household_id is not None else None
    return {
        "person": person,
        "household": household,
        "contact_details": list_person_details(session, organization_id=organization_id, person_id=person_id),
        "contacts": session.execute(
            select(contacts).where(contacts.c.organization_id == organization_id, contacts.c.person_id == person_id)
            .order_by(contacts.c.occurred_at.desc(), contacts.c.id.desc()).limit(limit)
        ).all(),
        "pledges": session.execute(
            select(pledges).where(pledges.c.organization_id == organization_id, pledges.c.person_id == person_id)
            .order_by(pledges.c.occurred_at.desc(), pledges.c.id.desc())
        ).all(),
    }


def merge_people(
    session: Session, *, organization_id: int, person_id: int, into_id: int, actor: User, ip_address: str | None = None
):
    """Merge person `person_id` into `into_id`: every contact and pledge moves; the merge is audited.

    Both rows are locked (in id order, so two merges can't deadlock). The
    survivor keeps its own details and takes the other's phone/e-mail where it
    has none; do-not-contact from either side is kept.
    """
    if person_id == into_id:
        raise ValidationFailed("a person cannot be merged into themselves", code="cannot_merge_self",
                               details={"into_id": ["Must be another person."]})
    locked = {
        p.id: p
        for p in session.execute(
            select(Person)
            .where(Person.organization_id == organization_id, Person.id.in_(sorted((person_id, into_id))))
            .order_by(Person.id)
            .with_for_update()
        ).scalars()
    }
    if person_id not in locked or into_id not in locked:
        raise NotFound("no such person", code="person_not_found")
    source, target = locked[person_id], locked[into_id]
    if source.merged_into_id is not None:
        raise Conflict("this person was already merged into another", code="person_already_merged",
                       details={"merged_into_id": source.merged_into_id})
    if target.merged_into_id is not None:
        raise Conflict("the target was itself merged; merge into the person it was merged into",
                       code="merge_target_merged", details={"merged_into_id": target.merged_into_id})

    contacts_moved = session.execute(
        update(Contact).where(Contact.organization_id == organization_id, Contact.person_id == source.id)
        .values(person_id=target.id)
    ).rowcount
    pledges_moved = session.execute(
        update(Pledge).where(Pledge.organization_id == organization_id, Pledge.person_id == source.id)
        .values(person_id=target.id)
    ).rowcount
    # Earlier merges into the source now point at the survivor: merged_into_id is never a chain.
    session.execute(
        update(Person).where(Person.organization_id == organization_id, Person.merged_into_id == source.id)
        .values(merged_into_id=target.id)
    )
    # Attendance, dues, events led and a member login move too; both people are recomputed
    # (the moved rows keep their ids, so the pipeline's watermarks would not see them move).
    move_person_records(session, organization_id=organization_id, from_person_id=source.id, into_person_id=target.id)
    # Their details' history moves too; the survivor's own preferred details stay preferred.
    move_details_on_merge(session, organization_id=organization_id, from_person_id=source.id, into_person_id=target.id,
                          kept_kinds={kind for kind in ("phone", "email") if getattr(target, kind)})
    target.phone = target.phone or source.phone
    target.email = target.email or source.email
    target.do_not_contact = target.do_not_contact or source.do_not_contact
    source.merged_into_id = target.id
    record_audit_event(
        session, action="person.merged", organization_id=organization_id, actor_user_id=actor.id,
        target_type="person", target_id=target.id, ip_address=ip_address,
        details={
            "merged_id": source.id, "into_id": target.id, "contacts_moved": contacts_moved,
            "pledges_moved": pledges_moved,
            "merged_person": {"first_name": source.first_name, "last_name": source.last_name,
                              "household_id": source.household_id, "phone": source.phone, "email": source.email},
        },
    )
    session.flush()
    return target
