from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.orgs.models import Organization

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
# An organization's days (funnels, dues periods, dashboards) are local days in its time zone.
DEFAULT_TIMEZONE = "America/Chicago"


def get_organization_by_slug(session: Session, slug: str) -> Organization:
    org = session.execute(select(Organization).where(Organization.slug == slug)).scalar_one_or_none()
    if org is None:
        raise NotFound(f"no organization with slug {slug!r}", code="organization_not_found")
    return org


def create_organization(session: Session, *, slug: str, name: str, parent_slug: str | None = None) -> Organization:
    if not SLUG_PATTERN.match(slug or ""):
        raise ValidationFailed(
            "slug must be 2-63 lowercase letters, digits or dashes, starting with a letter or digit",
            details={"slug": ["invalid format"]},
        )
    if not (name or "").strip():
        raise ValidationFailed("name must not be blank", details={"name": ["must not be blank"]})
    parent = get_organization_by_slug(session, parent_slug) if parent_slug else None
    if session.execute(select(Organization.id).where(Organization.slug == slug)).first():
        raise Conflict(f"organization {slug!r} already exists", code="organization_exists")
    org = Organization(slug=slug, name=name.strip(), parent_id=parent.id if parent else None)
    session.add(org)
    session.flush()
    return org


def count_organizations(session: Session) -> int:
    return session.execute(select(func.count(Organization.id))).scalar_one()


def timezone_for(organization: Organization) -> str:
    """Days (funnels, dues periods) are the organization's local days."""
    name = (organization.settings or {}).get("timezone") or DEFAULT_TIMEZONE
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return DEFAULT_TIMEZONE
    return name


def get_organization(session: Session, organization_id: int, *, lock: bool = False) -> Organization:
    query = select(Organization).where(Organization.id == organization_id)
    if lock:
        query = query.with_for_update()
    org = session.execute(query).scalar_one_or_none()
    if org is None:
        raise NotFound("no such organization", code="organization_not_found")
    return org


def list_organization_ids(session: Session) -> list[int]:
    return list(session.execute(select(Organization.id).order_by(Organization.id)).scalars())
