"""The console's credential: a signed session cookie, and the CSRF token every form posts back.

Signing in to the console (/console/sign-in) issues the same kind of token as POST /v1/auth/token
(canvass/auth/services.py: expiry, revocation, deactivation all apply) and keeps it in Flask's signed
session cookie (HttpOnly, SameSite=Lax), never in a URL or in page script. Because the browser sends
that cookie by itself, every POST must carry the session's CSRF token (a hidden `csrf_token` field);
one that does not is refused with 400 and changes nothing.

`page(*roles)` is the console's `requires_roles`: the same role names as the API's views, a redirect
to the sign-in page when there is no live session, 403 for a signed-in user without the role.
"""
from __future__ import annotations

import hmac
import secrets
from functools import wraps

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext

from api.auth import set_current_user
from api.extensions import db
from canvass.auth.services import Principal, resolve_token
from canvass.errors import Unauthorized

TOKEN_KEY = "console_token"
CSRF_KEY = "csrf_token"


def csrf_token() -> str:
    """The session's CSRF token (made on first use, also before sign-in: the sign-in form posts it)."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_KEY]


def csrf_ok() -> bool:
    sent = request.form.get(CSRF_KEY, "")
    expected = session.get(CSRF_KEY, "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def refuse_csrf():
    return render_template("console/message.html", title=gettext("Form expired"), message=gettext(
        "This form has expired or did not come from this site: go back, reload the page and try again.")), 400


def start_session(raw_token: str) -> None:
    session.clear()  # a fresh CSRF token with the new credential (no fixation)
    session[TOKEN_KEY] = raw_token
    session[CSRF_KEY] = secrets.token_urlsafe(32)


def end_session() -> None:
    session.clear()


def session_user() -> Principal | None:
    """The signed-in console user, or None (no cookie, or its token expired or was revoked)."""
    raw = session.get(TOKEN_KEY)
    if not raw:
        return None
    try:
        principal = resolve_token(db.session, raw_token=raw)
    except Unauthorized:
        end_session()
        return None
    finally:
        db.session.rollback()  # the lookup's read transaction ends here; the view opens its own
    set_current_user(principal)
    return principal


def page(*roles: str):
    """A console page for these roles (none: any signed-in user); POSTs must carry the CSRF token."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            user = session_user()
            if user is None:
                return redirect(url_for("console.sign_in", next=request.full_path.rstrip("?")))
            if roles and not user.has_any_role(*roles):
                return render_template("console/forbidden.html", roles=roles), 403
            if request.method == "POST" and not csrf_ok():
                return refuse_csrf()
            return view(*args, **kwargs)
        return wrapper
    return decorator
