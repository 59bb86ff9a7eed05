"""A canvass ready to take field work: an organization, its users, a campaign, a turf of
doors leased to a canvasser. Builders flush, never commit (see tests/factories.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import func, select

from canvass.canvassing.records import Contact, Pledge
from tests.factories import (
    auth_header,
    make_assignment,
    make_building,
    make_campaign,
    make_household,
    make_org,
    make_person,
    make_turf,
    make_user,
)

QUESTIONS = (
    ("Who will you vote for?", "choice", ["Rivera", "Okafor", "Undecided"]),
    ("How much do you support the ordinance?", "scale", None),
    ("Can we count on your vote?", "yes_no", None),
    ("Anything else?", "text", None),
)


@dataclass
class Canvass:
    org: object
    canvasser: object
    headers: dict
    campaign: object
    questions: dict  # kind -> question id
    turf: object
    households: list
    people: list  # one resident per household
    assignment: object


def make_canvass(session, *, doors: int = 3, org=None, canvasser=None, **campaign_kwargs) -> Canvass:
    org = org or make_org(session)
    canvasser = canvasser or make_user(session, org=org, roles=["canvasser"])
    campaign = make_campaign(session, org=org, questions=QUESTIONS, **campaign_kwargs)
    # Doors about 30 m apart along one street, each its own building.
    households = [make_household(session, org=org, lon=-87.71 + 0.0004 * i, lat=41.95) for i in range(doors)]
    people = [make_person(session, org=org, household=h) for h in households]
    turf = make_turf(session, org=org, households=households)
    assignment = make_assignment(session, org=org, turf=turf, canvasser=canvasser, campaign=campaign)
    questions = {q.kind: q.id for q in campaign.questions}
    return Canvass(org, canvasser, auth_header(session, canvasser), campaign, questions, turf, households, people,
                   assignment)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone(timedelta(hours=-6))).isoformat()


def minutes_ago(minutes: float) -> str:
    return iso(datetime.now(UTC) - timedelta(minutes=minutes))


def contact(canvass: Canvass, household=None, **fields) -> dict:
    household = household or canvass.households[0]
    item = {
        "client_id": str(uuid.uuid4()),
        "assignment_id": canvass.assignment.id,
        "household_id": household.id,
        "occurred_at": minutes_ago(10),
        "result_code": "not_home",
    }
    item.update(fields)
    return {key: value for key, value in item.items() if value is not ...}


def pledge(canvass: Canvass, **fields) -> dict:
    item = {
        "client_id": str(uuid.uuid4()),
        "assignment_id": canvass.assignment.id,
        "household_id": canvass.households[0].id,
        "person": {"first_name": "Maria", "last_name": "Lopez", "phone": "(312) 555-0199"},
        "pledge_type": "vote",
        "occurred_at": minutes_ago(10),
        "consent_to_contact": True,
    }
    item.update(fields)
    return {key: value for key, value in item.items() if value is not ...}


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def counts(session) -> tuple[int, int]:
    return count(session, Contact), count(session, Pledge)


def another_building_household(session, canvass: Canvass, **kwargs):
    return make_household(session, org=canvass.org, building=make_building(session, org=canvass.org, **kwargs))
