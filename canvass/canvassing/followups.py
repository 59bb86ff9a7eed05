"""The follow-up plan of a pledge card: who to call, when, and what happened.

A card with consent to contact gets a first call `first_call_days` after it was
signed. Each unsuccessful call schedules the next one `retry_days` later; after
`max_attempts` calls in a row without reaching the person the plan pauses for
`pause_days`, then the person is due again (another round). Reaching the person
closes the plan (`done`); a refusal or a do-not-contact request closes it as
`declined`. A card without consent is never called (`no_consent`).

Statuses: pending | paused (both "open": listed when due) | done | declined | no_consent.
The schedule is per organization: organization.settings["pledge_follow_up"] =
{"first_call_days": 7, "retry_days": 2, "max_attempts": 3, "pause_days": 30}.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import exists, select, tuple_
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.campaigns.models import PHONE_RESULT_CODES, Campaign
from canvass.canvassing.records import Pledge
from canvass.db import get_tenant_row, utcnow
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.geo.models import Household
from canvass.orgs.models import Organization
from canvass.people.models import Person

log = logging.getLogger(__name__)

OPEN_STATUSES = ("pending", "paused")
FOLLOW_UP_STATUSES = (*OPEN_STATUSES, "done", "declined", "no_consent")
# "reached" is a conversation; the rest are the phone result codes.
FOLLOW_UP_OUTCOMES = ("reached", *PHONE_RESULT_CODES)


@dataclass(frozen=True)
class FollowUpPlan:
    first_call_days: int = 7
    retry_days: int = 2
    max_attempts: int = 3
    pause_days: int = 30


_PLAN_LIMITS = {"first_call_days": (0, 365), "retry_days": (0, 365), "max_attempts": (1, 50), "pause_days": (0, 365)}


def follow_up_plan(organization_settings: dict | None) -> FollowUpPlan:
    """The organization's plan; a malformed setting falls back to the default (and is logged),
    so a typo in the settings never stops pledge cards from being stored."""
    raw = (organization_settings or {}).get("pledge_follow_up") or {}
    if not isinstance(raw, dict):
        log.warning("organization setting pledge_follow_up is not an object; using the default plan")
        raw = {}
    chosen = {}
    for field in fields(FollowUpPlan):
        value = raw.get(field.name)
        low, high = _PLAN_LIMITS[field.name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            log.warning("organization setting pledge_follow_up.%s=%r is invalid; using the default", field.name, value)
            continue
        chosen[field.name] = value
    return FollowUpPlan(**chosen)


def organization_plan(session: Session, *, organization_id: int) -> FollowUpPlan:
    settings = session.execute(
        select(Organization.settings).where(Organization.id == organization_id)
    ).scalar_one_or_none()
    return follow_up_plan(settings)


def initial_follow_up(plan: FollowUpPlan, *, occurred_at: datetime, consent_to_contact: bool) -> tuple[str, datetime | None]:
    """(status, next_follow_up_at) of a new card."""
    if not consent_to_contact:
        return "no_consent", None
    return "pending", occurred_at + timedelta(days=plan.first_call_days)


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw:
        return None
    when, _, pledge_id = raw.rpartition("_")
    try:
        parsed = datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError
        return parsed, int(pledge_id)
    except ValueError:
        raise ValidationFailed("cursor is not one this API gave out", details={"cursor": ["Invalid cursor."]}) from None


def follow_up_cursor(pledge) -> str:
    return f"{pledge.next_follow_up_at.isoformat()}_{pledge.id}"


def list_due_follow_ups(
    session: Session,
    *,
    organization_id: int,
    due_before: datetime | None = None,
    campaign_id: int | None = None,
    pledge_type: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> list[dict]:
    """Open follow-ups due by `due_before` (default now), soonest first: [{pledge, person}] rows.

    Do-not-contact (the person's or the household's) and deceased people are
    never listed, whatever their cards say.
    """
    after = _cursor(cursor)
    pledges = Pledge.__table__
    query = (
        select(pledges)
        .join(Person, (Person.organization_id == pledges.c.organization_id) & (Person.id == pledges.c.person_id))
        .where(
            pledges.c.organization_id == organization_id,
            pledges.c.follow_up_status.in_(OPEN_STATUSES),
            pledges.c.next_follow_up_at <= (due_before or utcnow()),
            Person.do_not_contact.is_(False),
            Person.deceased.is_(False),
            ~exists().where(
                Household.organization_id == Person.organization_id,
                Household.id == Person.household_id,
                Household.do_not_contact.is_(True),
            ),
        )
        .order_by(pledges.c.next_follow_up_at, pledges.c.id)
        .limit(limit)
    )
    if campaign_id is not None:
        query = query.where(pledges.c.campaign_id == campaign_id)
    if pledge_type is not None:
        query = query.where(pledges.c.pledge_type == pledge_type)
    if after:
        query = query.where(tuple_(pledges.c.next_follow_up_at, pledges.c.id) > tuple_(*after))
    rows = session.execute(query).all()
    people = {
        person.id: person
        for person in session.execute(
            select(Person.id, Person.first_name, Person.last_name, Person.phone, Person.email, Person.household_id)
            .where(Person.organization_id == organization_id, Person.id.in_({row.person_id for row in rows}))
        )
    } if rows else {}
    return [{"pledge": row, "person": people[row.person_id]} for row in rows]


def get_pledge(session: Session, *, organization_id: int, pledge_id: int, for_update: bool = False) -> Pledge:
    return get_tenant_row(session, Pledge, organization_id=organization_id, row_id=pledge_id, lock=for_update,
                          missing=NotFound("no such pledge card", code="pledge_not_found"))


def record_follow_up_attempt(
    session: Session,
    *,
    organization_id: int,
    pledge_id: int,
    actor: User,
    outcome: str,
    notes: str | None = None,
    do_not_contact: bool = False,
    ip_address: str | None = None,
) -> Pledge:
    """Log one call about a card and move its plan on. The card is locked: two organizers
    logging calls at once count two attempts, never one."""
    pledge = get_pledge(session, organization_id=organization_id, pledge_id=pledge_id, for_update=True)
    if outcome not in FOLLOW_UP_OUTCOMES:
        raise ValidationFailed("unknown outcome", details={"outcome": [f"one of {', '.join(FOLLOW_UP_OUTCOMES)}"]})
    if pledge.follow_up_status not in OPEN_STATUSES:
        raise Conflict(f"this card's follow-up is closed ({pledge.follow_up_status})", code="follow_up_closed",
                       details={"follow_up_status": pledge.follow_up_status})
    if outcome != "reached" and pledge.campaign_id is not None:
        allowed = session.execute(
            select(Campaign.phone_result_codes).where(
                Campaign.organization_id == organization_id, Campaign.id == pledge.campaign_id
            )
        ).scalar_one()
        if outcome not in allowed:
            raise ValidationFailed(
                "the card's campaign does not use this phone result code", code="outcome_not_allowed",
                details={"outcome": [f"one of reached, {', '.join(allowed)}"]},
            )
    now = utcnow()
    plan = organization_plan(session, organization_id=organization_id)
    pledge.follow_up_attempts += 1
    pledge.last_follow_up_at = now
    if do_not_contact:
        person = session.execute(
            select(Person).where(Person.organization_id == organization_id, Person.id == pledge.person_id).with_for_update()
        ).scalar_one()
        person.do_not_contact = True
        pledge.follow_up_status, pledge.next_follow_up_at = "declined", None
    elif outcome == "reached":
        pledge.follow_up_status, pledge.next_follow_up_at = "done", None
    elif outcome == "refused":
        pledge.follow_up_status, pledge.next_follow_up_at = "declined", None
    elif pledge.follow_up_attempts % plan.max_attempts == 0:
        pledge.follow_up_status, pledge.next_follow_up_at = "paused", now + timedelta(days=plan.pause_days)
    else:
        pledge.follow_up_status, pledge.next_follow_up_at = "pending", now + timedelta(days=plan.retry_days)
    record_audit_event(
        session, action="pledge.follow_up", organization_id=organization_id, actor_user_id=actor.id,
        target_type="pledge", target_id=pledge.id, ip_address=ip_address,
        details={"outcome": outcome, "attempt": pledge.follow_up_attempts, "status": pledge.follow_up_status,
                 "do_not_contact": do_not_contact, "notes": notes},
    )
    session.flush()
    return pledge
