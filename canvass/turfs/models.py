"""Turfs (a walkable set of doors), their cuts, leases to canvassers or teams, and their history."""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from canvass.db import Base, tenant_fk, tenant_key

TURF_STATUSES = ("ready", "checked_out", "completed", "archived")
ASSIGNMENT_STATUSES = ("active", "released", "expired", "completed")
TEAM_STATUSES = ("active", "archived")


class TurfCut(Base):
    """One automatic cut of a ward (or a set of precincts) into turfs, with its quality figures."""

    __tablename__ = "turf_cuts"
    __table_args__ = (
        tenant_key("turf_cuts"),
        tenant_fk("turf_cuts", "ward_id", "boundaries", ondelete="SET NULL"),
        tenant_fk("turf_cuts", "created_by_id", "users", ondelete="SET NULL"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    ward_id: Mapped[int | None] = mapped_column(BigInteger)
    target_doors: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    quality: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Turf(Base):
    __tablename__ = "turfs"
    __table_args__ = (
        tenant_key("turfs"),
        tenant_fk("turfs", "ward_id", "boundaries", ondelete="SET NULL"),
        tenant_fk("turfs", "cut_id", "turf_cuts", ondelete="SET NULL"),
        tenant_fk("turfs", "created_by_id", "users", ondelete="SET NULL"),
        CheckConstraint("status IN ('ready', 'checked_out', 'completed', 'archived')", name="known_status"),
        Index("ix_turfs_organization_id_ward_id_status", "organization_id", "ward_id", "status"),
        Index("ix_turfs_geom", "geom", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    ward_id: Mapped[int | None] = mapped_column(BigInteger)
    cut_id: Mapped[int | None] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(8), default="drawn", server_default="drawn")  # drawn | cut
    status: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    door_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    building_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TurfStop(Base):
    """A household's place in a turf's walk order."""

    __tablename__ = "turf_stops"
    __table_args__ = (
        tenant_fk("turf_stops", "turf_id", "turfs", ondelete="CASCADE"),
        tenant_fk("turf_stops", "household_id", "households", ondelete="CASCADE"),
        Index("ix_turf_stops_organization_id_household_id", "organization_id", "household_id"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    turf_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    household_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


class Team(Base):
    """A named group of the organization's canvassers that a turf can be leased to."""

    __tablename__ = "teams"
    __table_args__ = (
        tenant_key("teams"),
        tenant_fk("teams", "created_by_id", "users", ondelete="SET NULL"),
        CheckConstraint("status IN ('active', 'archived')", name="known_status"),
        # Leads pick teams by name: two live teams may not share one (case aside).
        Index("uq_teams_organization_id_lower_name_active", "organization_id", text("lower(name)"), unique=True,
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
    archived_at: Mapped[datetime | None]


class TeamMember(Base):
    """A canvasser on a team (the team as it is now; what a lease's members were is in assignment_members)."""

    __tablename__ = "team_members"
    __table_args__ = (
        tenant_fk("team_members", "team_id", "teams", ondelete="CASCADE"),
        tenant_fk("team_members", "user_id", "users", ondelete="CASCADE"),
        tenant_fk("team_members", "added_by_id", "users", ondelete="SET NULL"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Assignment(Base):
    """A lease of a turf to a canvasser or to a team, for a campaign, until `leased_until`.

    `canvasser_id` or `team_id` (exactly one) says whom the lead leased it to;
    who may work it, and when, is in assignment_members (one row for a single
    canvasser), the only thing access checks read.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        tenant_key("assignments"),
        tenant_fk("assignments", "turf_id", "turfs", ondelete="CASCADE"),
        tenant_fk("assignments", "campaign_id", "campaigns"),
        tenant_fk("assignments", "canvasser_id", "users"),
        tenant_fk("assignments", "team_id", "teams"),
        tenant_fk("assignments", "created_by_id", "users", ondelete="SET NULL"),
        CheckConstraint("status IN ('active', 'released', 'expired', 'completed')", name="known_status"),
        CheckConstraint("leased_until > leased_at", name="lease_after_start"),
        CheckConstraint("num_nonnulls(canvasser_id, team_id) = 1", name="one_holder"),
        # The database, not a read-then-write, guarantees one live lease per turf.
        Index(
            "uq_assignments_one_active_per_turf", "organization_id", "turf_id", unique=True,
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_assignments_organization_id_canvasser_id_status", "organization_id", "canvasser_id", "status"),
        Index("ix_assignments_organization_id_team_id", "organization_id", "team_id",
              postgresql_where=text("status = 'active'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    turf_id: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[int] = mapped_column(BigInteger)
    canvasser_id: Mapped[int | None] = mapped_column(BigInteger)
    team_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    leased_at: Mapped[datetime] = mapped_column(server_default=func.now())
    leased_until: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AssignmentMember(Base):
    """One stretch of time a canvasser was on an assignment: the one thing every access check reads.

    `joined_at` null: from the lease's start; `left_at` null: until the lease
    ends. A single canvasser's lease is one row with both null; a team's lease
    gets a row per member when it is made, a new row when someone joins the
    team while it is live, and `left_at` when someone leaves the team.
    """

    __tablename__ = "assignment_members"
    __table_args__ = (
        tenant_key("assignment_members"),
        tenant_fk("assignment_members", "assignment_id", "assignments", ondelete="CASCADE"),
        tenant_fk("assignment_members", "user_id", "users"),
        CheckConstraint("left_at >= joined_at", name="left_after_joining"),
        # At most one open stretch per person and lease (leaving and rejoining opens a new one).
        Index("uq_assignment_members_open_stint", "organization_id", "assignment_id", "user_id", unique=True,
              postgresql_where=text("left_at IS NULL")),
        Index("ix_assignment_members_organization_id_assignment_id", "organization_id", "assignment_id"),
        # "My assignments": the open stretches of one person.
        Index("ix_assignment_members_organization_id_user_id", "organization_id", "user_id",
              postgresql_where=text("left_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    assignment_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(BigInteger)
    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]


class TurfEvent(Base):
    """Every state change of a turf or its lease: who, when, why."""

    __tablename__ = "turf_events"
    __table_args__ = (
        tenant_key("turf_events"),
        tenant_fk("turf_events", "turf_id", "turfs", ondelete="CASCADE"),
        tenant_fk("turf_events", "assignment_id", "assignments", ondelete="SET NULL"),
        tenant_fk("turf_events", "actor_user_id", "users", ondelete="SET NULL"),
        Index("ix_turf_events_organization_id_turf_id_id", "organization_id", "turf_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    turf_id: Mapped[int] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    # created, assigned, reassigned, extended, members_changed, released, expired, completed, archived...
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)  # null: the system (lease expiry)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WalklistChange(Base):
    """One write to something walk lists show, in one scope; appended by database triggers only.

    The triggers (migration 0006) log every insert, update and delete of contacts, people,
    households, buildings, turf stops, turfs, campaigns, questions and boundaries, in the writing
    transaction. A walk list's version is the XOR of the random tokens of its scopes' rows
    (canvass/turfs/walklist.py). Scopes: a household (with a campaign, for contacts), a turf, a
    campaign, or the whole organization (all three null). No foreign key to organizations: rows
    logged while an organization is deleted would fail it.
    """

    __tablename__ = "walklist_changes"
    __table_args__ = (
        CheckConstraint(
            "household_id IS NOT NULL AND turf_id IS NULL OR num_nonnulls(household_id, turf_id, campaign_id) <= 1",
            name="one_scope",
        ),
        Index("ix_walklist_changes_household", "organization_id", "household_id",
              postgresql_include=["campaign_id", "token"], postgresql_where=text("household_id IS NOT NULL")),
        Index("ix_walklist_changes_turf", "organization_id", "turf_id",
              postgresql_include=["token"], postgresql_where=text("turf_id IS NOT NULL")),
        Index("ix_walklist_changes_campaign", "organization_id", "campaign_id",
              postgresql_include=["token"], postgresql_where=text("campaign_id IS NOT NULL AND household_id IS NULL")),
        Index("ix_walklist_changes_organization", "organization_id", postgresql_include=["token"],
              postgresql_where=text("household_id IS NULL AND turf_id IS NULL AND campaign_id IS NULL")),
    )

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    household_id: Mapped[int | None] = mapped_column(BigInteger)
    turf_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    token: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
