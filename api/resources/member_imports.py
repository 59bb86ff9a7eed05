"""CSV uploads of attendance sheets and dues records: the same import as the CLI, over HTTP."""
from __future__ import annotations

import io

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.auth import current_user, requires_roles
from api.extensions import db
from canvass.db import transaction
from canvass.errors import MalformedInput
from canvass.pipeline.imports import import_attendance, import_dues

blp = Blueprint("member_imports", __name__, url_prefix="/v1",
                description="CSV imports of attendance and dues (bad rows reported by line and skipped)")

SHOWN_SKIPS = 200
_CSV_BODY = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}}


class SkippedRow(Schema):
    line = fields.Integer()
    reason = fields.String()


class ImportReportOut(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    events_created = fields.Integer()
    skipped_count = fields.Integer()
    skipped = fields.List(fields.Nested(SkippedRow), metadata={"description": f"the first {SHOWN_SKIPS}"})


def _csv_body() -> io.StringIO:
    if request.mimetype not in ("text/csv", "text/plain"):
        raise MalformedInput("send the CSV file as the body, with Content-Type: text/csv", code="expected_csv")
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark.
        return io.StringIO(request.get_data().decode("utf-8-sig"), newline="")
    except UnicodeDecodeError:
        raise MalformedInput("the CSV file is not UTF-8 text", code="not_utf8") from None


def _import(importer) -> dict:
    user = current_user()
    with transaction(db.session) as session:
        report = importer(session, organization_id=user.organization_id, file=_csv_body(), recorded_by_id=user.id)
    return {
        "rows": report.rows, "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
        "events_created": report.events_created, "skipped_count": report.skipped_count,
        "skipped": [{"line": line, "reason": reason} for line, reason in report.skipped[:SHOWN_SKIPS]],
    }


@blp.route("/attendance-imports")
class AttendanceImports(MethodView):
    @requires_roles("organizer", "admin")
    @blp.doc(**_CSV_BODY)
    @blp.response(200, ImportReportOut)
    def post(self):
        """Import a sign-in sheet: event_id or event_external_id (with event_title, event_kind, event_starts_at
        to create the event), person_id, person_external_id or email, status. Re-imports never duplicate."""
        return _import(import_attendance)


@blp.route("/dues-imports")
class DuesImports(MethodView):
    @requires_roles("organizer", "admin")
    @blp.doc(**_CSV_BODY)
    @blp.response(200, ImportReportOut)
    def post(self):
        """Import dues payments: person_id, person_external_id or email; amount (or amount_cents), paid_on,
        method, period_start, period_end; optional external_id, note. Re-imports update by external_id."""
        return _import(import_dues)
