from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.teams import TeamCreate, TeamListArgs, TeamMemberAdd, TeamMembersReplace, TeamOut, TeamUpdate
from api.schemas.turfs import ReasonArgs
from canvass.db import transaction
from canvass.turfs import teams

blp = Blueprint("teams", __name__, url_prefix="/v1",
                description="Teams of canvassers: a turf leased to a team can be walked by each of its members")

# As for turfs and leases: leads and organizers manage teams, admins may look.
READERS = ("field_lead", "organizer", "admin")
WRITERS = ("field_lead", "organizer")


def _scope() -> dict:
    user = current_user()
    return {"organization_id": user.organization_id, "actor_id": user.id, "ip_address": client_ip()}


@blp.route("/teams")
class Teams(MethodView):
    @requires_roles(*READERS)
    @blp.arguments(TeamListArgs, location="query")
    @blp.response(200, TeamOut(many=True))
    def get(self, args):
        """The organization's teams (`?status=archived` for retired ones), with members and live leases."""
        with transaction(db.session) as session:
            return teams.list_teams(session, organization_id=current_user().organization_id, **args)

    @requires_roles(*WRITERS)
    @blp.arguments(TeamCreate)
    @blp.response(201, TeamOut)
    @blp.alt_response(409, description="team_name_taken")
    def post(self, body):
        """Create a team, with its first members if given (active canvassers of the organization)."""
        with transaction(db.session) as session:
            return teams.create_team(session, **_scope(), **body)


@blp.route("/teams/<int:team_id>")
class TeamItem(MethodView):
    @requires_roles(*READERS)
    @blp.response(200, TeamOut)
    def get(self, team_id):
        with transaction(db.session) as session:
            return teams.get_team(session, organization_id=current_user().organization_id, team_id=team_id)

    @requires_roles(*WRITERS)
    @blp.arguments(TeamUpdate)
    @blp.response(200, TeamOut)
    @blp.alt_response(409, description="team_name_taken, team_assigned (archiving a team that holds a lease)")
    def patch(self, body, team_id):
        """Rename, archive (`status: archived`) or reopen (`status: active`) a team."""
        with transaction(db.session) as session:
            return teams.update_team(session, team_id=team_id, **_scope(), **body)


@blp.route("/teams/<int:team_id>/members")
class TeamMembers(MethodView):
    @requires_roles(*WRITERS)
    @blp.arguments(TeamMembersReplace)
    @blp.response(200, TeamOut)
    @blp.alt_response(409, description="team_archived")
    def put(self, body, team_id):
        """Make the team exactly these canvassers; its live leases follow (leavers leave them, joiners join)."""
        with transaction(db.session) as session:
            return teams.set_team_members(session, team_id=team_id, **_scope(), **body)

    @requires_roles(*WRITERS)
    @blp.arguments(TeamMemberAdd)
    @blp.response(200, TeamOut)
    @blp.alt_response(409, description="team_archived")
    def post(self, body, team_id):
        """Put a canvasser on the team, and on its live leases from now on."""
        with transaction(db.session) as session:
            return teams.add_team_member(session, team_id=team_id, **_scope(), **body)


@blp.route("/teams/<int:team_id>/members/<int:user_id>")
class TeamMember(MethodView):
    @requires_roles(*WRITERS)
    @blp.arguments(ReasonArgs, location="query")
    @blp.response(200, TeamOut)
    @blp.alt_response(409, description="team_archived")
    def delete(self, args, team_id, user_id):
        """Take someone off the team, and off its live leases from now on (their earlier work still counts)."""
        with transaction(db.session) as session:
            return teams.remove_team_member(session, team_id=team_id, user_id=user_id, reason=args.get("reason"),
                                            **_scope())
