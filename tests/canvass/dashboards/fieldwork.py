"""Field work written straight into the tables (the sync path has its own tests): a small ward
with turfs, canvassers, a campaign, and helpers to add contacts and pledge cards. Flush, never commit."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from canvass.canvassing.records import Contact, Pledge
from tests.factories import (
    make_assignment,
    make_boundary,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
)

CHICAGO = timezone(timedelta(hours=-6))
WEST, EAST = (-87.72, 41.94, -87.71, 41.95), (-87.71, 41.94, -87.70, 41.95)


@dataclass
class Ward:
    org: object
    ward: object
    organizer: object
    lead: object
    canvassers: list
    campaign: object
    turfs: list  # two turfs, west and east
    doors: list  # doors[t] = households of turf t
    people: dict  # household id -> person
    assignments: list  # assignments[t]: turf t leased to canvassers[t]


def make_ward(session, *, org=None, doors_per_turf: int = 4, ward_name: str = "33") -> Ward:
    org = org or make_org(session)
    organizer = make_user(session, org=org, roles=["organizer"])
    lead = make_user(session, org=org, roles=["field_lead"])
    canvassers = [make_user(session, org=org, roles=["canvasser"], name=f"Canvasser {i}") for i in range(2)]
    ward = make_boundary(session, org=org, name=ward_name, bounds=(-87.72, 41.94, -87.70, 41.95))
    campaign = make_campaign(session, org=org, name="Fall canvass")
    turfs, doors, people, assignments = [], [], {}, []
    for index, bounds in enumerate((WEST, EAST)):
        households = [
            make_household(session, org=org, lon=bounds[0] + 0.001 * (i + 1), lat=41.945, ward=ward)
            for i in range(doors_per_turf)
        ]
        for household in households:
            people[household.id] = make_person(session, org=org, household=household)
        turf = make_turf(session, org=org, households=households, ward=ward, bounds=bounds,
                         name=f"Turf {index + 1} {('West', 'East')[index]}")
        assignments.append(make_assignment(session, org=org, turf=turf, canvasser=canvassers[index], campaign=campaign))
        turfs.append(turf)
        doors.append(households)
    return Ward(org, ward, organizer, lead, canvassers, campaign, turfs, doors, people, assignments)


def at(day: int, hour: int = 15, minute: int = 0) -> datetime:
    """A Chicago local time in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


def add_contact(session, ward: Ward, *, turf: int = 0, door: int = 0, when: datetime, talked: bool = False,
                flags=(), canvasser=None, campaign=None, person: bool = False, result_code: str = "not_home",
                **fields) -> Contact:
    household = ward.doors[turf][door]
    canvasser = canvasser if canvasser is not None else ward.canvassers[turf]
    contact = Contact(
        organization_id=ward.org.id, client_id=uuid.uuid4(), campaign_id=(campaign or ward.campaign).id,
        assignment_id=ward.assignments[turf].id if canvasser else None,
        canvasser_id=canvasser.id if canvasser else None, household_id=household.id,
        person_id=ward.people[household.id].id if person or talked else None, occurred_at=when,
        result_code=None if talked else result_code,
        responses=[{"question_id": ward.campaign.questions[0].id, "answer": True}] if talked else None,
        flags=list(flags), **fields,
    )
    session.add(contact)
    session.flush()
    return contact


def add_pledge(session, ward: Ward, *, turf: int = 0, door: int = 0, when: datetime, canvasser=None,
               with_household: bool = True, campaign=..., pledge_type: str = "vote", **fields) -> Pledge:
    household = ward.doors[turf][door]
    canvasser = canvasser if canvasser is not None else ward.canvassers[turf]
    pledge = Pledge(
        organization_id=ward.org.id, client_id=uuid.uuid4(), pledge_type=pledge_type,
        person_id=ward.people[household.id].id, household_id=household.id if with_household else None,
        campaign_id=ward.campaign.id if campaign is ... else (campaign.id if campaign else None),
        canvasser_id=canvasser.id if canvasser else None, occurred_at=when, consent_to_contact=True,
        next_follow_up_at=when + timedelta(days=7), **fields,
    )
    session.add(pledge)
    session.flush()
    return pledge


def new_person_at(session, ward: Ward, *, turf: int = 0, door: int = 0, **fields):
    return make_person(session, org=ward.org, household=ward.doors[turf][door], **fields)
