from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import DuesCreate, DuesListArgs, DuesOut, DuesPage, DuesVoid
from canvass.db import transaction
from canvass.pipeline import dues

blp = Blueprint("dues", __name__, url_prefix="/v1",
                description="Dues payments as recorded (amount, date, method, period covered); not payment processing")

TREASURERS = ("admin", "organizer")


@blp.route("/dues")
class Dues(MethodView):
    @requires_roles(*TREASURERS)
    @blp.arguments(DuesListArgs, location="query")
    @blp.response(200, DuesPage)
    def get(self, args):
        """Payments, newest first (`?person_id=`); page with `cursor`."""
        with transaction(db.session) as session:
            rows = dues.list_payments(session, organization_id=current_user().organization_id,
                                      person_id=args.get("person_id"), before_id=args.get("cursor"),
                                      limit=args["limit"])
        return {"data": rows, "next_cursor": rows[-1].id if len(rows) == args["limit"] else None}

    @requires_roles(*TREASURERS)
    @blp.arguments(DuesCreate)
    @blp.response(201, DuesOut)
    @blp.alt_response(409, description="dues_payment_exists: the external_id is already recorded")
    def post(self, body):
        """Record a payment; the member's standing is recomputed right after."""
        with transaction(db.session) as session:
            return dues.record_payment(session, organization_id=current_user().organization_id,
                                       recorded_by_id=current_user().id, **body)


@blp.route("/dues/<int:payment_id>")
class DuesItem(MethodView):
    @requires_roles(*TREASURERS)
    @blp.response(200, DuesOut)
    def get(self, payment_id):
        with transaction(db.session) as session:
            return dues.get_payment(session, organization_id=current_user().organization_id, payment_id=payment_id)


@blp.route("/dues/<int:payment_id>/void")
class DuesVoiding(MethodView):
    @requires_roles(*TREASURERS)
    @blp.arguments(DuesVoid)
    @blp.response(200, DuesOut)
    @blp.alt_response(409, description="dues_payment_voided: already voided")
    def post(self, body, payment_id):
        """Void a mistaken entry (kept in the books, audited, no longer counted)."""
        with transaction(db.session) as session:
            return dues.void_payment(session, organization_id=current_user().organization_id, payment_id=payment_id,
                                     reason=body["reason"], actor_user_id=current_user().id)
