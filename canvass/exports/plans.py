"""What an export selects: one checked, tenant-scoped query per kind, run later by streaming.py.

Kinds (CSV): contacts, pledges, people, members; and `canvasses`, the contacts as OSDI canvass
objects (JSON). Filters: from/to (the organization's local days), ward (by name), campaign, and
changed_since (an incremental sync: rows added or changed since then). Rows come in id order.

Do-not-contact. A person or household marked do-not-contact (or a contact recording the request)
is never in a contact list: contacts, pledge cards and canvasses leave those rows out. The people
and members exports are records for syncing into other systems, so those people stay in, marked
`do_not_contact=true`, with phone and e-mail blanked: the other system learns to suppress them
and never receives a way to reach them.

Incremental syncs. `changed_since` compares against received_at / updated_at, which are
transaction start times: a row whose transaction began before an export but committed after it
carries an earlier time than the export. So the next `changed_since` a client should use
(`next_changed_since`) is the export's start minus SYNC_OVERLAP; rows carry ids, so the few
repeated rows are upserts on the other side, and none is missed.

Queries are written for psycopg's COPY (named %(placeholders)s, bound client-side).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from canvass.dashboards.queries import Scope, check_date_range, resolve_scope

CSV_KINDS = ("contacts", "pledges", "people", "members")
EXPORT_KINDS = (*CSV_KINDS, "canvasses")
SYNC_OVERLAP = timedelta(minutes=10)
ORIGIN_SYSTEM = "canvass"


def _iso(column: str) -> str:
    # ISO 8601 with an offset (the transaction runs in UTC), as everywhere in the API.
    return f"to_json({column}) #>> '{{}}'"


def _local_range(column: str) -> str:
    return (f"{column} >= (%(date_from)s::date::timestamp AT TIME ZONE %(tz)s) "
            f"AND {column} < ((%(date_to)s::date + 1)::timestamp AT TIME ZONE %(tz)s)")


@dataclass(frozen=True)
class ExportPlan:
    kind: str
    organization_id: int
    filters: dict  # as asked for (JSON-ready): what the audit log records
    sql: str  # the SELECT, psycopg placeholders
    params: dict
    next_changed_since: datetime
    format: str = "csv"  # csv | osdi
    columns: tuple = field(default_factory=tuple)


# --- per kind: columns and the query ---------------------------------------------------------

_HOUSEHOLD_JOINS = """
    LEFT JOIN households h ON h.organization_id = {org} AND h.id = {household}
    LEFT JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
    LEFT JOIN boundaries w ON w.organization_id = b.organization_id AND w.id = b.ward_id
"""


def _household_joins(household: str, org: str = "%(org)s") -> str:
    return _HOUSEHOLD_JOINS.format(org=org, household=household)


def _contacts_sql(where: list[str]) -> tuple[tuple, str]:
    columns = ("id", "client_id", "occurred_at", "received_at", "campaign_id", "campaign", "canvasser_id", "canvasser",
               "household_id", "address", "unit", "city", "zip", "ward", "person_id", "first_name", "last_name",
               "result", "responses", "notes", "flags")
    sql = f"""
        SELECT c.id, c.client_id, {_iso("c.occurred_at")}, {_iso("c.received_at")}, c.campaign_id, k.name,
               c.canvasser_id, u.name, c.household_id, b.line1, h.unit, b.city, b.zip, w.name,
               c.person_id, p.first_name, p.last_name, coalesce(c.result_code, 'canvassed'), c.responses::text,
               c.notes, array_to_string(c.flags, ';')
        FROM contacts c
        JOIN campaigns k ON k.organization_id = c.organization_id AND k.id = c.campaign_id
        LEFT JOIN users u ON u.organization_id = c.organization_id AND u.id = c.canvasser_id
        LEFT JOIN people p ON p.organization_id = c.organization_id AND p.id = c.person_id
        {_household_joins("c.household_id")}
        WHERE c.organization_id = %(org)s AND NOT c.do_not_contact AND NOT coalesce(h.do_not_contact, false)
              AND NOT coalesce(p.do_not_contact, false) {''.join(' AND ' + w for w in where)}
    """
    return columns, sql


def _record_filters(alias: str, scope: Scope, args: dict, *, changed: str) -> list[str]:
    """Date (in the organization's time zone), ward, campaign and changed-since filters of a record export."""
    where = []
    if args.get("date_from"):
        where.append(f"{alias}.occurred_at >= (%(date_from)s::date::timestamp AT TIME ZONE %(tz)s)")
    if args.get("date_to"):
        where.append(f"{alias}.occurred_at < ((%(date_to)s::date + 1)::timestamp AT TIME ZONE %(tz)s)")
    if scope.ward_id is not None:
        where.append("b.ward_id = %(ward_id)s")
    if scope.campaign_id is not None:
        where.append(f"{alias}.campaign_id = %(campaign_id)s")
    if args.get("changed_since"):
        where.append(changed)
    return where


def _contact_filters(scope: Scope, args: dict) -> list[str]:
    return _record_filters("c", scope, args, changed="c.received_at >= %(changed_since)s")


def _pledges_sql(scope: Scope, args: dict) -> tuple[tuple, str]:
    columns = ("id", "client_id", "occurred_at", "received_at", "pledge_type", "source", "campaign_id", "campaign",
               "canvasser_id", "canvasser", "person_id", "first_name", "last_name", "phone", "email", "household_id",
               "address", "unit", "city", "zip", "ward", "consent_to_contact", "follow_up_status", "next_follow_up_at",
               "notes", "card_phone", "card_email")
    where = _record_filters(
        "g", scope, args, changed="(g.received_at >= %(changed_since)s OR g.last_follow_up_at >= %(changed_since)s)"
    )
    sql = f"""
        SELECT g.id, g.client_id, {_iso("g.occurred_at")}, {_iso("g.received_at")}, g.pledge_type, g.source,
               g.campaign_id, k.name, g.canvasser_id, u.name, g.person_id, p.first_name, p.last_name,
               -- contact details only where the card consented to contact: the person's preferred ones
               -- (the newest consented, canvass/people/details.py), then (last columns) the card's own
               CASE WHEN g.consent_to_contact THEN p.phone END, CASE WHEN g.consent_to_contact THEN p.email END,
               h.id, b.line1, h.unit, b.city, b.zip, w.name, g.consent_to_contact, g.follow_up_status,
               {_iso("g.next_follow_up_at")}, g.notes,
               CASE WHEN g.consent_to_contact THEN g.phone END, CASE WHEN g.consent_to_contact THEN g.email END
        FROM pledges g
        JOIN people p ON p.organization_id = g.organization_id AND p.id = g.person_id
        LEFT JOIN campaigns k ON k.organization_id = g.organization_id AND k.id = g.campaign_id
        LEFT JOIN users u ON u.organization_id = g.organization_id AND u.id = g.canvasser_id
        {_household_joins("coalesce(g.household_id, p.household_id)")}
        WHERE g.organization_id = %(org)s AND NOT p.do_not_contact AND NOT coalesce(h.do_not_contact, false)
              {''.join(' AND ' + w for w in where)}
    """
    return columns, sql


_DNC = "(p.do_not_contact OR coalesce(h.do_not_contact, false))"
_REACH = f"CASE WHEN {_DNC} THEN NULL ELSE p.phone END, CASE WHEN {_DNC} THEN NULL ELSE p.email END"
_IN_CAMPAIGN = """(EXISTS (SELECT 1 FROM contacts c WHERE c.organization_id = p.organization_id AND c.person_id = p.id
                          AND c.campaign_id = %(campaign_id)s)
               OR EXISTS (SELECT 1 FROM pledges g WHERE g.organization_id = p.organization_id AND g.person_id = p.id
                          AND g.campaign_id = %(campaign_id)s))"""


def _people_sql(scope: Scope, args: dict) -> tuple[tuple, str]:
    columns = ("id", "external_id", "first_name", "last_name", "phone", "email", "do_not_contact", "deceased",
               "residence_current", "household_id", "address", "unit", "city", "zip", "ward", "source",
               "merged_into_id", "created_at", "updated_at")
    where = []
    if args.get("date_from") or args.get("date_to"):
        where.append(_local_range("p.created_at"))
    if scope.ward_id is not None:
        where.append("b.ward_id = %(ward_id)s")
    if scope.campaign_id is not None:
        where.append(_IN_CAMPAIGN)
    if args.get("changed_since"):
        # A household marked do-not-contact changes what its people's rows say.
        where.append("(p.updated_at >= %(changed_since)s OR h.updated_at >= %(changed_since)s)")
    sql = f"""
        SELECT p.id, p.external_id, p.first_name, p.last_name, {_REACH}, {_DNC}, p.deceased, p.residence_current,
               p.household_id, b.line1, h.unit, b.city, b.zip, w.name, p.source, p.merged_into_id,
               {_iso("p.created_at")}, {_iso("p.updated_at")}
        FROM people p
        {_household_joins("p.household_id")}
        WHERE p.organization_id = %(org)s {''.join(' AND ' + w for w in where)}
    """
    return columns, sql


def _members_sql(scope: Scope, args: dict) -> tuple[tuple, str]:
    columns = ("person_id", "first_name", "last_name", "phone", "email", "do_not_contact", "ward", "status",
               "may_vote", "stage", "member_since", "good_until")
    where = []
    if args.get("date_from") or args.get("date_to"):
        # Members at some moment of the range.
        where.append("""EXISTS (SELECT 1 FROM membership_periods mp WHERE mp.organization_id = pp.organization_id
                        AND mp.person_id = pp.person_id AND mp.status = 'member'
                        AND mp.since < ((%(date_to)s::date + 1)::timestamp AT TIME ZONE %(tz)s)
                        AND (mp.until IS NULL OR mp.until >= (%(date_from)s::date::timestamp AT TIME ZONE %(tz)s)))""")
    if scope.ward_id is not None:
        where.append("pp.ward_key = %(ward_id)s")
    if scope.campaign_id is not None:
        where.append("pp.campaign_key = %(campaign_id)s")
    if args.get("changed_since"):
        # A membership that started or ended since then (renewals that only move good_until don't count).
        where.append("""EXISTS (SELECT 1 FROM membership_periods mp WHERE mp.organization_id = pp.organization_id
                        AND mp.person_id = pp.person_id
                        AND (mp.since >= %(changed_since)s OR mp.until >= %(changed_since)s))""")
    sql = f"""
        SELECT pp.person_id, p.first_name, p.last_name, {_REACH}, {_DNC}, wk.name, pp.membership_status,
               pp.membership_status = 'member', pp.stage, {_iso("pp.member_since")},
               {_iso("CASE WHEN pp.membership_status = 'member' THEN pp.member_until END")}
        FROM pipeline_people pp
        JOIN people p ON p.organization_id = pp.organization_id AND p.id = pp.person_id
        LEFT JOIN households h ON h.organization_id = p.organization_id AND h.id = p.household_id
        LEFT JOIN boundaries wk ON wk.organization_id = pp.organization_id AND wk.id = pp.ward_key
        WHERE pp.organization_id = %(org)s AND pp.membership_status IN ('member', 'lapsed')
              {''.join(' AND ' + w for w in where)}
    """
    return columns, sql


def _canvasses_sql(where: list[str]) -> str:
    """One OSDI canvass per contact (https://opensupporter.github.io/osdi-docs/canvasses.html),
    target and canvasser embedded by identifier, answers embedded with their questions."""
    return f"""
        SELECT jsonb_build_object(
            'identifiers', jsonb_build_array('{ORIGIN_SYSTEM}:contact-' || c.id,
                                             '{ORIGIN_SYSTEM}_client:' || c.client_id),
            'origin_system', '{ORIGIN_SYSTEM}',
            'created_date', c.received_at, 'modified_date', c.received_at, 'action_date', c.occurred_at,
            'contact_type', 'in-person',
            'input_type', CASE WHEN c.device_id IS NULL THEN 'paper' ELSE 'mobile' END,
            'success', c.responses IS NOT NULL,
            'status_code', coalesce(replace(c.result_code, '_', '-'), ''),
            'custom_fields', jsonb_build_object('campaign_id', c.campaign_id, 'campaign', k.name,
                                                'household_id', c.household_id, 'ward', w.name,
                                                'flags', to_jsonb(c.flags)),
            '_embedded', jsonb_build_object(
                'osdi:target', CASE WHEN p.id IS NULL THEN NULL ELSE jsonb_build_object(
                    'identifiers', jsonb_build_array('{ORIGIN_SYSTEM}:person-' || p.id),
                    'given_name', p.first_name, 'family_name', p.last_name) END,
                'osdi:canvasser', CASE WHEN u.id IS NULL THEN NULL ELSE jsonb_build_object(
                    'identifiers', jsonb_build_array('{ORIGIN_SYSTEM}:user-' || u.id), 'name', u.name) END,
                'osdi:answers', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                        'question', jsonb_build_object(
                            'identifiers', jsonb_build_array('{ORIGIN_SYSTEM}:question-' || (r ->> 'question_id')),
                            'title', q.prompt, 'question_type', q.kind),
                        'responses', jsonb_build_array(r -> 'answer')) ORDER BY q.position)
                    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.responses) = 'array'
                                                   THEN c.responses ELSE '[]'::jsonb END) r
                    LEFT JOIN questions q ON q.organization_id = c.organization_id
                         AND q.id::text = r ->> 'question_id'), '[]'::jsonb)
            )
        )::text
        FROM contacts c
        JOIN campaigns k ON k.organization_id = c.organization_id AND k.id = c.campaign_id
        LEFT JOIN users u ON u.organization_id = c.organization_id AND u.id = c.canvasser_id
        LEFT JOIN people p ON p.organization_id = c.organization_id AND p.id = c.person_id
        {_household_joins("c.household_id")}
        WHERE c.organization_id = %(org)s AND NOT c.do_not_contact AND NOT coalesce(h.do_not_contact, false)
              AND NOT coalesce(p.do_not_contact, false) {''.join(' AND ' + w for w in where)}
        ORDER BY c.id
    """


# --- the plan ---------------------------------------------------------------------------------


def _jsonable(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def plan_export(session: Session, *, organization_id: int, kind: str, ward: str | None = None,
                campaign_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
                changed_since: datetime | None = None) -> ExportPlan:
    """Check the filters against the caller's organization and build the query. Nothing runs yet."""
    if kind not in EXPORT_KINDS:
        raise ValueError(f"kind must be one of {EXPORT_KINDS}")
    check_date_range(date_from, date_to)
    scope = resolve_scope(session, organization_id=organization_id, ward=ward, campaign_id=campaign_id)
    args = {"date_from": date_from, "date_to": date_to, "changed_since": changed_since}
    if (date_from or date_to) and kind in ("people", "members"):
        # An open end of the range means "since forever" or "until today".
        args["date_from"] = date_from or date(1900, 1, 1)
        args["date_to"] = date_to or date(9999, 12, 30)
    started = session.execute(text("SELECT now()")).scalar_one()
    params = {"org": organization_id, "tz": scope.timezone, "ward_id": scope.ward_id,
              "campaign_id": scope.campaign_id, **args}
    fmt = "csv"
    if kind == "contacts":
        columns, sql = _contacts_sql(_contact_filters(scope, args))
    elif kind == "pledges":
        columns, sql = _pledges_sql(scope, args)
    elif kind == "people":
        columns, sql = _people_sql(scope, args)
    elif kind == "members":
        columns, sql = _members_sql(scope, args)
    else:
        columns, sql, fmt = (), _canvasses_sql(_contact_filters(scope, args)), "osdi"
    if columns:
        # Named columns for the CSV header; rows in id order (the first column), stable for syncing.
        sql = f"SELECT * FROM ({sql}) AS x({', '.join(columns)}) ORDER BY 1"
    filters = {key: _jsonable(value) for key, value in (
        ("from", date_from), ("to", date_to), ("ward", ward), ("campaign_id", campaign_id),
        ("changed_since", changed_since),
    ) if value is not None}
    return ExportPlan(kind=kind, organization_id=organization_id, filters=filters, sql=sql, params=params,
                      next_changed_since=started - SYNC_OVERLAP, format=fmt, columns=columns)
