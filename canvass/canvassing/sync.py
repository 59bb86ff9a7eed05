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

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable

from geoalchemy2 import Geometry
from sqlalchemy import JSON, BigInteger, Text, and_, any_, bindparam, cast, column, delete, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from canvass.canvassing import integrity
from canvass.canvassing.conflicts import flag_conflicts
from canvass.canvassing.outcomes import apply_door_outcomes
from canvass.canvassing.followups import initial_follow_up, organization_plan
from canvass.campaigns.models import Campaign, Question
from canvass.canvassing.records import Contact, Pledge
from canvass.canvassing.validation import check_responses, echo_client_id, parse_contact, parse_pledge
from canvass.db import utcnow
from canvass.jobs import request_activity_rollup, request_rollup
from canvass.errors import DomainError, Forbidden, NotFound, TooLarge, ValidationFailed
from canvass.geo.models import Building, Household
from canvass.people.details import CardDetails, apply_card_details
from canvass.people.matching import PersonRequest, match_or_create_people
from canvass.orgs.models import Organization
from canvass.orgs.services import timezone_for
from canvass.people.models import Person
from canvass.turfs.leases import Stint
from canvass.turfs.models import Assignment, AssignmentMember, TurfStop

# Phone clocks drift: this much ahead of ours is still "now", and leases are
# honoured this much either side.
CLOCK_SKEW = timedelta(minutes=5)


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


@dataclass(frozen=True)
class _Uploader:
    organization_id: int
    # Whose field work this is; for paper cards, taken from each card's assignment.
    canvasser_id: int | None
    device_id: str | None
    paper: bool = False
    now: datetime = field(default_factory=utcnow)


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
    uploader = _Uploader(organization_id=organization_id, canvasser_id=canvasser_id, device_id=device_id)
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
    uploader = _Uploader(organization_id=organization_id, canvasser_id=None, device_id=None, paper=True)
    results = _ingest(session, uploader, pledges, "pledge")
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


def _request_rollup(session: Session, uploader: _Uploader, results: list[ItemResult]) -> None:
    # One request per upload, coalesced by job id; sent after commit. A lost
    # request only delays: the rollup reads everything past its watermark.
    if any(r.status == "created" for r in results):
        request_rollup(session, organization_id=uploader.organization_id)
        request_activity_rollup(session, organization_id=uploader.organization_id)


# --- the pipeline shared by contacts and pledges --------------------------------------


def _ingest(session: Session, uploader: _Uploader, raws: list, kind: str) -> list[ItemResult]:
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
    stored = _stored_ids(session, model, uploader.organization_id, list(first_of))
    for client_id, index in first_of.items():
        if client_id in stored:
            results[index] = ItemResult(echoes[index], kind, "duplicate", id=stored[client_id])

    # 3. checks against the database, 4. store
    pending = {index: items[index] for index in first_of.values() if results[index] is None}
    check = _check_contacts if kind == "contact" else _check_pledges
    rows, created_people = check(session, uploader, pending, reject)
    inserted = _insert(session, model, rows.values())
    raced = [row["client_id"] for row in rows.values() if row["client_id"] not in inserted]
    winners = _stored_ids(session, model, uploader.organization_id, raced) if raced else {}
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
        flagged = flag_conflicts(
            session, organization_id=uploader.organization_id, timezone=_timezone(session, uploader.organization_id),
            rows=[{**row, "id": inserted[row["client_id"]]} for row in new_rows],
        )
        for result in created.values():
            result.conflict = True if result.id in flagged else None  # present only when flagged
        # A conflicting result's door consequences wait for a lead's resolution (conflicts.py);
        # a do-not-contact request is honoured at once.
        apply_door_outcomes(session, uploader.organization_id, [
            {**row, "result_code": None} if inserted[row["client_id"]] in flagged else row for row in new_rows
        ])
        integrity.flag_pace(
            session,
            organization_id=uploader.organization_id,
            canvasser_id=uploader.canvasser_id,
            since=min(row["occurred_at"] for row in new_rows),
            until=max(row["occurred_at"] for row in new_rows),
        )
    return results


def _timezone(session: Session, organization_id: int) -> str:
    """The organization's time zone (its local days), as the pipeline reads it."""
    settings = session.execute(select(Organization.settings).where(Organization.id == organization_id)).scalar_one()
    return timezone_for(Organization(settings=settings))


def _any(values, type_) -> Any:
    """`= ANY(:array)`, for short lists (a batch's few turfs)."""
    return any_(bindparam(None, list(values), type_=ARRAY(type_)))


def _wanted(values, type_):
    """A batch's ids as a table to join: `unnest(:array) AS wanted(value)`.

    One bind parameter whatever the batch size (one cached, prepared statement),
    and a plan that stays one index lookup per id even on tables the planner
    has no statistics for yet, where an `id = ANY(:array)` filter can become a
    scan per row.
    """
    return func.unnest(bindparam(None, list(values), type_=ARRAY(type_))).table_valued("value").render_derived(
        name="wanted"
    )


def _stored_ids(session: Session, model, organization_id: int, client_ids: list) -> dict:
    if not client_ids:
        return {}
    table, wanted = model.__table__, _wanted(client_ids, UUID(as_uuid=True))
    rows = session.execute(
        select(table.c.client_id, table.c.id).select_from(wanted).join(
            table, and_(table.c.organization_id == organization_id, table.c.client_id == wanted.c.value)
        )
    )
    return dict(rows.all())


def _recordset(table, names: tuple[str, ...]):
    """The batch as a table: `json_to_recordset(:batch) AS batch (name type, ...)`.

    The whole batch travels as one JSON document (serialized in C, parsed by the
    server in C) and the statement is the same for every batch, so it is
    prepared once: no VALUES list that grows with the batch and is parsed anew,
    no per-element array quoting. Geometry travels as EWKT text.
    """
    def record_type(name):
        type_ = table.c[name].type
        return Text() if isinstance(type_, Geometry) else type_

    return (
        func.json_to_recordset(cast(bindparam("batch", type_=Text), JSON))
        .table_valued(*(column(name, record_type(name)) for name in names))
        .render_derived(name="batch", with_types=True)
    )


def _insert_ignoring_stored(table, names, rows):
    """INSERT ... SELECT ... ON CONFLICT (organization_id, client_id) DO NOTHING RETURNING client_id, id.

    Rows go in client_id order, so overlapping uploads lock in the same order.
    """
    return (
        pg_insert(table)
        .from_select(list(names), rows)
        .on_conflict_do_nothing(index_elements=["organization_id", "client_id"])
        .returning(table.c.client_id, table.c.id)
    )


_CONTACT_FIELDS = (
    "organization_id", "client_id", "campaign_id", "assignment_id", "canvasser_id", "household_id", "person_id",
    "device_id", "occurred_at", "result_code", "responses", "notes", "do_not_contact", "location", "accuracy_m",
)
_PLEDGE_FIELDS = (
    "organization_id", "client_id", "pledge_type", "source", "person_id", "household_id", "campaign_id",
    "assignment_id", "canvasser_id", "device_id", "occurred_at", "consent_to_contact", "notes", "follow_up_status",
    "next_follow_up_at", "phone", "email",
)


def _contacts_insert():
    """Contacts arrive with their door flags, computed against their building in the same statement."""
    contacts, households, buildings = Contact.__table__, Household.__table__, Building.__table__
    batch = _recordset(contacts, _CONTACT_FIELDS)
    location = func.ST_GeomFromEWKT(batch.c.location)
    rows = (
        select(*(location if name == "location" else batch.c[name] for name in _CONTACT_FIELDS),
               integrity.arrival_flags(location, batch.c.accuracy_m, buildings.c.location))
        .select_from(batch)
        .join(households, and_(households.c.organization_id == batch.c.organization_id,
                               households.c.id == batch.c.household_id))
        .join(buildings, and_(buildings.c.organization_id == households.c.organization_id,
                              buildings.c.id == households.c.building_id))
        .order_by(batch.c.client_id)
    )
    return _insert_ignoring_stored(contacts, (*_CONTACT_FIELDS, "flags"), rows)


def _pledges_insert():
    batch = _recordset(Pledge.__table__, _PLEDGE_FIELDS)
    rows = select(*(batch.c[name] for name in _PLEDGE_FIELDS)).order_by(batch.c.client_id)
    return _insert_ignoring_stored(Pledge.__table__, _PLEDGE_FIELDS, rows)


_INSERTS = {Contact: (_contacts_insert(), _CONTACT_FIELDS), Pledge: (_pledges_insert(), _PLEDGE_FIELDS)}


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # UUIDs


def _insert(session: Session, model, rows) -> dict:
    """client_id -> id of the rows this statement inserted (not those already there)."""
    if not rows:
        return {}
    statement, names = _INSERTS[model]
    batch = json.dumps([{name: row[name] for name in names} for row in rows], default=_json_value)
    return dict(session.execute(statement, {"batch": batch}).all())


# --- what the database must confirm ----------------------------------------------------


@dataclass(frozen=True)
class _AssignmentRow:
    id: int
    turf_id: int
    campaign_id: int
    canvasser_id: int | None  # None: a team's lease
    leased_at: datetime
    leased_until: datetime
    ended_at: datetime | None
    # The uploader's stretches on this assignment (assignment_members; none: not theirs).
    stints: tuple[Stint, ...] = ()

    def covers(self, when: datetime) -> bool:
        """The lease as it was at `when`: the phone was offline, the work was real."""
        end = min(self.leased_until, self.ended_at or self.leased_until)
        return self.leased_at - CLOCK_SKEW <= when <= end + CLOCK_SKEW

    def had_uploader_at(self, when: datetime) -> bool:
        """The uploader was on it at `when` (a member who has since left the team still was)."""
        return any(stint.covers(when, skew=CLOCK_SKEW) for stint in self.stints)


@dataclass
class _CampaignRules:
    result_codes: frozenset
    pledge_types: frozenset
    questions: dict = field(default_factory=dict)  # question id -> (kind, choices)


def _assignments(session: Session, organization_id: int, ids: set, uploader_id: int | None) -> dict[int, _AssignmentRow]:
    """The batch's assignments with the uploader's stretches on each: one query (a row per stretch)."""
    if not ids:
        return {}
    wanted = _wanted(ids, BigInteger)
    rows = session.execute(
        select(Assignment.id, Assignment.turf_id, Assignment.campaign_id, Assignment.canvasser_id,
               Assignment.leased_at, Assignment.leased_until, Assignment.ended_at,
               AssignmentMember.id.label("stint_id"), AssignmentMember.joined_at, AssignmentMember.left_at)
        .select_from(wanted)
        .join(Assignment, and_(Assignment.organization_id == organization_id, Assignment.id == wanted.c.value))
        .outerjoin(AssignmentMember, and_(AssignmentMember.organization_id == Assignment.organization_id,
                                          AssignmentMember.assignment_id == Assignment.id,
                                          AssignmentMember.user_id == uploader_id))
    )
    found: dict[int, _AssignmentRow] = {}
    for row in rows:
        assignment = found.get(row.id) or _AssignmentRow(*row[:7])
        if row.stint_id is not None:
            assignment = replace(assignment, stints=(*assignment.stints, Stint(row.joined_at, row.left_at)))
        found[row.id] = assignment
    return found


def _households(session: Session, organization_id: int, ids: set, turf_ids: set) -> dict[int, set]:
    """household id -> the ids (among `turf_ids`) of the turfs it is a stop of."""
    if not ids:
        return {}
    wanted = _wanted(ids, BigInteger)
    rows = session.execute(
        select(Household.id, TurfStop.turf_id)
        .select_from(wanted)
        .join(Household, and_(Household.organization_id == organization_id, Household.id == wanted.c.value))
        .outerjoin(TurfStop, and_(TurfStop.organization_id == Household.organization_id,
                                  TurfStop.household_id == Household.id,
                                  TurfStop.turf_id == _any(turf_ids or [0], BigInteger)))
    )
    found: dict[int, set] = {}
    for household_id, turf_id in rows:
        found.setdefault(household_id, set())
        if turf_id is not None:
            found[household_id].add(turf_id)
    return found


def _campaigns(session: Session, organization_id: int, ids: set) -> dict[int, _CampaignRules]:
    if not ids:
        return {}
    campaigns = {
        row.id: _CampaignRules(frozenset(row.result_codes), frozenset(row.pledge_types))
        for row in session.execute(
            select(Campaign.id, Campaign.result_codes, Campaign.pledge_types)
            .where(Campaign.organization_id == organization_id, Campaign.id == _any(ids, BigInteger))
        )
    }  # a batch names one campaign or a few
    for row in session.execute(
        select(Question.id, Question.campaign_id, Question.kind, Question.choices)
        .where(Question.organization_id == organization_id, Question.campaign_id == _any(campaigns or [0], BigInteger))
    ):
        campaigns[row.campaign_id].questions[row.id] = (row.kind, row.choices)
    return campaigns


def _people(session: Session, organization_id: int, ids: set) -> dict[int, tuple[int | None, int | None]]:
    """person id -> (household id, merged into id)."""
    if not ids:
        return {}
    wanted = _wanted(ids, BigInteger)
    rows = session.execute(
        select(Person.id, Person.household_id, Person.merged_into_id)
        .select_from(wanted)
        .join(Person, and_(Person.organization_id == organization_id, Person.id == wanted.c.value))
    )
    return {row.id: (row.household_id, row.merged_into_id) for row in rows}


def _assignment_of(item: dict, assignments: dict, uploader: _Uploader) -> _AssignmentRow:
    assignment = assignments.get(item["assignment_id"])
    if assignment is None:
        raise NotFound("no such assignment", code="assignment_not_found",
                       details={"assignment_id": ["No such assignment."]})
    if uploader.paper:
        return assignment
    if not assignment.stints:
        raise Forbidden("this assignment is another canvasser's", code="not_assigned",
                        details={"assignment_id": ["Not your assignment."]})
    if not assignment.covers(item["occurred_at"]):
        raise Forbidden("the assignment's lease did not cover occurred_at", code="not_assigned",
                        details={"occurred_at": ["Outside the assignment's lease."]})
    if not assignment.had_uploader_at(item["occurred_at"]):
        raise Forbidden("you were not on this assignment's team at occurred_at", code="not_assigned",
                        details={"occurred_at": ["Not on the assignment's team at that time."]})
    return assignment


def _household_of(item: dict, households: dict, assignment: _AssignmentRow | None, uploader: _Uploader) -> int:
    household_id = item["household_id"]
    if household_id not in households:
        raise NotFound("no such household", code="household_not_found",
                       details={"household_id": ["No such household."]})
    if assignment is not None and not uploader.paper and assignment.turf_id not in households[household_id]:
        raise Forbidden("this door is not on the assignment's turf", code="not_assigned",
                        details={"household_id": ["Not on the assignment's turf."]})
    return household_id


def _person_of(item: dict, people: dict, household_id: int | None, *, same_household: bool) -> int | None:
    person_id = item["person_id"]
    if person_id is None:
        return None
    if person_id not in people:
        raise NotFound("no such person", code="person_not_found", details={"person_id": ["No such person."]})
    person_household, merged_into = people[person_id]
    if same_household and person_household != household_id:
        raise ValidationFailed("this person is not of this household", code="person_not_in_household",
                               details={"person_id": ["Not a resident of household_id."]})
    # A walk list printed before a merge still names the merged person: their survivor gets the work.
    return merged_into or person_id


def _location(item: dict) -> tuple[str | None, float | None]:
    location = item["location"]
    if location is None:
        return None, None
    return f"SRID=4326;POINT({location['lon']!r} {location['lat']!r})", location["accuracy_m"]


def _check_contacts(session: Session, uploader: _Uploader, items: dict[int, dict], reject: Callable) -> tuple[dict, list]:
    org = uploader.organization_id
    assignments = _assignments(session, org, {item["assignment_id"] for item in items.values()}, uploader.canvasser_id)
    households = _households(session, org, {item["household_id"] for item in items.values()},
                             {a.turf_id for a in assignments.values()})
    campaigns = _campaigns(session, org, {a.campaign_id for a in assignments.values()})
    people = _people(session, org, {item["person_id"] for item in items.values() if item["person_id"]})
    rows = {}
    for index, item in items.items():
        try:
            assignment = _assignment_of(item, assignments, uploader)
            household_id = _household_of(item, households, assignment, uploader)
            person_id = _person_of(item, people, household_id, same_household=True)
            campaign = campaigns[assignment.campaign_id]
            if item["result_code"] is not None and item["result_code"] not in campaign.result_codes:
                raise ValidationFailed(
                    "the campaign does not use this result code", code="result_code_not_allowed",
                    details={"result_code": [f"One of: {', '.join(sorted(campaign.result_codes))}."]},
                )
            if item["responses"] is not None:
                problems = check_responses(item["responses"], campaign.questions)
                if problems:
                    raise ValidationFailed("responses do not fit the campaign's questions", code="invalid_responses",
                                           details=problems)
        except DomainError as error:
            reject(index, error)
            continue
        location, accuracy = _location(item)
        rows[index] = {
            "organization_id": org, "client_id": item["client_id"], "campaign_id": assignment.campaign_id,
            "assignment_id": assignment.id, "canvasser_id": uploader.canvasser_id, "household_id": household_id,
            "person_id": person_id, "device_id": uploader.device_id, "occurred_at": item["occurred_at"],
            "result_code": item["result_code"], "responses": item["responses"], "notes": item["notes"],
            "do_not_contact": item["do_not_contact"], "location": location, "accuracy_m": accuracy,
        }
    return rows, []


def _check_pledges(session: Session, uploader: _Uploader, items: dict[int, dict], reject: Callable) -> tuple[dict, list]:
    org = uploader.organization_id
    assignments = _assignments(session, org, {item["assignment_id"] for item in items.values() if item["assignment_id"]},
                               uploader.canvasser_id)
    households = _households(session, org, {item["household_id"] for item in items.values() if item["household_id"]},
                             {a.turf_id for a in assignments.values()})
    campaigns = _campaigns(
        session, org,
        {item["campaign_id"] for item in items.values() if item["campaign_id"]}
        | {a.campaign_id for a in assignments.values()},
    )
    people = _people(session, org, {item["person_id"] for item in items.values() if item["person_id"]})
    checked: dict[int, dict] = {}
    requests: list[PersonRequest] = []
    for index, item in items.items():
        try:
            assignment = _assignment_of(item, assignments, uploader) if item["assignment_id"] else None
            household_id = _household_of(item, households, assignment, uploader) if item["household_id"] else None
            person_id = _person_of(item, people, household_id, same_household=False)
            campaign_id = item["campaign_id"] or (assignment.campaign_id if assignment else None)
            if campaign_id is not None:
                campaign = campaigns.get(campaign_id)
                if campaign is None:
                    raise NotFound("no such campaign", code="campaign_not_found",
                                   details={"campaign_id": ["No such campaign."]})
                if item["pledge_type"] not in campaign.pledge_types:
                    raise ValidationFailed(
                        "the campaign does not collect this pledge type", code="pledge_type_not_allowed",
                        details={"pledge_type": [f"One of: {', '.join(sorted(campaign.pledge_types)) or 'none'}."]},
                    )
        except DomainError as error:
            reject(index, error)
            continue
        card_person = item["person"] or {}
        requests.append(PersonRequest(
            person_id=person_id, household_id=household_id, first_name=card_person.get("first_name") or "",
            last_name=card_person.get("last_name") or "", phone=card_person.get("phone"),
            email=card_person.get("email"), source=item["source"],
        ))
        canvasser_id = assignment.canvasser_id if uploader.paper and assignment else uploader.canvasser_id
        checked[index] = {
            "organization_id": org, "client_id": item["client_id"], "pledge_type": item["pledge_type"],
            "source": item["source"], "household_id": household_id, "campaign_id": campaign_id,
            "assignment_id": assignment.id if assignment else None, "canvasser_id": canvasser_id,
            "device_id": uploader.device_id, "occurred_at": item["occurred_at"],
            "consent_to_contact": item["consent_to_contact"], "notes": item["notes"],
            "phone": card_person.get("phone"), "email": card_person.get("email"),
        }
    if not checked:
        return {}, []
    matches = match_or_create_people(session, organization_id=org, requests=requests)
    plan = organization_plan(session, organization_id=org)
    created_people = []
    for row, (person_id, created) in zip(checked.values(), matches):
        row["person_id"] = person_id
        row["follow_up_status"], row["next_follow_up_at"] = initial_follow_up(
            plan, occurred_at=row["occurred_at"], consent_to_contact=row["consent_to_contact"]
        )
        if created:
            created_people.append(person_id)
    return checked, created_people


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
