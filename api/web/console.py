"""The field lead's and organizer's console: server-rendered pages over the same services as the API.

Every page is behind the same roles as the API views it mirrors (api/resources/turfs.py, users.py,
teams.py, assignments.py), one transaction per request, and every form posts the session's CSRF
token (api/web/session.py). Writes answer with a redirect (post/redirect/get) and a flashed message;
a domain error (409 turf_already_assigned, doors_already_leased, ...) is flashed as its message.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext, lazy_gettext

from api.auth import client_ip, current_user
from api.extensions import db
from api.replica import read_transaction, remember_own_write
from api.throttle import check_login_allowed, clear_login_failures, record_login_failure
from api.web import render_walklist_sheet
from api.web.security import no_store
from api.web.session import csrf_ok, csrf_token, end_session, page, refuse_csrf, session_user, start_session
from canvass.auth import services as users
from canvass.auth.services import authenticate, issue_token, revoke_token
from canvass.campaigns.services import get_campaign, list_campaigns
from canvass.canvassing import conflicts, sync
from canvass.db import local_today, transaction, utcnow
from canvass.errors import DomainError, Unauthorized
from canvass.normalize import normalize_email
from canvass.operations import accounts
from canvass.orgs.services import get_organization, timezone_for
from canvass.turfs import lease_views, leases, services, teams
from canvass.turfs.languages import language_needs, suggest_canvassers
from canvass.turfs.paper import paper_row_client_id, resolve_entry_code

blp = Blueprint("console", __name__, url_prefix="/console")
blp.after_request(no_store)


@blp.after_request
def remember_writes(response):
    # The list pages below may read from the replica; after this user's write they wait for it.
    if request.method == "POST" and response.status_code < 400:
        remember_own_write()
    return response


@blp.record_once
def _session_cookie(state) -> None:
    # The console's credential: not readable by script, not sent on cross-site subrequests or posts.
    config = state.app.config
    config["SESSION_COOKIE_HTTPONLY"] = True
    if config.get("SESSION_COOKIE_SAMESITE") is None:
        config["SESSION_COOKIE_SAMESITE"] = "Lax"

READERS = ("field_lead", "organizer", "admin")  # as api/resources/turfs.py
WRITERS = ("field_lead", "organizer")
ROLES = ("admin", "organizer", "field_lead", "canvasser")
STATUS_OF_KIND = {"malformed": 400, "invalid": 422, "unauthorized": 401, "forbidden": 403, "not_found": 404,
                  "conflict": 409, "too_large": 413, "rate_limited": 429}
PAPER_ROWS = 12


# What the pages call a turf's state and a user's role (the stored codes stay English).
TURF_STATUS_LABELS = {
    "ready": lazy_gettext("ready"), "checked_out": lazy_gettext("checked out"),
    "completed": lazy_gettext("completed"), "archived": lazy_gettext("archived"),
}
ROLE_LABELS = {
    "admin": lazy_gettext("admin"), "organizer": lazy_gettext("organizer"),
    "field_lead": lazy_gettext("field lead"), "canvasser": lazy_gettext("canvasser"),
}


def status_label(status: str | None) -> str:
    return str(TURF_STATUS_LABELS.get(status or "", (status or "").replace("_", " ")))


@blp.app_template_filter("role_label")
def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role.replace("_", " ")))


def _until(moment: datetime) -> str:
    return format_datetime(moment, "short")


@blp.app_context_processor
def _console_context():
    return {"csrf_token": csrf_token, "status_label": status_label, "role_label": role_label}


@blp.errorhandler(DomainError)
def domain_error_page(error: DomainError):
    status = STATUS_OF_KIND.get(error.kind, 400)
    return render_template("console/message.html", title=gettext("Not possible"), message=error.message), status


def current_org_id() -> int:
    return current_user().organization_id


def _safe_next(target: str | None) -> str | None:
    # Only a path of this site (no scheme, no host, not //evil): an open redirect otherwise.
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _home_for(user) -> str:
    if user.has_any_role(*READERS):
        return url_for("console.turfs")
    return url_for("console.my_assignments")


def flash_error(error: DomainError) -> None:
    flash(f"{error.message} ({error.code})", "error")


# --- signing in ----------------------------------------------------------------------------


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    error = None
    if request.method == "POST":
        if not csrf_ok():
            return refuse_csrf()
        settings = current_app.config["CANVASS_SETTINGS"]
        email, ip = normalize_email(request.form.get("email", "")), client_ip()
        try:
            check_login_allowed(email, ip)
        except DomainError as refused:
            return render_template("console/sign_in.html", error=refused.message, email=email), 429
        with transaction(db.session) as session:
            user = authenticate(session, email=email, password=request.form.get("password", ""), ip_address=ip)
            issued = None
            if user is not None:
                issued = issue_token(session, user=user, ttl=timedelta(hours=settings.token_ttl_hours), label="console")
        if issued is None:
            record_login_failure(email, ip)
            error = gettext("E-mail or password is wrong.")
            return render_template("console/sign_in.html", error=error, email=email), 401
        clear_login_failures(email)
        start_session(issued.raw)
        principal = session_user()
        return redirect(_safe_next(request.args.get("next")) or _home_for(principal))
    return render_template("console/sign_in.html", error=error, email="")


@blp.post("/sign-out")
@page()
def sign_out():
    user = current_user()
    try:
        with transaction(db.session) as session:
            revoke_token(session, token_id=user.token_id, actor=user, ip_address=client_ip())
    except Unauthorized:
        pass
    end_session()
    return redirect(url_for("console.sign_in"))


@blp.get("/")
@page()
def home():
    return redirect(_home_for(current_user()))


@blp.get("/my-assignments")
@page()
def my_assignments():
    """Any signed-in user: their live leases (own and teams'), as GET /v1/me/assignments."""
    user = current_user()
    with transaction(db.session) as session:
        mine = lease_views.list_my_assignments(session, organization_id=user.organization_id, user_id=user.id)
    return render_template("console/my_assignments.html", assignments=mine)


# --- turfs ---------------------------------------------------------------------------------


def _feature(turf) -> dict:
    return {"type": "Feature", "geometry": turf.geometry, "properties": {
        "id": turf.id, "name": turf.name, "status": turf.status, "door_count": turf.door_count,
        "knocked": turf.knocked, "overlaps": turf.overlaps,
        "holder": _holder(turf.assignment), "url": url_for("console.turf", turf_id=turf.id),
    }}


def _holder(assignment: dict | None) -> str | None:
    if not assignment:
        return None
    return assignment["canvasser_name"] or (f"team {assignment['team_name']}" if assignment["team_name"] else None)


def map_json(collection: dict) -> str:
    """The map's GeoJSON for its <script type="application/json"> block: <, > and & escaped, so a name
    such as "</script><form ..." cannot end the block and put markup on the page."""
    return json.dumps(collection).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def map_settings() -> dict:
    settings = current_app.config["CANVASS_SETTINGS"]
    return {"tile_url": settings.map_tile_url or "", "attribution": settings.map_tile_attribution or ""}


@blp.get("/turfs")
@page(*READERS)
def turfs():
    ward = request.args.get("ward", "").strip() or None
    with read_transaction(own_writes=True) as session:
        listed = services.list_turfs(session, organization_id=current_org_id(), ward=ward)
        needs = language_needs(session, organization_id=current_org_id(), turf_ids=[t.id for t in listed])
        canvassers = users.list_users(session, organization_id=current_org_id(), role="canvasser") if needs else []
    suggestions = {turf_id: suggest_canvassers(turf_needs, canvassers) for turf_id, turf_needs in needs.items()}
    collection = {"type": "FeatureCollection", "features": [_feature(t) for t in listed]}
    return render_template("console/turfs.html", turfs=listed, ward=ward or "", map_data=map_json(collection),
                           map_settings=map_settings(), holder=_holder, needs=needs, suggestions=suggestions)


@blp.get("/turfs/<int:turf_id>")
@page(*READERS)
def turf(turf_id: int):
    with transaction(db.session) as session:
        listing = services.get_turf_listing(session, organization_id=current_org_id(), turf_id=turf_id)
        history = lease_views.list_turf_history(session, organization_id=current_org_id(), turf_id=turf_id)
        campaigns = list_campaigns(session, organization_id=current_org_id(), status="active")
        everyone = users.list_users(session, organization_id=current_org_id(), include_inactive=True)
        team_list = teams.list_teams(session, organization_id=current_org_id())
        needs = language_needs(session, organization_id=current_org_id(), turf_ids=[turf_id]).get(turf_id, [])
    canvassers = [u for u in everyone if u.is_active and "canvasser" in u.roles]
    names = {("canvasser_id", u.id): u.name for u in everyone} | {("team_id", t.id): f"team {t.name}" for t in team_list}
    holder_names = {  # the history names a lease's holder by id: show their name
        entry.id: names.get((key, entry.details[key]), f"#{entry.details[key]}")
        for entry in history for key in ("canvasser_id", "team_id") if entry.details.get(key) is not None
    }
    collection = {"type": "FeatureCollection", "features": [_feature(listing)]}
    return render_template("console/turf.html", turf=listing, history=history, campaigns=campaigns,
                           canvassers=canvassers, teams=team_list, holder_names=holder_names, map_data=map_json(collection),
                           map_settings=map_settings(), holder=_holder(listing.assignment), needs=needs,
                           suggestions=suggest_canvassers(needs, canvassers))


def int_or_none(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _holder_fields(form) -> dict:
    """`holder` is "canvasser:ID" or "team:ID" (one select, so exactly one of the two)."""
    kind, _, raw = (form.get("holder") or "").partition(":")
    holder_id = int_or_none(raw)
    if kind == "team":
        return {"team_id": holder_id}
    return {"canvasser_id": holder_id}


@blp.post("/turfs/<int:turf_id>/assignment")
@page(*WRITERS)
def turf_assignment(turf_id: int):
    """Assign, reassign, extend or release: the four writes of /v1/turfs/{id}/assignment."""
    action = request.form.get("action")
    user = current_user()
    hours = int_or_none(request.form.get("lease_hours"))
    reason = (request.form.get("reason") or "").strip() or None
    default_hours = current_app.config["CANVASS_SETTINGS"].default_lease_hours
    scope = {"organization_id": user.organization_id, "turf_id": turf_id, "actor_id": user.id}
    try:
        with transaction(db.session) as session:
            if action in ("assign", "reassign"):
                campaign_id = int_or_none(request.form.get("campaign_id"))
                write = leases.assign_turf if action == "assign" else leases.reassign_turf
                kwargs = {"campaign_id": campaign_id, **_holder_fields(request.form)}
                if hours:
                    kwargs["lease_hours"] = hours
                view = write(session, default_lease_hours=default_hours, reason=reason, **scope, **kwargs)
                flash(gettext("Turf %(turf)s leased to %(holder)s until %(until)s UTC.", turf=view.turf["name"],
                              holder=(view.canvasser or view.team or {}).get("name"), until=_until(view.leased_until)),
                      "ok")
            elif action == "extend":
                view = leases.extend_lease(session, lease_hours=hours or default_hours, reason=reason, **scope)
                flash(gettext("Lease extended until %(until)s UTC.", until=_until(view.leased_until)), "ok")
            elif action == "release":
                leases.release_turf(session, reason=reason, **scope)
                flash(gettext("Lease released: the turf is ready again."), "ok")
            else:
                flash(gettext("Unknown action."), "error")
    except DomainError as error:
        if error.kind == "not_found" and error.code == "turf_not_found":
            raise
        flash_error(error)
    return redirect(url_for("console.turf", turf_id=turf_id))


# --- cutting a ward ------------------------------------------------------------------------


@blp.get("/cut")
@page(*WRITERS)
def cut():
    """Preview: the cut is made inside the request's transaction and rolled back, so nothing is saved;
    "Keep this cut" posts the same ward and target, which cuts again for real (the cutter is
    deterministic: the same doors give the same turfs)."""
    ward = request.args.get("ward", "").strip()
    target = int_or_none(request.args.get("target_doors"))
    preview = error = None
    if ward and request.args.get("target_doors") is not None:
        user = current_user()
        session = db.session
        try:
            made = services.cut_turfs_for_area(session, organization_id=user.organization_id, actor_id=user.id,
                                               target_doors=target if target is not None else -1, ward=ward)
            # Read before the rollback, which expires what the session holds.
            preview = {"quality": dict(made.cut.quality or {}), "turfs": made.turfs}
        except DomainError as refused:
            error = f"{refused.message} ({refused.code})"
        finally:
            session.rollback()  # a preview: nothing of the cut is kept, no job is sent
    features = [_feature(t) for t in preview["turfs"]] if preview else []
    for feature in features:
        feature["properties"]["url"] = None  # not saved: no page to link to
    return render_template("console/cut.html", ward=ward, target=target or "", preview=preview, error=error,
                           map_data=map_json({"type": "FeatureCollection", "features": features}),
                           map_settings=map_settings())


@blp.post("/cut")
@page(*WRITERS)
def keep_cut():
    ward = request.form.get("ward", "").strip()
    target = int_or_none(request.form.get("target_doors"))
    user = current_user()
    try:
        with transaction(db.session) as session:
            made = services.cut_turfs_for_area(session, organization_id=user.organization_id, actor_id=user.id,
                                               target_doors=target if target is not None else -1, ward=ward)
            count = len(made.turfs)
    except DomainError as error:
        flash_error(error)
        return redirect(url_for("console.cut", ward=ward, target_doors=target or ""))
    flash(gettext("Ward %(ward)s cut into %(count)s turfs.", ward=ward, count=count), "ok")
    return redirect(url_for("console.turfs", ward=ward))


@blp.get("/assignments/<int:assignment_id>/print")
@page(*READERS)
def print_sheet(assignment_id: int):
    # The same sheet as /walklists/{id}/print, for a lead signed in to the console (cookie, not bearer).
    return render_walklist_sheet(current_user(), assignment_id)


# --- canvassers and teams ------------------------------------------------------------------


@blp.get("/canvassers")
@page(*READERS)
def canvassers():
    with read_transaction(own_writes=True) as session:
        everyone = users.list_users(session, organization_id=current_org_id(), include_inactive=True)
        team_list = teams.list_teams(session, organization_id=current_org_id())
        held = [t for t in services.list_turfs(session, organization_id=current_org_id()) if t.assignment]
    return render_template("console/canvassers.html", users=everyone, teams=team_list, held=held, roles=ROLES,
                           holder=_holder, is_admin=current_user().has_any_role("admin"),
                           can_build_teams=current_user().has_any_role(*WRITERS))


@blp.post("/users")
@page("admin")
def invite_user():
    user = current_user()
    roles = [r for r in ROLES if request.form.get(f"role_{r}")]
    try:
        with transaction(db.session) as session:
            made = users.create_user(session, organization_id=user.organization_id, actor=user, ip_address=client_ip(),
                                     email=request.form.get("email", ""), name=request.form.get("name", ""),
                                     roles=roles, password=request.form.get("password") or None)
            flash(gettext("%(name)s added.", name=made.name), "ok")
    except DomainError as error:
        flash_error(error)
    return redirect(url_for("console.canvassers"))


@blp.post("/users/<int:user_id>")
@page("admin")
def change_user(user_id: int):
    user = current_user()
    scope = {"organization_id": user.organization_id, "user_id": user_id, "actor": user, "ip_address": client_ip()}
    try:
        with transaction(db.session) as session:
            if request.form.get("action") == "deactivate":
                changed = accounts.deactivate_user(session, **scope)
                flash(gettext("%(name)s deactivated.", name=changed.name), "ok")
            else:
                roles = [r for r in ROLES if request.form.get(f"role_{r}")]
                changed = accounts.update_user(session, roles=roles, **scope)
                flash(gettext("%(name)s's roles: %(roles)s.", name=changed.name,
                              roles=", ".join(role_label(r) for r in changed.roles) or gettext("none")), "ok")
    except DomainError as error:
        if error.kind == "not_found":
            raise
        flash_error(error)
    return redirect(url_for("console.canvassers"))


@blp.post("/teams")
@page(*WRITERS)
def create_team():
    user = current_user()
    member_ids = [int(v) for v in request.form.getlist("member_ids") if v.isdigit()]
    try:
        with transaction(db.session) as session:
            team = teams.create_team(session, organization_id=user.organization_id, actor_id=user.id,
                                     name=request.form.get("name", ""), member_ids=member_ids, ip_address=client_ip())
            flash(gettext("Team %(name)s made.", name=team.name), "ok")
    except DomainError as error:
        flash_error(error)
    return redirect(url_for("console.canvassers"))


# --- the conflicts queue ----------------------------------------------------------------------

CONFLICT_ROLES = ("field_lead", "organizer")  # as GET/POST /v1/contacts/conflicts...
CONFLICTS_SHOWN = 50


@blp.get("/conflicts")
@page(*CONFLICT_ROLES)
def conflicts_queue():
    """Two canvassers' results for one door: keep one (the other is superseded), as the API's resolution."""
    with read_transaction(own_writes=True) as session:
        rows = conflicts.list_conflicts(session, organization_id=current_org_id(), status="open", limit=CONFLICTS_SHOWN)
    return render_template("console/conflicts.html", conflicts=rows)


@blp.post("/conflicts/<int:conflict_id>")
@page(*CONFLICT_ROLES)
def resolve_conflict(conflict_id: int):
    user = current_user()
    keep = int_or_none(request.form.get("keep_contact_id"))
    try:
        with transaction(db.session) as session:
            conflicts.resolve_conflict(session, organization_id=user.organization_id, conflict_id=conflict_id,
                                       keep_contact_id=keep if keep is not None else 0, actor=user,
                                       ip_address=client_ip())
        flash(gettext("Conflict resolved: the door's result follows the one kept."), "ok")
    except DomainError as error:
        if error.kind == "not_found":
            raise
        flash_error(error)
    return redirect(url_for("console.conflicts_queue"))


# --- keying paper walk lists back in -------------------------------------------------------


YES_WORDS = frozenset({"y", "yes", "s", "si", "sí", "t", "tak", "是"})
NO_WORDS = frozenset({"n", "no", "nie", "否"})


def _answer(question, raw: str):
    """A typed answer as the question's kind wants it (None: left blank); ValueError with a message."""
    raw = raw.strip()
    if not raw:
        return None
    if question.kind == "scale":
        if not raw.isdigit():
            raise ValueError(gettext("%(prompt)s: a number", prompt=question.prompt))
        return int(raw)
    if question.kind == "yes_no":
        # The sheet's legend is translated (Y/N, S/N, T/N, 是/否): each language's letters and words count.
        if raw.lower() in YES_WORDS:
            return True
        if raw.lower() in NO_WORDS:
            return False
        raise ValueError(gettext("%(prompt)s: Y or N", prompt=question.prompt))
    if question.kind == "choice":
        for choice in question.choices or []:
            if choice.lower() == raw.lower():
                return choice
        raise ValueError(gettext("%(prompt)s: one of %(choices)s", prompt=question.prompt,
                                 choices=", ".join(question.choices or [])))
    return raw


def _walked_at(walked_on: date, now: datetime, tz: str) -> datetime:
    # The sheet says the day, not the hour: noon of that day where the organization is, or now if still ahead.
    return min(datetime.combine(walked_on, time(12), tzinfo=ZoneInfo(tz)), now)


@blp.route("/paper", methods=["GET", "POST"])
@page(*WRITERS)
def paper():
    """One row per door of a printed sheet: entry code, result (T: talked, then the answers), notes.

    Each row becomes a contact through the same idempotent ingest as the phones
    (canvassing/sync.py enter_paper_results), credited to the lease's canvasser, with a client_id made
    from the assignment, the door and the day walked: a resubmitted form stores nothing twice. A code
    that is not a door of this sheet (a typo, another sheet's door) is refused in its row.
    """
    user = current_user()
    assignment_id = int_or_none(request.values.get("assignment_id"))
    with transaction(db.session) as session:
        tz = timezone_for(get_organization(session, user.organization_id))  # sheets are dated in the org's days
        live = [t for t in services.list_turfs(session, organization_id=user.organization_id) if t.assignment]
        lease = campaign = None
        if assignment_id is not None:
            lease = lease_views.get_assignment(session, organization_id=user.organization_id,
                                               assignment_id=assignment_id, viewer_id=user.id, viewer_roles=user.roles)
            campaign = get_campaign(session, organization_id=user.organization_id, campaign_id=lease.campaign["id"])
            questions = [SimpleNamespace(id=q.id, prompt=q.prompt, kind=q.kind, choices=q.choices)
                         for q in campaign.questions]
            result_codes = list(campaign.result_codes)
        rows, summary = [], None
        if request.method == "POST" and lease is not None:
            rows, summary = _key_in_sheet(session, user, lease, questions, tz)
    if lease is None:
        return render_template("console/paper_pick.html", live=live, holder=_holder)
    if not rows:
        rows = [{"index": i, "code": "", "result": "", "answers": ["" for _ in questions], "notes": ""}
                for i in range(PAPER_ROWS)]
    walked_on = request.form.get("walked_on") or local_today(tz).isoformat()
    return render_template("console/paper.html", lease=lease, questions=questions, result_codes=result_codes,
                           rows=rows, summary=summary, walked_on=walked_on)


def _key_in_sheet(session, user, lease, questions, tz: str) -> tuple[list[dict], dict]:
    form = request.form
    try:
        walked_on = date.fromisoformat(form.get("walked_on", ""))
    except ValueError:
        walked_on = None
    now = utcnow()
    rows, items, item_rows = [], [], []
    for index in range(int_or_none(form.get("row_count")) or PAPER_ROWS):
        row = {"index": index, "code": form.get(f"code_{index}", "").strip(),
               "result": form.get(f"result_{index}", "").strip(),
               "answers": [form.get(f"answer_{index}_{q.id}", "") for q in questions],
               "notes": form.get(f"notes_{index}", "").strip(), "status": None, "message": None}
        rows.append(row)
        if not row["code"] and not row["result"]:
            continue
        try:
            if walked_on is None or walked_on > local_today(tz):
                raise ValueError(gettext("the day walked is missing or in the future"))
            if not row["code"]:
                raise ValueError(gettext("an entry code is needed"))
            match = resolve_entry_code(session, organization_id=user.organization_id, code=row["code"],
                                       assignment_id=lease.id)
            row["address"] = match.address["line1"] + (f" #{match.address['unit']}" if match.address["unit"] else "")
            item = {"client_id": str(paper_row_client_id(organization_id=user.organization_id, assignment_id=lease.id,
                                                         household_id=match.household_id,
                                                         walked_on=walked_on.isoformat())),
                    "assignment_id": lease.id, "household_id": match.household_id,
                    "occurred_at": _walked_at(walked_on, now, tz).isoformat(), "notes": row["notes"] or None}
            if row["result"].upper() == "T":
                responses = []
                for question, raw in zip(questions, row["answers"], strict=True):
                    answer = _answer(question, raw)
                    if answer is not None:
                        responses.append({"question_id": question.id, "answer": answer})
                item["responses"] = responses
            elif row["result"]:
                item["result_code"] = row["result"]
            else:
                raise ValueError(gettext("a result is needed (T, or a result code)"))
        except DomainError as error:
            row["status"], row["message"] = "rejected", error.message
            continue
        except ValueError as error:
            row["status"], row["message"] = "rejected", str(error)
            continue
        items.append(item)
        item_rows.append(row)
    if items:
        max_items = current_app.config["CANVASS_SETTINGS"].sync_max_items
        results = sync.enter_paper_results(session, organization_id=user.organization_id, contacts=items,
                                           max_items=max_items)
        for row, result in zip(item_rows, results, strict=True):
            row["status"] = result.status
            if result.status == "rejected":
                row["message"] = result.error.message
            elif result.status == "duplicate":
                row["message"] = gettext("already stored: nothing stored twice")
            elif result.conflict:
                row["message"] = gettext("stored (conflicts with another result for this door)")
            else:
                row["message"] = gettext("stored")
    counts = {status: sum(1 for r in rows if r["status"] == status) for status in ("created", "duplicate", "rejected")}
    return rows, counts
