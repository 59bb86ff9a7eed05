from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from canvass.audit.models import MAX_EMAIL_LENGTH, AuditEvent, SignInFailure


def record_audit_event(
    session: Session,
    *,
    action: str,
    organization_id: int,
    actor_user_id: int | None = None,
    target_type: str | None = None,
    target_id: object = None,
    details: dict | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        organization_id=organization_id,
        actor_user_id=actor_user_id,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details or {},
        ip_address=ip_address,
    )
    session.add(event)
    session.flush()
    return event


def record_sign_in_failure(session: Session, *, email: str, reason: str, ip_address: str | None = None
                           ) -> SignInFailure:
    """A failed sign-in that names no user (an unknown e-mail): no organization's event, so not in
    audit_events. The e-mail is kept as typed, normalized and cut to an e-mail's length."""
    failure = SignInFailure(email=email.strip().lower()[:MAX_EMAIL_LENGTH], reason=reason, ip_address=ip_address)
    session.add(failure)
    session.flush()
    return failure


# Failed sign-ins of unknown e-mails hold what someone typed (often a real person's address): kept long
# enough to look into an attack, then dropped by the nightly privacy job.
SIGN_IN_FAILURE_DAYS = 90


def purge_sign_in_failures(session: Session, *, days: int = SIGN_IN_FAILURE_DAYS, now: datetime | None = None) -> int:
    """Deletes the failed sign-ins of unknown e-mails older than `days`; returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    result = cast(CursorResult, session.execute(delete(SignInFailure).where(SignInFailure.occurred_at < cutoff)))
    return result.rowcount


def list_audit_events(
    session: Session,
    *,
    organization_id: int,
    action: str | None = None,
    before_id: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first, keyset-paginated by id."""
    query = select(AuditEvent).where(AuditEvent.organization_id == organization_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    if since:
        query = query.where(AuditEvent.created_at >= since)
    return list(session.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).scalars())
