"""Changing a user where it reaches past the auth area: a user who can no longer canvass
(deactivated, or the canvasser role taken away) leaves every team, and so every live lease,
at that moment, recorded in the turfs' history with the reason."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from canvass.auth import services as auth
from canvass.auth.models import User
from canvass.turfs.teams import remove_from_every_team


def _can_canvass(user: User) -> bool:
    return bool(user.is_active) and "canvasser" in (user.roles or ())


def _leave_teams_if_done_canvassing(session: Session, user: User, actor: User, could_canvass: bool) -> None:
    if could_canvass and not _can_canvass(user):
        reason = "deactivated" if not user.is_active else "no longer a canvasser"
        remove_from_every_team(session, organization_id=user.organization_id, user_id=user.id, actor_id=actor.id,
                               reason=reason)


def update_user(session: Session, *, organization_id: int, user_id: int, actor: User, **changes: Any) -> User:
    """auth.update_user (name, phone, roles, password, is_active), then the teams follow."""
    could_canvass = _can_canvass(auth.get_user(session, organization_id=organization_id, user_id=user_id))
    user = auth.update_user(session, organization_id=organization_id, user_id=user_id, actor=actor, **changes)
    _leave_teams_if_done_canvassing(session, user, actor, could_canvass)
    return user


def deactivate_user(session: Session, *, organization_id: int, user_id: int, actor: User,
                    ip_address: str | None = None) -> User:
    """auth.deactivate_user (history kept, every token revoked), then the user leaves every team."""
    could_canvass = _can_canvass(auth.get_user(session, organization_id=organization_id, user_id=user_id))
    user = auth.deactivate_user(session, organization_id=organization_id, user_id=user_id, actor=actor,
                                ip_address=ip_address)
    _leave_teams_if_done_canvassing(session, user, actor, could_canvass)
    return user
