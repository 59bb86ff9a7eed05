"""Activity rollups: what the dashboards read instead of raw contacts.

Derived tables, written only by canvass/dashboards/activity.py. An incremental run and a full
rebuild produce the same rows, so they carry no surrogate ids or run timestamps. Keys follow the
pipeline's convention: `*_key` columns are aggregate keys, not references (0 = none).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from canvass.canvassing.records import Pledge
from canvass.db import Base, tenant_fk

# The rollup recomputes (canvasser, day) cells and turfs; these are the lookups it needs on pledges
# (contacts are already indexed by canvasser and time, and by household).
Index("ix_pledges_organization_id_canvasser_id_occurred_at", Pledge.organization_id, Pledge.canvasser_id,
      Pledge.occurred_at)
Index("ix_pledges_organization_id_household_id", Pledge.organization_id, Pledge.household_id,
      postgresql_where=text("household_id IS NOT NULL"))


class ActivityWatermark(Base):
    """How far the activity rollup has read contacts and pledges (see activity.py for the scheme)."""

    __tablename__ = "activity_watermarks"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    # *_done: every id at or below is counted for good; *_seen: the highest id counted so far.
    contacts_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    contacts_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pledges_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pledges_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # xmax of the snapshot at the end of the last run: *_seen becomes *_done once every older
    # transaction has finished.
    guard_xid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The snapshot the last run read with: rows between done and seen it could not see are taken again.
    read_snapshot: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]
    last_full_rebuild_at: Mapped[datetime | None]


class ActivityDay(Base):
    """Per local day, ward, campaign and canvasser: door attempts, doors, conversations, pledges, flags.

    `doors` counts distinct households within the cell, so a door knocked on two days counts on
    both (door visits); turf completion, which needs distinct doors ever, is ActivityTurf's job.
    """

    __tablename__ = "activity_daily"
    __table_args__ = (
        Index("ix_activity_daily_organization_id_canvasser_key_day", "organization_id", "canvasser_key", "day"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    ward_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    canvasser_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    doors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    conversations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pledges: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flagged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ActivityTurf(Base):
    """A turf's progress: of its doors (turf_stops), how many were knocked and talked to, per campaign.

    `campaign_key` 0 is every campaign together (distinct doors can't be summed across campaigns).
    """

    __tablename__ = "activity_turfs"
    __table_args__ = (tenant_fk("activity_turfs", "turf_id", "turfs", ondelete="CASCADE"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    turf_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    doors_knocked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    doors_talked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    conversations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pledges: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flagged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_contact_at: Mapped[datetime | None]
