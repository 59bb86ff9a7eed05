"""The console's events, dues, votes and household-upload pages (issue 12), over the same services as
the API views (api/resources/events.py, dues.py, votes.py, member_imports.py) and the CLI's household
import, behind the same roles. A sibling of api/web/console.py: same sign-in, CSRF and error pages.

CSV uploads are read from the uploaded file as a stream (Werkzeug spools a large upload to a temporary
file; the importers read it line by line), inside one transaction: a file-level error (unknown columns,
not UTF-8, not CSV) rolls everything back; bad rows are skipped and listed with their line numbers.
"""
from __future__ import annotations

import io
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from api.auth import client_ip, current_user
from api.extensions import db
from api.web.console import current_org_id, domain_error_page, flash_error, int_or_none, remember_writes
from api.web.security import no_store
from api.web.session import page
from canvass.db import local_today, transaction, utcnow
from canvass.errors import DomainError
from canvass.geo.households import import_households
from canvass.orgs.services import get_organization, timezone_for
from canvass.pipeline import dues, events, votes
from canvass.pipeline.imports import ImportReport, import_attendance, import_dues
from canvass.pipeline.models import ATTENDANCE_STATUSES, DUES_METHODS, EVENT_KINDS
from canvass.pipeline.roster import roster_of, search_roster

blp = Blueprint("console_events", __name__, url_prefix="/console")
blp.after_request(no_store)
blp.after_request(remember_writes)  # the console's list pages may read from the replica: past this write
blp.register_error_handler(DomainError, domain_error_page)

STAFF = ("admin", "organizer", "field_lead")  # as api/resources/events.py
IMPORTERS = ("organizer", "admin")  # as api/resources/member_imports.py
TREASURERS = ("admin", "organizer")  # as api/resources/dues.py
ORGANIZERS = ("admin", "organizer")  # as api/resources/votes.py
ANYONE = ("admin", "organizer", "field_lead", "canvasser")
HOUSEHOLD_IMPORTERS = ("organizer", "admin")  # the CLI's import is an operator's; in the browser, an organizer's
EVENTS_SHOWN = 100
PAYMENTS_SHOWN = 50
VOTES_SHOWN = 50
SHOWN_SKIPS = 200  # as the API's report
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/vnd.ms-excel", "application/octet-stream")


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return render_template("console/message.html", title=_("File too large"), message=_(
        "The file is larger than this server accepts (%(mb)s MB, the MAX_CONTENT_LENGTH setting): nothing was "
        "imported. Split it into smaller files, or ask the operator to raise MAX_CONTENT_LENGTH.",
        mb=f"{limit / (1024 * 1024):.1f}")), 413


def _tz(session) -> str:
    return timezone_for(get_organization(session, current_org_id()))


def _local_moment(raw: str | None, tz: str) -> datetime | None:
    """A datetime-local field (the organization's wall clock) as an aware moment; None if blank or bad."""
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def _date_or_none(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return None


def _uploaded_csv() -> FileStorage | None:
    """The form's `file`, if it looks like a CSV file (by name or type); None after flashing why not."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a CSV file to upload."), "error")
        return None
    if not upload.filename.lower().endswith((".csv", ".txt")) or upload.mimetype not in CSV_TYPES:
        flash(_("%(name)s is not a CSV file: save the sheet as CSV (comma-separated, UTF-8) and upload that.",
                name=upload.filename), "error")
        return None
    return upload


def _text_stream(upload: FileStorage) -> io.TextIOWrapper:
    # utf-8-sig: spreadsheets save CSV with a byte-order mark. Decoded as it is read, never read whole.
    return io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="")


def _report(report: ImportReport) -> dict:
    return {"rows": report.rows, "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
            "events_created": report.events_created, "skipped_count": report.skipped_count,
            "skipped": report.skipped[:SHOWN_SKIPS]}


def _member_import(importer) -> tuple[dict | None, str | None, int]:
    """Run an attendance or dues import on the uploaded file: (report, file-level error, status)."""
    upload = _uploaded_csv()
    if upload is None:
        return None, None, 400
    user = current_user()
    try:
        with transaction(db.session) as session:
            report = importer(session, organization_id=user.organization_id, file=_text_stream(upload),
                              recorded_by_id=user.id)
    except UnicodeDecodeError:
        return None, _("The file is not UTF-8 text: nothing was imported. Save it as CSV UTF-8."), 422
    except DomainError as error:
        return None, _("Nothing was imported: %(message)s (%(code)s)", message=error.message, code=error.code), 422
    return _report(report), None, 200


# --- events --------------------------------------------------------------------------------


def _events_page(status: int = 200, **extra):
    with transaction(db.session) as session:
        rows = events.list_events(session, organization_id=current_org_id(), limit=EVENTS_SHOWN)
        counts = events.attendance_counts(session, organization_id=current_org_id(), event_ids=[e.id for e in rows])
        tz = _tz(session)
    return render_template("console/events.html", events=rows, counts=counts, kinds=EVENT_KINDS, tz=ZoneInfo(tz),
                           can_import=current_user().has_any_role(*IMPORTERS), **extra), status


@blp.get("/events")
@page(*STAFF)
def events_list():
    return _events_page()


@blp.post("/events")
@page(*STAFF)
def create_event():
    form = request.form
    try:
        with transaction(db.session) as session:
            tz = _tz(session)
            starts_at = _local_moment(form.get("starts_at"), tz)
            if starts_at is None:
                flash(_("Give the event's start as a date and time."), "error")
                return redirect(url_for("console_events.events_list"))
            event = events.create_event(session, organization_id=current_org_id(), created_by_id=current_user().id,
                                        kind=form.get("kind", ""), title=form.get("title", ""), starts_at=starts_at,
                                        ends_at=_local_moment(form.get("ends_at"), tz),
                                        location=form.get("location", "")[:500])
            event_id, title = event.id, event.title
    except DomainError as error:
        flash_error(error)
        return redirect(url_for("console_events.events_list"))
    flash(_("Event %(title)s created.", title=title), "ok")
    return redirect(url_for("console_events.event", event_id=event_id))


@blp.post("/events/attendance-import")
@page(*IMPORTERS)
def import_attendance_csv():
    report, error, status = _member_import(import_attendance)
    return _events_page(status, report=report, import_error=error)


@blp.get("/events/<int:event_id>")
@page(*STAFF)
def event(event_id: int):
    query = request.args.get("q", "")
    with transaction(db.session) as session:
        found = events.get_event(session, organization_id=current_org_id(), event_id=event_id)
        attendance = events.list_attendance(session, organization_id=current_org_id(), event_id=event_id)
        people = roster_of(session, organization_id=current_org_id(), person_ids=[a.person_id for a in attendance])
        candidates = search_roster(session, organization_id=current_org_id(), query=query)
        tz = _tz(session)
    started = found.starts_at <= utcnow()
    recorded = {a.person_id: a.status for a in attendance}
    return render_template("console/events_attendance.html", event=found, attendance=attendance, people=people,
                           candidates=candidates, q=query, recorded=recorded, started=started,
                           statuses=ATTENDANCE_STATUSES, tz=ZoneInfo(tz))


@blp.post("/events/<int:event_id>/attendance")
@page(*STAFF)
def record_attendance(event_id: int):
    status = request.form.get("status", "")
    person_ids = [int(v) for v in request.form.getlist("person_ids") if v.isdigit()]
    if not person_ids:
        flash(_("Tick at least one person."), "error")
    else:
        try:
            with transaction(db.session) as session:
                result = events.record_attendance(
                    session, organization_id=current_org_id(), event_id=event_id, recorded_by_id=current_user().id,
                    records=[{"person_id": p, "status": status} for p in person_ids])
            flash(_("Attendance recorded: %(created)s new, %(updated)s changed, %(unchanged)s unchanged. "
                    "Membership follows within a minute (the rollup).", **result), "ok")
        except DomainError as error:
            if error.code == "event_not_found":
                raise
            flash_error(error)
    return redirect(url_for("console_events.event", event_id=event_id, q=request.form.get("q", "")))


# --- dues ----------------------------------------------------------------------------------


def _cents(raw: str) -> int | None:
    try:
        amount = Decimal(raw.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


def _dues_page(status: int = 200, **extra):
    query = request.values.get("q", "")
    with transaction(db.session) as session:
        payments = dues.list_payments(session, organization_id=current_org_id(), limit=PAYMENTS_SHOWN)
        payers = roster_of(session, organization_id=current_org_id(), person_ids=[p.person_id for p in payments])
        candidates = search_roster(session, organization_id=current_org_id(), query=query) if query else []
        today = local_today(_tz(session))
    return render_template("console/dues.html", payments=payments, payers=payers, candidates=candidates, q=query,
                           methods=DUES_METHODS, today=today, **extra), status


@blp.get("/dues")
@page(*TREASURERS)
def dues_list():
    return _dues_page()


@blp.post("/dues")
@page(*TREASURERS)
def record_dues():
    form = request.form
    person_id, cents = int_or_none(form.get("person_id")), _cents(form.get("amount", ""))
    paid_on, start, end = (_date_or_none(form.get(n)) for n in ("paid_on", "period_start", "period_end"))
    missing = [label for label, value in ((_("a person"), person_id), (_("an amount in dollars and cents"), cents),
                                          (_("the day paid"), paid_on), (_("the first day covered"), start),
                                          (_("the last day covered"), end)) if value is None]
    if missing:
        flash(_("Give %(missing)s.", missing=", ".join(missing)), "error")
        return redirect(url_for("console_events.dues_list", q=form.get("q", "")))
    try:
        with transaction(db.session) as session:
            payment = dues.record_payment(session, organization_id=current_org_id(), recorded_by_id=current_user().id,
                                          person_id=person_id, amount_cents=cents, paid_on=paid_on,
                                          method=form.get("method", ""), period_start=start, period_end=end,
                                          external_id=form.get("external_id", "").strip() or None,
                                          note=form.get("note", "").strip() or None)
            name = roster_of(session, organization_id=current_org_id(), person_ids=[payment.person_id])[payment.person_id].name
        flash(_("Payment of $%(amount)s recorded for %(name)s.", amount=f"{cents / 100:.2f}", name=name), "ok")
    except DomainError as error:
        if error.kind == "invalid" and error.details:
            flash(f"{error.message}: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in error.details.items()),
                  "error")
        else:
            flash_error(error)
    return redirect(url_for("console_events.dues_list"))


@blp.post("/dues/import")
@page(*IMPORTERS)
def import_dues_csv():
    report, error, status = _member_import(import_dues)
    return _dues_page(status, report=report, import_error=error)


# --- votes ---------------------------------------------------------------------------------


@blp.get("/votes")
@page(*ANYONE)
def votes_list():
    with transaction(db.session) as session:
        rows = votes.list_votes(session, organization_id=current_org_id(), limit=VOTES_SHOWN)
        now = utcnow()
        statuses = {v.id: votes.vote_status(v, now) for v in rows}
        tz = _tz(session)
    return render_template("console/votes.html", votes=rows, statuses=statuses, tz=ZoneInfo(tz),
                           can_create=current_user().has_any_role(*ORGANIZERS))


@blp.post("/votes")
@page(*ORGANIZERS)
def create_vote():
    form = request.form
    rule = None
    if form.get("rule") == "custom":
        try:
            rule = json.loads(form.get("eligibility_rule", ""))
        except ValueError:
            flash(_("The eligibility rule is not valid JSON."), "error")
            return redirect(url_for("console_events.votes_list"))
    quorum = int_or_none(form.get("quorum_percent"))
    try:
        with transaction(db.session) as session:
            tz = _tz(session)
            moments = {n: _local_moment(form.get(n), tz) for n in ("cutoff_at", "opens_at", "closes_at")}
            if None in moments.values():
                flash(_("Give the cutoff, opening and closing as dates and times."), "error")
                return redirect(url_for("console_events.votes_list"))
            scope = form.get("scope", "organization")
            vote = votes.create_vote(
                session, organization_id=current_org_id(), created_by_id=current_user().id, title=form.get("title", ""),
                description=form.get("description", ""), scope=scope,
                ward=(form.get("ward", "").strip() or None) if scope == "ward" else None,
                options=[line.strip() for line in form.get("options", "").splitlines() if line.strip()],
                quorum_percent=quorum if quorum is not None else -1, eligibility_rule=rule, **moments)
            vote_id = vote.id
    except DomainError as error:
        if error.details:
            flash(f"{error.message} ({error.code}): " + json.dumps(error.details), "error")
        else:
            flash_error(error)
        return redirect(url_for("console_events.votes_list"))
    flash(_("Vote created."), "ok")
    return redirect(url_for("console_events.vote", vote_id=vote_id))


@blp.get("/votes/<int:vote_id>")
@page(*ANYONE)
def vote(vote_id: int):
    user = current_user()
    organizer = user.has_any_role(*ORGANIZERS)
    eligible = exclusions = results = None
    with transaction(db.session) as session:
        described = votes.describe_vote(session, organization_id=current_org_id(), vote_id=vote_id, viewer=user)
        if organizer:
            eligible = votes.list_eligible(session, organization_id=current_org_id(), vote_id=vote_id)
            exclusions = votes.list_exclusions(session, organization_id=current_org_id(), vote_id=vote_id)
        if described["status"] == "closed":
            results = votes.vote_results(session, organization_id=current_org_id(), vote_id=vote_id)
        tz = _tz(session)
    return render_template("console/votes_detail.html", described=described, vote=described["vote"],
                           eligible=eligible, exclusions=exclusions, results=results, organizer=organizer,
                           tz=ZoneInfo(tz))


@blp.post("/votes/<int:vote_id>/recorded-ballots")
@page(*ORGANIZERS)
def record_ballot(vote_id: int):
    person_id, option_id = int_or_none(request.form.get("person_id")), int_or_none(request.form.get("option_id"))
    if person_id is None or option_id is None:
        flash(_("Choose the member and their choice."), "error")
        return redirect(url_for("console_events.vote", vote_id=vote_id))
    user = current_user()
    try:
        with transaction(db.session) as session:
            votes.cast_ballot(session, organization_id=user.organization_id, vote_id=vote_id, option_id=option_id,
                              person_id=person_id, actor=user, ip_address=client_ip())
        flash(_("Ballot recorded."), "ok")
    except DomainError as error:
        if error.code == "vote_not_found":
            raise
        flash_error(error)
    return redirect(url_for("console_events.vote", vote_id=vote_id))


@blp.post("/votes/<int:vote_id>/close")
@page(*ORGANIZERS)
def close_vote(vote_id: int):
    user = current_user()
    try:
        with transaction(db.session) as session:
            votes.close_vote(session, organization_id=user.organization_id, vote_id=vote_id, actor=user,
                             reason=request.form.get("reason", ""), ip_address=client_ip())
        flash(_("The vote is closed; the results are below."), "ok")
    except DomainError as error:
        if error.code == "vote_not_found":
            raise
        flash_error(error)
    return redirect(url_for("console_events.vote", vote_id=vote_id))


# --- households upload ---------------------------------------------------------------------


@blp.get("/households")
@page(*HOUSEHOLD_IMPORTERS)
def households():
    return render_template("console/households.html", summary=None, error=None, limit=_limit_mb())


def _limit_mb() -> str:
    return f"{current_app.config['MAX_CONTENT_LENGTH'] / (1024 * 1024):.1f}"


@blp.post("/households")
@page(*HOUSEHOLD_IMPORTERS)
def upload_households():
    """The same import as `canvass import households`, read from the upload as a stream (one transaction:
    a file that cannot be read as a whole changes nothing; bad rows are skipped and listed)."""
    upload = _uploaded_csv()
    if upload is None:
        return render_template("console/households.html", summary=None, error=None, limit=_limit_mb()), 400
    try:
        with transaction(db.session) as session:
            summary = import_households(session, organization_id=current_org_id(), stream=upload.stream)
    except DomainError as error:
        message = _("Nothing was imported: %(message)s (%(code)s)", message=error.message, code=error.code)
        return render_template("console/households.html", summary=None, error=message, limit=_limit_mb()), 422
    return render_template("console/households.html", summary=summary, error=None, limit=_limit_mb(),
                           filename=upload.filename)
