"""The organizer web dashboard: server-rendered pages (Jinja) over the same API.

Pages carry no data and no token: the sign-in page posts to /v1/auth/token from JavaScript and
keeps the token in sessionStorage (gone with the tab, never in a URL or a cookie, so no CSRF
surface); every page then reads the API with `Authorization: Bearer`. Scripts and styles are
files under /static (Leaflet and Chart.js vendored, no CDN), so the Content-Security-Policy
allows nothing inline and nothing from elsewhere.

The printable walk list is the one page rendered with data on the server: asked with a bearer
token it answers the print-ready document; asked by the browser without one, it answers a small
loader that fetches the same URL with the token and shows the result.
"""
from __future__ import annotations

import json
import uuid

from flask import Blueprint, redirect, render_template, request, url_for

from api.auth import current_user, requires_roles
from api.document_cache import walklist_cache
from api.extensions import db
from api.web.security import no_store
from canvass.db import transaction
from canvass.turfs.entry_codes import encode_entry_code
from canvass.turfs.lease_views import get_assignment
from canvass.turfs.paper import answer_format, sheet_map
from canvass.turfs.walklist import build_walklist

blp = Blueprint("web", __name__)

REFRESH_SECONDS = 60
blp.after_request(no_store)


@blp.get("/")
def index():
    return redirect(url_for("web.dashboard"))


@blp.get("/sign-in")
def sign_in():
    return render_template("sign_in.html")


@blp.get("/dashboard")
def dashboard():
    return render_template("dashboard.html", refresh_seconds=REFRESH_SECONDS)


# Each door on a sheet carries its entry code (8 characters, a check character catching any single
# typo): a lead keys the sheet back in with GET /v1/entry-codes/{code}?sheet=..., which finds the
# door and gives the row's client_id for POST /v1/sync (made from the sheet's id and the door, so a
# row keyed in twice is stored once).
@requires_roles("field_lead", "organizer", "admin")
def _printed_walklist(assignment_id: int):
    return render_walklist_sheet(current_user(), assignment_id)


def render_walklist_sheet(user, assignment_id: int) -> str:
    """The print-ready sheet of a lease, for a user whose role the caller checked (bearer token here,
    the console's session on /console/assignments/{id}/print)."""
    with transaction(db.session) as session:
        walklist = build_walklist(session, organization_id=user.organization_id, assignment_id=assignment_id,
                                  viewer_id=user.id, viewer_roles=user.roles, cache=walklist_cache())
        lease = get_assignment(session, organization_id=user.organization_id, assignment_id=assignment_id,
                               viewer_id=user.id, viewer_roles=user.roles)
    data = json.loads(walklist.body)
    sheet = uuid.uuid4()
    for stop in data["stops"]:
        stop["entry_code"] = encode_entry_code(stop["household_id"])
    for question in data["campaign"]["questions"]:
        question["answer_format"] = answer_format(question)
    turf_map = sheet_map(data["turf"]["geometry"],
                         [(s["location"]["lon"], s["location"]["lat"], s["seq"]) for s in data["stops"]])
    return render_template("walklist_print.html", walklist=data, sheet_id=str(sheet), lease=lease,
                           turf_map=turf_map, organization=user.organization.name)


@blp.get("/walklists/<int:assignment_id>/print")
def print_walklist(assignment_id: int):
    if "Authorization" not in request.headers:
        return render_template("walklist_loader.html", assignment_id=assignment_id)
    response = _printed_walklist(assignment_id)
    return response, 200, {"Vary": "Authorization"}
