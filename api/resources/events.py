from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import (
    AttendanceBatch,
    AttendanceOut,
    AttendanceResultOut,
    EventCreate,
    EventListArgs,
    EventOut,
    EventPage,
    EventUpdate,
)
from canvass.db import transaction
from canvass.pipeline import events

blp = Blueprint("events", __name__, url_prefix="/v1",
                description="Events (canvass shifts, meetings, actions) and who signed up for and attended them")

STAFF = ("admin", "organizer", "field_lead")


def _with_counts(session, organization_id, rows):
    counts = events.attendance_counts(session, organization_id=organization_id, event_ids=[e.id for e in rows])
    for event in rows:
        event.attendance = counts.get(event.id, {})
    return rows


@blp.route("/events")
class Events(MethodView):
    @requires_roles(*STAFF)
    @blp.arguments(EventListArgs, location="query")
    @blp.response(200, EventPage)
    def get(self, args):
        """Events, newest first; filter by start (`from`, `to`) and `kind`; page with `cursor`."""
        organization_id = current_user().organization_id
        with transaction(db.session) as session:
            rows = events.list_events(
                session, organization_id=organization_id, starts_from=args.get("starts_from"),
                starts_to=args.get("starts_to"), kind=args.get("kind"), before_id=args.get("cursor"),
                limit=args["limit"],
            )
            _with_counts(session, organization_id, rows)
        return {"data": rows, "next_cursor": rows[-1].id if len(rows) == args["limit"] else None}

    @requires_roles(*STAFF)
    @blp.arguments(EventCreate)
    @blp.response(201, EventOut)
    @blp.alt_response(409, description="event_exists: the external_id is taken")
    def post(self, body):
        """Create an event; another organization's ward, campaign or person is not found (404)."""
        with transaction(db.session) as session:
            return events.create_event(
                session, organization_id=current_user().organization_id, created_by_id=current_user().id, **body
            )


@blp.route("/events/<int:event_id>")
class EventItem(MethodView):
    @requires_roles(*STAFF)
    @blp.response(200, EventOut)
    def get(self, event_id):
        organization_id = current_user().organization_id
        with transaction(db.session) as session:
            event = events.get_event(session, organization_id=organization_id, event_id=event_id)
            return _with_counts(session, organization_id, [event])[0]

    @requires_roles(*STAFF)
    @blp.arguments(EventUpdate)
    @blp.response(200, EventOut)
    def patch(self, body, event_id):
        """Change an event. Moving or cancelling it updates its attendees' membership and stages."""
        organization_id = current_user().organization_id
        with transaction(db.session) as session:
            event = events.update_event(session, organization_id=organization_id, event_id=event_id, **body)
            return _with_counts(session, organization_id, [event])[0]


@blp.route("/events/<int:event_id>/attendance")
class EventAttendance(MethodView):
    @requires_roles(*STAFF)
    @blp.response(200, AttendanceOut(many=True))
    def get(self, event_id):
        """Who signed up, attended, didn't show."""
        with transaction(db.session) as session:
            return events.list_attendance(session, organization_id=current_user().organization_id, event_id=event_id)

    @requires_roles(*STAFF)
    @blp.arguments(AttendanceBatch)
    @blp.response(200, AttendanceResultOut)
    @blp.alt_response(409, description="event_cancelled, or event_not_started for attended/no_show")
    @blp.alt_response(413, description="too_many_records: more than 500")
    def post(self, body, event_id):
        """Sign people up or record attendance: upserted by (event, person), all or nothing."""
        with transaction(db.session) as session:
            return events.record_attendance(
                session, organization_id=current_user().organization_id, event_id=event_id,
                records=body["records"], recorded_by_id=current_user().id,
            )
