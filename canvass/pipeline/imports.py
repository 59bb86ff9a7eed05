"""CSV imports of attendance (sign-in sheets) and dues (the treasurer's ledger).

A file with a bad header is refused whole, nothing changed. Otherwise each row is checked in
Python (microseconds, no query), the good rows are COPYed into a temp table, resolved and
upserted with a handful of set-based statements, and the bad rows are reported by line number
and skipped. Re-importing a file never duplicates: attendance upserts by (event, person), dues
by `external_id` (or, without one, by being identical to a payment already recorded).

People are found by `person_id`, `person_external_id` (the member or voter file's id) or
`email`; events by `event_id` or `event_external_id`, and a row that defines a new event
(`event_external_id` with `event_title`, `event_kind`, `event_starts_at`) creates it.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.db import create_temp_table, utcnow
from canvass.errors import TooLarge, ValidationFailed
from canvass.jobs import request_rollup
from canvass.pipeline.dues import MAX_EXTERNAL_ID, MAX_NOTE, payment_problems
from canvass.pipeline.events import MAX_TITLE, OUTCOME_STATUSES
from canvass.pipeline.models import ATTENDANCE_STATUSES, EVENT_KINDS

MAX_ROWS = 200_000
PERSON_COLUMNS = ("person_id", "person_external_id", "email")
ATTENDANCE_COLUMNS = ("event_id", "event_external_id", "event_title", "event_kind", "event_starts_at",
                      "event_location", *PERSON_COLUMNS, "status")
DUES_COLUMNS = (*PERSON_COLUMNS, "amount", "amount_cents", "paid_on", "method", "period_start", "period_end",
                "external_id", "note")
_MONEY = re.compile(r"^\$?\s*(\d{1,9}(?:,\d{3})*(?:\.\d{1,2})?)$")


class RowError(ValueError):
    """One row's problem, reported with its line number."""


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    events_created: int = 0
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def skip(self, line: int, reason: str) -> None:
        self.skipped.append((line, reason))

    @property
    def skipped_count(self) -> int:
        return len(self.skipped)


def _read(file: IO[str], allowed: tuple[str, ...], *, need_one_of: list[tuple[str, ...]]):
    reader = csv.DictReader(file)
    try:
        header = reader.fieldnames
    except csv.Error as error:
        raise ValidationFailed(f"not a readable CSV file: {error}", code="invalid_csv") from None
    if not header:
        raise ValidationFailed("the file is empty: a header row is required", code="invalid_csv")
    columns = [(name or "").strip().lower() for name in header]
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise ValidationFailed(f"unknown columns: {', '.join(unknown)} (known: {', '.join(allowed)})",
                               code="invalid_csv", details={"columns": unknown})
    if len(set(columns)) != len(columns):
        raise ValidationFailed("a column appears twice in the header", code="invalid_csv")
    for group in need_one_of:
        if not set(group) & set(columns):
            raise ValidationFailed(f"the header needs one of: {', '.join(group)}", code="invalid_csv")
    reader.fieldnames = columns
    try:
        for index, row in enumerate(reader):
            if index >= MAX_ROWS:
                raise TooLarge(f"at most {MAX_ROWS} rows per file; split it", code="too_many_rows")
            if None in row:
                yield reader.line_num, None, "more values than columns"
                continue
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}, None
    except csv.Error as error:
        raise ValidationFailed(f"line {reader.line_num}: not readable as CSV ({error})", code="invalid_csv") from None


def _id(value: str, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 2**63:
        raise RowError(f"{name} must be a positive whole number")
    return int(value)


def _person_ref(row: dict) -> tuple[int | None, str | None, str | None]:
    person_id = _id(row.get("person_id", ""), "person_id")
    external = row.get("person_external_id") or None
    email = (row.get("email") or "").lower() or None
    if person_id is None and external is None and email is None:
        raise RowError("no person: give person_id, person_external_id or email")
    return person_id, external, email


def _date(value: str, name: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowError(f"{name} must be a date, YYYY-MM-DD") from None


def _copy_rows(session: Session, table: str, columns: tuple[str, ...], rows) -> None:
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _resolve_people(session: Session, table: str, params: dict, report: ImportReport) -> None:
    """Fill `person` from person_id / person_external_id / email; report rows that match nobody
    (or, by e-mail, more than one person) and drop them."""
    session.execute(text(f"""
        UPDATE {table} i SET person = p.id FROM people p
        WHERE p.organization_id = :org AND i.person_id IS NOT NULL AND p.id = i.person_id
    """), params)
    session.execute(text(f"""
        UPDATE {table} i SET person = p.id FROM people p
        WHERE i.person IS NULL AND i.person_id IS NULL AND i.person_external_id IS NOT NULL
          AND p.organization_id = :org AND p.external_id = i.person_external_id
    """), params)
    session.execute(text(f"""
        UPDATE {table} i SET person = m.id FROM (
            SELECT lower(email) AS email, min(id) AS id, count(*) AS n FROM people
            WHERE organization_id = :org AND email IS NOT NULL GROUP BY lower(email)
        ) m
        WHERE i.person IS NULL AND i.person_id IS NULL AND i.person_external_id IS NULL AND m.email = i.email
          AND m.n = 1
    """), params)
    for line, reason in session.execute(text(f"""
        DELETE FROM {table} i WHERE i.person IS NULL
        RETURNING i.line, CASE WHEN i.person_id IS NOT NULL THEN 'no person with person_id ' || i.person_id
                               WHEN i.person_external_id IS NOT NULL
                                   THEN 'no person with person_external_id ' || i.person_external_id
                               WHEN EXISTS (SELECT 1 FROM people p WHERE p.organization_id = :org
                                            AND lower(p.email) = i.email)
                                   THEN 'more than one person has the e-mail ' || i.email
                               ELSE 'no person with the e-mail ' || i.email END
    """), params):
        report.skip(line, reason)


# --- attendance ----------------------------------------------------------------------------


def _parse_attendance(line: int, row: dict, events: dict):
    person_id, person_external, email = _person_ref(row)
    event_id = _id(row.get("event_id", ""), "event_id")
    external = row.get("event_external_id") or None
    if event_id is None and external is None:
        raise RowError("no event: give event_id or event_external_id")
    status = (row.get("status") or "attended").lower()
    if status not in ATTENDANCE_STATUSES:
        raise RowError(f"status must be one of: {', '.join(ATTENDANCE_STATUSES)}")
    if external is not None and row.get("event_title"):
        title, kind = row["event_title"], (row.get("event_kind") or "meeting").lower()
        if len(title) > MAX_TITLE:
            raise RowError(f"event_title is longer than {MAX_TITLE} characters")
        if kind not in EVENT_KINDS:
            raise RowError(f"event_kind must be one of: {', '.join(EVENT_KINDS)}")
        try:
            starts_at = datetime.fromisoformat(row.get("event_starts_at", ""))
        except ValueError:
            raise RowError("event_starts_at must be an ISO 8601 date-time with an offset") from None
        if starts_at.tzinfo is None:
            raise RowError("event_starts_at needs a UTC offset, e.g. 2026-11-21T18:00:00-06:00")
        events.setdefault(external, (line, kind, title, starts_at, row.get("event_location", "")))
    return (line, event_id, external, person_id, person_external, email, status)


def import_attendance(session: Session, *, organization_id: int, file: IO[str], recorded_by_id: int | None = None,
                      now: datetime | None = None) -> ImportReport:
    now = now or utcnow()
    report, rows, events = ImportReport(), [], {}
    for line, row, problem in _read(file, ATTENDANCE_COLUMNS,
                                    need_one_of=[("event_id", "event_external_id"), PERSON_COLUMNS]):
        report.rows += 1
        try:
            if problem:
                raise RowError(problem)
            rows.append(_parse_attendance(line, row, events))
        except RowError as error:
            report.skip(line, str(error))
    params = {"org": organization_id, "by": recorded_by_id, "now": now, "outcomes": list(OUTCOME_STATUSES)}
    if events:
        created = session.execute(text("""
            INSERT INTO events (organization_id, kind, title, starts_at, location, external_id, created_by_id)
            SELECT :org, d.kind, d.title, d.starts_at, d.location, d.external_id, :by
            FROM unnest(CAST(:kinds AS text[]), CAST(:titles AS text[]), CAST(:starts AS timestamptz[]),
                        CAST(:locations AS text[]), CAST(:externals AS text[]))
                 AS d(kind, title, starts_at, location, external_id)
            ON CONFLICT (organization_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
        """), {**params, "kinds": [e[1] for e in events.values()], "titles": [e[2] for e in events.values()],
               "starts": [e[3] for e in events.values()], "locations": [e[4] for e in events.values()],
               "externals": list(events)}).rowcount
        report.events_created = created
    create_temp_table(session, "pl_import_attendance", """
        SELECT 0 AS line, 0::bigint AS event_id, ''::text AS event_external_id, 0::bigint AS person_id,
               ''::text AS person_external_id, ''::text AS email, ''::text AS status,
               NULL::bigint AS event, NULL::bigint AS person WHERE false
    """)
    _copy_rows(session, "pl_import_attendance",
               ("line", "event_id", "event_external_id", "person_id", "person_external_id", "email", "status"), rows)
    session.execute(text("""
        UPDATE pl_import_attendance i SET event = e.id FROM events e
        WHERE e.organization_id = :org
          AND CASE WHEN i.event_id IS NOT NULL THEN e.id = i.event_id ELSE e.external_id = i.event_external_id END
    """), params)
    for line, reason in session.execute(text("""
        DELETE FROM pl_import_attendance i WHERE event IS NULL
        RETURNING line, 'no event with ' || CASE WHEN event_id IS NOT NULL THEN 'event_id ' || event_id
                                                 ELSE 'event_external_id ' || event_external_id END
    """), params):
        report.skip(line, reason)
    _resolve_people(session, "pl_import_attendance", params, report)
    for line, reason in session.execute(text("""
        DELETE FROM pl_import_attendance i USING events e
        WHERE e.organization_id = :org AND e.id = i.event
          AND (e.status = 'cancelled' OR (e.starts_at > :now AND i.status = ANY(CAST(:outcomes AS text[]))))
        RETURNING i.line, CASE WHEN e.status = 'cancelled' THEN 'the event was cancelled'
                               ELSE 'the event has not begun: only sign-ups can be recorded' END
    """), params):
        report.skip(line, reason)
    # The last row for an (event, person) wins; the earlier ones are reported.
    for line, later in session.execute(text("""
        WITH ranked AS (
            SELECT line, max(line) OVER (PARTITION BY event, person) AS last FROM pl_import_attendance
        )
        DELETE FROM pl_import_attendance i USING ranked r
        WHERE i.line = r.line AND r.line < r.last
        RETURNING i.line, r.last
    """)):
        report.skip(line, f"the same event and person again on line {later}: that row wins")
    written = session.execute(text("""
        INSERT INTO event_attendance AS a (organization_id, event_id, person_id, status, source, recorded_by_id)
        SELECT :org, event, person, status, 'import', :by FROM pl_import_attendance
        ON CONFLICT (organization_id, event_id, person_id) DO UPDATE
        SET status = excluded.status, source = excluded.source, recorded_by_id = excluded.recorded_by_id,
            change_seq = nextval('pipeline_change_seq'), updated_at = now()
        WHERE a.status IS DISTINCT FROM excluded.status
        RETURNING (xmax = 0)
    """), params).scalars().all()
    remaining = session.execute(text("SELECT count(*) FROM pl_import_attendance")).scalar_one()
    report.created = sum(1 for created in written if created)
    report.updated = len(written) - report.created
    report.unchanged = remaining - len(written)
    report.skipped.sort()
    if written or report.events_created:
        request_rollup(session, organization_id=organization_id)
    return report


# --- dues ------------------------------------------------------------------------------------


def _amount_cents(row: dict) -> int:
    if row.get("amount_cents"):
        if not row["amount_cents"].isdigit():
            raise RowError("amount_cents must be a whole number of cents")
        return int(row["amount_cents"])
    match = _MONEY.match(row.get("amount", ""))
    if not match:
        raise RowError("amount must be a positive sum such as 10.00 (or give amount_cents)")
    try:
        return int(Decimal(match.group(1).replace(",", "")) * 100)
    except InvalidOperation:
        raise RowError("amount is not a number") from None


def _parse_dues(line: int, row: dict, today: date):
    person_id, person_external, email = _person_ref(row)
    if row.get("amount", "").startswith("-") or row.get("amount_cents", "").startswith("-"):
        raise RowError("amount must be positive")
    values = {
        "amount_cents": _amount_cents(row),
        "paid_on": _date(row.get("paid_on", ""), "paid_on"),
        "method": (row.get("method") or "").lower(),
        "period_start": _date(row.get("period_start", ""), "period_start"),
        "period_end": _date(row.get("period_end", ""), "period_end"),
    }
    problems = payment_problems(**values, today=today)
    if problems:
        raise RowError("; ".join(f"{name} {', '.join(messages)}" for name, messages in problems.items()))
    external, note = row.get("external_id") or None, row.get("note") or None
    if external is not None and len(external) > MAX_EXTERNAL_ID:
        raise RowError(f"external_id is longer than {MAX_EXTERNAL_ID} characters")
    if note is not None and len(note) > MAX_NOTE:
        raise RowError(f"note is longer than {MAX_NOTE} characters")
    return (line, person_id, person_external, email, values["amount_cents"], values["paid_on"], values["method"],
            values["period_start"], values["period_end"], external, note)


def import_dues(session: Session, *, organization_id: int, file: IO[str], recorded_by_id: int | None = None
                ) -> ImportReport:
    report, rows = ImportReport(), []
    today = session.execute(text("SELECT current_date")).scalar_one()
    for line, row, problem in _read(file, DUES_COLUMNS, need_one_of=[PERSON_COLUMNS, ("amount", "amount_cents"),
                                                                      ("paid_on",), ("method",), ("period_start",),
                                                                      ("period_end",)]):
        report.rows += 1
        try:
            if problem:
                raise RowError(problem)
            rows.append(_parse_dues(line, row, today))
        except RowError as error:
            report.skip(line, str(error))
    params = {"org": organization_id, "by": recorded_by_id}
    create_temp_table(session, "pl_import_dues", """
        SELECT 0 AS line, 0::bigint AS person_id, ''::text AS person_external_id, ''::text AS email,
               0 AS amount_cents, NULL::date AS paid_on, ''::text AS method, NULL::date AS period_start,
               NULL::date AS period_end, ''::text AS external_id, ''::text AS note, NULL::bigint AS person
        WHERE false
    """)
    _copy_rows(session, "pl_import_dues", ("line", "person_id", "person_external_id", "email", "amount_cents",
                                           "paid_on", "method", "period_start", "period_end", "external_id", "note"),
               rows)
    _resolve_people(session, "pl_import_dues", params, report)
    for line, later in session.execute(text("""
        WITH ranked AS (
            SELECT line, max(line) OVER (PARTITION BY external_id) AS last
            FROM pl_import_dues WHERE external_id IS NOT NULL
        )
        DELETE FROM pl_import_dues i USING ranked r WHERE i.line = r.line AND r.line < r.last
        RETURNING i.line, r.last
    """)):
        report.skip(line, f"the same external_id again on line {later}: that row wins")
    upserted = session.execute(text("""
        INSERT INTO dues_payments AS d (organization_id, person_id, amount_cents, paid_on, method, period_start,
                                        period_end, external_id, note, source, recorded_by_id)
        SELECT :org, person, amount_cents, paid_on, method, period_start, period_end, external_id, note, 'import', :by
        FROM pl_import_dues i
        -- Without an external_id, a payment identical to one on record is the same payment re-imported.
        WHERE i.external_id IS NOT NULL OR NOT EXISTS (
            SELECT 1 FROM dues_payments x
            WHERE x.organization_id = :org AND x.person_id = i.person AND x.amount_cents = i.amount_cents
              AND x.paid_on = i.paid_on AND x.method = i.method AND x.period_start = i.period_start
              AND x.period_end = i.period_end AND x.voided_at IS NULL)
        ON CONFLICT (organization_id, external_id) WHERE external_id IS NOT NULL DO UPDATE
        SET person_id = excluded.person_id, amount_cents = excluded.amount_cents, paid_on = excluded.paid_on,
            method = excluded.method, period_start = excluded.period_start, period_end = excluded.period_end,
            note = excluded.note, change_seq = nextval('pipeline_change_seq'), updated_at = now()
        WHERE (d.person_id, d.amount_cents, d.paid_on, d.method, d.period_start, d.period_end, d.note)
              IS DISTINCT FROM (excluded.person_id, excluded.amount_cents, excluded.paid_on, excluded.method,
                                excluded.period_start, excluded.period_end, excluded.note)
        RETURNING (xmax = 0)
    """), params).scalars().all()
    remaining = session.execute(text("SELECT count(*) FROM pl_import_dues")).scalar_one()
    report.created = sum(1 for created in upserted if created)
    report.updated = len(upserted) - report.created
    report.unchanged = remaining - len(upserted)
    report.skipped.sort()
    if upserted:
        request_rollup(session, organization_id=organization_id)
    return report
