from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import client_ip, current_user, requires_roles
from api.extensions import db
from api.schemas.auth import MeOut, TokenCreate, TokenOut
from api.throttle import check_login_allowed, clear_login_failures, record_login_failure
from canvass.auth.services import authenticate, issue_token, revoke_token
from canvass.db import transaction
from canvass.errors import Unauthorized
from canvass.normalize import normalize_email

blp = Blueprint("auth", __name__, url_prefix="/v1", description="Sign-in, tokens and the signed-in user")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenCreate)
    @blp.response(200, TokenOut)
    @blp.alt_response(401, description="invalid_credentials")
    @blp.alt_response(429, description="too_many_attempts, with Retry-After")
    def post(self, body):
        """Sign in with e-mail and password; returns a bearer token."""
        settings = current_app.config["CANVASS_SETTINGS"]
        email, ip = normalize_email(body["email"]), client_ip()
        check_login_allowed(email, ip)
        with transaction(db.session) as session:
            user = authenticate(session, email=email, password=body["password"], ip_address=ip)
            if user is not None:
                issued = issue_token(session, user=user, ttl=timedelta(hours=settings.token_ttl_hours), label=body.get("label"))
        if user is None:
            record_login_failure(email, ip)
            raise Unauthorized("e-mail or password is wrong", code="invalid_credentials")
        clear_login_failures(email)
        return {
            "access_token": issued.raw,
            "token_type": "Bearer",
            "expires_in": settings.token_ttl_hours * 3600,
            "user": issued.user,
        }

    @requires_roles()
    @blp.response(204)
    def delete(self):
        """Revoke the token this request is made with (a lost or handed-back phone)."""
        user = current_user()
        with transaction(db.session) as session:
            revoke_token(session, token_id=user.token_id, actor=user, ip_address=client_ip())
        return None


@blp.route("/me")
class Me(MethodView):
    @requires_roles()
    @blp.response(200, MeOut)
    def get(self):
        """The signed-in user, their roles and organization."""
        return current_user()
