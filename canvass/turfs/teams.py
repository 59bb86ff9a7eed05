"""Teams: named groups of an organization's canvassers that a turf can be leased to.

A team is its current members (team_members). A lease made to a team copies
them into assignment_members; while the lease is live, every membership change
is applied to it in the same transaction: someone taken off the team leaves
the lease (`left_at`), someone put on it joins (`joined_at`), and the turf's
history records the change with who, when and why. Contacts a member made
while on the lease stay theirs even after they leave (canvass/canvassing/sync.py).

Every change takes the team row FOR UPDATE; a lease to the team takes it FOR
SHARE (canvass/turfs/leases.py), so a lease made at the same moment as a
membership change either sees the change or is seen by it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import User
from canvass.campaigns.models import Campaign
from canvass.db import get_tenant_row, utcnow
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.turfs.leases import record_turf_event
from canvass.turfs.models import TEAM_STATUSES, Assignment, AssignmentMember, Team, TeamMember, Turf

__all__ = [
    "MAX_TEAM_MEMBERS",
    "MAX_TEAM_NAME_LENGTH",
    "TeamView",
    "add_team_member",
    "create_team",
    "get_team",
    "list_teams",
    "remove_team_member",
    "set_team_members",
    "update_team",
]

MAX_TEAM_MEMBERS = 100  # a walking crew or a branch's volunteers, not the whole organization
MAX_TEAM_NAME_LENGTH = 200


def _ids(values) -> object:
    return any_(bindparam(None, list(values), type_=ARRAY(BigInteger)))


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamView:
    """A team with its members and the leases it holds now (plain values: safe after commit)."""

    id: int
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    members: list  # [{id, name}] by name
    live_assignments: list  # [{id, turf: {id, name}, campaign: {id, name}, leased_until}]


def _team_views(session: Session, organization_id: int, teams: list[Team]) -> list[TeamView]:
    """Views of a list of teams in three queries, whatever its length."""
    if not teams:
        return []
    team_ids = [team.id for team in teams]
    members: dict[int, list] = {}
    for team_id, user_id, name in session.execute(
        select(TeamMember.team_id, User.id, User.name)
        .join(User, (User.organization_id == TeamMember.organization_id) & (User.id == TeamMember.user_id))
        .where(TeamMember.organization_id == organization_id, TeamMember.team_id == _ids(team_ids))
        .order_by(User.name, User.id)
    ):
        members.setdefault(team_id, []).append({"id": user_id, "name": name})
    leases: dict[int, list] = {}
    for row in session.execute(
        select(Assignment.team_id, Assignment.id, Assignment.leased_until, Turf.id.label("turf_id"),
               Turf.name.label("turf_name"), Campaign.id.label("campaign_id"), Campaign.name.label("campaign_name"))
        .join(Turf, (Turf.organization_id == Assignment.organization_id) & (Turf.id == Assignment.turf_id))
        .join(Campaign, (Campaign.organization_id == Assignment.organization_id)
              & (Campaign.id == Assignment.campaign_id))
        .where(Assignment.organization_id == organization_id, Assignment.team_id == _ids(team_ids),
               Assignment.status == "active")
        .order_by(Assignment.leased_until, Assignment.id)
    ):
        leases.setdefault(row.team_id, []).append({
            "id": row.id, "leased_until": row.leased_until, "turf": {"id": row.turf_id, "name": row.turf_name},
            "campaign": {"id": row.campaign_id, "name": row.campaign_name},
        })
    return [
        TeamView(id=team.id, name=team.name, status=team.status, created_at=team.created_at,
                 updated_at=team.updated_at, archived_at=team.archived_at, members=members.get(team.id, []),
                 live_assignments=leases.get(team.id, []))
        for team in teams
    ]


def _team(session: Session, organization_id: int, team_id: int, *, lock: bool = False) -> Team:
    return get_tenant_row(session, Team, organization_id=organization_id, row_id=team_id, lock=lock,
                          missing=NotFound("no such team", code="team_not_found"))


def _view(session: Session, team: Team) -> TeamView:
    session.flush()
    session.refresh(team)  # updated_at and created_at come from the database
    return _team_views(session, team.organization_id, [team])[0]


def list_teams(session: Session, *, organization_id: int, status: str = "active") -> list[TeamView]:
    """The organization's teams of one status (active by default), by name."""
    if status not in TEAM_STATUSES:
        raise ValidationFailed(f"status must be one of {', '.join(TEAM_STATUSES)}", details={"status": ["unknown"]})
    teams = session.execute(
        select(Team).where(Team.organization_id == organization_id, Team.status == status)
        .order_by(func.lower(Team.name), Team.id)
    ).scalars().all()
    return _team_views(session, organization_id, list(teams))


def get_team(session: Session, *, organization_id: int, team_id: int) -> TeamView:
    return _team_views(session, organization_id, [_team(session, organization_id, team_id)])[0]


# --- writing ------------------------------------------------------------------------------


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("name must not be blank", details={"name": ["must not be blank"]})
    if len(name) > MAX_TEAM_NAME_LENGTH:
        raise ValidationFailed(f"name must be at most {MAX_TEAM_NAME_LENGTH} characters", details={"name": ["too long"]})
    return name


def _save(session: Session, team: Team, **values) -> None:
    """Write a new team, or these changes to one; two live teams of one organization may not share a name."""
    session.flush()  # nothing else may be caught in the savepoint
    name = values.get("name", team.name)
    try:
        with session.begin_nested():
            for attribute, value in values.items():
                setattr(team, attribute, value)
            session.add(team)
            session.flush()
    except IntegrityError:
        raise Conflict(f"another active team is already called {name!r}", code="team_name_taken",
                       details={"name": ["taken"]}) from None


def _canvassers(session: Session, organization_id: int, user_ids, *, field: str) -> list[int]:
    """The ids, checked: users of this organization (else 404 user_not_found, as for another
    organization's), active, with the canvasser role (else 422)."""
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return []
    users = {
        user.id: user for user in session.execute(
            select(User).where(User.organization_id == organization_id, User.id == _ids(user_ids))
        ).scalars()
    }
    missing = [user_id for user_id in user_ids if user_id not in users]
    if missing:
        raise NotFound("no such user in this organization", code="user_not_found",
                       details={field: [f"no such user: {user_id}" for user_id in missing]})
    inactive = [user_id for user_id in user_ids if not users[user_id].is_active]
    if inactive:
        raise ValidationFailed("deactivated users cannot join a team", code="canvasser_inactive",
                               details={field: [f"user {user_id} is deactivated" for user_id in inactive]})
    not_canvassers = [user_id for user_id in user_ids if "canvasser" not in users[user_id].roles]
    if not_canvassers:
        raise ValidationFailed("only canvassers can be on a team", code="not_a_canvasser",
                               details={field: [f"user {user_id} is not a canvasser" for user_id in not_canvassers]})
    return user_ids


def create_team(
    session: Session,
    *,
    organization_id: int,
    actor_id: int | None,
    name: str,
    member_ids=(),
    ip_address: str | None = None,
) -> TeamView:
    """A new team, with its first members if given."""
    member_ids = _canvassers(session, organization_id, member_ids, field="member_ids")
    _check_size(len(member_ids), field="member_ids")
    team = Team(organization_id=organization_id, name=_name(name), status="active", created_by_id=actor_id)
    _save(session, team)
    session.add_all(TeamMember(organization_id=organization_id, team_id=team.id, user_id=user_id,
                               added_by_id=actor_id) for user_id in member_ids)
    record_audit_event(session, action="team.created", organization_id=organization_id, actor_user_id=actor_id,
                       target_type="team", target_id=team.id, details={"name": team.name, "member_ids": member_ids},
                       ip_address=ip_address)
    return _view(session, team)


def update_team(
    session: Session,
    *,
    organization_id: int,
    team_id: int,
    actor_id: int | None,
    name: str | None = None,
    status: str | None = None,
    reason: str | None = None,
    ip_address: str | None = None,
) -> TeamView:
    """Rename, archive (`status: archived`) or reopen (`status: active`) a team.

    A team that holds a live lease cannot be archived (409 team_assigned): release
    or reassign its turfs first. Archiving keeps the members and the history.
    """
    team = _team(session, organization_id, team_id, lock=True)
    changes: dict = {}
    values: dict = {}
    if name is not None and _name(name) != team.name:
        changes["name"] = {"from": team.name, "to": _name(name)}
        values["name"] = _name(name)
    if status is not None and status != team.status:
        if status not in TEAM_STATUSES:
            raise ValidationFailed(f"status must be one of {', '.join(TEAM_STATUSES)}", details={"status": ["unknown"]})
        if status == "archived":
            live = session.execute(
                select(Assignment.id).where(Assignment.organization_id == organization_id,
                                            Assignment.team_id == team.id, Assignment.status == "active")
                .order_by(Assignment.id)
            ).scalars().all()
            if live:
                raise Conflict("this team holds live leases: release or reassign them first", code="team_assigned",
                               details={"assignment_ids": list(live)})
        changes["status"] = {"from": team.status, "to": status}
        values.update(status=status, archived_at=utcnow() if status == "archived" else None)
    if not changes:
        return _view(session, team)
    _save(session, team, updated_at=utcnow(), **values)  # a rename or a reopening may meet a live team of that name
    record_audit_event(session, action="team.updated", organization_id=organization_id, actor_user_id=actor_id,
                       target_type="team", target_id=team.id, details={**changes, "reason": (reason or "").strip() or None},
                       ip_address=ip_address)
    return _view(session, team)


def _check_size(count: int, *, field: str) -> None:
    if count > MAX_TEAM_MEMBERS:
        raise ValidationFailed(f"a team has at most {MAX_TEAM_MEMBERS} members", code="team_full",
                               details={field: [f"at most {MAX_TEAM_MEMBERS} members"]})


def set_team_members(session: Session, *, organization_id: int, team_id: int, actor_id: int | None, member_ids,
                     reason: str | None = None, ip_address: str | None = None) -> TeamView:
    """Make the team exactly these canvassers (only the newcomers are checked: the others are on it)."""
    team = _team(session, organization_id, team_id, lock=True)
    _refuse_if_archived(team)
    wanted = set(member_ids)
    current = _member_ids(session, team)
    _check_size(len(wanted), field="member_ids")
    joining = _canvassers(session, organization_id, wanted - current, field="member_ids")
    return _change_members(session, team, joining=joining, leaving=sorted(current - wanted), actor_id=actor_id,
                           reason=reason, ip_address=ip_address)


def add_team_member(session: Session, *, organization_id: int, team_id: int, actor_id: int | None, user_id: int,
                    reason: str | None = None, ip_address: str | None = None) -> TeamView:
    """Put a canvasser on the team (already on it: nothing changes)."""
    team = _team(session, organization_id, team_id, lock=True)
    _refuse_if_archived(team)
    current = _member_ids(session, team)
    if user_id in current:
        return _view(session, team)
    joining = _canvassers(session, organization_id, [user_id], field="user_id")
    _check_size(len(current) + 1, field="user_id")
    return _change_members(session, team, joining=joining, leaving=[], actor_id=actor_id, reason=reason,
                           ip_address=ip_address)


def remove_team_member(session: Session, *, organization_id: int, team_id: int, actor_id: int | None, user_id: int,
                       reason: str | None = None, ip_address: str | None = None) -> TeamView:
    """Take someone off the team (and off its live leases, from now on)."""
    team = _team(session, organization_id, team_id, lock=True)
    _refuse_if_archived(team)
    if user_id not in _member_ids(session, team):
        raise NotFound("this user is not on the team", code="team_member_not_found")
    return _change_members(session, team, joining=[], leaving=[user_id], actor_id=actor_id, reason=reason,
                           ip_address=ip_address)


def remove_from_every_team(session: Session, *, organization_id: int, user_id: int, actor_id: int | None,
                           reason: str) -> list[int]:
    """Take someone who can no longer canvass (deactivated, or no longer a canvasser) off every team,
    and so off its live leases from now on. Returns the team ids."""
    teams = session.execute(
        select(Team)
        .join(TeamMember, (TeamMember.organization_id == Team.organization_id) & (TeamMember.team_id == Team.id))
        .where(Team.organization_id == organization_id, TeamMember.user_id == user_id)
        .order_by(Team.id)
        .with_for_update(of=Team)
    ).scalars().all()
    for team in teams:
        _change_members(session, team, joining=[], leaving=[user_id], actor_id=actor_id, reason=reason,
                        ip_address=None)
    return [team.id for team in teams]


def _member_ids(session: Session, team: Team) -> set[int]:
    return set(session.execute(
        select(TeamMember.user_id).where(TeamMember.organization_id == team.organization_id,
                                         TeamMember.team_id == team.id)
    ).scalars())


def _refuse_if_archived(team: Team) -> None:
    if team.status != "active":
        raise Conflict("this team is archived: reopen it to change its members", code="team_archived")


def _change_members(session: Session, team: Team, *, joining: list[int], leaving: list[int], actor_id: int | None,
                    reason: str | None, ip_address: str | None) -> TeamView:
    """Apply a membership change to the team and to every lease it holds now."""
    if not joining and not leaving:
        return _view(session, team)
    org = team.organization_id
    if leaving:
        session.execute(delete(TeamMember).where(TeamMember.organization_id == org, TeamMember.team_id == team.id,
                                                 TeamMember.user_id == _ids(leaving)))
    session.add_all(TeamMember(organization_id=org, team_id=team.id, user_id=user_id, added_by_id=actor_id)
                    for user_id in joining)
    team.updated_at = utcnow()
    session.flush()
    _apply_to_live_leases(session, team, joining=joining, leaving=leaving, actor_id=actor_id, reason=reason)
    record_audit_event(session, action="team.members_changed", organization_id=org, actor_user_id=actor_id,
                       target_type="team", target_id=team.id,
                       details={"joined": joining, "left": leaving, "reason": reason}, ip_address=ip_address)
    return _view(session, team)


def _apply_to_live_leases(session: Session, team: Team, *, joining: list[int], leaving: list[int],
                          actor_id: int | None, reason: str | None) -> None:
    """Keep the team's live leases in step: leavers' stretches end now, joiners' start now.

    The leases are locked (after the team: the lock order of leases.py) and
    re-read, so one released or expired a moment ago is left alone.
    """
    org = team.organization_id
    live = session.execute(
        select(Assignment.id, Assignment.turf_id)
        .where(Assignment.organization_id == org, Assignment.team_id == team.id, Assignment.status == "active")
        .order_by(Assignment.id)
        .with_for_update()
    ).all()
    if not live:
        return
    live_ids = [assignment_id for assignment_id, _ in live]
    now = func.now()
    if leaving:
        session.execute(
            update(AssignmentMember)
            .where(AssignmentMember.organization_id == org, AssignmentMember.assignment_id == _ids(live_ids),
                   AssignmentMember.user_id == _ids(leaving), AssignmentMember.left_at.is_(None))
            # never before joining, whatever the clocks did
            .values(left_at=func.greatest(func.coalesce(AssignmentMember.joined_at, now), now))
        )
    if joining:
        session.execute(
            pg_insert(AssignmentMember)
            .values([{"organization_id": org, "assignment_id": assignment_id, "user_id": user_id, "joined_at": now}
                     for assignment_id in live_ids for user_id in joining])
            .on_conflict_do_nothing(index_elements=["organization_id", "assignment_id", "user_id"],
                                    index_where=AssignmentMember.left_at.is_(None))
        )
    for assignment_id, turf_id in live:
        record_turf_event(
            session, organization_id=org, turf_id=turf_id, assignment_id=assignment_id, action="members_changed",
            from_status="checked_out", to_status="checked_out", actor_id=actor_id, reason=reason,
            details={"team_id": team.id, "joined": joining, "left": leaving},
        )
    session.flush()
