from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.turfs import (
    AssignmentCreate,
    AssignmentExtend,
    AssignmentOut,
    AssignmentReplace,
    CutCreate,
    CutOut,
    ReasonArgs,
    TurfCollectionOut,
    TurfCreate,
    TurfEventOut,
    TurfFeatureOut,
    TurfListArgs,
    TurfUpdate,
)
from canvass.db import transaction
from canvass.turfs import lease_views, leases, services

blp = Blueprint("turfs", __name__, url_prefix="/v1",
                description="Turfs: drawn or cut, assigned to canvassers or teams, and their history")

READERS = ("field_lead", "organizer", "admin")
WRITERS = ("field_lead", "organizer")


def _org() -> int:
    return current_user().organization_id


def _default_lease_hours() -> int:
    return current_app.config["CANVASS_SETTINGS"].default_lease_hours


@blp.route("/turfs")
class Turfs(MethodView):
    @requires_roles(*READERS)
    @blp.arguments(TurfListArgs, location="query")
    @blp.response(200, TurfCollectionOut)
    def get(self, args):
        """Turfs (of a ward: `?ward=33`) as a GeoJSON FeatureCollection, with progress and the live lease."""
        with transaction(db.session) as session:
            return {"features": services.list_turfs(session, organization_id=_org(), **args)}

    @requires_roles(*WRITERS)
    @blp.arguments(TurfCreate)
    @blp.response(201, TurfFeatureOut)
    @blp.alt_response(409, description="doors_already_leased: some of its doors are in a live lease")
    def post(self, body):
        """Draw a turf: a GeoJSON polygon whose doors are the households inside it, in walking order.

        Refused while some of those doors are in a live lease (of any campaign); over ready turfs
        it is made, and `properties.overlaps` names them.
        """
        with transaction(db.session) as session:
            return services.create_drawn_turf(session, organization_id=_org(), actor_id=current_user().id, **body)


@blp.route("/turfs/<int:turf_id>")
class TurfItem(MethodView):
    @requires_roles(*READERS)
    @blp.response(200, TurfFeatureOut)
    def get(self, turf_id):
        with transaction(db.session) as session:
            return services.get_turf_listing(session, organization_id=_org(), turf_id=turf_id)

    @requires_roles(*WRITERS)
    @blp.arguments(TurfUpdate)
    @blp.response(200, TurfFeatureOut)
    @blp.alt_response(409, description="turf_checked_out, invalid_transition")
    def patch(self, body, turf_id):
        """Rename, complete, archive or reopen (`status: ready`) a turf."""
        with transaction(db.session) as session:
            return services.update_turf(session, organization_id=_org(), turf_id=turf_id,
                                        actor_id=current_user().id, **body)


@blp.route("/turf-cuts")
class TurfCuts(MethodView):
    @requires_roles(*WRITERS)
    @blp.arguments(CutCreate)
    @blp.response(201, CutOut)
    @blp.alt_response(409, description="turfs_checked_out: an earlier cut of the area has checked-out turfs")
    def post(self, body):
        """Cut a ward (or precincts) into contiguous, compact turfs of about `target_doors` doors.

        Earlier cut turfs over the same doors are archived.
        """
        with transaction(db.session) as session:
            return services.cut_turfs_for_area(session, organization_id=_org(), actor_id=current_user().id, **body)


@blp.route("/turf-cuts/<int:cut_id>")
class TurfCutItem(MethodView):
    @requires_roles(*READERS)
    @blp.response(200, CutOut)
    def get(self, cut_id):
        """A cut's quality figures and turfs."""
        with transaction(db.session) as session:
            return services.get_cut(session, organization_id=_org(), cut_id=cut_id)


@blp.route("/turfs/<int:turf_id>/assignment")
class TurfAssignment(MethodView):
    @requires_roles(*READERS)
    @blp.response(200, AssignmentOut)
    def get(self, turf_id):
        """The turf's live lease (404 no_active_assignment when it has none)."""
        with transaction(db.session) as session:
            return lease_views.get_active_assignment(session, organization_id=_org(), turf_id=turf_id)

    @requires_roles(*WRITERS)
    @blp.arguments(AssignmentCreate)
    @blp.response(201, AssignmentOut)
    @blp.alt_response(409, description="turf_already_assigned, doors_already_leased (another turf's live lease "
                                       "of this campaign holds some of its doors), turf_not_assignable, "
                                       "campaign_archived, team_archived")
    def post(self, body, turf_id):
        """Lease a ready turf to a canvasser (`canvasser_id`) or a team (`team_id`) for a campaign.

        Exactly one of the two. Default lease: DEFAULT_LEASE_HOURS.
        """
        with transaction(db.session) as session:
            return leases.assign_turf(session, organization_id=_org(), turf_id=turf_id, actor_id=current_user().id,
                                      default_lease_hours=_default_lease_hours(), **body)

    @requires_roles(*WRITERS)
    @blp.arguments(AssignmentReplace)
    @blp.response(200, AssignmentOut)
    @blp.alt_response(409, description="doors_already_leased, turf_not_assignable, campaign_archived, team_archived")
    def put(self, body, turf_id):
        """Reassign: hand the turf to another canvasser or team in one step (or assign it if it is free)."""
        with transaction(db.session) as session:
            return leases.reassign_turf(session, organization_id=_org(), turf_id=turf_id, actor_id=current_user().id,
                                        default_lease_hours=_default_lease_hours(), **body)

    @requires_roles(*WRITERS)
    @blp.arguments(AssignmentExtend)
    @blp.response(200, AssignmentOut)
    @blp.alt_response(409, description="turf_not_assigned, doors_already_leased (a lapsed lease whose doors "
                                       "were leased since)")
    def patch(self, body, turf_id):
        """Extend the turf's live lease."""
        with transaction(db.session) as session:
            return leases.extend_lease(session, organization_id=_org(), turf_id=turf_id, actor_id=current_user().id,
                                       **body)

    @requires_roles(*WRITERS)
    @blp.arguments(ReasonArgs, location="query")
    @blp.response(200, AssignmentOut)
    @blp.alt_response(409, description="turf_not_assigned")
    def delete(self, args, turf_id):
        """Release the turf's lease now; the turf is ready again."""
        with transaction(db.session) as session:
            return leases.release_turf(session, organization_id=_org(), turf_id=turf_id, actor_id=current_user().id,
                                       reason=args.get("reason"))


@blp.route("/turfs/<int:turf_id>/history")
class TurfHistory(MethodView):
    @requires_roles(*READERS)
    @blp.response(200, TurfEventOut(many=True))
    def get(self, turf_id):
        """Every state change of the turf and its leases (who, when, why), oldest first."""
        with transaction(db.session) as session:
            return lease_views.list_turf_history(session, organization_id=_org(), turf_id=turf_id)
