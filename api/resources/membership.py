from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_user, requires_roles
from api.extensions import db
from api.schemas.pipeline import (
    AttestationCreate,
    AttestationOut,
    EvaluationArgs,
    EvaluationOut,
    MembershipOut,
    PipelineOut,
    RuleOut,
    RuleTreeUpdate,
    RuleUpdate,
    RuleVersionOut,
    UserLink,
    UserLinkOut,
)
from canvass.db import transaction
from canvass.errors import Forbidden
from canvass.pipeline import membership, rules, stages, votes

blp = Blueprint("membership", __name__, url_prefix="/v1",
                description="Membership: the rule (versioned trees of conditions), each person's standing and pipeline")

STAFF = ("admin", "organizer", "field_lead")


@blp.route("/membership-rule")
class MembershipRule(MethodView):
    @requires_roles("admin", "organizer")
    @blp.response(200, RuleOut)
    def get(self):
        """The membership settings: the monthly dues, the leader criteria, and the parameters of the
        default rule tree (dues covering the date plus grace days OR N events in M months)."""
        with transaction(db.session) as session:
            return membership.get_membership_rule(session, organization_id=current_user().organization_id).as_settings()

    @requires_roles("admin", "organizer")
    @blp.arguments(RuleUpdate)
    @blp.response(200, RuleOut)
    @blp.alt_response(409, description="membership_rule_customised: the rule in force is a customised tree")
    def patch(self, body):
        """Change the settings (fields given are changed); everyone's standing is then rebuilt. Audited.
        `grace_days`, `events_required` and `window_months` parameterise the default rule tree: a change
        is a new rule version in force from now, refused (409) when the rule in force is a customised tree."""
        with transaction(db.session) as session:
            return membership.update_membership_rule(
                session, organization_id=current_user().organization_id, changes=body,
                actor_user_id=current_user().id,
            ).as_settings()


@blp.route("/membership-rule/tree")
class MembershipRuleTree(MethodView):
    @requires_roles("admin", "organizer")
    @blp.response(200, RuleVersionOut)
    def get(self):
        """The membership rule as an AND/OR tree of conditions: the version in force now."""
        with transaction(db.session) as session:
            return rules.rule_in_force(session, organization_id=current_user().organization_id)

    @requires_roles("admin")
    @blp.arguments(RuleTreeUpdate)
    @blp.response(200, RuleVersionOut)
    @blp.alt_response(422, description="invalid_rule: details name each bad node by its path")
    def put(self, body):
        """A new version of the rule, in force from now; earlier versions keep deciding earlier dates.
        Audited. `warnings` says when nobody would meet it."""
        with transaction(db.session) as session:
            return rules.set_membership_rule(session, organization_id=current_user().organization_id,
                                             tree=body["tree"], note=body["note"], actor_user_id=current_user().id)


@blp.route("/membership-rule/versions")
class MembershipRuleVersions(MethodView):
    @requires_roles("admin", "organizer")
    @blp.response(200, RuleVersionOut(many=True))
    def get(self):
        """Every version of the rule, newest first."""
        with transaction(db.session) as session:
            return rules.list_rule_versions(session, organization_id=current_user().organization_id)


@blp.route("/people/<int:person_id>/membership/evaluation")
class PersonMembershipEvaluation(MethodView):
    @requires_roles("admin", "organizer", "field_lead", "canvasser")
    @blp.arguments(EvaluationArgs, location="query")
    @blp.response(200, EvaluationOut)
    def get(self, args, person_id):
        """The rule in force at the end of `as_of` evaluated for the person now, from the facts: the tree
        with each node met or not, in words. Staff see anyone; a member their own."""
        user = current_user()
        if not user.has_any_role(*STAFF) and user.person_id != person_id:
            raise Forbidden("you can see your own membership only", code="forbidden")
        with transaction(db.session) as session:
            return rules.explain_person(session, organization_id=user.organization_id, person_id=person_id,
                                        as_of=args.get("as_of"))


@blp.route("/people/<int:person_id>/attestations")
class PersonAttestations(MethodView):
    @requires_roles(*STAFF)
    @blp.response(200, AttestationOut(many=True))
    def get(self, person_id):
        """The person's endorsements and admin overrides, newest first (revoked ones included)."""
        with transaction(db.session) as session:
            return rules.list_attestations(session, organization_id=current_user().organization_id,
                                           person_id=person_id)


def _record_attestation(kind: str, body: dict, person_id: int):
    """An endorsement or an admin's override of the caller's organization, in one transaction."""
    user = current_user()
    with transaction(db.session) as session:
        return rules.record_attestation(session, organization_id=user.organization_id, person_id=person_id,
                                        kind=kind, actor=user, **body)


@blp.route("/people/<int:person_id>/endorsements")
class PersonEndorsements(MethodView):
    @requires_roles(*STAFF)
    @blp.arguments(AttestationCreate)
    @blp.response(201, AttestationOut)
    def post(self, body, person_id):
        """Endorse the person in one of your roles (the `endorsed` condition), until `expires_at`. Audited."""
        return _record_attestation("endorsement", body, person_id)


@blp.route("/people/<int:person_id>/membership-overrides")
class PersonOverrides(MethodView):
    @requires_roles("admin")
    @blp.arguments(AttestationCreate)
    @blp.response(201, AttestationOut)
    def post(self, body, person_id):
        """An admin's manual override (the `admin_override` condition), with a reason. Audited."""
        return _record_attestation("override", body, person_id)


@blp.route("/people/<int:person_id>/attestations/<int:attestation_id>")
class PersonAttestation(MethodView):
    @requires_roles(*STAFF)
    @blp.response(200, AttestationOut)
    def delete(self, person_id, attestation_id):
        """Revoke an endorsement (an override: admins only); the record stays, with its revocation. Audited."""
        user = current_user()
        with transaction(db.session) as session:
            return rules.revoke_attestation(session, organization_id=user.organization_id, person_id=person_id,
                                            attestation_id=attestation_id, actor=user)


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
