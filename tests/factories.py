"""Test data builders: they flush, never commit (the test's transaction is rolled back)."""
from __future__ import annotations

import itertools
from datetime import timedelta

from canvass.auth.models import User
from canvass.auth.passwords import hash_password
from canvass.auth.services import issue_token
from canvass.orgs.models import Organization

_sequence = itertools.count(1)
# Hashing is deliberately slow; hash once and reuse for every factory user.
DEFAULT_PASSWORD = "correct horse battery"
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


def make_org(session, *, slug: str | None = None, name: str | None = None, parent: Organization | None = None):
    n = next(_sequence)
    org = Organization(slug=slug or f"org-{n}", name=name or f"Organization {n}", parent_id=parent.id if parent else None)
    session.add(org)
    session.flush()
    return org


def make_user(session, *, org: Organization, roles=("canvasser",), email: str | None = None, name: str | None = None,
              is_active: bool = True) -> User:
    n = next(_sequence)
    user = User(
        organization_id=org.id,
        email=email or f"user{n}@example.org",
        name=name or f"User {n}",
        roles=list(roles),
        password_hash=_DEFAULT_HASH,
        is_active=is_active,
    )
    session.add(user)
    session.flush()
    return user


def make_token(session, *, user: User, ttl: timedelta = timedelta(hours=1)) -> str:
    return issue_token(session, user=user, ttl=ttl).raw


def auth_header(session, user: User) -> dict:
    return {"Authorization": f"Bearer {make_token(session, user=user)}"}
