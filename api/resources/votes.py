from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import (
    BallotCreate,
    BallotOut,
    EligibleOut,
    ExcludedOut,
    PageArgs,
    RecordedBallotCreate,
    VoteCloseIn,
    VoteCreate,
    VoteOut,
    VotePage,
    VoteResultsOut,
)
from canvass.db import transaction
from canvass.pipeline import votes

blp = Blueprint("votes", __name__, url_prefix="/v1",
                description="Endorsement votes: members in good standing at the cutoff vote once each")

ORGANIZERS = ("admin", "organizer")
ANYONE = ("admin", "organizer", "field_lead", "canvasser")


@blp.route("/votes")
class Votes(MethodView):
    @requires_roles(*ANYONE)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, VotePage)
    def get(self, args):
        """The organization's votes, newest first."""
        with transaction(db.session) as session:
            rows = votes.list_votes(session, organization_id=current_user().organization_id,
                                    before_id=args.get("cursor"), limit=args["limit"])
        return {"data": rows, "next_cursor": rows[-1].id if len(rows) == args["limit"] else None}

    @requires_roles(*ORGANIZERS)
    @blp.arguments(VoteCreate)
    @blp.response(201, VoteOut)
    def post(self, body):
        """Open a vote of the organization or of one ward (`scope: ward`, `ward: "33"`). Eligibility is
        taken when it opens: members in good standing at `cutoff_at`, by the membership rule."""
        user = current_user()
        with transaction(db.session) as session:
            vote = votes.create_vote(session, organization_id=user.organization_id, created_by_id=user.id, **body)
            return votes.describe_vote(session, organization_id=user.organization_id, vote_id=vote.id, viewer=user)


@blp.route("/votes/<int:vote_id>")
class VoteItem(MethodView):
    @requires_roles(*ANYONE)
    @blp.response(200, VoteOut)
    def get(self, vote_id):
        """The vote, its status and turnout so far; `mine` says whether the caller may vote and has."""
        user = current_user()
        with transaction(db.session) as session:
            return votes.describe_vote(session, organization_id=user.organization_id, vote_id=vote_id, viewer=user)


@blp.route("/votes/<int:vote_id>/ballot")
class MyBallot(MethodView):
    @requires_roles(*ANYONE)
    @blp.arguments(BallotCreate)
    @blp.response(201, BallotOut)
    @blp.alt_response(403, description="not_eligible")
    @blp.alt_response(409, description="vote_not_open, vote_closed or already_voted")
    def post(self, body, vote_id):
        """Cast your own ballot (your account must be linked to your member record)."""
        user = current_user()
        with transaction(db.session) as session:
            return votes.cast_ballot(session, organization_id=user.organization_id, vote_id=vote_id,
                                     option_id=body["option_id"], actor=user, ip_address=client_ip())


@blp.route("/votes/<int:vote_id>/recorded-ballots")
class RecordedBallots(MethodView):
    @requires_roles(*ORGANIZERS)
    @blp.arguments(RecordedBallotCreate)
    @blp.response(201, BallotOut)
    @blp.alt_response(403, description="not_eligible")
    @blp.alt_response(409, description="vote_not_open, vote_closed or already_voted")
    def post(self, body, vote_id):
        """Record the ballot of a member voting in person at a meeting. Audited."""
        user = current_user()
        with transaction(db.session) as session:
            return votes.cast_ballot(session, organization_id=user.organization_id, vote_id=vote_id,
                                     option_id=body["option_id"], person_id=body["person_id"], actor=user,
                                     ip_address=client_ip())


@blp.route("/votes/<int:vote_id>/close")
class VoteClose(MethodView):
    @requires_roles(*ORGANIZERS)
    @blp.arguments(VoteCloseIn)
    @blp.response(200, VoteOut)
    @blp.alt_response(409, description="vote_not_open or vote_closed")
    def post(self, body, vote_id):
        """Close an open vote now, before its `closes_at` (the meeting has voted). Audited with the reason;
        the ballots cast so far are the result, published at once."""
        user = current_user()
        with transaction(db.session) as session:
            votes.close_vote(session, organization_id=user.organization_id, vote_id=vote_id, actor=user,
                             reason=body["reason"], ip_address=client_ip())
            return votes.describe_vote(session, organization_id=user.organization_id, vote_id=vote_id, viewer=user)


@blp.route("/votes/<int:vote_id>/eligibility")
class VoteEligibility(MethodView):
    @requires_roles(*ORGANIZERS)
    @blp.response(200, EligibleOut(many=True))
    def get(self, vote_id):
        """Who may vote (and why), and who has, for the sign-in table. Empty until the vote opens."""
        with transaction(db.session) as session:
            return votes.list_eligible(session, organization_id=current_user().organization_id, vote_id=vote_id)


@blp.route("/votes/<int:vote_id>/exclusions")
class VoteExclusions(MethodView):
    @requires_roles(*ORGANIZERS)
    @blp.response(200, ExcludedOut(many=True))
    def get(self, vote_id):
        """For a vote with its own rule: who was evaluated at the cutoff and left out, and why (the rule,
        each node met or not, in words). Empty until the vote opens, and for votes under the membership rule."""
        with transaction(db.session) as session:
            return votes.list_exclusions(session, organization_id=current_user().organization_id, vote_id=vote_id)


@blp.route("/votes/<int:vote_id>/results")
class VoteResults(MethodView):
    @requires_roles(*ANYONE)
    @blp.response(200, VoteResultsOut)
    @blp.alt_response(409, description="vote_not_closed: results are published once it closes")
    def get(self, vote_id):
        """Votes per option, turnout and quorum, once the vote has closed."""
        with transaction(db.session) as session:
            return votes.vote_results(session, organization_id=current_user().organization_id, vote_id=vote_id)
