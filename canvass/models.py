"""Imports every model module, so the metadata (Alembic, mappers) sees all tables."""
from canvass.audit.models import AuditEvent  # noqa: F401
from canvass.auth.models import ApiToken, User  # noqa: F401
from canvass.orgs.models import Organization  # noqa: F401
