"""Test data builders: they flush, never commit (the test's transaction is rolled back)."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from canvass.auth.models import User
from canvass.auth.passwords import hash_password
from canvass.auth.services import issue_token
from canvass.orgs.models import Organization
from canvass.orgs.services import timezone_for

_sequence = itertools.count(1)
# Hashing is deliberately slow; hash once and reuse for every factory user.
DEFAULT_PASSWORD = "correct horse battery"
_DEFAULT_HASH = hash_password(DEFAULT_PASSWORD)


def tenant_row(session, model, row_id):
    """The row of a tenant model with this id, whatever its organization, or None. A test often knows an id
    (from a response) but not its organization, and `session.get` now needs both: a tenant model's identity
    is (organization_id, id) (canvass/db.py tenant_key)."""
    return session.execute(select(model).where(model.id == row_id)).scalar_one_or_none()


def make_org(session, *, slug: str | None = None, name: str | None = None, parent: Organization | None = None):
    n = next(_sequence)
    org = Organization(slug=slug or f"org-{n}", name=name or f"Organization {n}", parent_id=parent.id if parent else None)
    session.add(org)
    session.flush()
    return org


def org_today(org: Organization) -> date:
    """Today as the organization counts days (its time zone), which is how dues and dashboards count."""
    return datetime.now(ZoneInfo(timezone_for(org))).date()


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


# --- geography, turfs, campaigns ----------------------------------------------
# Coordinates are lon/lat; the default square sits in Chicago's 33rd ward area.

from datetime import UTC  # noqa: E402

from geoalchemy2.shape import from_shape  # noqa: E402
from shapely.geometry import MultiPolygon, Point, box  # noqa: E402

from canvass.campaigns.models import PLEDGE_TYPES, RESULT_CODES, Campaign, Question  # noqa: E402
from canvass.geo.models import Boundary, Building, Household  # noqa: E402
from canvass.people.models import Person  # noqa: E402
from canvass.turfs.models import Assignment, AssignmentMember, Team, TeamMember, Turf, TurfStop  # noqa: E402

DEFAULT_BOX = (-87.72, 41.94, -87.70, 41.96)


def multipolygon(bounds=DEFAULT_BOX):
    return from_shape(MultiPolygon([box(*bounds)]), srid=4326)


def make_boundary(session, *, org, level="ward", name=None, parent=None, bounds=DEFAULT_BOX):
    boundary = Boundary(
        organization_id=org.id, level=level, name=name or str(next(_sequence)),
        parent_id=parent.id if parent else None, parent_key=parent.name if parent else "",
        geom=multipolygon(bounds),
    )
    session.add(boundary)
    session.flush()
    return boundary


def make_building(session, *, org, lon=-87.71, lat=41.95, line1=None, ward=None, precinct=None, zip_code="60618"):
    n = next(_sequence)
    line1 = line1 or f"{3000 + 2 * n} W ADDISON ST"
    building = Building(
        organization_id=org.id, address_key=f"{line1}|CHICAGO|{zip_code}", line1=line1, city="Chicago", state="IL",
        zip=zip_code, location=from_shape(Point(lon, lat), srid=4326),
        ward_id=ward.id if ward else None, precinct_id=precinct.id if precinct else None,
    )
    session.add(building)
    session.flush()
    return building


def make_household(session, *, org, building=None, unit="", **building_kwargs):
    building = building or make_building(session, org=org, **building_kwargs)
    household = Household(organization_id=org.id, building_id=building.id, unit=unit)
    session.add(household)
    session.flush()
    return household


def make_person(session, *, org, household=None, first_name="Pat", last_name=None, **fields):
    person = Person(
        organization_id=org.id, household_id=household.id if household else None, first_name=first_name,
        last_name=last_name or f"Resident{next(_sequence)}", **fields,
    )
    person.name_key = f"{person.first_name} {person.last_name}".lower()
    session.add(person)
    session.flush()
    return person


def make_campaign(session, *, org, name=None, kind="electoral", questions=(("Will you vote?", "yes_no", None),),
                  result_codes=None, pledge_types=None):
    campaign = Campaign(
        organization_id=org.id, name=name or f"Campaign {next(_sequence)}", kind=kind, script="Hi, I'm a neighbor...",
        result_codes=list(result_codes or RESULT_CODES), pledge_types=list(pledge_types or PLEDGE_TYPES),
    )
    session.add(campaign)
    session.flush()
    for position, (prompt, kind_, choices) in enumerate(questions, start=1):
        session.add(Question(organization_id=org.id, campaign_id=campaign.id, position=position, prompt=prompt,
                             kind=kind_, choices=choices))
    session.flush()
    return campaign


def make_turf(session, *, org, households=(), ward=None, name=None, status="ready", bounds=DEFAULT_BOX):
    turf = Turf(organization_id=org.id, name=name or f"Turf {next(_sequence)}", ward_id=ward.id if ward else None,
                status=status, geom=multipolygon(bounds), door_count=len(households))
    session.add(turf)
    session.flush()
    for seq, household in enumerate(households, start=1):
        session.add(TurfStop(organization_id=org.id, turf_id=turf.id, household_id=household.id, seq=seq))
    session.flush()
    return turf


def make_team(session, *, org, members=(), name=None, status="active"):
    team = Team(organization_id=org.id, name=name or f"Team {next(_sequence)}", status=status)
    session.add(team)
    session.flush()
    session.add_all(TeamMember(organization_id=org.id, team_id=team.id, user_id=user.id) for user in members)
    session.flush()
    return team


def make_assignment(session, *, org, turf, campaign, canvasser=None, team=None, leased_at=None, leased_until=None,
                    status="active"):
    """A lease to `canvasser` or to `team` (its members as they are now), with its assignment_members rows."""
    leased_at = leased_at or datetime.now(UTC) - timedelta(hours=1)
    assignment = Assignment(
        organization_id=org.id, turf_id=turf.id, campaign_id=campaign.id,
        canvasser_id=canvasser.id if canvasser else None, team_id=team.id if team else None, status=status,
        leased_at=leased_at, leased_until=leased_until or leased_at + timedelta(hours=72),
    )
    session.add(assignment)
    if status == "active":
        turf.status = "checked_out"
    session.flush()
    if canvasser:
        member_ids = [canvasser.id]
    else:
        member_ids = session.execute(select(TeamMember.user_id).where(
            TeamMember.organization_id == org.id, TeamMember.team_id == team.id)).scalars().all()
    session.add_all(AssignmentMember(organization_id=org.id, assignment_id=assignment.id, user_id=user_id)
                    for user_id in member_ids)
    session.flush()
    return assignment
