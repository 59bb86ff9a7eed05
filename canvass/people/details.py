"""A person's phone numbers and e-mail addresses: which one is preferred, and the history of the rest.

`people.phone` / `people.email` hold the person's *preferred* detail of each kind: what the
follow-up worklist calls and the exports carry. `person_contact_details` keeps every detail seen
(models.PersonContactDetail). The rule, applied to each pledge card that carries a phone or e-mail:

- The card's own values are always stored on the card (pledges.phone / pledges.email) and in the
  history, consent or not.
- Without consent (`consent_to_contact: false`) that is all: the detail is evidence, never the
  preferred one, never called.                                              -> `not_consented`
- With consent, the newest consented detail wins, by the card's `occurred_at` (when it was
  signed), not by when it was synced or keyed in:
  - the same value as the preferred one: nothing changes (a newer card makes it the preferred
    row, so its date moves on)                                              -> `unchanged`
  - a different value, and the card is newer than the preferred detail (or the preferred one has
    no date: on file from an import, or there is none): the card's value becomes preferred; the
    old one is kept in the history, superseded                              -> `updated`
  - a different value, and the card is not newer (a paper card keyed after a later phone card):
    the preferred detail stays; the card's value is kept in the history, superseded
                                                                            -> `kept_newer`
  A card with both a phone and an e-mail answers `updated` if either was applied, else
  `kept_newer` if either was kept out, else `unchanged`. Cards of one upload are applied in
  `occurred_at` order, so the outcome does not depend on their order in the upload either.
- An organizer's correction (PATCH /v1/people/{id}) is a consented detail dated when it was
  made (`manual`); clearing a detail supersedes it and leaves none preferred.

Set-based: one upload's cards take the same few statements whatever their number (lock the
people, read their preferred rows, supersede, insert, update the people). The people rows are
locked (in id order) before anything is read, so two uploads for one person apply one after the
other and the partial unique index (one preferred per person and kind) always holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, String, and_, func, insert, select, update, values
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql import bindparam, column

from canvass.db import utcnow
from canvass.people.models import Person, PersonContactDetail

KINDS = ("phone", "email")
OUTCOMES = ("updated", "unchanged", "kept_newer", "not_consented")


@dataclass(frozen=True)
class CardDetails:
    """One stored pledge card's details, as the card says them (normalized)."""

    pledge_id: int
    person_id: int
    occurred_at: datetime
    consent: bool
    phone: str | None
    email: str | None


@dataclass
class _Preferred:
    value: str | None
    occurred_at: datetime | None  # None: on file, date unknown (or none)
    row: dict | int | None  # the preferred history row: a new row (dict) or a stored one (id)


def _lock_people(session: Session, organization_id: int, person_ids) -> dict[int, tuple[str | None, str | None]]:
    wanted = func.unnest(bindparam(None, sorted(set(person_ids)), type_=ARRAY(BigInteger))).table_valued("value") \
        .render_derived(name="wanted")
    rows = session.execute(
        select(Person.id, Person.phone, Person.email).select_from(wanted)
        .join(Person, and_(Person.organization_id == organization_id, Person.id == wanted.c.value))
        .order_by(Person.id).with_for_update(of=Person)
    )
    return {row.id: (row.phone, row.email) for row in rows}


def _preferred_rows(session: Session, organization_id: int, person_ids) -> dict[tuple[int, str], tuple]:
    detail = PersonContactDetail
    rows = session.execute(
        select(detail.id, detail.person_id, detail.kind, detail.value, detail.occurred_at)
        .where(detail.organization_id == organization_id,
               detail.person_id == func.any(bindparam(None, sorted(set(person_ids)), type_=ARRAY(BigInteger))),
               detail.consent.is_(True), detail.superseded_at.is_(None))
    )
    return {(row.person_id, row.kind): (row.id, row.value, row.occurred_at) for row in rows}


def apply_card_details(session: Session, *, organization_id: int, cards: list[CardDetails]) -> dict[int, str]:
    """Apply stored cards' details by the rule above: pledge id -> outcome (cards with neither a
    phone nor an e-mail have none). Flushes nothing through the ORM; plain statements."""
    cards = [card for card in cards if card.phone or card.email]
    if not cards:
        return {}
    now = utcnow()
    people = _lock_people(session, organization_id, [card.person_id for card in cards])
    stored = _preferred_rows(session, organization_id, people)
    state: dict[tuple[int, str], _Preferred] = {}
    for person_id, current in people.items():
        for kind, value in zip(KINDS, current):
            row = stored.get((person_id, kind))
            # A preferred row whose value is no longer on the person (an import changed it) gives no date.
            dated = row is not None and row[1] == value
            state[(person_id, kind)] = _Preferred(value, row[2] if dated else None, row[0] if row else None)
    start = {key: preferred.value for key, preferred in state.items()}

    new_rows: list[dict] = []
    superseded_ids: list[int] = []
    outcomes: dict[int, str] = {}

    def supersede(preferred: _Preferred) -> None:
        if isinstance(preferred.row, dict):
            preferred.row["superseded_at"] = now
        elif preferred.row is not None:
            superseded_ids.append(preferred.row)
        preferred.row = None

    def history(person_id, kind, value, *, card=None, source="card", occurred_at=None, consent=True, superseded=False):
        row = {"organization_id": organization_id, "person_id": person_id, "kind": kind, "value": value,
               "source": source, "source_pledge_id": card.pledge_id if card else None,
               "occurred_at": card.occurred_at if card else occurred_at, "consent": consent,
               "superseded_at": now if superseded else None}
        new_rows.append(row)
        return row

    for card in sorted(cards, key=lambda c: (c.occurred_at, c.pledge_id)):
        if card.person_id not in people:
            continue  # not this organization's (cannot happen: the card was stored against it)
        seen = set()
        for kind in KINDS:
            value = getattr(card, kind)
            if not value:
                continue
            preferred = state[(card.person_id, kind)]
            if not card.consent:
                history(card.person_id, kind, value, card=card, consent=False)
                seen.add("not_consented")
                continue
            newer = preferred.occurred_at is None or card.occurred_at > preferred.occurred_at
            if value == preferred.value:
                seen.add("unchanged")
                if newer:  # the same detail, confirmed later: the newer row is the preferred one
                    supersede(preferred)
                    preferred.row, preferred.occurred_at = history(card.person_id, kind, value, card=card), card.occurred_at
                else:
                    history(card.person_id, kind, value, card=card, superseded=True)
            elif newer:
                seen.add("updated")
                if preferred.value is not None and preferred.row is None:
                    # On file with no history row (an import): keep it in the history as it leaves.
                    history(card.person_id, kind, preferred.value, source="on_file", superseded=True)
                supersede(preferred)
                preferred.value, preferred.occurred_at = value, card.occurred_at
                preferred.row = history(card.person_id, kind, value, card=card)
            else:
                seen.add("kept_newer")
                history(card.person_id, kind, value, card=card, superseded=True)
        outcomes[card.pledge_id] = next(o for o in ("not_consented", "updated", "kept_newer", "unchanged") if o in seen)

    detail = PersonContactDetail.__table__
    if superseded_ids:  # first: the partial unique index allows one preferred row per person and kind
        session.execute(update(detail).where(
            detail.c.organization_id == organization_id,
            detail.c.id == func.any(bindparam(None, sorted(superseded_ids), type_=ARRAY(BigInteger))),
        ).values(superseded_at=now))
    if new_rows:
        session.execute(insert(detail), new_rows)
    changed = sorted(
        (person_id, state[(person_id, "phone")].value, state[(person_id, "email")].value)
        for person_id in people
        if any(state[(person_id, kind)].value != start[(person_id, kind)] for kind in KINDS)
    )
    if changed:
        card = values(column("id", BigInteger), column("phone", String), column("email", String), name="card").data(changed)
        session.execute(
            update(Person).where(Person.organization_id == organization_id, Person.id == card.c.id)
            .values(phone=card.c.phone, email=card.c.email)
        )
    return outcomes


def record_manual_details(session: Session, *, organization_id: int, person_id: int, changes: dict) -> None:
    """An organizer's correction of a (locked) person: {kind: new value or None}. The new value is
    the preferred one from now; the old preferred row (or the value on file) is kept, superseded."""
    now = utcnow()
    detail = PersonContactDetail.__table__
    for kind, (old, new) in changes.items():
        session.execute(update(detail).where(
            detail.c.organization_id == organization_id, detail.c.person_id == person_id, detail.c.kind == kind,
            detail.c.consent.is_(True), detail.c.superseded_at.is_(None),
        ).values(superseded_at=now))
        rows = []
        if old is not None and not session.execute(select(detail.c.id).where(
            detail.c.organization_id == organization_id, detail.c.person_id == person_id, detail.c.kind == kind,
            detail.c.value == old,
        ).limit(1)).first():
            rows.append({"value": old, "source": "on_file", "occurred_at": None, "superseded_at": now})
        if new is not None:
            rows.append({"value": new, "source": "manual", "occurred_at": now, "superseded_at": None})
        if rows:
            session.execute(insert(detail), [
                {"organization_id": organization_id, "person_id": person_id, "kind": kind, "consent": True,
                 "source_pledge_id": None, **row} for row in rows
            ])


def move_details_on_merge(session: Session, *, organization_id: int, from_person_id: int, into_person_id: int,
                          kept_kinds) -> None:
    """A merge: the merged person's history moves to the survivor; of each kind the survivor keeps
    its own preferred detail (`kept_kinds`), the merged person's preferred one is superseded."""
    detail = PersonContactDetail.__table__
    if kept_kinds:
        session.execute(update(detail).where(
            detail.c.organization_id == organization_id, detail.c.person_id == from_person_id,
            detail.c.kind.in_(sorted(kept_kinds)), detail.c.consent.is_(True), detail.c.superseded_at.is_(None),
        ).values(superseded_at=utcnow()))
    session.execute(update(detail).where(
        detail.c.organization_id == organization_id, detail.c.person_id == from_person_id,
    ).values(person_id=into_person_id))


def list_person_details(session: Session, *, organization_id: int, person_id: int) -> list:
    """The person's detail history, newest first (preferred ones are those consented and not superseded)."""
    detail = PersonContactDetail.__table__
    return session.execute(
        select(detail).where(detail.c.organization_id == organization_id, detail.c.person_id == person_id)
        .order_by(detail.c.kind, detail.c.occurred_at.desc().nulls_last(), detail.c.id.desc())
    ).all()
