"""Streamed exports for organizers and admins: CSV lists and OSDI canvasses (canvass/exports/)."""
from __future__ import annotations

import dataclasses
import math
from datetime import date, timedelta

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.replica import choose_read_session, read_source
from api.schemas.dashboards import ExportArgs
from canvass.db import transaction
from canvass.exports import plans, streaming

blp = Blueprint("exports", __name__, url_prefix="/v1/exports",
                description="Streamed exports (no row limit), filtered, audited; do-not-contact honoured")


def _streamed(plan: plans.ExportPlan, started_event_id: int, actor_user_id: int, ip: str | None) -> Response:
    # The rows may come from the read replica; the audit events are written on the primary.
    read_session, on_replica = choose_read_session()
    source = read_source()
    if on_replica and source is not None and source.lag_seconds:
        # The replica's rows are up to its lag older than the primary's clock: the next incremental
        # export must start that much earlier, or it would skip what the replica had not yet replayed.
        plan = dataclasses.replace(
            plan, next_changed_since=plan.next_changed_since - timedelta(seconds=math.ceil(source.lag_seconds)))

    def body():
        progress = streaming.ExportProgress()
        try:
            with transaction(read_session) as session:
                yield from streaming.stream_export(session, plan=plan, progress=progress)
        finally:
            if on_replica:
                read_session.close()
            # Also when the client went away mid-stream (GeneratorExit): the count so far is recorded.
            with transaction(db.session) as session:
                streaming.record_export_finished(session, plan=plan, started_event_id=started_event_id,
                                                 progress=progress, actor_user_id=actor_user_id, ip_address=ip)

    response = Response(stream_with_context(body()), content_type=streaming.content_type(plan))
    if on_replica:
        response.call_on_close(read_session.close)  # also when the body never started
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{streaming.filename(plan, date.today().isoformat())}"')
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Next-Changed-Since"] = plan.next_changed_since.isoformat()
    return response


# Filters are strict (unknown=RAISE below): a misspelt filter must not export more than was asked.
def _export(kind: str, args: dict) -> Response:
    user, ip = current_user(), client_ip()
    # Filters are checked (and the export audited) before the first byte: errors are still 4xx.
    with transaction(db.session) as session:
        plan = plans.plan_export(session, organization_id=user.organization_id, kind=kind, **args)
        started = streaming.record_export_started(session, plan=plan, actor_user_id=user.id, ip_address=ip)
        started_id = started.id
    return _streamed(plan, started_id, user.id, ip)


@blp.route("/<any(contacts, pledges, people, members):kind>")
class CsvExport(MethodView):
    @requires_roles("organizer", "admin")
    @blp.arguments(ExportArgs, location="query", unknown=RAISE)
    @blp.response(200, content_type="text/csv", description="CSV with a header row, in id order")
    def get(self, args, kind):
        """contacts, pledges, people or members as CSV. Contact lists leave do-not-contact out; people and
        members keep them, marked, with phone and e-mail blank. `X-Next-Changed-Since` is the
        `changed_since` for the next incremental export."""
        return _export(kind, args)


@blp.route("/canvasses")
class OsdiCanvasses(MethodView):
    @requires_roles("organizer", "admin")
    @blp.arguments(ExportArgs, location="query", unknown=RAISE)
    @blp.response(200, content_type="application/hal+json",
                  description='{"_embedded": {"osdi:canvasses": [...]}, "total_records": N}')
    def get(self, args):
        """Contacts as OSDI canvasses with embedded answers, target and canvasser (streamed)."""
        return _export("canvasses", args)
