from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.auth import AuditListArgs, AuditPage
from canvass.audit.services import list_audit_events
from canvass.db import transaction

blp = Blueprint("audit", __name__, url_prefix="/v1", description="The organization's audit log")


@blp.route("/audit-events")
class AuditEvents(MethodView):
    @requires_roles("admin")
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditPage)
    def get(self, args):
        """Security-relevant events, newest first; page with `cursor` = the previous `next_cursor`."""
        with transaction(db.session) as session:
            events = list_audit_events(
                session,
                organization_id=current_user().organization_id,
                action=args.get("action"),
                before_id=args.get("cursor"),
                limit=args["limit"],
            )
        next_cursor = events[-1].id if len(events) == args["limit"] else None
        return {"data": events, "next_cursor": next_cursor}
