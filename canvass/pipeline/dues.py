"""Dues payments as recorded by the organization (cash at a meeting, a check, a card on the
website...): amount, date, method and the period it pays for. We keep the books, we don't
process payments. A mistaken entry is voided, never deleted.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.db import get_tenant_row, utcnow
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.jobs import request_rollup
from canvass.people.models import Person
from canvass.pipeline.models import DUES_METHODS, DuesPayment

MAX_AMOUNT_CENTS = 10_000_000  # $100,000: anything larger is a typo
MAX_PERIOD_DAYS = 5 * 366
EARLIEST_DATE = date(2000, 1, 1)
MAX_EXTERNAL_ID = 200
MAX_NOTE = 2000


def payment_problems(*, amount_cents, paid_on, method, period_start, period_end, today: date) -> dict:
    """What is wrong with a payment's fields (field -> messages); empty when it is fine.
    Shared by the endpoint and the CSV import, so both refuse the same things."""
    errors: dict = {}
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        errors["amount_cents"] = ["must be a whole number of cents"]
    elif amount_cents <= 0:
        errors["amount_cents"] = ["must be positive"]
    elif amount_cents > MAX_AMOUNT_CENTS:
        errors["amount_cents"] = [f"must be at most {MAX_AMOUNT_CENTS}"]
    if method not in DUES_METHODS:
        errors["method"] = [f"must be one of: {', '.join(DUES_METHODS)}"]
    for name, value in (("paid_on", paid_on), ("period_start", period_start), ("period_end", period_end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            errors[name] = ["must be a date (YYYY-MM-DD)"]
        elif value < EARLIEST_DATE:
            errors[name] = [f"must not be before {EARLIEST_DATE}"]
    if "paid_on" not in errors and paid_on > today + timedelta(days=1):
        errors["paid_on"] = ["must not be in the future"]
    if "period_start" not in errors and "period_end" not in errors:
        if period_end < period_start:
            errors["period_end"] = ["must not be before period_start"]
        elif (period_end - period_start).days > MAX_PERIOD_DAYS:
            errors["period_end"] = ["a payment covers at most 5 years"]
    return errors


def get_payment(session: Session, *, organization_id: int, payment_id: int, lock: bool = False) -> DuesPayment:
    return get_tenant_row(session, DuesPayment, organization_id=organization_id, row_id=payment_id, lock=lock,
                          missing=NotFound("no such dues payment", code="dues_payment_not_found"))


def record_payment(session: Session, *, organization_id: int, person_id: int, amount_cents: int, paid_on: date,
                   method: str, period_start: date, period_end: date, external_id: str | None = None,
                   note: str | None = None, recorded_by_id: int | None = None) -> DuesPayment:
    errors = payment_problems(amount_cents=amount_cents, paid_on=paid_on, method=method, period_start=period_start,
                              period_end=period_end, today=utcnow().date())  # paid_on allows a day ahead: any time zone
    if external_id is not None and not (0 < len(external_id) <= MAX_EXTERNAL_ID):
        errors["external_id"] = [f"must be 1-{MAX_EXTERNAL_ID} characters"]
    if note is not None and len(note) > MAX_NOTE:
        errors["note"] = [f"at most {MAX_NOTE} characters"]
    if errors:
        raise ValidationFailed("the dues payment did not pass validation", details=errors)
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")
    # The unique index decides between two racing requests with one external_id.
    payment_id = session.execute(text("""
        INSERT INTO dues_payments (organization_id, person_id, amount_cents, paid_on, method, period_start,
                                   period_end, external_id, note, source, recorded_by_id)
        VALUES (:org, :person, :amount, :paid_on, :method, :start, :end, :external_id, :note, 'api', :by)
        ON CONFLICT (organization_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
        RETURNING id
    """), {"org": organization_id, "person": person_id, "amount": amount_cents, "paid_on": paid_on,
           "method": method, "start": period_start, "end": period_end, "external_id": external_id, "note": note,
           "by": recorded_by_id}).scalar_one_or_none()
    if payment_id is None:
        raise Conflict("a dues payment with this external_id is already recorded", code="dues_payment_exists")
    request_rollup(session, organization_id=organization_id)
    return get_payment(session, organization_id=organization_id, payment_id=payment_id)


def void_payment(session: Session, *, organization_id: int, payment_id: int, reason: str,
                 actor_user_id: int | None = None) -> DuesPayment:
    if not (reason or "").strip() or len(reason) > MAX_NOTE:
        raise ValidationFailed("say why the payment is voided", details={"reason": [f"1-{MAX_NOTE} characters"]})
    payment = get_payment(session, organization_id=organization_id, payment_id=payment_id, lock=True)
    if payment.voided_at is not None:
        raise Conflict("this payment is already voided", code="dues_payment_voided")
    payment.voided_at = utcnow()
    payment.void_reason = reason.strip()
    payment.change_seq = text("nextval('pipeline_change_seq')")
    record_audit_event(
        session, action="dues.voided", organization_id=organization_id, actor_user_id=actor_user_id,
        target_type="dues_payment", target_id=payment.id,
        details={"person_id": payment.person_id, "amount_cents": payment.amount_cents, "reason": payment.void_reason},
    )
    session.flush()
    session.refresh(payment)
    request_rollup(session, organization_id=organization_id)
    return payment


def list_payments(session: Session, *, organization_id: int, person_id: int | None = None,
                  before_id: int | None = None, limit: int = 100) -> list[DuesPayment]:
    """Newest first, keyset-paginated by id."""
    query = select(DuesPayment).where(DuesPayment.organization_id == organization_id)
    if person_id is not None:
        query = query.where(DuesPayment.person_id == person_id)
    if before_id is not None:
        query = query.where(DuesPayment.id < before_id)
    return list(session.execute(query.order_by(DuesPayment.id.desc()).limit(limit)).scalars())
