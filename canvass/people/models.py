"""People: residents from a voter or member file, or met at the door, an event, on a paper card."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk, tenant_key


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (
        tenant_key("people"),
        tenant_fk("people", "household_id", "households", ondelete="SET NULL"),
        tenant_fk("people", "merged_into_id", "people", ondelete="SET NULL"),
        Index(
            "uq_people_organization_id_external_id", "organization_id", "external_id", unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("ix_people_organization_id_household_id", "organization_id", "household_id"),
        # Deleting a person checks who was merged into them; without this, every delete scans the table.
        Index(
            "ix_people_organization_id_merged_into_id", "organization_id", "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
        ),
        Index("ix_people_organization_id_name_key", "organization_id", "name_key"),
        Index("ix_people_organization_id_phone", "organization_id", "phone", postgresql_where=text("phone IS NOT NULL")),
        Index("ix_people_organization_id_email", "organization_id", "email", postgresql_where=text("email IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(BigInteger)
    external_id: Mapped[str | None] = mapped_column(Text)
    first_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    last_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Lowercased, accent- and punctuation-free "first last": matching at the door.
    name_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    phone: Mapped[str | None] = mapped_column(String(32))  # digits only, e.g. 13125550100
    email: Mapped[str | None] = mapped_column(String(254))  # lowercased
    # Preferred language, a BCP 47 tag in canonical case (es, pl, zh-Hans; canvass.normalize.clean_language_tag).
    language: Mapped[str | None] = mapped_column(String(35))
    source: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    # moved: the residence is no longer current (person stays, household link kept for history).
    residence_current: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    deceased: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PersonContactDetail(Base):
    """Every phone number and e-mail address a person gave (or had on file), newest consented
    one first: the history behind people.phone / people.email (canvass/people/details.py).

    One row per detail seen: a pledge card's phone and its e-mail (`source` card, with the card
    and its `occurred_at`), a value that was on file before a card replaced it (`on_file`, when
    unknown), an organizer's correction (`manual`). The person's preferred detail of a kind is
    their consented row with no `superseded_at`; the partial unique index keeps it to one.
    Rows without consent are evidence only: never preferred, never called.
    """

    __tablename__ = "person_contact_details"
    __table_args__ = (
        tenant_key("person_contact_details"),
        tenant_fk("person_contact_details", "person_id", "people", ondelete="CASCADE"),
        tenant_fk("person_contact_details", "source_pledge_id", "pledges", ondelete="SET NULL"),
        CheckConstraint("kind IN ('phone', 'email')", name="known_kind"),
        CheckConstraint("source IN ('card', 'on_file', 'manual')", name="known_source"),
        Index("ix_person_contact_details_organization_id_person_id", "organization_id", "person_id"),
        Index("uq_person_contact_details_preferred", "organization_id", "person_id", "kind", unique=True,
              postgresql_where=text("consent AND superseded_at IS NULL")),
        # Matching looks cards up by any detail a person ever gave.
        Index("ix_person_contact_details_organization_id_value", "organization_id", "value"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # phone | email
    value: Mapped[str] = mapped_column(String(254))  # normalized like people.phone / people.email
    source: Mapped[str] = mapped_column(String(8))  # card | on_file | manual
    source_pledge_id: Mapped[int | None] = mapped_column(BigInteger)
    # When the person gave it (a card's occurred_at; now for a correction; null: on file, date unknown).
    occurred_at: Mapped[datetime | None]
    consent: Mapped[bool] = mapped_column(Boolean)
    # When a newer consented detail of the same kind replaced it as the preferred one.
    superseded_at: Mapped[datetime | None]
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
