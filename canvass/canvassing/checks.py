"""What the database must confirm about an upload before it is stored: the assignment (and that
the uploader was on it when the work happened), the household on its turf, the campaign's rules,
the person at the door. A few queries per upload, whatever its size (canvassing/sync.py)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, and_, select
from sqlalchemy.orm import Session

from canvass.campaigns.models import Campaign, Question
from canvass.canvassing.bulk import any_of, wanted_values
from canvass.canvassing.followups import initial_follow_up, organization_plan
from canvass.canvassing.validation import check_responses
from canvass.db import utcnow
from canvass.errors import DomainError, Forbidden, NotFound, ValidationFailed
from canvass.geo.models import Household
from canvass.people.matching import PersonRequest, match_or_create_people
from canvass.people.models import Person
from canvass.turfs.leases import Stint
from canvass.turfs.models import Assignment, AssignmentMember, TurfStop

# Phone clocks drift: this much ahead of ours is still "now", and leases are
# honoured this much either side.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Uploader:
    organization_id: int
    # Whose field work this is; for paper cards, taken from each card's assignment.
    canvasser_id: int | None
    device_id: str | None
    paper: bool = False
    now: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class AssignmentRow:
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
class CampaignRules:
    result_codes: frozenset
    pledge_types: frozenset
    questions: dict = field(default_factory=dict)  # question id -> (kind, choices)


def _assignments(session: Session, organization_id: int, ids: set, uploader_id: int | None) -> dict[int, AssignmentRow]:
    """The batch's assignments with the uploader's stretches on each: one query (a row per stretch)."""
    if not ids:
        return {}
    wanted = wanted_values(ids, BigInteger)
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
    found: dict[int, AssignmentRow] = {}
    for row in rows:
        assignment = found.get(row.id) or AssignmentRow(*row[:7])
        if row.stint_id is not None:
            assignment = replace(assignment, stints=(*assignment.stints, Stint(row.joined_at, row.left_at)))
        found[row.id] = assignment
    return found


def _households(session: Session, organization_id: int, ids: set, turf_ids: set) -> dict[int, set]:
    """household id -> the ids (among `turf_ids`) of the turfs it is a stop of."""
    if not ids:
        return {}
    wanted = wanted_values(ids, BigInteger)
    rows = session.execute(
        select(Household.id, TurfStop.turf_id)
        .select_from(wanted)
        .join(Household, and_(Household.organization_id == organization_id, Household.id == wanted.c.value))
        .outerjoin(TurfStop, and_(TurfStop.organization_id == Household.organization_id,
                                  TurfStop.household_id == Household.id,
                                  TurfStop.turf_id == any_of(turf_ids or [0], BigInteger)))
    )
    found: dict[int, set] = {}
    for household_id, turf_id in rows:
        found.setdefault(household_id, set())
        if turf_id is not None:
            found[household_id].add(turf_id)
    return found


def _campaigns(session: Session, organization_id: int, ids: set) -> dict[int, CampaignRules]:
    if not ids:
        return {}
    campaigns = {
        row.id: CampaignRules(frozenset(row.result_codes), frozenset(row.pledge_types))
        for row in session.execute(
            select(Campaign.id, Campaign.result_codes, Campaign.pledge_types)
            .where(Campaign.organization_id == organization_id, Campaign.id == any_of(ids, BigInteger))
        )
    }  # a batch names one campaign or a few
    for row in session.execute(
        select(Question.id, Question.campaign_id, Question.kind, Question.choices)
        .where(Question.organization_id == organization_id, Question.campaign_id == any_of(campaigns or [0], BigInteger))
    ):
        campaigns[row.campaign_id].questions[row.id] = (row.kind, row.choices)
    return campaigns


def _people(session: Session, organization_id: int, ids: set) -> dict[int, tuple[int | None, int | None]]:
    """person id -> (household id, merged into id)."""
    if not ids:
        return {}
    wanted = wanted_values(ids, BigInteger)
    rows = session.execute(
        select(Person.id, Person.household_id, Person.merged_into_id)
        .select_from(wanted)
        .join(Person, and_(Person.organization_id == organization_id, Person.id == wanted.c.value))
    )
    return {row.id: (row.household_id, row.merged_into_id) for row in rows}


def _assignment_of(item: dict, assignments: dict, uploader: Uploader) -> AssignmentRow:
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


def _household_of(item: dict, households: dict, assignment: AssignmentRow | None, uploader: Uploader) -> int:
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


def check_contacts(session: Session, uploader: Uploader, items: dict[int, dict], reject: Callable) -> tuple[dict, list]:
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
            "assignment_id": assignment.id,
            "canvasser_id": assignment.canvasser_id if uploader.paper else uploader.canvasser_id,
            "household_id": household_id,
            "person_id": person_id, "device_id": uploader.device_id, "occurred_at": item["occurred_at"],
            "result_code": item["result_code"], "responses": item["responses"], "notes": item["notes"],
            "do_not_contact": item["do_not_contact"], "location": location, "accuracy_m": accuracy,
        }
    return rows, []


def check_pledges(session: Session, uploader: Uploader, items: dict[int, dict], reject: Callable) -> tuple[dict, list]:
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
