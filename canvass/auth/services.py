"""Sign-in, bearer tokens, and the organization's users.

Every function that takes an `organization_id` scopes its queries by it: an id
from another organization is simply not found.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event, record_sign_in_failure
from canvass.auth.models import ROLES, ApiToken, User
from canvass.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from canvass.db import get_tenant_row, utcnow
from canvass.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from canvass.normalize import EMAIL_PATTERN, language_tags_or_error, normalize_email

TOKEN_PREFIX = "cvs_"


def _hash_token(raw_token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no dictionary to guess from.
    return hashlib.sha256(raw_token.encode()).hexdigest()


def validate_roles(roles) -> list[str]:
    roles = list(dict.fromkeys(roles or []))
    unknown = [r for r in roles if r not in ROLES]
    if not roles or unknown:
        raise ValidationFailed(
            f"roles must be one or more of {', '.join(ROLES)}",
            details={"roles": [f"unknown role {r!r}" for r in unknown] or ["at least one role is required"]},
        )
    return roles


def validate_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters",
            details={"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]},
        )


# --- sign-in and tokens -------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    raw: str  # shown to the client once, never stored
    token: ApiToken
    user: User


def authenticate(session: Session, *, email: str, password: str, ip_address: str | None = None) -> User | None:
    """The active user with this e-mail and password, or None.

    A failure is audited and returned rather than raised, so the caller can
    commit the audit row before answering 401: a known user's in their organization's audit log,
    an unknown e-mail's in sign_in_failures (it belongs to no organization).
    """
    email = normalize_email(email)
    user = session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None:
        # No user, so no organization: recorded apart from every organization's audit log.
        record_sign_in_failure(session, email=email, reason="bad_credentials", ip_address=ip_address)
        return None
    if not ok or not user.is_active:
        record_audit_event(
            session,
            action="auth.login_failed",
            organization_id=user.organization_id,
            target_type="user",
            target_id=user.id,
            details={"email": email, "reason": "inactive" if ok else "bad_credentials"},
            ip_address=ip_address,
        )
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(session: Session, *, user: User, ttl: timedelta, label: str | None = None) -> IssuedToken:
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        organization_id=user.organization_id,
        user_id=user.id,
        token_hash=_hash_token(raw),
        label=(label or None) and label[:200],
        expires_at=utcnow() + ttl,
    )
    session.add(token)
    session.flush()
    return IssuedToken(raw=raw, token=token, user=user)


@dataclass(frozen=True)
class OrganizationRef:
    id: int
    slug: str
    name: str


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user behind a bearer token, read in one query without ORM objects.

    Has the attributes views and services use of a `User` (id, organization_id, name, email, roles,
    person_id, organization), so it is passed as `actor` wherever a service wants one.
    """

    id: int
    organization_id: int
    name: str
    email: str
    roles: tuple[str, ...]
    person_id: int | None
    organization: OrganizationRef
    token_id: int
    # The token was last marked as used over a minute ago (or never): see touch_token.
    token_needs_touch: bool
    languages: tuple[str, ...] = ()  # BCP 47 tags the user speaks (GET /v1/me)

    def has_any_role(self, *roles: str) -> bool:
        return bool(set(self.roles) & set(roles))


# Every request runs this: one indexed lookup, no ORM identity map (it was most of an
# authenticated request's time, see docs/benchmarks.md).
_RESOLVE_TOKEN_SQL = text("""
    SELECT t.id AS token_id, t.expires_at, t.revoked_at, t.last_used_at,
           u.id, u.organization_id, u.name, u.email, u.roles, u.person_id, u.is_active, u.languages,
           o.slug AS organization_slug, o.name AS organization_name
    FROM api_tokens t
    JOIN users u ON u.organization_id = t.organization_id AND u.id = t.user_id
    JOIN organizations o ON o.id = u.organization_id
    WHERE t.token_hash = :token_hash
""")


def resolve_token(session: Session, *, raw_token: str) -> Principal:
    """The user behind a bearer token; Unauthorized with a precise code otherwise.

    Read on every request (never cached), so a revoked or expired token, or a deactivated
    user, is refused from the next request on.
    """
    if not raw_token or not raw_token.startswith(TOKEN_PREFIX) or len(raw_token) > 200:
        raise Unauthorized("the bearer token is not valid", code="invalid_token")
    row = session.execute(_RESOLVE_TOKEN_SQL, {"token_hash": _hash_token(raw_token)}).one_or_none()
    if row is None:
        raise Unauthorized("the bearer token is not valid", code="invalid_token")
    now = utcnow()
    if row.revoked_at is not None:
        raise Unauthorized("the bearer token was revoked; sign in again", code="token_revoked")
    if row.expires_at <= now:
        raise Unauthorized("the bearer token has expired; sign in again", code="token_expired")
    if not row.is_active:
        raise Unauthorized("this account is deactivated", code="account_inactive")
    return Principal(
        id=row.id, organization_id=row.organization_id, name=row.name, email=row.email, roles=tuple(row.roles),
        person_id=row.person_id, organization=OrganizationRef(row.organization_id, row.organization_slug,
                                                              row.organization_name),
        token_id=row.token_id,
        token_needs_touch=row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1),
        languages=tuple(row.languages),
    )


def touch_token(session: Session, *, organization_id: int, token_id: int) -> None:
    """Mark the token as used now; callers do it at most once a minute, so reads don't turn into
    a write per request."""
    session.execute(update(ApiToken).where(ApiToken.organization_id == organization_id, ApiToken.id == token_id)
                    .values(last_used_at=utcnow()))


def revoke_token(session: Session, *, token_id: int, actor, ip_address: str | None = None) -> None:
    """Revoke one token (`actor`: a User or Principal, the token's holder)."""
    revoked = session.execute(
        update(ApiToken).where(ApiToken.organization_id == actor.organization_id, ApiToken.id == token_id,
                               ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow()).returning(ApiToken.organization_id, ApiToken.user_id)
    ).one_or_none()
    if revoked is None:
        return
    record_audit_event(
        session,
        action="auth.token_revoked",
        organization_id=revoked.organization_id,
        actor_user_id=actor.id,
        target_type="user",
        target_id=revoked.user_id,
        details={"token_id": token_id},
        ip_address=ip_address,
    )
    session.flush()


def revoke_all_tokens(session: Session, *, organization_id: int, user_id: int, actor: User, ip_address=None) -> int:
    """The lost-phone case: every live token of the user stops working at once."""
    user = get_user(session, organization_id=organization_id, user_id=user_id)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > func.now())
        .values(revoked_at=func.now())
    )
    record_audit_event(
        session,
        action="auth.tokens_revoked_all",
        organization_id=organization_id,
        actor_user_id=actor.id,
        target_type="user",
        target_id=user.id,
        details={"count": result.rowcount},
        ip_address=ip_address,
    )
    return result.rowcount


# --- users of an organization ------------------------------------------------


def get_user(session: Session, *, organization_id: int, user_id: int) -> User:
    return get_tenant_row(session, User, organization_id=organization_id, row_id=user_id, lock=False,
                          missing=NotFound("no such user", code="user_not_found"))


def get_active_canvasser(session: Session, *, organization_id: int, user_id: int) -> User:
    """A user who may be handed a turf: of this organization, active, with the canvasser role."""
    user = get_tenant_row(session, User, organization_id=organization_id, row_id=user_id, lock=False,
                          missing=NotFound("no such canvasser", code="canvasser_not_found"))
    if not user.is_active:
        raise ValidationFailed("this user is deactivated", code="canvasser_inactive",
                               details={"canvasser_id": ["deactivated"]})
    if "canvasser" not in user.roles:
        raise ValidationFailed(
            "this user does not have the canvasser role", code="not_a_canvasser",
            details={"canvasser_id": ["not a canvasser"]},
        )
    return user


def list_users(
    session: Session, *, organization_id: int, role: str | None = None, include_inactive: bool = False
) -> list[User]:
    query = select(User).where(User.organization_id == organization_id)
    if role:
        validate_roles([role])
        query = query.where(User.roles.contains([role]))
    if not include_inactive:
        query = query.where(User.is_active.is_(True))
    return list(session.execute(query.order_by(User.name, User.id)).scalars())


def create_user(
    session: Session,
    *,
    organization_id: int,
    email: str,
    name: str,
    roles,
    password: str | None = None,
    phone: str | None = None,
    languages=(),
    actor: User | None = None,
    ip_address: str | None = None,
) -> User:
    languages = language_tags_or_error(list(languages or ()), field="languages")
    email = normalize_email(email)
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise ValidationFailed("email is not a valid address", details={"email": ["not a valid e-mail address"]})
    if not (name or "").strip():
        raise ValidationFailed("name must not be blank", details={"name": ["must not be blank"]})
    roles = validate_roles(roles)
    if password is not None:
        validate_password(password)
    if session.execute(select(User.id).where(func.lower(User.email) == email)).first():
        # E-mails are global sign-in identities; the message doesn't say which organization holds it.
        raise Conflict("a user with this e-mail already exists", code="email_taken")
    user = User(
        organization_id=organization_id,
        email=email,
        name=name.strip(),
        phone=phone,
        roles=roles,
        languages=languages,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    record_audit_event(
        session,
        action="user.created",
        organization_id=organization_id,
        actor_user_id=actor.id if actor else None,
        target_type="user",
        target_id=user.id,
        details={"email": email, "roles": roles},
        ip_address=ip_address,
    )
    return user


def update_user(
    session: Session,
    *,
    organization_id: int,
    user_id: int,
    actor: User,
    name: str | None = None,
    phone: str | None = None,
    roles=None,
    is_active: bool | None = None,
    password: str | None = None,
    languages=None,
    ip_address: str | None = None,
) -> User:
    if languages is not None:  # checked first: a bad tag changes nothing
        languages = language_tags_or_error(list(languages), field="languages")
    user = get_user(session, organization_id=organization_id, user_id=user_id)
    if languages is not None:
        user.languages = languages
    if name is not None:
        if not name.strip():
            raise ValidationFailed("name must not be blank", details={"name": ["must not be blank"]})
        user.name = name.strip()
    if phone is not None:
        user.phone = phone or None
    if roles is not None:
        roles = validate_roles(roles)
        if user.id == actor.id and "admin" in user.roles and "admin" not in roles:
            raise Conflict("you cannot remove your own admin role", code="cannot_demote_self")
        if sorted(roles) != sorted(user.roles):
            record_audit_event(
                session,
                action="user.roles_changed",
                organization_id=organization_id,
                actor_user_id=actor.id,
                target_type="user",
                target_id=user.id,
                details={"from": sorted(user.roles), "to": sorted(roles)},
                ip_address=ip_address,
            )
            user.roles = roles
    if password is not None:
        validate_password(password)
        user.password_hash = hash_password(password)
        record_audit_event(
            session, action="user.password_set", organization_id=organization_id, actor_user_id=actor.id,
            target_type="user", target_id=user.id, ip_address=ip_address,
        )
    if is_active is not None and is_active != user.is_active:
        if is_active:
            user.is_active, user.deactivated_at = True, None
            record_audit_event(
                session, action="user.reactivated", organization_id=organization_id, actor_user_id=actor.id,
                target_type="user", target_id=user.id, ip_address=ip_address,
            )
        else:
            deactivate_user(session, organization_id=organization_id, user_id=user.id, actor=actor, ip_address=ip_address)
    session.flush()
    return user


def deactivate_user(session: Session, *, organization_id: int, user_id: int, actor: User, ip_address=None) -> User:
    """Deactivation keeps the user's history (contacts, audit) but ends every session."""
    user = get_user(session, organization_id=organization_id, user_id=user_id)
    if user.id == actor.id:
        raise Conflict("you cannot deactivate yourself", code="cannot_deactivate_self")
    if user.is_active:
        user.is_active = False
        user.deactivated_at = utcnow()
        session.execute(
            update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=func.now())
        )
        record_audit_event(
            session, action="user.deactivated", organization_id=organization_id, actor_user_id=actor.id,
            target_type="user", target_id=user.id, ip_address=ip_address,
        )
    session.flush()
    return user
