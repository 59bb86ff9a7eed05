"""Imports every model module, so the metadata (Alembic, mappers) sees all tables."""
from canvass.audit.models import AuditEvent, SignInFailure  # noqa: F401
from canvass.auth.models import ApiToken, User  # noqa: F401
from canvass.campaigns.models import Campaign, Question  # noqa: F401
from canvass.canvassing.records import Contact, Pledge  # noqa: F401
from canvass.dashboards.models import ActivityDay, ActivityTurf, ActivityWatermark  # noqa: F401
from canvass.geo.models import Boundary, Building, Household, HouseholdImportChunk  # noqa: F401
from canvass.orgs.models import Organization  # noqa: F401
from canvass.people.models import Person, PersonContactDetail  # noqa: F401
from canvass.pipeline.models import Ballot, DuesPayment, Event, EventAttendance, MembershipPeriod, PipelinePerson, Vote  # noqa: F401
from canvass.turfs.models import (  # noqa: F401
    Assignment,
    AssignmentMember,
    Team,
    TeamMember,
    Turf,
    TurfCut,
    TurfEvent,
    TurfStop,
    WalklistChange,
)
