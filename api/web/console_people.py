"""The console's people and members pages, and drawing a turf: server-rendered views over the same
services as the API (api/resources/people.py, membership.py, followups.py, turfs.py), behind the same
roles, one transaction per request, every POST carrying the session's CSRF token (`page`).

The routes join the console's blueprint (api/web/console.py), so its error page and context apply.
"""
from __future__ import annotations

import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from api.auth import client_ip, current_user
from api.extensions import db
from api.web.console import (
    STATUS_OF_KIND,
    WRITERS,
    blp,
    current_org_id,
    flash_error,
    int_or_none,
    map_json,
    map_settings,
)
from api.web.session import page
from canvass.auth import services as users
from canvass.canvassing import followups
from canvass.db import transaction
from canvass.errors import DomainError
from canvass.operations import people as people_operations
from canvass.people import matching
from canvass.pipeline import membership, rules, stages
from canvass.turfs import services as turf_services

PEOPLE_READERS = ("organizer", "admin", "field_lead")  # as GET /v1/people/{id}
MERGERS = ("organizer", "admin")  # as GET /v1/people/duplicates and POST /v1/people/{id}/merge
FOLLOW_UP_READERS = ("organizer", "field_lead", "admin")  # as GET /v1/follow-ups
FOLLOW_UP_WRITERS = ("organizer", "admin")  # as POST /v1/pledges/{id}/follow-ups
SEARCH_PAGE = 25
DUPLICATES_PAGE = 20
FOLLOW_UPS_PAGE = 50


def _bad_request(message: str):
    return render_template("console/message.html", title=_("Not possible"), message=message), 422


def _page_number() -> int | None:
    """?page= (default 1); None when it is not a page number."""
    raw = request.args.get("page")
    if raw is None:
        return 1
    number = int_or_none(raw)
    return number if number and number > 0 else None


# --- people search and a person's page ---------------------------------------------------


@blp.get("/people")
@page(*PEOPLE_READERS)
def people():
    query = request.args.get("q", "").strip()
    number = _page_number()
    if number is None:
        return _bad_request(_("The page must be a whole number from 1."))
    with transaction(db.session) as session:
        # One more than a page: is there a next one?
        found = people_operations.search_people(session, organization_id=current_org_id(), query=query,
                                                 limit=SEARCH_PAGE + 1, offset=(number - 1) * SEARCH_PAGE)
    return render_template("console/people.html", query=query, found=found[:SEARCH_PAGE], page=number,
                           has_next=len(found) > SEARCH_PAGE)


@blp.get("/people/<int:person_id>")
@page(*PEOPLE_READERS)
def person(person_id: int):
    """Contacts, pledge cards, the membership rule explained, member spells and lapses, stage history."""
    organization_id = current_org_id()
    with transaction(db.session) as session:
        detail = people_operations.get_person_detail(session, organization_id=organization_id, person_id=person_id)
        standing = membership.get_person_membership(session, organization_id=organization_id, person_id=person_id)
        explained = rules.explain_person(session, organization_id=organization_id, person_id=person_id)
        pipeline = stages.get_person_pipeline(session, organization_id=organization_id, person_id=person_id)
        names = {u.id: u.name for u in users.list_users(session, organization_id=organization_id,
                                                        include_inactive=True)}
    return render_template("console/person.html", detail=detail, person=detail["person"], standing=standing,
                           explained=explained, pipeline=pipeline, names=names,
                           can_merge=current_user().has_any_role(*MERGERS),
                           can_call=current_user().has_any_role(*FOLLOW_UP_WRITERS),
                           outcomes=followups.FOLLOW_UP_OUTCOMES)


# --- duplicates and merging --------------------------------------------------------------


def _cursor_pair(raw: str | None) -> tuple[int, int] | None:
    first, _sep, second = (raw or "").partition("_")
    return (int(first), int(second)) if first.isdigit() and second.isdigit() else None


@blp.get("/duplicates")
@page(*MERGERS)
def duplicates():
    after = _cursor_pair(request.args.get("after"))
    if after is None and request.args.get("after"):
        return _bad_request(_("This list position is not one the console gave out."))
    with transaction(db.session) as session:
        pairs = matching.list_duplicate_pairs(session, organization_id=current_org_id(), limit=DUPLICATES_PAGE, after=after)
    last = pairs[-1] if len(pairs) == DUPLICATES_PAGE else None
    return render_template("console/duplicates.html", pairs=pairs,
                           next_after=f"{last.first.id}_{last.second.id}" if last else None)


@blp.get("/people/<int:person_id>/merge")
@page(*MERGERS)
def compare(person_id: int):
    """The two records side by side, before merging `person_id` into `into`."""
    into_id = int_or_none(request.args.get("into"))
    if into_id is None:
        return _bad_request(_("Give the number of the person to merge into."))
    with transaction(db.session) as session:
        pair = [people_operations.get_person_detail(session, organization_id=current_org_id(), person_id=pid)
                for pid in (person_id, into_id)]
    return render_template("console/merge.html", source=pair[0], target=pair[1])


@blp.post("/people/<int:person_id>/merge")
@page(*MERGERS)
def merge(person_id: int):
    """Merge `person_id` into `into_id` with the API's merge (audited `person.merged`)."""
    user = current_user()
    into_id = int_or_none(request.form.get("into_id"))
    if into_id is None:
        return _bad_request(_("Give the number of the person to merge into."))
    try:
        with transaction(db.session) as session:
            kept = people_operations.merge_people(session, organization_id=user.organization_id, person_id=person_id,
                                                  into_id=into_id, actor=user,
                                                  ip_address=client_ip())
            kept_id = kept.id
    except DomainError as error:
        if error.code == "person_not_found":
            raise
        flash_error(error)
        return redirect(url_for("console.person", person_id=person_id))
    flash(_("Merged: person %(merged)s is now part of this record.", merged=person_id), "ok")
    return redirect(url_for("console.person", person_id=kept_id))


# --- follow-ups ------------------------------------------------------------------------------


@blp.get("/follow-ups")
@page(*FOLLOW_UP_READERS)
def follow_ups():
    """Pledge cards whose follow-up call is due, soonest first (the API's list; do-not-contact never shown)."""
    cursor = request.args.get("cursor") or None
    with transaction(db.session) as session:  # a cursor not given out: the service's 422, on the error page
        rows = followups.list_due_follow_ups(session, organization_id=current_org_id(), limit=FOLLOW_UPS_PAGE, cursor=cursor)
    next_cursor = followups.follow_up_cursor(rows[-1]["pledge"]) if len(rows) == FOLLOW_UPS_PAGE else None
    return render_template("console/follow_ups.html", rows=rows, next_cursor=next_cursor,
                           outcomes=followups.FOLLOW_UP_OUTCOMES,
                           can_call=current_user().has_any_role(*FOLLOW_UP_WRITERS))


@blp.post("/pledges/<int:pledge_id>/follow-up")
@page(*FOLLOW_UP_WRITERS)
def follow_up(pledge_id: int):
    """Log a call: reached marks it done; other outcomes schedule the next call, as the API."""
    user = current_user()
    # From a person's page ("person:ID") back to it, else to the list: never a URL the form sent.
    kind, _sep, raw_id = (request.form.get("back") or "").partition(":")
    back_id = int_or_none(raw_id) if kind == "person" else None
    try:
        with transaction(db.session) as session:
            pledge = followups.record_follow_up_attempt(
                session, organization_id=user.organization_id, pledge_id=pledge_id, actor=user,
                outcome=request.form.get("outcome", ""), notes=(request.form.get("notes") or "").strip() or None,
                do_not_contact=bool(request.form.get("do_not_contact")), ip_address=client_ip())
            status = pledge.follow_up_status
        flash(_("Call logged: the card is now %(status)s.", status=status.replace("_", " ")), "ok")
    except DomainError as error:
        if error.code == "pledge_not_found":
            raise
        flash_error(error)
    return redirect(url_for("console.person", person_id=back_id) if back_id else url_for("console.follow_ups"))


# --- drawing a turf --------------------------------------------------------------------------


@blp.route("/draw", methods=["GET", "POST"])
@page(*WRITERS)
def draw():
    """Draw a turf (click its corners on the map, or paste a GeoJSON polygon): the API's drawn turf."""
    form = {"name": "", "ward": request.args.get("ward", ""), "geometry": ""}
    error, status = None, 200
    if request.method == "POST":
        form = {key: (request.form.get(key) or "").strip() for key in form}
        try:
            geometry = json.loads(form["geometry"]) if form["geometry"] else None
        except ValueError:
            geometry = None
        if not isinstance(geometry, dict):
            error, status = _("The shape is missing or is not GeoJSON: click at least three corners on the map."), 422
        else:
            user = current_user()
            try:
                with transaction(db.session) as session:
                    made = turf_services.create_drawn_turf(session, organization_id=user.organization_id,
                                                           actor_id=user.id, name=form["name"], geometry=geometry,
                                                           ward=form["ward"] or None)
                    turf_id, doors = made.id, made.door_count
                flash(_("Turf drawn with %(doors)s doors.", doors=doors), "ok")
                return redirect(url_for("console.turf", turf_id=turf_id))
            except DomainError as refused:
                error, status = f"{refused.message} ({refused.code})", STATUS_OF_KIND.get(refused.kind, 422)
    with transaction(db.session) as session:
        ward = form["ward"] or None
        listed = turf_services.list_turfs(session, organization_id=current_org_id(), ward=ward)
    features = [{"type": "Feature", "geometry": t.geometry,
                 "properties": {"id": t.id, "name": t.name, "status": t.status, "door_count": t.door_count,
                                "knocked": t.knocked, "overlaps": t.overlaps, "holder": None,
                                "url": url_for("console.turf", turf_id=t.id)}} for t in listed]
    return render_template("console/draw.html", form=form, error=error, map_settings=map_settings(),
                           map_data=map_json({"type": "FeatureCollection", "features": features})), status
