from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk


class AuditEvent(Base):
    """Who did what, when, to what, in which organization.

    `organization_id` is null only for events that cannot be tied to a tenant
    (a failed sign-in with an unknown e-mail), which is why this is the one tenant table whose
    primary key is `id` alone (a primary key column cannot be null; docs/scaling.md). An event
    with an actor names the actor's organization, so the tenant foreign key always checks it.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_organization_id_created_at", "organization_id", "created_at"),
        tenant_fk("audit_events", "actor_user_id", "users", ondelete="SET NULL"),
        CheckConstraint("actor_user_id IS NULL OR organization_id IS NOT NULL", name="actor_has_organization"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    ip_address: Mapped[str | None] = mapped_column(INET)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
