"""The read side of leases: who is on an assignment (the one access rule), assignments as views
with their turf, campaign and holder, and a turf's history. canvass/turfs/leases.py writes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, any_, bindparam, exists, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from canvass.auth.models import User
from canvass.campaigns.models import Campaign
from canvass.db import get_tenant_row, utcnow
from canvass.errors import NotFound
from canvass.geo.models import Boundary
from canvass.turfs.models import Assignment, AssignmentMember, Team, Turf, TurfEvent

LEAD_ROLES = ("field_lead", "organizer", "admin")


def is_lead(roles) -> bool:
    return bool(set(roles or ()) & set(LEAD_ROLES))


def get_turf(session: Session, *, organization_id: int, turf_id: int, lock: bool = False) -> Turf:
    return get_tenant_row(session, Turf, organization_id=organization_id, row_id=turf_id, lock=lock,
                          missing=NotFound("no such turf", code="turf_not_found"))


def on_assignment(user_id: int):
    """The one access rule, as a condition on Assignment: `user_id` is on it now.

    That is, they have an open stretch in assignment_members: the single
    canvasser of their own lease, or a current member of the team that holds it.
    Whether the lease itself is still live is for the caller to say.
    """
    return exists().where(
        AssignmentMember.organization_id == Assignment.organization_id,
        AssignmentMember.assignment_id == Assignment.id,
        AssignmentMember.user_id == user_id,
        AssignmentMember.left_at.is_(None),
    )


# `on_assignment` for hand-written SQL (the walk list folds it into its head query, one round
# trip on the phone's hot path): {assignment} names the assignments row, :viewer the user.
ON_ASSIGNMENT_SQL = """EXISTS (
    SELECT 1 FROM assignment_members m
    WHERE m.organization_id = {assignment}.organization_id AND m.assignment_id = {assignment}.id
      AND m.user_id = :viewer AND m.left_at IS NULL)"""


def holds_assignment(session: Session, *, organization_id: int, assignment_id: int, user_id: int) -> bool:
    """`on_assignment` for one assignment (the walk list's and the hand-back's check)."""
    return session.execute(
        select(Assignment.id).where(Assignment.organization_id == organization_id, Assignment.id == assignment_id,
                                    on_assignment(user_id))
    ).first() is not None


@dataclass(frozen=True)
class AssignmentView:
    """An assignment with its turf, campaign and holder (plain values: safe after commit)."""

    id: int
    status: str
    leased_at: datetime
    leased_until: datetime
    ended_at: datetime | None
    turf: dict  # {id, name, ward, door_count}
    campaign: dict  # {id, name}
    canvasser: dict | None  # {id, name}: a single canvasser's lease; None for a team's
    team: dict | None  # {id, name}: a team's lease
    members: list  # [{id, name}]: who is on it now


def assignment_views(session: Session, query) -> list[AssignmentView]:
    """Assignments selected by `query` (a `select(Assignment)...`), as views with turf, campaign and holder."""
    canvasser = aliased(User)
    rows = session.execute(
        query.join(Turf, (Turf.organization_id == Assignment.organization_id) & (Turf.id == Assignment.turf_id))
        .join(Campaign, (Campaign.organization_id == Assignment.organization_id) & (Campaign.id == Assignment.campaign_id))
        .outerjoin(canvasser, (canvasser.organization_id == Assignment.organization_id)
                   & (canvasser.id == Assignment.canvasser_id))
        .outerjoin(Team, (Team.organization_id == Assignment.organization_id) & (Team.id == Assignment.team_id))
        .outerjoin(Boundary, (Boundary.organization_id == Turf.organization_id) & (Boundary.id == Turf.ward_id))
        .with_only_columns(
            Assignment.organization_id, Assignment.id, Assignment.status, Assignment.leased_at,
            Assignment.leased_until, Assignment.ended_at,
            Turf.id.label("turf_id"), Turf.name.label("turf_name"), Boundary.name.label("ward"), Turf.door_count,
            Campaign.id.label("campaign_id"), Campaign.name.label("campaign_name"),
            canvasser.id.label("canvasser_id"), canvasser.name.label("canvasser_name"),
            Team.id.label("team_id"), Team.name.label("team_name"),
        )
    ).all()
    members = _current_members(session, rows[0].organization_id, [r.id for r in rows]) if rows else {}
    return [
        AssignmentView(
            id=r.id, status=r.status, leased_at=r.leased_at, leased_until=r.leased_until, ended_at=r.ended_at,
            turf={"id": r.turf_id, "name": r.turf_name, "ward": r.ward, "door_count": r.door_count},
            campaign={"id": r.campaign_id, "name": r.campaign_name},
            canvasser=None if r.canvasser_id is None else {"id": r.canvasser_id, "name": r.canvasser_name},
            team=None if r.team_id is None else {"id": r.team_id, "name": r.team_name},
            members=members.get(r.id, []),
        )
        for r in rows
    ]


def _current_members(session: Session, organization_id: int, assignment_ids: list[int]) -> dict[int, list[dict]]:
    """assignment id -> [{id, name}] of the people on it now, by name (one query for a whole list)."""
    rows = session.execute(
        select(AssignmentMember.assignment_id, User.id, User.name)
        .join(User, (User.organization_id == AssignmentMember.organization_id) & (User.id == AssignmentMember.user_id))
        .where(AssignmentMember.organization_id == organization_id,
               AssignmentMember.assignment_id == any_(bindparam(None, assignment_ids, type_=ARRAY(BigInteger))),
               AssignmentMember.left_at.is_(None))
        .order_by(User.name, User.id)
    )
    members: dict[int, list[dict]] = {}
    for assignment_id, user_id, name in rows:
        members.setdefault(assignment_id, []).append({"id": user_id, "name": name})
    return members


def view_of(session: Session, assignment: Assignment) -> AssignmentView:
    return assignment_views(session, select(Assignment).where(
        Assignment.organization_id == assignment.organization_id, Assignment.id == assignment.id))[0]


def get_active_assignment(session: Session, *, organization_id: int, turf_id: int) -> AssignmentView:
    """The turf's live lease; 404 no_active_assignment when it has none."""
    get_turf(session, organization_id=organization_id, turf_id=turf_id)
    views = assignment_views(session, select(Assignment).where(
        Assignment.organization_id == organization_id, Assignment.turf_id == turf_id, Assignment.status == "active"))
    if not views:
        raise NotFound("this turf is not assigned", code="no_active_assignment")
    return views[0]


def list_my_assignments(session: Session, *, organization_id: int, user_id: int) -> list[AssignmentView]:
    """The canvasser's live leases, their own and their teams' (a lease past its end is not
    live, even before the cron runs)."""
    return assignment_views(session, select(Assignment).where(
        Assignment.organization_id == organization_id, on_assignment(user_id),
        Assignment.status == "active", Assignment.leased_until > utcnow(),
    ).order_by(Assignment.leased_until, Assignment.id))


def get_assignment(
    session: Session, *, organization_id: int, assignment_id: int, viewer_id: int, viewer_roles=()
) -> AssignmentView:
    """One assignment; a canvasser sees only one they are on (another's is 404, as if it did not exist)."""
    query = select(Assignment).where(Assignment.organization_id == organization_id, Assignment.id == assignment_id)
    if not is_lead(viewer_roles):
        query = query.where(on_assignment(viewer_id))
    views = assignment_views(session, query)
    if not views:
        raise NotFound("no such assignment", code="assignment_not_found")
    return views[0]


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    action: str
    from_status: str | None
    to_status: str | None
    assignment_id: int | None
    actor: dict | None  # {id, name}; None: the system
    reason: str | None
    details: dict
    created_at: datetime


def list_turf_history(session: Session, *, organization_id: int, turf_id: int) -> list[HistoryEntry]:
    """Every state change of the turf and its leases, oldest first."""
    get_turf(session, organization_id=organization_id, turf_id=turf_id)
    rows = session.execute(
        select(TurfEvent, User.name.label("actor_name"))
        .outerjoin(User, (User.organization_id == TurfEvent.organization_id) & (User.id == TurfEvent.actor_user_id))
        .where(TurfEvent.organization_id == organization_id, TurfEvent.turf_id == turf_id)
        .order_by(TurfEvent.id)
    ).all()
    return [
        HistoryEntry(
            id=e.id, action=e.action, from_status=e.from_status, to_status=e.to_status, assignment_id=e.assignment_id,
            actor=None if e.actor_user_id is None else {"id": e.actor_user_id, "name": actor_name},
            reason=e.reason, details=e.details, created_at=e.created_at,
        )
        for e, actor_name in rows
    ]
