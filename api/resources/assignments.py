from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.document_cache import walklist_cache
from api.extensions import db
from api.schemas.turfs import AssignmentExtend, AssignmentOut, EntryCodeArgs, EntryCodeOut, ReasonArgs, WalkListOut
from canvass.db import transaction
from canvass.turfs import lease_views, leases
from canvass.turfs.paper import resolve_entry_code, sheet_client_id
from canvass.turfs.walklist import build_walklist

blp = Blueprint("assignments", __name__, url_prefix="/v1", description="Turf assignments and the canvasser's walk list")

ANYONE_WITH_TURFS = ("canvasser", "field_lead", "organizer", "admin")
WRITERS = ("field_lead", "organizer")


@blp.route("/me/assignments")
class MyAssignments(MethodView):
    @requires_roles("canvasser")
    @blp.response(200, AssignmentOut(many=True))
    def get(self):
        """The signed-in canvasser's live turf assignments: their own, and their teams'."""
        user = current_user()
        with transaction(db.session) as session:
            return lease_views.list_my_assignments(session, organization_id=user.organization_id, user_id=user.id)


@blp.route("/assignments/<int:assignment_id>")
class AssignmentItem(MethodView):
    @requires_roles(*ANYONE_WITH_TURFS)
    @blp.response(200, AssignmentOut)
    def get(self, assignment_id):
        """One assignment (a canvasser: only one they are on)."""
        user = current_user()
        with transaction(db.session) as session:
            return lease_views.get_assignment(session, organization_id=user.organization_id, assignment_id=assignment_id,
                                         viewer_id=user.id, viewer_roles=user.roles)

    @requires_roles(*WRITERS)
    @blp.arguments(AssignmentExtend)
    @blp.response(200, AssignmentOut)
    @blp.alt_response(409, description="assignment_not_active, doors_already_leased")
    def patch(self, body, assignment_id):
        """Extend the lease."""
        user = current_user()
        with transaction(db.session) as session:
            return leases.extend_lease(session, organization_id=user.organization_id, assignment_id=assignment_id,
                                       actor_id=user.id, **body)

    @requires_roles(*ANYONE_WITH_TURFS)
    @blp.arguments(ReasonArgs, location="query")
    @blp.response(200, AssignmentOut)
    @blp.alt_response(409, description="assignment_not_active")
    @blp.alt_response(403, description="cannot_release_team_lease: a team member may not end the team's lease")
    def delete(self, args, assignment_id):
        """Release the lease now (a canvasser may hand back their own; a team's lease is for a lead to end)."""
        user = current_user()
        with transaction(db.session) as session:
            return leases.release_assignment(session, organization_id=user.organization_id,
                                             assignment_id=assignment_id, actor_id=user.id,
                                             actor_roles=user.roles, reason=args.get("reason"))


@blp.route("/assignments/<int:assignment_id>/walklist")
class WalkList(MethodView):
    @requires_roles(*ANYONE_WITH_TURFS)
    @blp.response(200, WalkListOut)
    @blp.alt_response(304, description="not modified since the ETag sent in If-None-Match")
    @blp.alt_response(404, description="assignment_not_found (or one the canvasser is not on), assignment_ended")
    def get(self, assignment_id):
        """The turf's doors in walking order, with the campaign's script and questions. Sends an ETag."""
        user = current_user()
        with transaction(db.session) as session:
            walklist = build_walklist(session, organization_id=user.organization_id, assignment_id=assignment_id,
                                      viewer_id=user.id, viewer_roles=user.roles,
                                      known_to_client=request.if_none_match.contains_weak, cache=walklist_cache())
        # The document is built as JSON by the service (the phone's hot path: no
        # second serialization); WalkListOut documents its shape.
        if walklist.body is None:
            response = current_app.response_class(status=304)
        else:
            response = current_app.response_class(walklist.body, mimetype="application/json")
        response.set_etag(walklist.etag)
        response.cache_control.private = True
        response.cache_control.no_cache = True
        return response


@blp.route("/entry-codes/<string:code>")
class EntryCode(MethodView):
    @requires_roles(*WRITERS)
    @blp.arguments(EntryCodeArgs, location="query")
    @blp.response(200, EntryCodeOut)
    @blp.alt_response(422, description="entry_code_invalid: not a code, or a typo (the check character does not "
                                        "match); entry_code_not_on_assignment")
    @blp.alt_response(404, description="entry_code_not_found: no door of this organization has this code; "
                                        "assignment_not_found")
    def get(self, args, code):
        """The door an entry code of a paper walk list names: household, address, residents, turfs, leases.

        For a lead keying a sheet back in. A single mistyped character or two swapped neighbours are caught
        (422, "typo"); a code of no door of this organization is 404, never another door.
        """
        user = current_user()
        with transaction(db.session) as session:
            match = resolve_entry_code(session, organization_id=user.organization_id, code=code,
                                       assignment_id=args.get("assignment_id"))
        body = dict(vars(match))
        if "sheet" in args:
            body["client_id"] = sheet_client_id(args["sheet"], match.household_id)
        return body

