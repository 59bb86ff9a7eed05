"""Organizer and field-lead dashboards, read from the rollups (canvass/dashboards/queries.py)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from api.auth import current_user, requires_roles
from api.replica import read_transaction
from api.schemas.dashboards import (
    ActivityArgs,
    AffiliateActivityOut,
    CoalitionOut,
    LeaderboardArgs,
    LeaderboardOut,
    RangeArgs,
    RosterArgs,
    RosterPage,
    ScopeArgs,
    SummaryOut,
    TurfProgressOut,
)
from canvass.dashboards import queries

blp = Blueprint("dashboards", __name__, url_prefix="/v1/dashboards",
                description="Dashboards for organizers and field leads: progress, leaderboard, roster, coalition")

LEADS = ("organizer", "field_lead", "admin")
# Query filters are strict (unknown=RAISE): a misspelt filter must not silently widen the result.


@blp.route("/turfs")
class TurfProgress(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(ScopeArgs, location="query", unknown=RAISE)
    @blp.response(200, TurfProgressOut)
    def get(self, args):
        """Live turfs (of a ward, or all) as a GeoJSON FeatureCollection with their progress."""
        with read_transaction() as session:
            return queries.turf_progress(session, organization_id=current_user().organization_id, **args)


@blp.route("/summary")
class Summary(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(ActivityArgs, location="query", unknown=RAISE)
    @blp.response(200, SummaryOut)
    def get(self, args):
        """Door attempts, doors, conversations, pledges and flags per local day, and in total."""
        with read_transaction() as session:
            return queries.activity_summary(session, organization_id=current_user().organization_id, **args)


@blp.route("/leaderboard")
class Leaderboard(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(LeaderboardArgs, location="query", unknown=RAISE)
    @blp.response(200, LeaderboardOut)
    def get(self, args):
        """Canvassers ranked by doors, with conversations, pledges and integrity flags."""
        with read_transaction() as session:
            return queries.canvasser_leaderboard(session, organization_id=current_user().organization_id, **args)


@blp.route("/roster")
class Roster(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(RosterArgs, location="query", unknown=RAISE)
    @blp.response(200, RosterPage)
    def get(self, args):
        """Members and lapsed members: standing now (who may vote) and why, by person id."""
        with read_transaction() as session:
            rows = queries.membership_roster(
                session, organization_id=current_user().organization_id, ward=args.get("ward"),
                status=args.get("status"), limit=args["limit"], after_person_id=args.get("cursor"),
            )
        next_cursor = rows[-1]["person"]["id"] if len(rows) == args["limit"] else None
        return {"data": rows, "next_cursor": next_cursor}


@blp.route("/coalition")
class Coalition(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(RangeArgs, location="query", unknown=RAISE)
    @blp.response(200, CoalitionOut)
    def get(self, args):
        """A coalition's affiliates with aggregate counts only (never their people)."""
        with read_transaction() as session:
            return queries.coalition_overview(session, organization_id=current_user().organization_id, **args)


@blp.route("/coalition/<int:affiliate_id>")
class Affiliate(MethodView):
    @requires_roles(*LEADS)
    @blp.arguments(RangeArgs, location="query", unknown=RAISE)
    @blp.response(200, AffiliateActivityOut)
    @blp.alt_response(404, description="affiliate_not_found: not under the caller's coalition")
    def get(self, args, affiliate_id):
        """One affiliate's activity by day and funnel counts."""
        with read_transaction() as session:
            return queries.affiliate_activity(
                session, organization_id=current_user().organization_id, affiliate_id=affiliate_id, **args,
            )
