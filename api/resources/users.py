from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.auth import RevokedOut, UserCreate, UserListArgs, UserOut, UserUpdate
from canvass.auth import services as users
from canvass.db import transaction
from canvass.operations import accounts

blp = Blueprint("users", __name__, url_prefix="/v1", description="The organization's users (admins manage them)")


@blp.route("/users")
class Users(MethodView):
    @requires_roles("admin", "organizer", "field_lead")
    @blp.arguments(UserListArgs, location="query")
    @blp.response(200, UserOut(many=True))
    def get(self, args):
        """Users of the caller's organization, optionally by role (`?role=canvasser`)."""
        with transaction(db.session) as session:
            return users.list_users(
                session,
                organization_id=current_user().organization_id,
                role=args.get("role"),
                include_inactive=args["include_inactive"],
            )

    @requires_roles("admin")
    @blp.arguments(UserCreate)
    @blp.response(201, UserOut)
    @blp.alt_response(409, description="email_taken")
    def post(self, body):
        """Create a user in the caller's organization."""
        with transaction(db.session) as session:
            return users.create_user(
                session, organization_id=current_user().organization_id, actor=current_user(),
                ip_address=client_ip(), **body,
            )


@blp.route("/users/<int:user_id>")
class UserItem(MethodView):
    @requires_roles("admin", "organizer", "field_lead")
    @blp.response(200, UserOut)
    def get(self, user_id):
        with transaction(db.session) as session:
            return users.get_user(session, organization_id=current_user().organization_id, user_id=user_id)

    @requires_roles("admin")
    @blp.arguments(UserUpdate)
    @blp.response(200, UserOut)
    def patch(self, body, user_id):
        """Change name, phone, roles, password, or (de)activate. Role changes are audited."""
        with transaction(db.session) as session:
            return accounts.update_user(
                session, organization_id=current_user().organization_id, user_id=user_id,
                actor=current_user(), ip_address=client_ip(), **body,
            )

    @requires_roles("admin")
    @blp.response(200, UserOut)
    def delete(self, user_id):
        """Deactivate the user: history stays, every token stops working."""
        with transaction(db.session) as session:
            return accounts.deactivate_user(
                session, organization_id=current_user().organization_id, user_id=user_id,
                actor=current_user(), ip_address=client_ip(),
            )


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @requires_roles("admin")
    @blp.response(200, RevokedOut)
    def delete(self, user_id):
        """Revoke every token of the user (a lost phone) without deactivating them."""
        with transaction(db.session) as session:
            count = users.revoke_all_tokens(
                session, organization_id=current_user().organization_id, user_id=user_id,
                actor=current_user(), ip_address=client_ip(),
            )
        return {"revoked": count}
