"""The one idempotent path by which field work is stored: `POST /v1/sync`, the
single `POST /v1/contacts` and `POST /v1/pledges`, and paper cards typed in by
organizers all come through here.

For a batch:
1. every item's shape is checked on its own (canvassing/validation.py): a bad
   item is `rejected`, the others go on;
2. items whose `client_id` is already stored are `duplicate` with the stored
   id, before anything else is checked: a retry after a lost response must get
   its answer even if, since, the lease ended or the campaign changed;
3. the rest are checked against the database with a few set-based queries
   (assignments, households on their turfs, campaigns and questions, people);
4. what passed is stored with one `INSERT ... ON CONFLICT (organization_id,
   client_id) DO NOTHING RETURNING` per table. The unique constraint, not a
   read-then-write, is what makes a retry racing its original store once:
   the loser waits for the winner's commit, inserts nothing, and answers
   `duplicate` with the winner's id. Rows are inserted in client_id order so
   two overlapping batches lock in the same order and cannot deadlock;
5. consequences for stored contacts (moved, deceased, wrong address,
   do-not-contact), integrity flags, and one coalesced request for the member
   pipeline rollup, all in the caller's transaction: the batch's valid items
   commit together or not at all.

Results come back one per item: the contacts in the order sent, then the
pledge cards in the order sent. A later item with the same client_id as an
earlier one in the same batch is answered like the earlier one (`duplicate` of
it once stored). An item stored before is `duplicate` whatever it holds now:
the client_id names the item.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists
from sqlalchemy.orm import Session

from canvass.canvassing import integrity
from canvass.canvassing.bulk import insert_new, stored_ids
from canvass.canvassing.checks import CLOCK_SKEW, Uploader, check_contacts, check_pledges
from canvass.canvassing.conflicts import flag_conflicts
from canvass.canvassing.outcomes import apply_door_outcomes
from canvass.canvassing.records import Contact, Pledge
from canvass.canvassing.validation import echo_client_id, parse_contact, parse_pledge
from canvass.errors import DomainError, NotFound, TooLarge, ValidationFailed
from canvass.jobs import request_activity_rollup, request_rollup
from canvass.orgs.services import get_organization, timezone_for
from canvass.people.details import CardDetails, apply_card_details
from canvass.people.models import Person


@dataclass
class ItemResult:
    client_id: str | None  # as the phone sent it
    kind: str  # contact | pledge
    status: str  # created | duplicate | rejected
    id: int | None = None
    error: DomainError | None = None
    # Pledge cards carrying a phone or e-mail, when created: what became of them
    # (canvass/people/details.py: updated | unchanged | kept_newer | not_consented).
    contact_details: str | None = None
    # Contacts, when created and flagged `conflict` with another canvasser's result for the door: True.
    conflict: bool | None = None


# --- entry points ----------------------------------------------------------------------


def sync_field_work(
    session: Session,
    *,
    organization_id: int,
    canvasser_id: int,
    device_id: str | None,
    contacts: list,
    pledges: list,
    max_items: int,
) -> list[ItemResult]:
    """A phone's upload: contacts and pledge cards, each stored once, each answered."""
    _check_size(len(contacts) + len(pledges), max_items)
    uploader = Uploader(organization_id=organization_id, canvasser_id=canvasser_id, device_id=device_id)
    results = _ingest(session, uploader, contacts, "contact") + _ingest(session, uploader, pledges, "pledge")
    _request_rollup(session, uploader, results)
    return results


def record_contact(session: Session, *, organization_id: int, canvasser_id: int, device_id: str | None, item) -> ItemResult:
    """One contact from an online client; a rejection is raised as its error."""
    return _single(sync_field_work(session, organization_id=organization_id, canvasser_id=canvasser_id,
                                   device_id=device_id, contacts=[item], pledges=[], max_items=1))


def record_pledge(session: Session, *, organization_id: int, canvasser_id: int, device_id: str | None, item) -> ItemResult:
    """One pledge card from an online client; a rejection is raised as its error."""
    return _single(sync_field_work(session, organization_id=organization_id, canvasser_id=canvasser_id,
                                   device_id=device_id, contacts=[], pledges=[item], max_items=1))


def enter_paper_pledges(session: Session, *, organization_id: int, pledges: list, max_items: int) -> list[ItemResult]:
    """Paper cards typed in by an organizer or lead: source `paper`; an assignment, when
    given, may be any canvasser's (it credits the card to them)."""
    _check_size(len(pledges), max_items)
    uploader = Uploader(organization_id=organization_id, canvasser_id=None, device_id=None, paper=True)
    results = _ingest(session, uploader, pledges, "pledge")
    _request_rollup(session, uploader, results)
    return results


def enter_paper_results(session: Session, *, organization_id: int, contacts: list, max_items: int) -> list[ItemResult]:
    """Door results of a paper walk list keyed in by an organizer or lead: each contact is credited to
    its assignment's canvasser (none for a team's lease), and its client_id (made from the sheet's row,
    canvass/turfs/paper.py) makes a row keyed in twice stored once. No pace check: the times are the
    day the sheet was walked, not when each door was knocked."""
    _check_size(len(contacts), max_items)
    uploader = Uploader(organization_id=organization_id, canvasser_id=None, device_id=None, paper=True)
    results = _ingest(session, uploader, contacts, "contact")
    _request_rollup(session, uploader, results)
    return results


def _check_size(count: int, max_items: int) -> None:
    if count > max_items:
        raise TooLarge(
            f"a batch holds at most {max_items} items; this one has {count}: split it",
            code="batch_too_large", details={"max_items": max_items, "items": count},
        )


def _single(results: list[ItemResult]) -> ItemResult:
    (result,) = results
    if result.status == "rejected":
        raise result.error
    return result


def _request_rollup(session: Session, uploader: Uploader, results: list[ItemResult]) -> None:
    # One request per upload, coalesced by job id; sent after commit. A lost
    # request only delays: the rollup reads everything past its watermark.
    if any(r.status == "created" for r in results):
        request_rollup(session, organization_id=uploader.organization_id)
        request_activity_rollup(session, organization_id=uploader.organization_id)


# --- the pipeline shared by contacts and pledges --------------------------------------


def _ingest(session: Session, uploader: Uploader, raws: list, kind: str) -> list[ItemResult]:
    model = Contact if kind == "contact" else Pledge
    results: list[ItemResult | None] = [None] * len(raws)
    echoes = [echo_client_id(raw) for raw in raws]

    def reject(index: int, error: DomainError) -> None:
        results[index] = ItemResult(echoes[index], kind, "rejected", error=error)

    # 1. shape, one item at a time
    items: dict[int, dict] = {}
    for index, raw in enumerate(raws):
        try:
            item = parse_contact(raw) if kind == "contact" else parse_pledge(raw, paper=uploader.paper)
            if item["occurred_at"] > uploader.now + CLOCK_SKEW:
                raise ValidationFailed(
                    "occurred_at is in the future: check the phone's clock", code="occurred_in_future",
                    details={"occurred_at": ["Is in the future."]},
                )
            items[index] = item
        except DomainError as error:
            reject(index, error)

    # 2. the first item of each client_id speaks for the later ones; stored ones are duplicates
    first_of: dict = {}
    later: dict[int, int] = {}
    for index, item in items.items():
        if item["client_id"] in first_of:
            later[index] = first_of[item["client_id"]]
        else:
            first_of[item["client_id"]] = index
    stored = stored_ids(session, model, uploader.organization_id, list(first_of))
    for client_id, index in first_of.items():
        if client_id in stored:
            results[index] = ItemResult(echoes[index], kind, "duplicate", id=stored[client_id])

    # 3. checks against the database, 4. store
    pending = {index: items[index] for index in first_of.values() if results[index] is None}
    check = check_contacts if kind == "contact" else check_pledges
    rows, created_people = check(session, uploader, pending, reject)
    inserted = insert_new(session, model, rows.values())
    raced = [row["client_id"] for row in rows.values() if row["client_id"] not in inserted]
    winners = stored_ids(session, model, uploader.organization_id, raced) if raced else {}
    for index, row in rows.items():
        client_id = row["client_id"]
        if client_id in inserted:
            results[index] = ItemResult(echoes[index], kind, "created", id=inserted[client_id])
        elif client_id in winners:
            results[index] = ItemResult(echoes[index], kind, "duplicate", id=winners[client_id])
        else:  # neither stored nor there: its door was deleted since the checks (an address clean-up)
            reject(index, NotFound("no such household", code="household_not_found",
                                   details={"household_id": ["No such household."]}))
    if raced and created_people:
        # People made for cards a racing upload stored first belong to no card.
        delete_unreferenced_people(session, organization_id=uploader.organization_id, person_ids=created_people)

    for index, first in later.items():
        earlier = results[first]
        if earlier.status == "rejected":
            results[index] = ItemResult(echoes[index], kind, "rejected", error=earlier.error)
        else:
            results[index] = ItemResult(echoes[index], kind, "duplicate", id=earlier.id)

    new_rows = [row for row in rows.values() if row["client_id"] in inserted]
    created = {index: results[index] for index, row in rows.items() if row["client_id"] in inserted}
    if kind == "pledge" and new_rows:
        outcomes = apply_card_details(session, organization_id=uploader.organization_id, cards=[
            CardDetails(pledge_id=inserted[row["client_id"]], person_id=row["person_id"],
                        occurred_at=row["occurred_at"], consent=row["consent_to_contact"],
                        phone=row["phone"], email=row["email"])
            for row in new_rows
        ])
        for result in created.values():
            result.contact_details = outcomes.get(result.id)
    if kind == "contact" and new_rows:
        timezone = timezone_for(get_organization(session, uploader.organization_id))
        flagged = flag_conflicts(
            session, organization_id=uploader.organization_id, timezone=timezone,
            rows=[{**row, "id": inserted[row["client_id"]]} for row in new_rows],
        )
        for result in created.values():
            result.conflict = True if result.id in flagged else None  # present only when flagged
        # A conflicting result's door consequences wait for a lead's resolution (conflicts.py);
        # a do-not-contact request is honoured at once.
        apply_door_outcomes(session, uploader.organization_id, [
            {**row, "result_code": None} if inserted[row["client_id"]] in flagged else row for row in new_rows
        ])
        if not uploader.paper:
            integrity.flag_pace(
                session,
                organization_id=uploader.organization_id,
                canvasser_id=uploader.canvasser_id,
                since=min(row["occurred_at"] for row in new_rows),
                until=max(row["occurred_at"] for row in new_rows),
            )
    return results


def delete_unreferenced_people(session: Session, *, organization_id: int, person_ids) -> int:
    """Remove people created for cards that turned out to be retries stored by a racing upload."""
    if not person_ids:
        return 0
    result = session.execute(
        delete(Person).where(
            Person.organization_id == organization_id,
            Person.id.in_(sorted(set(person_ids))),
            ~exists().where(Pledge.organization_id == organization_id, Pledge.person_id == Person.id),
            ~exists().where(Contact.organization_id == organization_id, Contact.person_id == Person.id),
        )
    )
    return result.rowcount
