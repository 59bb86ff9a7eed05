from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import MembershipOut, PipelineOut, RuleOut, RuleUpdate, UserLink, UserLinkOut
from canvass.db import transaction
from canvass.errors import Forbidden
from canvass.pipeline import membership, stages, votes

blp = Blueprint("membership", __name__, url_prefix="/v1",
                description="Membership: the rule (dues OR participation), each person's standing and pipeline")

STAFF = ("admin", "organizer", "field_lead")


@blp.route("/membership-rule")
class MembershipRule(MethodView):
    @requires_roles("admin", "organizer")
    @blp.response(200, RuleOut)
    def get(self):
        """Who is a member: dues covering today (plus grace days) OR N events in the trailing M months."""
        with transaction(db.session) as session:
            return membership.get_membership_rule(session, organization_id=current_user().organization_id).as_settings()

    @requires_roles("admin", "organizer")
    @blp.arguments(RuleUpdate)
    @blp.response(200, RuleOut)
    def patch(self, body):
        """Change the rule (fields given are changed); everyone's standing is then rebuilt. Audited."""
        with transaction(db.session) as session:
            return membership.update_membership_rule(
                session, organization_id=current_user().organization_id, changes=body,
                actor_user_id=current_user().id,
            ).as_settings()


@blp.route("/people/<int:person_id>/membership")
class PersonMembership(MethodView):
    @requires_roles("admin", "organizer", "field_lead", "canvasser")
    @blp.response(200, MembershipOut)
    def get(self, person_id):
        """Member or not, since when, and why; with the dated history. Staff see anyone; a member
        signed in with their own account sees their own."""
        user = current_user()
        if not user.has_any_role(*STAFF) and user.person_id != person_id:
            raise Forbidden("you can see your own membership only", code="forbidden")
        with transaction(db.session) as session:
            return membership.get_person_membership(session, organization_id=user.organization_id,
                                                    person_id=person_id)


@blp.route("/people/<int:person_id>/pipeline")
class PersonPipeline(MethodView):
    @requires_roles(*STAFF)
    @blp.response(200, PipelineOut)
    def get(self, person_id):
        """The person's stage, when they first reached each stage, and every transition with its cause."""
        with transaction(db.session) as session:
            return stages.get_person_pipeline(session, organization_id=current_user().organization_id,
                                              person_id=person_id)


@blp.route("/people/<int:person_id>/user")
class PersonUser(MethodView):
    @requires_roles("admin")
    @blp.arguments(UserLink)
    @blp.response(200, UserLinkOut)
    @blp.alt_response(409, description="user_already_linked: the account belongs to another person")
    def put(self, body, person_id):
        """Link the account a member signs in with: they can then cast their own ballots. Audited."""
        with transaction(db.session) as session:
            votes.link_user_to_person(session, organization_id=current_user().organization_id, person_id=person_id,
                                      user_id=body["user_id"], actor_user_id=current_user().id)
        return {"person_id": person_id, "user_id": body["user_id"]}

    @requires_roles("admin")
    @blp.response(200, UserLinkOut)
    def delete(self, person_id):
        """Unlink the person's account. Audited."""
        with transaction(db.session) as session:
            votes.link_user_to_person(session, organization_id=current_user().organization_id, person_id=person_id,
                                      user_id=None, actor_user_id=current_user().id)
        return {"person_id": person_id, "user_id": None}
