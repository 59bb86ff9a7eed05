"""What comes back from the field: contacts (door attempts and conversations) and pledge cards.

Both are idempotent by the phone-made `client_id` within the organization: a
database unique constraint, not a read-then-write, keeps a retried upload from
storing twice.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk, tenant_key


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (
        tenant_key("contacts"),
        UniqueConstraint("organization_id", "client_id", name="uq_contacts_organization_id_client_id"),
        tenant_fk("contacts", "campaign_id", "campaigns"),
        tenant_fk("contacts", "assignment_id", "assignments", ondelete="SET NULL"),
        tenant_fk("contacts", "canvasser_id", "users", ondelete="SET NULL"),
        tenant_fk("contacts", "household_id", "households"),
        tenant_fk("contacts", "person_id", "people", ondelete="SET NULL"),
        tenant_fk("contacts", "conflict_with_id", "contacts", ondelete="SET NULL"),
        tenant_fk("contacts", "conflict_resolved_by_id", "users", ondelete="SET NULL"),
        CheckConstraint("(result_code IS NULL) <> (responses IS NULL)", name="result_xor_responses"),
        CheckConstraint("conflict_resolved_at IS NULL OR conflict_with_id IS NOT NULL", name="resolved_needs_conflict"),
        Index("ix_contacts_organization_id_household_id_occurred_at", "organization_id", "household_id", "occurred_at"),
        Index("ix_contacts_organization_id_campaign_id_occurred_at", "organization_id", "campaign_id", "occurred_at"),
        Index("ix_contacts_organization_id_canvasser_id_occurred_at", "organization_id", "canvasser_id", "occurred_at"),
        # Leads list flagged contacts newest first; few are flagged, so a partial index stays small.
        Index("ix_contacts_flagged", "organization_id", "id", postgresql_where=text("cardinality(flags) > 0")),
        # Open conflicts, listed for leads by id; few at any time.
        Index("ix_contacts_open_conflicts", "organization_id", "id",
              postgresql_where=text("conflict_with_id IS NOT NULL AND conflict_resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    client_id = mapped_column(UUID(as_uuid=True), nullable=False)
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    canvasser_id: Mapped[int | None] = mapped_column(BigInteger)
    household_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    device_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # An unsuccessful attempt (not_home, refused, ...) or null for a conversation ("canvassed").
    result_code: Mapped[str | None] = mapped_column(String(32))
    # [{"question_id": 1, "answer": ...}] for a conversation.
    # none_as_null: a Python None is SQL NULL (what the check constraint tests), not JSON null.
    responses: Mapped[list | None] = mapped_column(JSONB(none_as_null=True))
    notes: Mapped[str | None] = mapped_column(Text)
    # The resident asked not to be contacted again (the evidence behind people/households.do_not_contact).
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=True)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    # Integrity flags for leads (never a rejection): e.g. far_from_door, too_fast.
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    # Two canvassers' results for one door (canvassing/conflicts.py): set on the later-arriving
    # contact, pointing at the one it conflicts with; the flag `conflict` is added with it.
    conflict_with_id: Mapped[int | None] = mapped_column(BigInteger)
    conflict_resolved_at: Mapped[datetime | None]
    conflict_resolved_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # The contact a lead did not keep when resolving a conflict: kept, but no longer the door's result.
    superseded_at: Mapped[datetime | None]


class Pledge(Base):
    """A signed pledge card: to vote, join, pay dues, volunteer, back an issue."""

    __tablename__ = "pledges"
    __table_args__ = (
        tenant_key("pledges"),
        UniqueConstraint("organization_id", "client_id", name="uq_pledges_organization_id_client_id"),
        tenant_fk("pledges", "campaign_id", "campaigns", ondelete="SET NULL"),
        tenant_fk("pledges", "assignment_id", "assignments", ondelete="SET NULL"),
        tenant_fk("pledges", "canvasser_id", "users", ondelete="SET NULL"),
        tenant_fk("pledges", "household_id", "households", ondelete="SET NULL"),
        tenant_fk("pledges", "person_id", "people"),
        CheckConstraint("pledge_type IN ('vote', 'member', 'dues', 'volunteer', 'issue')", name="known_type"),
        CheckConstraint("source IN ('door', 'event', 'paper')", name="known_source"),
        CheckConstraint(
            "follow_up_status IN ('pending', 'paused', 'done', 'declined', 'no_consent')", name="known_follow_up_status"
        ),
        Index("ix_pledges_organization_id_person_id", "organization_id", "person_id"),
        Index("ix_pledges_organization_id_next_follow_up_at", "organization_id", "next_follow_up_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    client_id = mapped_column(UUID(as_uuid=True), nullable=False)
    pledge_type: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8), default="door", server_default="door")
    person_id: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    canvasser_id: Mapped[int | None] = mapped_column(BigInteger)
    device_id: Mapped[str | None] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    consent_to_contact: Mapped[bool] = mapped_column(Boolean)
    # The card's own contact details, normalized, always kept (consent or not); whether they
    # became the person's is people/details.py's rule.
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    notes: Mapped[str | None] = mapped_column(Text)
    # The follow-up plan organizers work from (e.g. first call within 7 days, 3 attempts, then a pause);
    # canvass/canvassing/followups.py owns the statuses and the schedule.
    follow_up_status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    follow_up_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_follow_up_at: Mapped[datetime | None]
    last_follow_up_at: Mapped[datetime | None]
