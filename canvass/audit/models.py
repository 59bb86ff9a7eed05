from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk, tenant_key

# As long as an e-mail can be (users.email, the sign-in form's limit).
MAX_EMAIL_LENGTH = 254


class AuditEvent(Base):
    """Who did what, when, to what, in which organization.

    Every event belongs to an organization; a failed sign-in that names no user (an e-mail no
    account has) is a `SignInFailure` instead, so the key is (organization_id, id) as on every
    tenant table (docs/scaling.md). An event with an actor names the actor's organization, so the
    tenant foreign key always checks it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        tenant_key("audit_events"),
        Index("ix_audit_events_organization_id_created_at", "organization_id", "created_at"),
        tenant_fk("audit_events", "actor_user_id", "users", ondelete="SET NULL"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    ip_address: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SignInFailure(Base):
    """A failed sign-in with an e-mail no user has: it belongs to no organization.

    Global on purpose (no organization_id; on Citus a coordinator-local table): operator data for
    spotting password spraying, never shown to an organization's admin (their audit log lists only
    their own organization's events, which these never were). A failed sign-in of a known user stays
    an `auth.login_failed` audit event of that user's organization. Throttling does not read this
    table (it counts failures in Redis, api/throttle.py).
    """

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_occurred_at", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())
    email: Mapped[str] = mapped_column(String(MAX_EMAIL_LENGTH))  # as typed, normalized (trimmed, lower case)
    ip_address: Mapped[str | None] = mapped_column(INET)
    reason: Mapped[str] = mapped_column(String(32))  # the audit vocabulary: bad_credentials
