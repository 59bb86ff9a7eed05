"""Builders for pipeline tests: raw facts written straight to the tables (flushed, never committed),
and a helper to run the rollup at a chosen moment."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from canvass.campaigns.models import Question
from canvass.canvassing.records import Contact, Pledge
from canvass.pipeline.models import DuesPayment, Event, EventAttendance
from canvass.pipeline.rollup import refresh_pipeline
from tests.factories import make_campaign, make_household, make_person

CHICAGO = ZoneInfo("America/Chicago")


def at(text: str) -> datetime:
    """'2026-03-01 18:00' (or a day, at noon) in Chicago time, the default organization time zone;
    or a full ISO string with its offset."""
    if "T" in text:
        return datetime.fromisoformat(text)
    return datetime.fromisoformat(text + ("" if len(text) > 10 else " 12:00")).replace(tzinfo=CHICAGO)


def support_campaign(session, org, **kwargs):
    """A campaign whose first question is a 1-5 support scale (its support question)."""
    campaign = make_campaign(session, org=org, questions=(
        ("How much do you support the ordinance?", "scale", None), ("Anything else?", "text", None)), **kwargs)
    questions = session.execute(
        select(Question).where(Question.campaign_id == campaign.id).order_by(Question.position)).scalars().all()
    return campaign, questions[0]


def resident(session, org, *, household=None, ward=None, **fields):
    household = household or make_household(session, org=org, ward=ward)
    return make_person(session, org=org, household=household, **fields)


def conversation(session, *, person, campaign, occurred_at, answer=None, question=None, household_id=None):
    responses = [{"question_id": question.id, "answer": answer}] if question is not None else []
    contact = Contact(
        organization_id=person.organization_id, client_id=uuid.uuid4(), campaign_id=campaign.id,
        household_id=household_id or person.household_id, person_id=person.id, occurred_at=occurred_at,
        responses=responses,
    )
    session.add(contact)
    session.flush()
    return contact


def attempt(session, *, household, campaign, occurred_at, result_code="not_home", person=None):
    contact = Contact(
        organization_id=household.organization_id, client_id=uuid.uuid4(), campaign_id=campaign.id,
        household_id=household.id, person_id=person.id if person else None, occurred_at=occurred_at,
        result_code=result_code,
    )
    session.add(contact)
    session.flush()
    return contact


def pledge(session, *, person, occurred_at, campaign=None, pledge_type="member", canvasser=None):
    card = Pledge(
        organization_id=person.organization_id, client_id=uuid.uuid4(), pledge_type=pledge_type,
        person_id=person.id, campaign_id=campaign.id if campaign else None, occurred_at=occurred_at,
        consent_to_contact=True, canvasser_id=canvasser.id if canvasser else None,
    )
    session.add(card)
    session.flush()
    return card


def event(session, *, org, starts_at, title=None, kind="meeting", led_by=None, campaign=None, status="scheduled"):
    row = Event(organization_id=org.id, kind=kind, title=title or f"Meeting {starts_at:%Y-%m-%d}",
                starts_at=starts_at, led_by_person_id=led_by.id if led_by else None,
                campaign_id=campaign.id if campaign else None, status=status)
    session.add(row)
    session.flush()
    return row


def attended(session, *, person, event_row, status="attended"):
    row = EventAttendance(organization_id=person.organization_id, event_id=event_row.id, person_id=person.id,
                          status=status)
    session.add(row)
    session.flush()
    return row


def dues(session, *, person, amount_cents, paid_on, period_start, period_end, method="cash"):
    row = DuesPayment(organization_id=person.organization_id, person_id=person.id, amount_cents=amount_cents,
                      paid_on=date.fromisoformat(paid_on), method=method,
                      period_start=date.fromisoformat(period_start), period_end=date.fromisoformat(period_end))
    session.add(row)
    session.flush()
    return row


def rollup(session, org, as_of, mode="incremental"):
    result = refresh_pipeline(session, organization_id=org.id, mode=mode, as_of=as_of)
    session.expire_all()
    return result


def forget_stale_jobs(redis, organization_id):
    """Job hashes outlive a test run in a shared Redis (a queued job is never expired), and a fresh
    database reuses organization ids: drop this organization's leftovers so an enqueue isn't
    mistaken for a duplicate."""
    for kind in ("rollup", "rebuild"):
        redis.delete(f"rq:job:{kind}-pipeline-org-{organization_id}")
