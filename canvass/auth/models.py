from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from canvass.db import Base, tenant_fk, tenant_key

ROLES = ("admin", "organizer", "field_lead", "canvasser")


class User(Base):
    """A person who signs in. Belongs to exactly one organization.

    Users and tokens are looked up by e-mail and token hash (not by
    organization) at sign-in, so under Citus they would be reference tables.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "roles <@ ARRAY['admin','organizer','field_lead','canvasser']::text[] AND cardinality(roles) > 0",
            name="known_roles",
        ),
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        tenant_key("users"),
        # A member's own account: lets them cast their ballot (canvass/pipeline/votes.py).
        tenant_fk("users", "person_id", "people"),
        UniqueConstraint("organization_id", "person_id", name="uq_users_organization_id_person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    person_id: Mapped[int | None] = mapped_column(BigInteger)
    # BCP 47 tags of the languages the user speaks, strongest first (turf suggestions match doors to them).
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    deactivated_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)  # noqa: F821

    def has_any_role(self, *roles: str) -> bool:
        return bool(set(self.roles) & set(roles))


class ApiToken(Base):
    """An opaque bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        tenant_key("api_tokens"),
        tenant_fk("api_tokens", "user_id", "users", ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
