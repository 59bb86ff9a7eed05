from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.canvassing import FollowUpArgs, FollowUpAttemptIn, FollowUpPage, PledgeOut
from canvass.canvassing import followups
from canvass.db import transaction

blp = Blueprint("followups", __name__, url_prefix="/v1", description="Pledge cards and the follow-up calls organizers make")


@blp.route("/follow-ups")
class FollowUps(MethodView):
    # Field leads work the list too, from the dashboard.
    @requires_roles("organizer", "field_lead", "admin")
    @blp.arguments(FollowUpArgs, location="query")
    @blp.response(200, FollowUpPage)
    def get(self, args):
        """Follow-ups due (by `due_before`, default now), soonest first. Do-not-contact is never listed."""
        with transaction(db.session) as session:
            rows = followups.list_due_follow_ups(session, organization_id=current_user().organization_id, **args)
        next_cursor = followups.follow_up_cursor(rows[-1]["pledge"]) if len(rows) == args["limit"] else None
        return {"data": rows, "next_cursor": next_cursor}


@blp.route("/pledges/<int:pledge_id>")
class PledgeItem(MethodView):
    @requires_roles("organizer", "admin", "field_lead")
    @blp.response(200, PledgeOut)
    def get(self, pledge_id):
        with transaction(db.session) as session:
            return followups.get_pledge(session, organization_id=current_user().organization_id, pledge_id=pledge_id)


@blp.route("/pledges/<int:pledge_id>/follow-ups")
class PledgeFollowUps(MethodView):
    @requires_roles("organizer", "admin")
    @blp.arguments(FollowUpAttemptIn)
    @blp.response(201, PledgeOut)
    @blp.alt_response(409, description="follow_up_closed: the plan is done, declined or without consent")
    def post(self, body, pledge_id):
        """Log a follow-up call; the card's plan moves on (next call, a pause, or closed)."""
        with transaction(db.session) as session:
            return followups.record_follow_up_attempt(
                session, organization_id=current_user().organization_id, pledge_id=pledge_id,
                actor=current_user(), ip_address=client_ip(), **body,
            )
