"""Turf states, leases to canvassers or teams, and the history of both.

    ready --assign--> checked_out --release/expire--> ready
    checked_out --complete--> completed --reopen--> ready
    ready|completed --archive--> archived --reopen--> ready

Checkout is one conditional UPDATE (`... WHERE status = 'ready' RETURNING`), so
of two leads assigning the same turf at the same moment exactly one wins; the
partial unique index on assignments (one active per turf) backs it up. Every
change writes a turf_events row: who, when, why.

A lease is held by one canvasser or by a team (`canvasser_id` or `team_id`).
Who may work it is in assignment_members, one row per stretch of time a person
was on it: a single canvasser's lease has one row, a team's lease one per
member, kept in step with the team while the lease is live (canvass/turfs/teams.py).
Every "is this person on the assignment?" check reads those rows and nothing
else: `on_assignment` (now) and `Stint.covers` (at a past moment, for the sync).

A door (household) is in at most one live lease per campaign: turfs may overlap
(a drawn turf over a cut one), but a lease whose turf shares doors with another
turf's live lease of the same campaign is refused (409 doors_already_leased),
and so is a drawn turf over doors of any live lease. Checked by one set-based
query under a transaction-scoped advisory lock per (organization, campaign), so
of two leads leasing overlapping turfs at the same moment exactly one wins.
"Live": active and not past `leased_until` (a lapsed lease the cron has not
expired yet blocks nothing; extending it is checked again).

Lock order, to stay free of deadlocks: team, then turf, then assignment, then the
doors lock (the organization's, shared, then its campaign's, exclusive; drawing a
turf takes the organization's exclusive, alone). After the doors lock a
transaction only inserts new rows and updates rows it already holds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canvass.auth.models import User
from canvass.auth.services import get_active_canvasser
from canvass.campaigns.services import get_active_campaign
from canvass.db import utcnow
from canvass.errors import Conflict, Forbidden, NotFound, ValidationFailed
from canvass.turfs.lease_views import (
    AssignmentView,
    get_turf,
    holds_assignment,
    is_lead,
    view_of,
)
from canvass.turfs.models import Assignment, AssignmentMember, Team, TeamMember, Turf, TurfEvent

__all__ = [
    "LeasedDoors",
    "MAX_LEASE_HOURS",
    "Stint",
    "assign_turf",
    "change_turf_status",
    "check_doors_free",
    "doors_already_leased",
    "doors_in_live_leases",
    "expire_leases",
    "extend_lease",
    "lock_doors_for_drawing",
    "reassign_turf",
    "record_turf_event",
    "release_assignment",
    "release_turf",
]

MAX_LEASE_HOURS = 60 * 24  # 60 days: a lease is a promise to walk soon, not a permanent claim
MAX_REASON_LENGTH = 500


def record_turf_event(
    session: Session,
    *,
    organization_id: int,
    turf_id: int,
    action: str,
    from_status: str | None,
    to_status: str | None,
    actor_id: int | None,
    assignment_id: int | None = None,
    reason: str | None = None,
    details: dict | None = None,
) -> TurfEvent:
    event = TurfEvent(
        organization_id=organization_id, turf_id=turf_id, assignment_id=assignment_id, action=action,
        from_status=from_status, to_status=to_status, actor_user_id=actor_id,
        reason=_reason(reason), details=details or {},
    )
    session.add(event)
    return event


def _reason(reason: str | None) -> str | None:
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise ValidationFailed(
            f"reason must be at most {MAX_REASON_LENGTH} characters", details={"reason": ["too long"]}
        )
    return reason or None


def _lease_end(now: datetime, *, lease_hours: int | None, leased_until: datetime | None, default_hours: int) -> datetime:
    if lease_hours is not None and leased_until is not None:
        raise ValidationFailed(
            "give lease_hours or leased_until, not both", details={"leased_until": ["conflicts with lease_hours"]}
        )
    if leased_until is None:
        hours = default_hours if lease_hours is None else lease_hours
        if not 1 <= hours <= MAX_LEASE_HOURS:
            raise ValidationFailed(
                f"lease_hours must be between 1 and {MAX_LEASE_HOURS}", details={"lease_hours": ["out of range"]}
            )
        return now + timedelta(hours=hours)
    if leased_until.tzinfo is None:
        raise ValidationFailed("leased_until needs a UTC offset", details={"leased_until": ["no offset"]})
    if leased_until <= now:
        raise ValidationFailed("the lease would end in the past", code="lease_in_past", details={"leased_until": ["in the past"]})
    if leased_until > now + timedelta(hours=MAX_LEASE_HOURS):
        raise ValidationFailed(
            f"a lease can last at most {MAX_LEASE_HOURS // 24} days", code="lease_too_long",
            details={"leased_until": ["too far in the future"]},
        )
    return leased_until


# --- who holds a lease, and who is on it ------------------------------------------------


@dataclass(frozen=True)
class Stint:
    """One stretch of time a person was on an assignment (a row of assignment_members)."""

    joined_at: datetime | None  # None: from the lease's start
    left_at: datetime | None  # None: until the lease ends

    def covers(self, when: datetime, *, skew: timedelta) -> bool:
        """Were they on it at `when`? The lease's own start and end are the caller's to check."""
        return ((self.joined_at is None or self.joined_at - skew <= when)
                and (self.left_at is None or when <= self.left_at + skew))


@dataclass(frozen=True)
class _Holder:
    """Whom a lease is made to: one canvasser, or a team and the members it has now."""

    canvasser_id: int | None
    team_id: int | None
    member_ids: tuple[int, ...]

    def details(self) -> dict:
        if self.team_id is None:
            return {"canvasser_id": self.canvasser_id}
        return {"team_id": self.team_id, "member_ids": list(self.member_ids)}


def _holder(session: Session, organization_id: int, *, canvasser_id: int | None, team_id: int | None) -> _Holder:
    if canvasser_id is not None and team_id is not None:
        raise ValidationFailed("give canvasser_id (one canvasser) or team_id (a team), not both",
                               details={"team_id": ["give canvasser_id or team_id, not both"]})
    if canvasser_id is None and team_id is None:
        raise ValidationFailed("give canvasser_id (one canvasser) or team_id (a team): who walks this turf?",
                               details={"canvasser_id": ["give canvasser_id or team_id"]})
    if canvasser_id is not None:
        canvasser = get_active_canvasser(session, organization_id=organization_id, user_id=canvasser_id)
        return _Holder(canvasser_id=canvasser.id, team_id=None, member_ids=(canvasser.id,))
    # FOR SHARE: a membership change or an archive (FOR UPDATE) waits for this lease
    # to commit, then sees it; a lease made after them sees their outcome.
    team = session.execute(
        select(Team).where(Team.organization_id == organization_id, Team.id == team_id).with_for_update(read=True)
    ).scalar_one_or_none()
    if team is None:
        raise NotFound("no such team", code="team_not_found")
    if team.status != "active":
        raise Conflict("this team is archived", code="team_archived")
    member_ids = session.execute(
        select(TeamMember.user_id)
        .join(User, (User.organization_id == TeamMember.organization_id) & (User.id == TeamMember.user_id))
        .where(TeamMember.organization_id == organization_id, TeamMember.team_id == team.id, User.is_active.is_(True))
        .order_by(TeamMember.user_id)
    ).scalars().all()
    if not member_ids:
        raise ValidationFailed("this team has no active members: add canvassers to it first",
                               code="team_has_no_members", details={"team_id": ["no active members"]})
    return _Holder(canvasser_id=None, team_id=team.id, member_ids=tuple(member_ids))


def _holder_details(assignment: Assignment) -> dict:
    if assignment.team_id is None:
        return {"canvasser_id": assignment.canvasser_id}
    return {"team_id": assignment.team_id}


# --- one live lease per door and campaign ---------------------------------------------

# The doors lock: advisory, transaction-scoped. Leasing takes the organization's key shared
# and its campaign's key exclusive (leases of different campaigns never wait on each other);
# drawing a turf takes the organization's key exclusive (its refusal covers every campaign).
_ORG_DOORS_KEY = "hashtextextended('turf_doors:' || CAST(:org AS text), 0)"
_CAMPAIGN_DOORS_KEY = "hashtextextended('turf_doors:' || CAST(:org AS text) || ':' || CAST(:campaign AS text), 0)"


def _lock_campaign_doors(session: Session, organization_id: int, campaign_id: int) -> None:
    session.execute(text(f"SELECT pg_advisory_xact_lock_shared({_ORG_DOORS_KEY})"), {"org": organization_id})
    session.execute(text(f"SELECT pg_advisory_xact_lock({_CAMPAIGN_DOORS_KEY})"),
                    {"org": organization_id, "campaign": campaign_id})


def lock_doors_for_drawing(session: Session, *, organization_id: int) -> None:
    """Wait for every lease being made in the organization, and hold new ones off until commit."""
    session.execute(text(f"SELECT pg_advisory_xact_lock({_ORG_DOORS_KEY})"), {"org": organization_id})


# The turf's doors that are on another turf with a live lease (of one campaign, or of any):
# one statement, stops joined to stops on the household, then to the live leases.
_LEASED_DOORS_SQL = text("""
    WITH shared AS (
        SELECT other.turf_id, a.id AS assignment_id, a.campaign_id, mine.household_id
        FROM turf_stops mine
        JOIN turf_stops other ON other.organization_id = mine.organization_id
                             AND other.household_id = mine.household_id AND other.turf_id <> mine.turf_id
        JOIN assignments a ON a.organization_id = other.organization_id AND a.turf_id = other.turf_id
                          AND a.status = 'active' AND a.leased_until > now()
        WHERE mine.organization_id = :org AND mine.turf_id = :turf
          AND (CAST(:campaign AS bigint) IS NULL OR a.campaign_id = CAST(:campaign AS bigint))
    )
    SELECT s.turf_id, t.name, s.assignment_id, s.campaign_id, count(*) AS shared_doors,
           (SELECT count(DISTINCT household_id) FROM shared) AS total
    FROM shared s
    JOIN turfs t ON t.organization_id = :org AND t.id = s.turf_id
    GROUP BY s.turf_id, t.name, s.assignment_id, s.campaign_id
    ORDER BY s.turf_id
""")


@dataclass(frozen=True)
class LeasedDoors:
    """Doors of a turf already in other turfs' live leases."""

    turfs: list  # [{id, name, assignment_id, campaign_id, shared_doors}]
    shared_doors: int  # distinct doors in all of them

    def __bool__(self) -> bool:
        return self.shared_doors > 0


def doors_in_live_leases(session: Session, *, organization_id: int, turf_id: int,
                         campaign_id: int | None = None) -> LeasedDoors:
    """The turf's doors that another turf's live lease (of `campaign_id`, or of any campaign) holds."""
    rows = session.execute(_LEASED_DOORS_SQL, {"org": organization_id, "turf": turf_id, "campaign": campaign_id}).all()
    return LeasedDoors(
        turfs=[{"id": r.turf_id, "name": r.name, "assignment_id": r.assignment_id, "campaign_id": r.campaign_id,
                "shared_doors": r.shared_doors} for r in rows],
        shared_doors=rows[0].total if rows else 0,
    )


def doors_already_leased(leased: LeasedDoors, *, what: str) -> Conflict:
    names = ", ".join(turf["name"] for turf in leased.turfs[:5]) + (", ..." if len(leased.turfs) > 5 else "")
    return Conflict(
        f"{leased.shared_doors} door(s) of {what} are already in a live lease ({names}): "
        "a door is walked by one canvasser or team at a time; release or complete that lease first",
        code="doors_already_leased", details={"turfs": leased.turfs, "shared_doors": leased.shared_doors},
    )


def check_doors_free(session: Session, *, organization_id: int, turf_id: int, campaign_id: int) -> None:
    """Refuse (409 doors_already_leased) to make or keep a lease of the turf for the campaign live while
    another turf's live lease of that campaign holds some of its doors.

    Takes the doors lock first (see the module's lock order), so the answer stands until commit:
    a lead leasing an overlapping turf at the same moment waits, then sees this lease.
    """
    _lock_campaign_doors(session, organization_id, campaign_id)
    leased = doors_in_live_leases(session, organization_id=organization_id, turf_id=turf_id, campaign_id=campaign_id)
    if leased:
        raise doors_already_leased(leased, what="this turf")


# --- assign, reassign, extend, release ------------------------------------------------


def assign_turf(
    session: Session,
    *,
    organization_id: int,
    turf_id: int,
    campaign_id: int,
    actor_id: int | None,
    default_lease_hours: int,
    canvasser_id: int | None = None,
    team_id: int | None = None,
    lease_hours: int | None = None,
    leased_until: datetime | None = None,
    reason: str | None = None,
) -> AssignmentView:
    """Lease a ready turf to a canvasser or a team (exactly one) for a campaign.

    409 turf_already_assigned if someone got there first.
    """
    now = utcnow()
    until = _lease_end(now, lease_hours=lease_hours, leased_until=leased_until, default_hours=default_lease_hours)
    holder = _holder(session, organization_id, canvasser_id=canvasser_id, team_id=team_id)
    campaign = get_active_campaign(session, organization_id=organization_id, campaign_id=campaign_id)
    return _assign(session, organization_id=organization_id, turf_id=turf_id, holder=holder, campaign=campaign,
                   now=now, until=until, actor_id=actor_id, reason=reason)


def _assign(session, *, organization_id, turf_id, holder: _Holder, campaign, now, until, actor_id, reason) -> AssignmentView:
    # The conditional UPDATE is the lock: a second lead's UPDATE waits for the
    # first to commit, then finds the turf no longer 'ready' and gets 0 rows.
    claimed = session.execute(
        update(Turf)
        .where(Turf.organization_id == organization_id, Turf.id == turf_id, Turf.status == "ready")
        .values(status="checked_out", updated_at=now)
        .returning(Turf.id)
    ).first()
    if claimed is None:
        turf = get_turf(session, organization_id=organization_id, turf_id=turf_id)
        if turf.status == "checked_out":
            raise Conflict("this turf is already assigned", code="turf_already_assigned")
        raise Conflict(f"a {turf.status} turf cannot be assigned; reopen it first", code="turf_not_assignable",
                       details={"status": turf.status})
    check_doors_free(session, organization_id=organization_id, turf_id=turf_id, campaign_id=campaign.id)
    assignment = _new_assignment(
        session, organization_id=organization_id, turf_id=turf_id, holder=holder, campaign=campaign,
        leased_at=now, leased_until=until, actor_id=actor_id,
    )
    record_turf_event(
        session, organization_id=organization_id, turf_id=turf_id, assignment_id=assignment.id, action="assigned",
        from_status="ready", to_status="checked_out", actor_id=actor_id, reason=reason,
        details={**holder.details(), "campaign_id": campaign.id, "leased_until": until.isoformat()},
    )
    session.flush()
    return view_of(session, assignment)


def _new_assignment(session, *, organization_id, turf_id, holder: _Holder, campaign, leased_at, leased_until,
                    actor_id) -> Assignment:
    assignment = Assignment(
        organization_id=organization_id, turf_id=turf_id, campaign_id=campaign.id, canvasser_id=holder.canvasser_id,
        team_id=holder.team_id, status="active", leased_at=leased_at, leased_until=leased_until,
        created_by_id=actor_id,
    )
    try:
        with session.begin_nested():
            session.add(assignment)
            session.flush()
    except IntegrityError:
        # The partial unique index: an active lease exists although the turf said 'ready'.
        raise Conflict("this turf is already assigned", code="turf_already_assigned") from None
    # Everyone on it from the start: joined_at and left_at null (the whole lease).
    session.add_all(
        AssignmentMember(organization_id=organization_id, assignment_id=assignment.id, user_id=user_id)
        for user_id in holder.member_ids
    )
    session.flush()
    return assignment


def _active_assignment(session: Session, organization_id: int, turf_id: int) -> Assignment | None:
    return session.execute(
        select(Assignment)
        .where(Assignment.organization_id == organization_id, Assignment.turf_id == turf_id, Assignment.status == "active")
        .with_for_update()
    ).scalar_one_or_none()


def reassign_turf(
    session: Session,
    *,
    organization_id: int,
    turf_id: int,
    actor_id: int | None,
    default_lease_hours: int,
    canvasser_id: int | None = None,
    team_id: int | None = None,
    campaign_id: int | None = None,
    lease_hours: int | None = None,
    leased_until: datetime | None = None,
    reason: str | None = None,
) -> AssignmentView:
    """Hand a checked-out turf to another canvasser or team in one step (or assign a ready one)."""
    get_turf(session, organization_id=organization_id, turf_id=turf_id)
    holder = _holder(session, organization_id, canvasser_id=canvasser_id, team_id=team_id)  # before the turf lock
    turf = get_turf(session, organization_id=organization_id, turf_id=turf_id, lock=True)
    current = _active_assignment(session, organization_id, turf_id)
    now = utcnow()
    if current is None:
        if campaign_id is None:
            raise ValidationFailed("campaign_id is required: the turf is not assigned", details={"campaign_id": ["required"]})
        until = _lease_end(now, lease_hours=lease_hours, leased_until=leased_until, default_hours=default_lease_hours)
        campaign = get_active_campaign(session, organization_id=organization_id, campaign_id=campaign_id)
        return _assign(session, organization_id=organization_id, turf_id=turf_id, holder=holder,
                       campaign=campaign, now=now, until=until, actor_id=actor_id, reason=reason)
    if lease_hours is None and leased_until is None:
        until = max(current.leased_until, now + timedelta(hours=1))  # the new holder keeps the old lease
    else:
        until = _lease_end(now, lease_hours=lease_hours, leased_until=leased_until, default_hours=default_lease_hours)
    campaign = get_active_campaign(session, organization_id=organization_id, campaign_id=campaign_id or current.campaign_id)
    check_doors_free(session, organization_id=organization_id, turf_id=turf_id, campaign_id=campaign.id)
    current.status, current.ended_at = "released", now
    session.flush()  # the old lease ends before the new one starts (one active per turf)
    assignment = _new_assignment(
        session, organization_id=organization_id, turf_id=turf_id, holder=holder, campaign=campaign,
        leased_at=now, leased_until=until, actor_id=actor_id,
    )
    turf.updated_at = now
    previous = {f"from_{key}": value for key, value in _holder_details(current).items()}
    record_turf_event(
        session, organization_id=organization_id, turf_id=turf_id, assignment_id=assignment.id, action="reassigned",
        from_status=turf.status, to_status=turf.status, actor_id=actor_id, reason=reason,
        details={
            "from_assignment_id": current.id, **previous,
            **holder.details(), "campaign_id": campaign.id, "leased_until": until.isoformat(),
        },
    )
    session.flush()
    return view_of(session, assignment)


def _locked_assignment(session: Session, organization_id: int, assignment_id: int) -> Assignment:
    assignment = session.execute(
        select(Assignment)
        .where(Assignment.organization_id == organization_id, Assignment.id == assignment_id)
        .with_for_update()
    ).scalar_one_or_none()
    if assignment is None:
        raise NotFound("no such assignment", code="assignment_not_found")
    return assignment


def extend_lease(
    session: Session,
    *,
    organization_id: int,
    actor_id: int | None,
    assignment_id: int | None = None,
    turf_id: int | None = None,
    lease_hours: int | None = None,
    leased_until: datetime | None = None,
    reason: str | None = None,
) -> AssignmentView:
    """Move an active lease's end later: `lease_hours` from now, or to `leased_until`.

    The lease is named by its id, or by its turf (the turf's active lease).
    """
    if lease_hours is None and leased_until is None:
        raise ValidationFailed("give lease_hours or leased_until", details={"leased_until": ["required"]})
    if turf_id is not None:
        get_turf(session, organization_id=organization_id, turf_id=turf_id)
        assignment = _active_assignment(session, organization_id, turf_id)
        if assignment is None:
            raise Conflict("this turf is not assigned", code="turf_not_assigned")
    else:
        assignment = _locked_assignment(session, organization_id, assignment_id)
    if assignment.status != "active":
        raise Conflict(f"this assignment is {assignment.status}", code="assignment_not_active",
                       details={"status": assignment.status})
    until = _lease_end(utcnow(), lease_hours=lease_hours, leased_until=leased_until, default_hours=0)
    if until <= assignment.leased_until:
        raise ValidationFailed(
            "the new end is not later than the current one; release the turf to end a lease early",
            code="lease_not_extended", details={"leased_until": [f"not after {assignment.leased_until.isoformat()}"]},
        )
    # A lapsed lease (past its end, not yet expired by the cron) held no doors: another lease may
    # have taken them since. And one made before the rule may overlap. Either way, no extension.
    check_doors_free(session, organization_id=organization_id, turf_id=assignment.turf_id,
                     campaign_id=assignment.campaign_id)
    previous, assignment.leased_until = assignment.leased_until, until
    record_turf_event(
        session, organization_id=organization_id, turf_id=assignment.turf_id, assignment_id=assignment.id,
        action="extended", from_status="checked_out", to_status="checked_out", actor_id=actor_id, reason=reason,
        details={"from": previous.isoformat(), "to": until.isoformat()},
    )
    session.flush()
    return view_of(session, assignment)


def _end(session, assignment: Assignment, *, status: str, action: str, turf_status: str, actor_id, reason) -> Assignment:
    if assignment.status != "active":
        raise Conflict(f"this assignment is already {assignment.status}", code="assignment_not_active",
                       details={"status": assignment.status})
    now = utcnow()
    assignment.status, assignment.ended_at = status, now
    turf = get_turf(session, organization_id=assignment.organization_id, turf_id=assignment.turf_id, lock=True)
    from_status = turf.status
    turf.status, turf.updated_at = turf_status, now
    record_turf_event(
        session, organization_id=assignment.organization_id, turf_id=turf.id, assignment_id=assignment.id,
        action=action, from_status=from_status, to_status=turf_status, actor_id=actor_id, reason=reason,
        details=_holder_details(assignment),
    )
    session.flush()
    return assignment


def release_assignment(
    session: Session,
    *,
    organization_id: int,
    assignment_id: int,
    actor_id: int | None,
    actor_roles=(),
    reason: str | None = None,
) -> AssignmentView:
    """End a lease now; the turf is ready again.

    A canvasser may hand back only their own lease (someone else's is 404, as if
    it did not exist). A team's lease is the team's: one member may not end it
    for the others (403 cannot_release_team_lease); a lead releases it, or
    takes that member off the team.
    """
    assignment = _locked_assignment(session, organization_id, assignment_id)
    if not is_lead(actor_roles):
        if not holds_assignment(session, organization_id=organization_id, assignment_id=assignment.id,
                                user_id=actor_id):
            raise NotFound("no such assignment", code="assignment_not_found")
        if assignment.team_id is not None:
            raise Forbidden("this turf is leased to your team: ask your field lead to release it, "
                            "or to take you off the team", code="cannot_release_team_lease")
    _end(session, assignment, status="released", action="released", turf_status="ready",
         actor_id=actor_id, reason=reason)
    return view_of(session, assignment)


def release_turf(session: Session, *, organization_id: int, turf_id: int, actor_id: int | None,
                 reason: str | None = None) -> AssignmentView:
    """End the turf's active lease now (the lead's DELETE /turfs/{id}/assignment)."""
    get_turf(session, organization_id=organization_id, turf_id=turf_id)
    assignment = _active_assignment(session, organization_id, turf_id)
    if assignment is None:
        raise Conflict("this turf is not assigned", code="turf_not_assigned")
    _end(session, assignment, status="released", action="released", turf_status="ready",
         actor_id=actor_id, reason=reason)
    return view_of(session, assignment)


def change_turf_status(
    session: Session, *, organization_id: int, turf_id: int, status: str, actor_id: int | None, reason: str | None = None
) -> Turf:
    """Complete, archive or reopen a turf. Assigning and releasing go through their own functions."""
    turf = get_turf(session, organization_id=organization_id, turf_id=turf_id, lock=True)
    if status == turf.status:
        return turf
    if status == "completed":
        if turf.status == "checked_out":
            # Finishing the walk ends the lease as completed.
            _end(session, _active_assignment(session, organization_id, turf_id), status="completed",
                 action="completed", turf_status="completed", actor_id=actor_id, reason=reason)
            return turf
        if turf.status != "ready":
            raise Conflict(f"a {turf.status} turf cannot be completed", code="invalid_transition")
        action = "completed"
    elif status == "archived":
        if turf.status == "checked_out":
            raise Conflict("release the turf's assignment before archiving it", code="turf_checked_out")
        action = "archived"
    elif status == "ready":
        if turf.status == "checked_out":
            raise Conflict("release the turf's assignment to make it ready", code="turf_checked_out")
        action = "reopened"
    else:
        raise ValidationFailed(
            "status must be completed, archived or ready (assign a turf to check it out)",
            details={"status": ["not a status you can set"]},
        )
    from_status, turf.status, turf.updated_at = turf.status, status, utcnow()
    record_turf_event(session, organization_id=organization_id, turf_id=turf.id, action=action,
                      from_status=from_status, to_status=status, actor_id=actor_id, reason=reason)
    session.flush()
    return turf


def expire_leases(session: Session) -> int:
    """End every active lease past its time, in all organizations, in one statement (the cron job).

    Safe against a concurrent extension: the UPDATE re-checks `leased_until`
    on the row version it locks, so a lease extended a moment ago is kept.
    """
    return session.execute(text("""
        WITH expired AS (
            UPDATE assignments SET status = 'expired', ended_at = now()
             WHERE status = 'active' AND leased_until <= now()
            RETURNING id, organization_id, turf_id, canvasser_id, team_id, leased_until
        ), freed AS (
            UPDATE turfs t SET status = 'ready', updated_at = now()
              FROM expired e
             WHERE t.organization_id = e.organization_id AND t.id = e.turf_id AND t.status = 'checked_out'
            RETURNING t.id
        ), logged AS (
            INSERT INTO turf_events (organization_id, turf_id, assignment_id, action, from_status, to_status,
                                     actor_user_id, reason, details)
            SELECT e.organization_id, e.turf_id, e.id, 'expired', 'checked_out', 'ready', NULL, 'lease expired',
                   jsonb_strip_nulls(jsonb_build_object('canvasser_id', e.canvasser_id, 'team_id', e.team_id,
                                                        'leased_until', e.leased_until))
              FROM expired e
            RETURNING 1
        )
        SELECT count(*) FROM logged
    """)).scalar_one()
