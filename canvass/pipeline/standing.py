"""Membership standing over time, from the organization's membership rule trees (issue 14).

The rollup, the nightly rebuild and a vote's snapshot (without a rule of its own) all ask one
question: during which stretches of time was a person a member? The answer comes from the rule
versions (rules.py, table membership_rules), each in force over its span
[effective_from, the next version's effective_from):

  1. each leaf condition of each version becomes the times it is met, per person
     (pl_leaf_met: intervals [s, e), null = unbounded), with the facts behind it (pl_evidence:
     payments, attended events, endorsements...);
  2. per version, the tree is compiled into one multirange expression (AND = intersection `*`,
     OR = union `+`) over the leaves' multiranges, cut to the version's span: pl_spells, the
     person's member spells under that version (stored as membership_standing_spells);
  3. the spells of all versions, merged, are the membership islands (pl_islands), which the
     stages, membership_periods, join dates and lapses are built on.

All set-based SQL over the people in pl_people: no per-person Python. The meaning of each
condition is the one rules.py evaluates at a single moment (its tests check the two agree).
`member_for` (membership defined by its own length) cannot be part of the membership rule; an old
version that holds one counts it as never met here.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from canvass.db import create_temp_table
from canvass.orgs.services import get_organization
from canvass.pipeline.membership import default_tree, dues_coverage_sql, in_people, rule_for
from canvass.pipeline.models import MembershipRuleVersion
from canvass.pipeline.rules import tree_expression, tree_leaves

EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
_EMPTY = "'{}'::tstzmultirange"


def rule_versions(session: Session, *, organization_id: int) -> list[dict[str, Any]]:
    """Every version of the organization's rule with the span it was in force: [starts, ends),
    ends None = still in force. A version overtaken before it began has no span and is left out.
    Before the first stored version (an organization made after migration 0008 has none) version 0
    is in force: the default tree from the settings."""
    rows = session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id).order_by(MembershipRuleVersion.version)
    ).scalars().all()
    spans: list[dict[str, Any]] = []
    if not rows or rows[0].effective_from > EPOCH:
        # Before the first stored version (or with none): version 0, the settings' tree, as rules.rule_in_force.
        org = get_organization(session, organization_id)
        spans.append({"version": 0, "tree": default_tree(rule_for(org)), "starts": EPOCH,
                      "ends": min(r.effective_from for r in rows) if rows else None})
    for i, row in enumerate(rows):
        # In force at t: the highest version that began by t. So a version ends when any later one begins.
        later = [r.effective_from for r in rows[i + 1:]]
        ends = min(later) if later else None
        if ends is None or ends > row.effective_from:
            spans.append({"version": row.version, "tree": row.tree, "starts": row.effective_from, "ends": ends})
    return spans


def _expression(tree: dict) -> str:
    """The tree as one multirange expression over l<i>.mr (AND: intersection, OR: union)."""
    return tree_expression(tree, and_joiner=" * ", or_joiner=" + ", leaf_sql=lambda i: f"coalesce(l{i}.mr, {_EMPTY})")


def _dues_coverage(grace: str, selective: bool) -> str:
    return dues_coverage_sql(grace, in_people("d.person_id", selective))


def _attended(months: str, kinds: str, selective: bool) -> str:
    return f"""
        SELECT a.person_id, e.id AS event_id, e.starts_at,
               ((e.starts_at AT TIME ZONE :tz) + make_interval(months => {months})) AT TIME ZONE :tz AS ages_out_at,
               jsonb_build_object('id', e.id, 'title', e.title, 'kind', e.kind, 'starts_at', e.starts_at,
                                  'ages_out_at', ((e.starts_at AT TIME ZONE :tz)
                                                  + make_interval(months => {months})) AT TIME ZONE :tz) AS detail
        FROM event_attendance a
        JOIN events e ON e.organization_id = a.organization_id AND e.id = a.event_id
        WHERE a.organization_id = :org AND {in_people("a.person_id", selective)} AND a.status = 'attended'
          AND e.status = 'scheduled' {kinds}
    """


def _leaf_sql(key: str, kind: str, params: dict, selective: bool) -> tuple[str | None, str | None, dict]:
    """(met, evidence, parameters) for one leaf. `met` selects (person_id, s, e): the times the
    condition holds (null s or e: unbounded); `evidence` selects (person_id, s, e, ord_at, ord_id,
    paid_through, detail): the facts behind it. None: never met."""
    p = {f"{key}_{name}": value for name, value in params.items()}
    if kind == "dues_current":
        coverage = _dues_coverage(f":{key}_grace_days", selective)
        met = f"SELECT person_id, s, e FROM ({coverage}) c"
        evidence = (f"SELECT person_id, s, e, paid_on::timestamp AT TIME ZONE 'UTC', payment_id, paid_through, detail "
                    f"FROM ({coverage}) c")
        return met, evidence, p
    if kind == "dues_continuous":
        coverage = _dues_coverage(f":{key}_grace_days", selective)
        # Merged coverage [s, e) without a gap: met from s + `days` (local days) until e.
        met = f"""
            SELECT person_id, ((lower(r) AT TIME ZONE :tz) + make_interval(days => :{key}_days)) AT TIME ZONE :tz,
                   upper(r)
            FROM (SELECT person_id, unnest(range_agg(tstzrange(s, e))) AS r FROM ({coverage}) c GROUP BY person_id) m
            WHERE ((lower(r) AT TIME ZONE :tz) + make_interval(days => :{key}_days)) AT TIME ZONE :tz < upper(r)
        """
        evidence = (f"SELECT person_id, s, e, paid_on::timestamp AT TIME ZONE 'UTC', payment_id, paid_through, detail "
                    f"FROM ({coverage}) c")
        return met, evidence, p
    if kind == "events_in_window":
        kinds = f"AND e.kind = ANY(CAST(:{key}_kinds AS text[]))" if params.get("kinds") else ""
        attended = _attended(f":{key}_months", kinds, selective)
        # N attended events inside M months: from the N-th event's start until the first of them
        # ages out (the window [starts_at, ages_out_at) of each event, N at a time).
        met = f"""
            SELECT person_id, s, e FROM (
                SELECT person_id, starts_at AS s,
                       lag(ages_out_at, {int(params['count']) - 1})
                           OVER (PARTITION BY person_id ORDER BY starts_at, event_id) AS e
                FROM ({attended}) a
            ) w WHERE e > s
        """
        evidence = f"SELECT person_id, starts_at, ages_out_at, starts_at, event_id, NULL::date, detail FROM ({attended}) a"
        return met, evidence, p
    if kind == "recent_events":
        # The last `of_last` events of the kind held by t change only when one is held: between two
        # such events, count what the person attended among the last `of_last`.
        met = f"""
            WITH held AS MATERIALIZED (
                SELECT id, starts_at, lead(starts_at) OVER (ORDER BY starts_at, id) AS next_at
                FROM events WHERE organization_id = :org AND kind = :{key}_kind AND status = 'scheduled'
            ), who AS (
                SELECT DISTINCT a.person_id FROM event_attendance a JOIN held ON held.id = a.event_id
                WHERE a.organization_id = :org AND {in_people("a.person_id", selective)} AND a.status = 'attended'
            ), grid AS (
                SELECT w.person_id, h.starts_at, h.next_at,
                       count(a.person_id) OVER (PARTITION BY w.person_id ORDER BY h.starts_at, h.id
                                                ROWS BETWEEN {int(params['of_last']) - 1} PRECEDING AND CURRENT ROW)
                           AS attended
                FROM who w CROSS JOIN held h
                LEFT JOIN event_attendance a ON a.organization_id = :org AND a.event_id = h.id
                     AND a.person_id = w.person_id AND a.status = 'attended'
            )
            SELECT person_id, starts_at, next_at FROM grid
            WHERE attended >= :{key}_count AND (next_at IS NULL OR next_at > starts_at)
        """
        return met, None, p
    if kind == "lives_in_ward":
        # Addresses have no history: where the household is now holds for all time (the version's span cuts it).
        where = f"AND bd.name = ANY(CAST(:{key}_wards AS text[]))" if params.get("wards") else ""
        select_ = f"""
            FROM people pe
            JOIN households h ON h.organization_id = pe.organization_id AND h.id = pe.household_id
            JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
            JOIN boundaries bd ON bd.organization_id = b.organization_id AND bd.id = b.ward_id
            WHERE pe.organization_id = :org AND {in_people("pe.id", selective)} {where}
        """
        met = f"SELECT pe.id, NULL::timestamptz, NULL::timestamptz {select_}"
        evidence = (f"SELECT pe.id, NULL::timestamptz, NULL::timestamptz, NULL::timestamptz, bd.id, NULL::date, "
                    f"jsonb_build_object('ward', bd.name) {select_}")
        return met, evidence, p
    if kind in ("endorsed", "admin_override"):
        role = f"AND m.role = :{key}_role" if kind == "endorsed" else ""
        attestation = "endorsement" if kind == "endorsed" else "override"
        select_ = f"""
            FROM membership_attestations m
            LEFT JOIN users u ON u.organization_id = m.organization_id AND u.id = m.recorded_by_id
            WHERE m.organization_id = :org AND {in_people("m.person_id", selective)} AND m.kind = '{attestation}' {role}
              AND (least(m.expires_at, m.revoked_at) IS NULL OR least(m.expires_at, m.revoked_at) > m.starts_at)
        """
        met = f"SELECT m.person_id, m.starts_at, least(m.expires_at, m.revoked_at) {select_}"
        evidence = f"""
            SELECT m.person_id, m.starts_at, least(m.expires_at, m.revoked_at), m.starts_at, m.id, NULL::date,
                   jsonb_build_object('by', coalesce(u.name, u.email), 'role', m.role, 'since', m.starts_at,
                                      'expires_at', m.expires_at, 'reason', m.reason) {select_}
        """
        return met, evidence, p
    return None, None, p  # member_for (see the module docstring); membership is only in a vote's rule


def build_standing(session: Session, params: dict, *, selective: bool = False) -> list[dict[str, Any]]:
    """From the facts of the people in pl_people and the organization's rule versions, build:

    pl_attended   each attended event (person_id, event_id, starts_at): the volunteer stage's fact
    pl_leaves     (version, leaf, kind, params, span) for every leaf of every version
    pl_leaf_met   (person_id, version, leaf, s, e): when each leaf holds
    pl_evidence   (person_id, version, leaf, s, e, ord_at, ord_id, paid_through, detail): its facts
    pl_leaf_mr    (person_id, version, leaf, mr): pl_leaf_met as one multirange per leaf
    pl_spells     (person_id, version, s, e): member spells under each version, inside its span
    pl_islands    (person_id, s, e): the spells of all versions merged; e = infinity: no end known
    `params` holds :org, :tz and :dues_cents. Returns the versions (rule_versions)."""
    versions = rule_versions(session, organization_id=params["org"])
    create_temp_table(session, "pl_attended", f"""
        SELECT a.person_id, e.id AS event_id, e.starts_at
        FROM event_attendance a
        JOIN events e ON e.organization_id = a.organization_id AND e.id = a.event_id
        WHERE a.organization_id = :org AND {in_people("a.person_id", selective)} AND a.status = 'attended'
          AND e.status = 'scheduled'
    """, params)
    session.execute(text("CREATE INDEX ON pl_attended (person_id, starts_at)"))
    leaf_rows = []
    for v in versions:
        for i, leaf in enumerate(tree_leaves(v["tree"])):
            leaf_rows.append({"version": v["version"], "leaf": i, "kind": leaf["kind"],
                              "params": leaf.get("params", {}), "starts": v["starts"], "ends": v["ends"]})
    create_temp_table(session, "pl_leaves", """
        SELECT x.version, x.leaf, x.kind, x.params, tstzrange(x.starts, x.ends) AS span
        FROM jsonb_to_recordset(CAST(:leaves AS jsonb))
             AS x(version int, leaf int, kind text, params jsonb, starts timestamptz, ends timestamptz)
    """, {"leaves": _json(leaf_rows)})
    create_temp_table(session, "pl_leaf_met", """
        SELECT NULL::bigint AS person_id, 0 AS version, 0 AS leaf, NULL::timestamptz AS s, NULL::timestamptz AS e
        WHERE false
    """, {})
    create_temp_table(session, "pl_evidence", """
        SELECT NULL::bigint AS person_id, 0 AS version, 0 AS leaf, NULL::timestamptz AS s, NULL::timestamptz AS e,
               NULL::timestamptz AS ord_at, NULL::bigint AS ord_id, NULL::date AS paid_through,
               NULL::jsonb AS detail
        WHERE false
    """, {})
    for row in leaf_rows:
        key = f"v{row['version']}_{row['leaf']}"
        met, evidence, p = _leaf_sql(key, row["kind"], row["params"], selective)
        fixed = {**params, **p, "version": row["version"], "leaf": row["leaf"]}
        if met is not None:
            session.execute(text(f"""
                INSERT INTO pl_leaf_met (person_id, version, leaf, s, e)
                SELECT x.person_id, :version, :leaf, x.s, x.e FROM ({met}) AS x(person_id, s, e)
            """), fixed)
        if evidence is not None:
            session.execute(text(f"""
                INSERT INTO pl_evidence (person_id, version, leaf, s, e, ord_at, ord_id, paid_through, detail)
                SELECT x.person_id, :version, :leaf, x.s, x.e, x.ord_at, x.ord_id, x.paid_through, x.detail
                FROM ({evidence}) AS x(person_id, s, e, ord_at, ord_id, paid_through, detail)
            """), fixed)
    session.execute(text("CREATE INDEX ON pl_evidence (person_id, version, leaf)"))
    create_temp_table(session, "pl_leaf_mr", """
        SELECT person_id, version, leaf, range_agg(tstzrange(s, e)) AS mr
        FROM pl_leaf_met GROUP BY person_id, version, leaf
    """, {})
    session.execute(text("CREATE UNIQUE INDEX ON pl_leaf_mr (person_id, version, leaf)"))
    create_temp_table(session, "pl_spells", """
        SELECT NULL::bigint AS person_id, 0 AS version, NULL::timestamptz AS s, NULL::timestamptz AS e WHERE false
    """, {})
    for v in versions:
        n = len(tree_leaves(v["tree"]))
        joins = " ".join(f"LEFT JOIN pl_leaf_mr l{i} ON l{i}.person_id = w.person_id AND l{i}.version = :version "
                         f"AND l{i}.leaf = {i}" for i in range(n))
        session.execute(text(f"""
            INSERT INTO pl_spells (person_id, version, s, e)
            SELECT person_id, :version, lower(r), coalesce(upper(r), 'infinity')
            FROM (
                SELECT w.person_id,
                       unnest({_expression(v['tree'])} * tstzmultirange(tstzrange(:starts, :ends))) AS r
                FROM (SELECT DISTINCT person_id FROM pl_leaf_mr WHERE version = :version) w {joins}
            ) x
        """), {"version": v["version"], "starts": v["starts"], "ends": v["ends"]})
    session.execute(text("CREATE INDEX ON pl_spells (person_id, s)"))
    create_temp_table(session, "pl_islands", """
        SELECT person_id, lower(r) AS s, coalesce(upper(r), 'infinity') AS e
        FROM (SELECT person_id, unnest(range_agg(tstzrange(s, e))) AS r FROM pl_spells GROUP BY person_id) x
    """, {})
    session.execute(text("CREATE INDEX ON pl_islands (person_id, s)"))
    return versions


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda d: d.isoformat())


def reasons_sql(person: str, moment: str) -> str:
    """A jsonb list: why `person` is a member at `moment` (SQL expressions): each leaf of the rule
    version in force then that holds, with its facts. Dues and attendance keep the shapes the API
    words: {"kind": "dues", "paid_through", "covered_until", "grace_days", "payments": [...]},
    {"kind": "attendance", "count", "required", "window_months", "events": [...]}; any other
    condition is {"kind", "params", "evidence": [...]}."""
    covering = (f"ev.person_id = l.person_id AND ev.version = l.version AND ev.leaf = l.leaf "
                f"AND (ev.s IS NULL OR ev.s <= {moment}) AND (ev.e IS NULL OR {moment} < ev.e)")
    return f"""(
        SELECT coalesce(jsonb_agg(x.reason ORDER BY x.leaf), '[]'::jsonb) FROM (
            SELECT l.leaf, CASE k.kind
                WHEN 'dues_current' THEN (
                    SELECT jsonb_build_object(
                               'kind', 'dues', 'paid_through', max(ev.paid_through), 'covered_until', max(ev.e),
                               'grace_days', (k.params ->> 'grace_days')::int,
                               'payments', jsonb_agg(ev.detail ORDER BY ev.ord_at, ev.ord_id))
                    FROM pl_evidence ev WHERE {covering})
                WHEN 'events_in_window' THEN (
                    SELECT jsonb_build_object(
                               'kind', 'attendance', 'count', count(*), 'required', (k.params ->> 'count')::int,
                               'window_months', (k.params ->> 'months')::int,
                               'events', jsonb_agg(ev.detail ORDER BY ev.ord_at, ev.ord_id))
                    FROM pl_evidence ev WHERE {covering})
                ELSE jsonb_build_object(
                    'kind', k.kind, 'params', k.params,
                    'evidence', (SELECT coalesce(jsonb_agg(ev.detail ORDER BY ev.ord_at, ev.ord_id), '[]'::jsonb)
                                 FROM pl_evidence ev WHERE {covering}))
                END AS reason
            FROM pl_leaf_mr l
            JOIN pl_leaves k ON k.version = l.version AND k.leaf = l.leaf AND k.span @> {moment}
            WHERE l.person_id = {person} AND l.mr @> {moment}
        ) x
    )"""


def membership_periods_sql() -> str:
    """Rows for membership_periods as of :as_of, from pl_islands: member islands that have begun,
    and the lapsed stretches after those that have ended. Reasons are taken at the period's last
    moment (now, for a current one); a lapsed period carries what ran out."""
    return f"""
        WITH islands AS (
            SELECT person_id, s, e, lead(s) OVER (PARTITION BY person_id ORDER BY s) AS next_s
            FROM pl_islands WHERE s <= :as_of
        ), periods AS (
            SELECT person_id, s AS since, CASE WHEN e <= :as_of THEN e END AS until, 'member' AS status,
                   least(e - interval '1 microsecond', :as_of) AS moment
            FROM islands
            UNION ALL
            SELECT person_id, e, CASE WHEN next_s <= :as_of THEN next_s END, 'lapsed', e - interval '1 microsecond'
            FROM islands WHERE e <= :as_of
        )
        SELECT :org AS organization_id, person_id, since, until, status,
               {reasons_sql('periods.person_id', 'periods.moment')} AS reasons
        FROM periods
    """


def standing_spells_sql() -> str:
    """Rows for membership_standing_spells as of :as_of: the spells begun by then (an open end, or
    one still ahead, stored as null)."""
    return """
        SELECT :org AS organization_id, person_id, version, s, CASE WHEN e <= :as_of THEN e END
        FROM pl_spells WHERE s <= :as_of
    """


def reason_moments_sql() -> str:
    """(person_id, at): moments inside a membership when why it holds may change (a payment or
    an event's window begins or ends, an endorsement expires): the stored reasons are recomputed then."""
    return """
        SELECT x.person_id, x.at FROM (
            SELECT person_id, s AS at FROM pl_evidence UNION SELECT person_id, e FROM pl_evidence
            UNION SELECT person_id, s FROM pl_leaf_met UNION SELECT person_id, e FROM pl_leaf_met
        ) x
        WHERE x.at IS NOT NULL
          AND EXISTS (SELECT 1 FROM pl_islands i WHERE i.person_id = x.person_id AND i.s < x.at AND x.at < i.e)
    """
