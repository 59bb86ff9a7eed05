"""Events (canvass shifts, meetings, actions...) and who signed up for and attended them.

Attendance is one row per (event, person), upserted: a sign-up becomes `attended` or `no_show`
after the event. Every change takes a new `change_seq` (the rollup's watermark) and asks for a
rollup of the organization once the transaction commits.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from canvass.campaigns.models import Campaign
from canvass.db import get_tenant_row, utcnow
from canvass.errors import Conflict, NotFound, TooLarge, ValidationFailed
from canvass.geo.models import Boundary
from canvass.jobs import request_rollup
from canvass.people.models import Person
from canvass.pipeline.models import ATTENDANCE_STATUSES, EVENT_KINDS, EVENT_STATUSES, Event, EventAttendance
from canvass.pipeline.runs import note_people_changed

MAX_ATTENDANCE_RECORDS = 500
MAX_TITLE = 200
# Statuses that say what happened, so only once the event has begun.
OUTCOME_STATUSES = ("attended", "no_show")


def get_event(session: Session, *, organization_id: int, event_id: int, lock: bool = False) -> Event:
    return get_tenant_row(session, Event, organization_id=organization_id, row_id=event_id, lock=lock,
                          missing=NotFound("no such event", code="event_not_found"))


def _check_references(session: Session, organization_id: int, *, ward_id=None, campaign_id=None,
                      led_by_person_id=None) -> None:
    """Another organization's ids are simply not found."""
    if ward_id is not None and session.execute(select(Boundary.id).where(
            Boundary.organization_id == organization_id, Boundary.id == ward_id, Boundary.level == "ward")).first() is None:
        raise NotFound("no such ward", code="ward_not_found")
    if campaign_id is not None and session.execute(select(Campaign.id).where(
            Campaign.organization_id == organization_id, Campaign.id == campaign_id)).first() is None:
        raise NotFound("no such campaign", code="campaign_not_found")
    if led_by_person_id is not None and session.execute(select(Person.id).where(
            Person.organization_id == organization_id, Person.id == led_by_person_id)).first() is None:
        raise NotFound("no such person", code="person_not_found")


def _check_event_fields(*, kind=None, title=None, starts_at=None, ends_at=None, status=None) -> None:
    errors = {}
    if kind is not None and kind not in EVENT_KINDS:
        errors["kind"] = [f"must be one of: {', '.join(EVENT_KINDS)}"]
    if title is not None and not (title.strip() and len(title) <= MAX_TITLE):
        errors["title"] = [f"must be 1-{MAX_TITLE} characters"]
    if status is not None and status not in EVENT_STATUSES:
        errors["status"] = [f"must be one of: {', '.join(EVENT_STATUSES)}"]
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            errors[name] = ["needs a UTC offset, e.g. 2026-11-21T18:00:00-06:00"]
    if not errors and starts_at is not None and ends_at is not None and ends_at < starts_at:
        errors["ends_at"] = ["must not be before starts_at"]
    if errors:
        raise ValidationFailed("the event did not pass validation", details=errors)


def create_event(session: Session, *, organization_id: int, kind: str, title: str, starts_at: datetime,
                 ends_at: datetime | None = None, location: str = "", ward_id: int | None = None,
                 campaign_id: int | None = None, led_by_person_id: int | None = None, external_id: str | None = None,
                 created_by_id: int | None = None) -> Event:
    _check_event_fields(kind=kind, title=title, starts_at=starts_at, ends_at=ends_at)
    _check_references(session, organization_id, ward_id=ward_id, campaign_id=campaign_id,
                      led_by_person_id=led_by_person_id)
    if external_id is not None and session.execute(select(Event.id).where(
            Event.organization_id == organization_id, Event.external_id == external_id)).first():
        raise Conflict("an event with this external_id already exists", code="event_exists")
    event = Event(
        organization_id=organization_id, kind=kind, title=title.strip(), starts_at=starts_at, ends_at=ends_at,
        location=(location or "").strip(), ward_id=ward_id, campaign_id=campaign_id,
        led_by_person_id=led_by_person_id, external_id=external_id, created_by_id=created_by_id,
    )
    session.add(event)
    session.flush()
    if led_by_person_id is not None:
        note_people_changed(session, organization_id=organization_id, person_ids=[led_by_person_id],
                            reason="event_leader")
    return event


def update_event(session: Session, *, organization_id: int, event_id: int, **changes) -> Event:
    """Change an event. Moving or cancelling it changes its attendees' history; a new leader
    changes the old and the new leader's: all of them are recomputed by the next rollup."""
    event = get_event(session, organization_id=organization_id, event_id=event_id, lock=True)
    starts_at = changes.get("starts_at", event.starts_at)
    ends_at = changes.get("ends_at", event.ends_at)
    _check_event_fields(kind=changes.get("kind"), title=changes.get("title"), status=changes.get("status"),
                        starts_at=starts_at, ends_at=ends_at)
    _check_references(session, organization_id, ward_id=changes.get("ward_id"),
                      campaign_id=changes.get("campaign_id"), led_by_person_id=changes.get("led_by_person_id"))
    if changes.get("title") is not None:
        changes["title"] = changes["title"].strip()
    moved = any(name in changes and changes[name] != getattr(event, name) for name in ("starts_at", "status"))
    leaders = {event.led_by_person_id, changes.get("led_by_person_id", event.led_by_person_id)}
    new_leader = "led_by_person_id" in changes and changes["led_by_person_id"] != event.led_by_person_id
    for name, value in changes.items():
        setattr(event, name, value)
    session.flush()
    if moved:
        session.execute(
            update(EventAttendance)
            .where(EventAttendance.organization_id == organization_id, EventAttendance.event_id == event.id)
            .values(change_seq=text("nextval('pipeline_change_seq')"), updated_at=func.now())
        )
        request_rollup(session, organization_id=organization_id)
    if new_leader or (moved and event.led_by_person_id is not None):
        note_people_changed(session, organization_id=organization_id, person_ids=leaders, reason="event_leader")
    return event


def list_events(session: Session, *, organization_id: int, starts_from: datetime | None = None,
                starts_to: datetime | None = None, kind: str | None = None, before_id: int | None = None,
                limit: int = 100) -> list[Event]:
    """Newest first, keyset-paginated by id."""
    query = select(Event).where(Event.organization_id == organization_id)
    if starts_from is not None:
        query = query.where(Event.starts_at >= starts_from)
    if starts_to is not None:
        query = query.where(Event.starts_at < starts_to)
    if kind is not None:
        query = query.where(Event.kind == kind)
    if before_id is not None:
        query = query.where(Event.id < before_id)
    return list(session.execute(query.order_by(Event.id.desc()).limit(limit)).scalars())


def attendance_counts(session: Session, *, organization_id: int, event_ids) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(EventAttendance.event_id, EventAttendance.status, func.count())
        .where(EventAttendance.organization_id == organization_id, EventAttendance.event_id.in_(list(event_ids)))
        .group_by(EventAttendance.event_id, EventAttendance.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for event_id, status, count in rows:
        counts.setdefault(event_id, dict.fromkeys(ATTENDANCE_STATUSES, 0))[status] = count
    return counts


def record_attendance(session: Session, *, organization_id: int, event_id: int, records: list[dict],
                      recorded_by_id: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Upsert sign-ups and attendance for one event: [{person_id, status}], at most 500.

    All or nothing: an unknown person (or another organization's) fails the whole batch.
    """
    if len(records) > MAX_ATTENDANCE_RECORDS:
        raise TooLarge(f"at most {MAX_ATTENDANCE_RECORDS} attendance records per request", code="too_many_records",
                       details={"max": MAX_ATTENDANCE_RECORDS, "received": len(records)})
    if not records:
        raise ValidationFailed("records must not be empty", details={"records": ["at least one record"]})
    errors, seen = {}, {}
    for index, record in enumerate(records):
        if record.get("status") not in ATTENDANCE_STATUSES:
            errors[str(index)] = {"status": [f"must be one of: {', '.join(ATTENDANCE_STATUSES)}"]}
        elif record["person_id"] in seen:
            errors[str(index)] = {"person_id": [f"already given in record {seen[record['person_id']]}"]}
        seen.setdefault(record["person_id"], index)
    if errors:
        raise ValidationFailed("the attendance records did not pass validation", details={"records": errors})
    event = get_event(session, organization_id=organization_id, event_id=event_id)
    if event.status == "cancelled":
        raise Conflict("the event was cancelled", code="event_cancelled")
    if event.starts_at > (now or utcnow()) and any(r["status"] in OUTCOME_STATUSES for r in records):
        raise Conflict("attendance can be recorded once the event has begun; before, sign people up",
                       code="event_not_started")
    person_ids = [r["person_id"] for r in records]
    found = set(session.execute(select(Person.id).where(
        Person.organization_id == organization_id, Person.id.in_(person_ids))).scalars())
    missing = [p for p in person_ids if p not in found]
    if missing:
        raise NotFound("no such person", code="person_not_found", details={"person_ids": missing})
    rows = session.execute(text("""
        INSERT INTO event_attendance AS a (organization_id, event_id, person_id, status, source, recorded_by_id)
        SELECT :org, :event, r.person_id, r.status, 'api', :by
        FROM unnest(CAST(:people AS bigint[]), CAST(:statuses AS text[])) AS r(person_id, status)
        ON CONFLICT (organization_id, event_id, person_id) DO UPDATE
        SET status = excluded.status, source = excluded.source, recorded_by_id = excluded.recorded_by_id,
            change_seq = nextval('pipeline_change_seq'), updated_at = now()
        WHERE a.status IS DISTINCT FROM excluded.status
        RETURNING (xmax = 0) AS created
    """), {"org": organization_id, "event": event.id, "by": recorded_by_id, "people": person_ids,
           "statuses": [r["status"] for r in records]}).scalars().all()
    created = sum(1 for r in rows if r)
    result = {"created": created, "updated": len(rows) - created, "unchanged": len(records) - len(rows)}
    if rows:
        request_rollup(session, organization_id=organization_id)
    return result


def list_attendance(session: Session, *, organization_id: int, event_id: int) -> list[EventAttendance]:
    get_event(session, organization_id=organization_id, event_id=event_id)
    return list(session.execute(
        select(EventAttendance)
        .where(EventAttendance.organization_id == organization_id, EventAttendance.event_id == event_id)
        .order_by(EventAttendance.person_id)
    ).scalars())
