"""Bearer-token authentication and the role check every endpoint declares.

    @blp.route("/users")
    class Users(MethodView):
        @requires_roles("admin")
        def get(self): ...

`requires_roles()` with no role means "any signed-in user". The decorator also
marks the operation as secured in the OpenAPI document.
"""
from __future__ import annotations

from copy import deepcopy
from functools import wraps

from flask import request

from api.extensions import db
from canvass.auth.services import Principal, resolve_token, touch_token
from canvass.db import transaction
from canvass.errors import Forbidden, Unauthorized

BEARER_SECURITY = [{"bearerAuth": []}]


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized("sign in first: send Authorization: Bearer <token>", code="missing_token")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <token>'", code="invalid_token")
    return value.strip()


# Kept on the request (not on `g`, which lives as long as the app context and
# can outlive one request).
_USER_KEY = "canvass.user"


def authenticate_request() -> Principal:
    """The request's principal (401 unless its bearer token is live right now).

    The lookup is a read and is left in the session's transaction, which the view's own
    `transaction(...)` then commits: one connection checkout and one transaction per request
    instead of two. Only the once-a-minute `last_used_at` write commits here, by itself.
    """
    if _USER_KEY not in request.environ:
        principal = resolve_token(db.session, raw_token=_bearer_token())
        if principal.token_needs_touch:
            with transaction(db.session) as session:
                touch_token(session, organization_id=principal.organization_id, token_id=principal.token_id)
        request.environ[_USER_KEY] = principal
    return request.environ[_USER_KEY]


def set_current_user(principal: Principal) -> None:
    """The request acts as `principal` (the console's session cookie resolved it: api/web/session.py)."""
    request.environ[_USER_KEY] = principal


def current_user() -> Principal:
    return request.environ[_USER_KEY]


def client_ip() -> str | None:
    # Behind a proxy, configure ProxyFix; remote_addr is then the client's address.
    return request.remote_addr


def requires_roles(*roles: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = authenticate_request()
            if roles and not user.has_any_role(*roles):
                raise Forbidden(
                    f"this needs one of the roles: {', '.join(roles)}",
                    code="forbidden",
                    details={"required_roles": list(roles)},
                )
            return view(*args, **kwargs)

        apidoc = deepcopy(getattr(view, "_apidoc", {}))
        manual = apidoc.setdefault("manual_doc", {})
        manual["security"] = BEARER_SECURITY
        if roles:
            manual.setdefault("description", "")
            manual["description"] = (manual["description"] + f"\n\nRoles: {', '.join(roles)}.").strip()
        wrapper._apidoc = apidoc
        return wrapper

    return decorator
