"""The member pipeline: events and attendance, dues, membership history, stages, funnels, votes.

Raw records (events, attendance, dues, votes, ballots) are written by services.
Derived tables (pipeline_people, pipeline_stage_transitions, membership_periods,
pipeline_funnel_daily, pipeline_stage_counts) are written only by the rollup
(canvass/pipeline/rollup.py): an incremental run and a full rebuild produce the
same rows, so they carry no surrogate ids or run timestamps.

Attendance, dues and person-change rows take a `change_seq` from one shared
sequence on every insert and update: the rollup's watermark for "what changed".
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Sequence,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from canvass.canvassing.records import Contact
from canvass.db import Base, tenant_fk, tenant_key

STAGES = ("none", "contacted", "supporter", "pledged", "volunteer", "member", "leader")
EVENT_KINDS = ("canvass_shift", "meeting", "action", "training", "social", "other")
EVENT_STATUSES = ("scheduled", "cancelled")
ATTENDANCE_STATUSES = ("signed_up", "attended", "no_show", "cancelled")
DUES_METHODS = ("cash", "check", "card", "bank_transfer", "payroll", "online", "other")
VOTE_SCOPES = ("organization", "ward")
BALLOT_METHODS = ("self", "recorded")

# Shared by attendance, dues and person changes: one watermark covers all three.
CHANGE_SEQ = Sequence("pipeline_change_seq", metadata=Base.metadata)
_NEXT_CHANGE = text("nextval('pipeline_change_seq')")


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# The rollup reads a person's contacts; the canvassing tables are indexed for the phone, so
# this lookup is declared here. (A canvasser's pledges: the dashboards' index on pledges serves.)
Index("ix_contacts_organization_id_person_id", Contact.organization_id, Contact.person_id,
      postgresql_where=text("person_id IS NOT NULL"))


# --- raw records ----------------------------------------------------------------


class Event(Base):
    """A canvass shift, meeting, action...: what people sign up for and attend."""

    __tablename__ = "events"
    __table_args__ = (
        tenant_key("events"),
        tenant_fk("events", "ward_id", "boundaries"),
        tenant_fk("events", "campaign_id", "campaigns"),
        tenant_fk("events", "led_by_person_id", "people"),
        tenant_fk("events", "created_by_id", "users"),
        CheckConstraint(f"kind IN {_in(EVENT_KINDS)}", name="known_kind"),
        CheckConstraint(f"status IN {_in(EVENT_STATUSES)}", name="known_status"),
        CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        Index("uq_events_organization_id_external_id", "organization_id", "external_id", unique=True,
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_events_organization_id_starts_at", "organization_id", "starts_at"),
        Index("ix_events_organization_id_led_by_person_id", "organization_id", "led_by_person_id",
              postgresql_where=text("led_by_person_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    location: Mapped[str] = mapped_column(Text, default="", server_default="")
    ward_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    # Who led it: one of the ways to become a leader.
    led_by_person_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="scheduled", server_default="scheduled")
    # An id from another system (a sign-in sheet's event code): re-imports upsert by it.
    external_id: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class EventAttendance(Base):
    """A person's sign-up and attendance at an event: one row per (event, person), upserted."""

    __tablename__ = "event_attendance"
    __table_args__ = (
        tenant_key("event_attendance"),
        tenant_fk("event_attendance", "event_id", "events", ondelete="CASCADE"),
        tenant_fk("event_attendance", "person_id", "people", ondelete="CASCADE"),
        tenant_fk("event_attendance", "recorded_by_id", "users"),
        UniqueConstraint("organization_id", "event_id", "person_id", name="uq_event_attendance_event_person"),
        CheckConstraint(f"status IN {_in(ATTENDANCE_STATUSES)}", name="known_status"),
        CheckConstraint(f"source IN {_in(('api', 'import'))}", name="known_source"),
        Index("ix_event_attendance_organization_id_person_id", "organization_id", "person_id"),
        Index("ix_event_attendance_organization_id_change_seq", "organization_id", "change_seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8), default="api", server_default="api")
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=_NEXT_CHANGE)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DuesPayment(Base):
    """A dues payment as recorded (not processed here): amount, date, method, period covered."""

    __tablename__ = "dues_payments"
    __table_args__ = (
        tenant_key("dues_payments"),
        tenant_fk("dues_payments", "person_id", "people", ondelete="CASCADE"),
        tenant_fk("dues_payments", "recorded_by_id", "users"),
        CheckConstraint("amount_cents > 0", name="positive_amount"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint(f"method IN {_in(DUES_METHODS)}", name="known_method"),
        CheckConstraint(f"source IN {_in(('api', 'import'))}", name="known_source"),
        Index("uq_dues_payments_organization_id_external_id", "organization_id", "external_id", unique=True,
              postgresql_where=text("external_id IS NOT NULL")),
        Index("ix_dues_payments_organization_id_person_id", "organization_id", "person_id"),
        Index("ix_dues_payments_organization_id_change_seq", "organization_id", "change_seq"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(Integer)
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    external_id: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8), default="api", server_default="api")
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    # A mistaken entry is voided, never deleted: the books keep it.
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    change_seq: Mapped[int] = mapped_column(BigInteger, server_default=_NEXT_CHANGE)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class PersonChange(Base):
    """"Recompute this person": edits whose effect the rollup can't see in its own sources
    (an event moved or its leader changed, a user linked to a person, people merged)."""

    __tablename__ = "pipeline_person_changes"
    __table_args__ = (Index("ix_pipeline_person_changes_organization_id_person_id", "organization_id", "person_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    change_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, server_default=_NEXT_CHANGE,
                                            autoincrement=False)
    person_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


# --- rollup state and derived tables ------------------------------------------------


class PipelineWatermark(Base):
    """How far the rollup has read each source, per organization (see rollup.py for the scheme)."""

    __tablename__ = "pipeline_watermarks"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    # *_done: every row at or below is processed for good; *_seen: the highest row processed so far.
    contacts_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    contacts_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pledges_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    pledges_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    changes_done: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    changes_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # xmax of the snapshot at the end of the last run: *_seen becomes *_done once every
    # transaction older than this has finished.
    guard_xid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The snapshot (pg_snapshot as text) the last run read with: rows it couldn't see are taken again.
    read_snapshot: Mapped[str | None] = mapped_column(Text)
    last_run_at: Mapped[datetime | None]
    last_as_of: Mapped[datetime | None]
    last_full_rebuild_at: Mapped[datetime | None]


# The per-person derived tables (this one and the two histories below) are the rollup's bulk output,
# hundreds of thousands of rows in a rebuild, and carry no foreign keys: two checks per row were a
# sixth of a rebuild. They are rewritten from the raw rows; the rollup replaces a person's rows whole,
# and the nightly rebuild drops the rows of people deleted since.


class PipelinePerson(Base):
    """A person's place in the pipeline now, and when they first reached each stage."""

    __tablename__ = "pipeline_people"
    __table_args__ = (
        CheckConstraint(f"stage IN {_in(STAGES)}", name="known_stage"),
        CheckConstraint(f"membership_status IN {_in(('member', 'lapsed', 'not_member'))}", name="known_membership"),
        Index("ix_pipeline_people_organization_id_next_change_at", "organization_id", "next_change_at",
              postgresql_where=text("next_change_at IS NOT NULL")),
        Index("ix_pipeline_people_organization_id_ward_key_stage", "organization_id", "ward_key", "stage"),
    )

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # 0 = no ward (no household, or a building outside the wards) / no campaign: aggregate keys, not references.
    ward_key: Mapped[int] = mapped_column(BigInteger)
    campaign_key: Mapped[int] = mapped_column(BigInteger)
    stage: Mapped[str] = mapped_column(String(16))
    # Null while every fact of the person lies ahead (dues paid in advance).
    stage_since: Mapped[datetime | None]
    reached_contacted_at: Mapped[datetime | None]
    reached_supporter_at: Mapped[datetime | None]
    reached_pledged_at: Mapped[datetime | None]
    reached_volunteer_at: Mapped[datetime | None]
    reached_member_at: Mapped[datetime | None]
    reached_leader_at: Mapped[datetime | None]
    membership_status: Mapped[str] = mapped_column(String(16))
    member_since: Mapped[datetime | None]
    # When the current membership runs out if nothing new happens (dues end + grace, events age out).
    member_until: Mapped[datetime | None]
    # The next moment time alone changes this row: the ageing job recomputes people whose moment has come.
    next_change_at: Mapped[datetime | None]


class StageTransition(Base):
    """Every change of a person's stage: from, to, when it happened, and what caused it."""

    __tablename__ = "pipeline_stage_transitions"
    __table_args__ = (
        CheckConstraint(f"from_stage IN {_in(STAGES)}", name="known_from_stage"),
        CheckConstraint(f"to_stage IN {_in(STAGES)}", name="known_to_stage"),
    )

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    from_stage: Mapped[str] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    # contact, support_answer, pledge, attendance, membership_started, membership_lapsed, leadership
    cause: Mapped[str] = mapped_column(String(32))
    # The contact, pledge, event... behind it (null for membership changes: see membership_periods).
    cause_id: Mapped[int | None] = mapped_column(BigInteger)


class MembershipPeriod(Base):
    """Dated membership history: member from `since` until `until` (null: still), then lapsed."""

    __tablename__ = "membership_periods"
    __table_args__ = (
        CheckConstraint("status IN ('member', 'lapsed')", name="known_status"),
        CheckConstraint("until IS NULL OR until > since", name="until_after_since"),
    )

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    since: Mapped[datetime] = mapped_column(primary_key=True)
    until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    # Why, as structured data the API words: [{"kind": "dues", ...}, {"kind": "attendance", ...}].
    reasons: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")


class StandingSpell(Base):
    """A person's standing under one version of the membership rule: a member from `since` until
    `until` (null: still), inside the span that version was in force. Rewritten by the rollup from
    the facts like membership_periods (whose member spells are these, merged across versions), so
    after a rule change the old version's spells stay readable."""

    __tablename__ = "membership_standing_spells"
    __table_args__ = (CheckConstraint("until IS NULL OR until > since", name="until_after_since"),)

    organization_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rule_version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    since: Mapped[datetime] = mapped_column(primary_key=True)
    until: Mapped[datetime | None]


class FunnelDay(Base):
    """Per ward, campaign, day and stage: people who first reached the stage that day, and people
    who moved beyond it that day (with the time they had spent in it)."""

    __tablename__ = "pipeline_funnel_daily"
    __table_args__ = (CheckConstraint(f"stage IN {_in(STAGES[1:])}", name="known_stage"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    ward_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    reached: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    advanced: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    advanced_seconds: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StageCount(Base):
    """People at each stage now, per ward and campaign."""

    __tablename__ = "pipeline_stage_counts"
    __table_args__ = (CheckConstraint(f"stage IN {_in(STAGES)}", name="known_stage"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    ward_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    stage: Mapped[str] = mapped_column(String(16), primary_key=True)
    people: Mapped[int] = mapped_column(Integer)


# --- endorsement votes ----------------------------------------------------------------


class Vote(Base):
    """An endorsement vote of the organization or of one ward's members."""

    __tablename__ = "votes"
    __table_args__ = (
        tenant_key("votes"),
        tenant_fk("votes", "ward_id", "boundaries"),
        tenant_fk("votes", "created_by_id", "users"),
        CheckConstraint(f"scope IN {_in(VOTE_SCOPES)}", name="known_scope"),
        CheckConstraint("(scope = 'ward') = (ward_id IS NOT NULL)", name="ward_scope_has_ward"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        CheckConstraint("cutoff_at <= opens_at", name="cutoff_before_opening"),
        CheckConstraint("quorum_percent BETWEEN 0 AND 100", name="quorum_range"),
        Index("ix_votes_organization_id_opens_at", "organization_id", "opens_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    scope: Mapped[str] = mapped_column(String(16))
    ward_id: Mapped[int | None] = mapped_column(BigInteger)
    # Members in good standing at this moment, by the rule, may vote.
    cutoff_at: Mapped[datetime]
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    quorum_percent: Mapped[int] = mapped_column(SmallInteger)
    # Set once, when the vote opens: the eligibility snapshot is taken then and never changes.
    eligibility_taken_at: Mapped[datetime | None]
    eligible_count: Mapped[int | None] = mapped_column(Integer)
    # The vote's own eligibility rule (a rule tree, canvass/pipeline/rules.py); null: the membership rule.
    eligibility_rule: Mapped[dict | None] = mapped_column(JSONB)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class VoteOption(Base):
    __tablename__ = "vote_options"
    __table_args__ = (
        tenant_key("vote_options"),
        tenant_fk("vote_options", "vote_id", "votes", ondelete="CASCADE"),
        UniqueConstraint("organization_id", "vote_id", "position", name="uq_vote_options_vote_position"),
        # The target of ballots' (vote, option) key: an option of *this* vote.
        UniqueConstraint("organization_id", "vote_id", "id", name="uq_vote_options_vote_id_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    vote_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(Text)


class VoteEligibility(Base):
    """The snapshot: who may vote, and why (their membership at the cutoff)."""

    __tablename__ = "vote_eligibility"
    __table_args__ = (
        tenant_fk("vote_eligibility", "vote_id", "votes", ondelete="CASCADE"),
        tenant_fk("vote_eligibility", "person_id", "people"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    vote_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reasons: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")


class Ballot(Base):
    """One per eligible member: the database refuses a second one and an ineligible one."""

    __tablename__ = "ballots"
    __table_args__ = (
        tenant_key("ballots"),
        UniqueConstraint("organization_id", "vote_id", "person_id", name="uq_ballots_vote_person"),
        ForeignKeyConstraint(
            ["organization_id", "vote_id", "person_id"],
            ["vote_eligibility.organization_id", "vote_eligibility.vote_id", "vote_eligibility.person_id"],
            ondelete="CASCADE", name="fk_ballots_eligibility",
        ),
        ForeignKeyConstraint(
            ["organization_id", "vote_id", "option_id"],
            ["vote_options.organization_id", "vote_options.vote_id", "vote_options.id"],
            ondelete="CASCADE", name="fk_ballots_option",
        ),
        tenant_fk("ballots", "cast_by_user_id", "users"),
        CheckConstraint(f"method IN {_in(BALLOT_METHODS)}", name="known_method"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    vote_id: Mapped[int] = mapped_column(BigInteger)
    person_id: Mapped[int] = mapped_column(BigInteger)
    option_id: Mapped[int] = mapped_column(BigInteger)
    # self: the member with their own token; recorded: an organizer at a meeting (audited).
    method: Mapped[str] = mapped_column(String(8))
    cast_by_user_id: Mapped[int] = mapped_column(BigInteger)
    cast_at: Mapped[datetime] = mapped_column(server_default=func.now())


class VoteExclusion(Base):
    """The snapshot's other half, for votes with their own rule: who was evaluated and left out, and why
    (the rule tree with each node met or not, as of the cutoff)."""

    __tablename__ = "vote_exclusions"
    __table_args__ = (
        tenant_fk("vote_exclusions", "vote_id", "votes", ondelete="CASCADE"),
        tenant_fk("vote_exclusions", "person_id", "people"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    vote_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    person_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reasons: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")


class MembershipRuleVersion(Base):
    """The organization's membership rule as data (an AND/OR tree of conditions), one row per version.
    A version is in force from `effective_from` until the next one's; old versions are never changed,
    so standing as of a past date is evaluated under the rule of that date."""

    __tablename__ = "membership_rules"
    __table_args__ = (
        tenant_key("membership_rules"),
        tenant_fk("membership_rules", "created_by_id", "users", ondelete="SET NULL"),
        UniqueConstraint("organization_id", "version", name="uq_membership_rules_organization_id_version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    tree: Mapped[dict] = mapped_column(JSONB)
    effective_from: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


ATTESTATION_KINDS = ("endorsement", "override")


class MembershipAttestation(Base):
    """What a person vouches: an endorsement by a user holding a role (the `endorsed` condition), or
    an admin's manual override with a reason (the `admin_override` condition). Each has a start, an
    optional expiry, and may be revoked; recording and revoking are audited."""

    __tablename__ = "membership_attestations"
    __table_args__ = (
        tenant_key("membership_attestations"),
        tenant_fk("membership_attestations", "person_id", "people", ondelete="CASCADE"),
        tenant_fk("membership_attestations", "recorded_by_id", "users", ondelete="SET NULL"),
        CheckConstraint(f"kind IN {_in(ATTESTATION_KINDS)}", name="known_kind"),
        CheckConstraint("expires_at IS NULL OR expires_at > starts_at", name="expires_after_start"),
        Index("ix_membership_attestations_organization_id_person_id", "organization_id", "person_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, autoincrement=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    role: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
