"""Who a pledge card or a door conversation is about: matching, possible duplicates, merging.

Matching at the door (rule of the canvass): the given `person_id`; else the same
normalized name in the household; else the same phone, then the same e-mail,
within the organization; otherwise a new person. Matching works on a whole
batch with a few set-based queries, never a query per card.

Duplicates that matching could not prevent (two cards typed differently, two
phones offline at once) are listed for organizers and merged by them: a merge
keeps every contact and pledge (they move to the surviving person), marks the
other person `merged_into_id`, and is audited.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, insert, literal, or_, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.db import get_tenant_row
from canvass.errors import NotFound, ValidationFailed
from canvass.normalize import clean_email, clean_phone, language_tag_or_error, name_key
from canvass.people.details import record_manual_details
from canvass.people.models import Person, PersonContactDetail

# --- matching ------------------------------------------------------------------------


@dataclass
class PersonRequest:
    """One card's person: a known id, or what the card says."""

    person_id: int | None = None
    household_id: int | None = None
    first_name: str = ""
    last_name: str = ""
    phone: str | None = None  # normalized
    email: str | None = None  # normalized
    source: str = "door"
    key: str = field(init=False)

    def __post_init__(self):
        self.key = name_key(self.first_name, self.last_name)


def match_or_create_people(session: Session, *, organization_id: int, requests: list[PersonRequest]) -> list[tuple[int, bool]]:
    """(person id, created?) for each request, in order.

    Several cards for the same new person in one batch create one person. New people are
    created without a phone or e-mail: the cards' details are applied once the cards are stored,
    by the rule of canvass/people/details.py (consent, newest card first).
    """
    open_ = [r for r in requests if r.person_id is None]
    by_name: dict[tuple[int, str], int] = {}
    by_phone: dict[str, int] = {}
    by_email: dict[str, int] = {}
    pairs = {(r.household_id, r.key) for r in open_ if r.household_id and r.key}
    if pairs:
        rows = session.execute(
            select(Person.id, Person.household_id, Person.name_key)
            .where(Person.organization_id == organization_id, Person.merged_into_id.is_(None),
                   tuple_(Person.household_id, Person.name_key).in_(sorted(pairs)))
            .order_by(Person.id)
        )
        for person_id, household_id, key in rows:
            by_name.setdefault((household_id, key), person_id)
    phones = sorted({r.phone for r in open_ if r.phone})
    emails = sorted({r.email for r in open_ if r.email})
    if phones or emails:
        # The preferred details, and any detail a person ever gave (a card without consent included:
        # matching is not contacting).
        detail = PersonContactDetail
        given = (
            select(detail.person_id.label("id"),
                   case((detail.kind == "phone", detail.value)).label("phone"),
                   case((detail.kind == "email", detail.value)).label("email"))
            .join(Person, and_(Person.organization_id == detail.organization_id, Person.id == detail.person_id))
            .where(detail.organization_id == organization_id, Person.merged_into_id.is_(None),
                   or_(and_(detail.kind == "phone", detail.value.in_(phones)),
                       and_(detail.kind == "email", detail.value.in_(emails))))
        )
        on_people = (
            select(Person.id, Person.phone, Person.email)
            .where(Person.organization_id == organization_id, Person.merged_into_id.is_(None),
                   or_(Person.phone.in_(phones), Person.email.in_(emails)))
        )
        found = union_all(on_people, given).subquery()
        rows = session.execute(select(found.c.id, found.c.phone, found.c.email).order_by(found.c.id))
        for person_id, phone, email in rows:
            if phone in phones:
                by_phone.setdefault(phone, person_id)
            if email in emails:
                by_email.setdefault(email, person_id)

    def lookup(r: PersonRequest, names: dict, phones_: dict, emails_: dict):
        """The first match in rule order: name in the household, phone, e-mail."""
        for table, key in (
            (names, (r.household_id, r.key) if r.household_id and r.key else None),
            (phones_, r.phone),
            (emails_, r.email),
        ):
            if key and key in table:
                return table[key]
        return None

    results: list = [None] * len(requests)
    new_rows: list[dict] = []
    slot_of: dict[int, int] = {}  # request index -> new_rows index
    new_names: dict = {}
    new_phones: dict = {}
    new_emails: dict = {}
    for index, r in enumerate(requests):
        if r.person_id is not None:
            results[index] = (r.person_id, False)
            continue
        found = lookup(r, by_name, by_phone, by_email)
        if found is not None:
            results[index] = (found, False)
            continue
        slot = lookup(r, new_names, new_phones, new_emails)
        if slot is None:
            slot = len(new_rows)
            new_rows.append({
                "organization_id": organization_id, "household_id": r.household_id, "first_name": r.first_name.strip(),
                "last_name": r.last_name.strip(), "name_key": r.key, "source": r.source,
            })
        if r.household_id and r.key:
            new_names.setdefault((r.household_id, r.key), slot)
        if r.phone:
            new_phones.setdefault(r.phone, slot)
        if r.email:
            new_emails.setdefault(r.email, slot)
        slot_of[index] = slot
    if new_rows:
        ids = session.execute(insert(Person).returning(Person.id, sort_by_parameter_order=True), new_rows).scalars().all()
        for index, slot in slot_of.items():
            results[index] = (ids[slot], True)

    return results


# --- reading and editing one person --------------------------------------------------


def get_person(session: Session, *, organization_id: int, person_id: int, for_update: bool = False):
    return get_tenant_row(session, Person, organization_id=organization_id, row_id=person_id, lock=for_update,
                          missing=NotFound("no such person", code="person_not_found"))


def update_person(
    session: Session,
    *,
    organization_id: int,
    person_id: int,
    actor: User,
    do_not_contact: bool | None = None,
    phone: str | None = None,
    email: str | None = None,
    language: str | None = None,
    ip_address: str | None = None,
):
    """An organizer's corrections: contact details, preferred language (blank clears it), and
    do-not-contact (honoured everywhere, audited)."""
    cleaned_language = language_tag_or_error(language, field="language") if language is not None else None
    person = get_person(session, organization_id=organization_id, person_id=person_id, for_update=True)
    changes = {}
    if language is not None and cleaned_language != person.language:
        changes["language"], person.language = [person.language, cleaned_language], cleaned_language
    for name, value, clean in (("phone", phone, clean_phone), ("email", email, clean_email)):
        if value is None:
            continue
        try:
            normalized = clean(value)
        except ValueError as error:
            raise ValidationFailed(str(error), details={name: [str(error)]}) from None
        if normalized != getattr(person, name):
            changes[name] = [getattr(person, name), normalized]
            setattr(person, name, normalized)
    if "phone" in changes or "email" in changes:
        record_manual_details(session, organization_id=organization_id, person_id=person.id,
                              changes={kind: changes[kind] for kind in ("phone", "email") if kind in changes})
    if do_not_contact is not None and do_not_contact != person.do_not_contact:
        changes["do_not_contact"], person.do_not_contact = [person.do_not_contact, do_not_contact], do_not_contact
    if changes:
        record_audit_event(
            session, action="person.updated", organization_id=organization_id, actor_user_id=actor.id,
            target_type="person", target_id=person.id, details=changes, ip_address=ip_address,
        )
    session.flush()
    return person


# --- duplicates and merging -----------------------------------------------------------

DUPLICATE_REASONS = ("same_name_in_household", "same_phone", "same_email")


@dataclass
class DuplicatePair:
    first: object  # people rows, lower id first
    second: object
    reasons: list[str]


def list_duplicate_pairs(
    session: Session, *, organization_id: int, limit: int = 100, after: tuple[int, int] | None = None
) -> list[DuplicatePair]:
    """Pairs of unmerged people who may be one (lower id first), by (first id, second id).

    Each reason is an equi-join the planner can hash, not one join with ORs.
    """
    a, b = aliased(Person), aliased(Person)

    def pairs(reason: str, *same):
        return (
            select(a.id.label("first_id"), b.id.label("second_id"), literal(reason).label("reason"))
            .join(b, and_(b.organization_id == a.organization_id, b.id > a.id, *same))
            .where(a.organization_id == organization_id, a.merged_into_id.is_(None), b.merged_into_id.is_(None))
        )

    candidates = union_all(
        pairs("same_name_in_household", b.household_id == a.household_id, b.name_key == a.name_key, a.name_key != ""),
        pairs("same_phone", b.phone == a.phone),
        pairs("same_email", b.email == a.email),
    ).subquery()
    query = (
        select(candidates.c.first_id, candidates.c.second_id,
               func.array_agg(aggregate_order_by(candidates.c.reason, candidates.c.reason)))
        .group_by(candidates.c.first_id, candidates.c.second_id)
        .order_by(candidates.c.first_id, candidates.c.second_id)
        .limit(limit)
    )
    if after:
        query = query.where(tuple_(candidates.c.first_id, candidates.c.second_id) > tuple_(*after))
    rows = session.execute(query).all()
    ids = {row[0] for row in rows} | {row[1] for row in rows}
    people = {
        p.id: p
        for p in session.execute(
            select(Person.__table__).where(Person.organization_id == organization_id, Person.id.in_(sorted(ids)))
        )
    } if ids else {}
    return [DuplicatePair(first=people[first], second=people[second], reasons=list(reasons)) for first, second, reasons in rows]
