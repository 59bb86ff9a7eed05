from __future__ import annotations

from functools import wraps

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.geo import BoundaryFeatureOut, BoundaryImport, BoundaryImportOut, BoundaryListArgs, BoundaryOut
from canvass.db import transaction
from canvass.geo import boundaries

blp = Blueprint("boundaries", __name__, url_prefix="/v1", description="Wards and precincts of the organization")

# A city's precinct file is a few MB: more than the API's default body limit.
BOUNDARY_IMPORT_MAX_BYTES = 32 * 1024 * 1024


def body_limit(max_bytes: int):
    """Raise the request body limit for one endpoint (before its body is parsed)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            request.max_content_length = max_bytes
            return view(*args, **kwargs)

        return wrapper

    return decorator


@blp.route("/boundaries")
class Boundaries(MethodView):
    @requires_roles("field_lead", "organizer", "admin")
    @blp.arguments(BoundaryListArgs, location="query")
    @blp.response(200, BoundaryOut(many=True))
    def get(self, args):
        """Wards and precincts (no geometry), with how many buildings and households each holds."""
        with transaction(db.session) as session:
            return boundaries.list_boundaries(session, organization_id=current_user().organization_id, **args)

    @requires_roles("admin")
    @body_limit(BOUNDARY_IMPORT_MAX_BYTES)
    @blp.arguments(BoundaryImport)
    @blp.response(201, BoundaryImportOut)
    @blp.alt_response(422, description="invalid_geojson, invalid_boundaries (details.features: index and reason)")
    def post(self, body):
        """Import wards or precincts from a GeoJSON FeatureCollection (all or nothing; re-import updates)."""
        with transaction(db.session) as session:
            return boundaries.import_boundaries(session, organization_id=current_user().organization_id, **body)


@blp.route("/boundaries/<int:boundary_id>")
class BoundaryItem(MethodView):
    @requires_roles("field_lead", "organizer", "admin")
    @blp.response(200, BoundaryFeatureOut)
    def get(self, boundary_id):
        """One boundary as a GeoJSON Feature."""
        with transaction(db.session) as session:
            return boundaries.get_boundary(session, organization_id=current_user().organization_id,
                                           boundary_id=boundary_id)
