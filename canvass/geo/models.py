"""Boundaries (wards, precincts) and the places doors are: buildings and their households.

A building is an address with a point; it holds one or more households (units):
Chicago is two-flats, three-flats and courtyard buildings, and a turf never
splits a building.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk, tenant_key

BOUNDARY_LEVELS = ("ward", "precinct")


class Boundary(Base):
    """A ward or precinct polygon, imported per organization (coalition members may share a city)."""

    __tablename__ = "boundaries"
    __table_args__ = (
        tenant_key("boundaries"),
        tenant_fk("boundaries", "parent_id", "boundaries", ondelete="CASCADE"),
        CheckConstraint("level IN ('ward', 'precinct')", name="known_level"),
        # A precinct's name is unique within its ward (Chicago reuses precinct numbers per ward).
        UniqueConstraint("organization_id", "level", "parent_key", "name", name="uq_boundaries_org_level_parent_name"),
        Index("ix_boundaries_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    # The parent's name ('' for wards): part of the unique key, so re-imports upsert.
    parent_key: Mapped[str] = mapped_column(Text, default="", server_default="")
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    properties: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (
        tenant_key("buildings"),
        tenant_fk("buildings", "ward_id", "boundaries", ondelete="SET NULL"),
        tenant_fk("buildings", "precinct_id", "boundaries", ondelete="SET NULL"),
        UniqueConstraint("organization_id", "address_key", name="uq_buildings_organization_id_address_key"),
        CheckConstraint("side IS NULL OR side IN ('odd', 'even')", name="known_side"),
        Index("ix_buildings_location", "location", postgresql_using="gist"),
        Index("ix_buildings_organization_id_ward_id", "organization_id", "ward_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # Normalized "LINE1|CITY|ZIP": what makes two rows the same building.
    address_key: Mapped[str] = mapped_column(Text)
    line1: Mapped[str] = mapped_column(Text)
    city: Mapped[str] = mapped_column(Text, default="", server_default="")
    state: Mapped[str] = mapped_column(String(32), default="", server_default="")
    zip: Mapped[str] = mapped_column(String(10), default="", server_default="")
    location = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    ward_id: Mapped[int | None] = mapped_column(BigInteger)
    precinct_id: Mapped[int | None] = mapped_column(BigInteger)
    # Parsed from line1 for block faces and walk order (null when unparseable).
    street: Mapped[str | None] = mapped_column(Text)
    house_number: Mapped[int | None] = mapped_column(Integer)
    block: Mapped[int | None] = mapped_column(Integer)
    side: Mapped[str | None] = mapped_column(String(4))
    # Kept, but flagged: a point that falls in no ward of the organization.
    outside_boundaries: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Household(Base):
    """A door: one unit of a building ('' for a single-family house)."""

    __tablename__ = "households"
    __table_args__ = (
        tenant_key("households"),
        tenant_fk("households", "building_id", "buildings", ondelete="CASCADE"),
        UniqueConstraint("organization_id", "building_id", "unit", name="uq_households_organization_id_building_id_unit"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    building_id: Mapped[int] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A canvasser reported the address wrong: shown to leads, kept off walk lists until fixed.
    wrong_address: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class HouseholdImportChunk(Base):
    """A chunk of rows of a household file the organization imported and applied (the hash of the rows
    under their header; chunks are cut by content, ~64 rows): a re-import skips the chunks it has
    already applied, so only what changed in the file is read again.

    A cache, never the truth: a chunk missing here is simply processed again (same result)."""

    __tablename__ = "household_import_chunks"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    chunk_hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
