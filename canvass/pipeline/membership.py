"""The membership rule: a member is someone whose dues cover today (plus grace days) OR who
attended at least N events in the trailing M months. Per organization, configurable, explainable.

Membership is computed as *islands*: time intervals during which a person is a member.
Each dues payment covers [max(period start, paid on), paid through + grace + 1 day); each run
of N attended events covers [the N-th event, the first of them + M months). Overlapping or
touching intervals merge into one island. Everything is exact to the moment (dates in the
organization's time zone), so "dues lapse on period end + grace" and "events age out on
attendance date + M months" are dates computed from the facts, not the day a job ran.

The SQL here fills session temp tables for the people listed in `pl_people`; the rollup
(stages.py, rollup.py) and the vote eligibility snapshot (votes.py) build on them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from canvass.audit.services import record_audit_event
from canvass.db import create_temp_table, utcnow
from canvass.errors import NotFound, ValidationFailed
from canvass.jobs import request_rebuild
from canvass.orgs.models import Organization
from canvass.orgs.services import get_organization, timezone_for
from canvass.people.models import Person
from canvass.pipeline.models import MembershipPeriod, MembershipRuleVersion, PipelinePerson
from canvass.pipeline.runs import last_run_at

# name -> (default, minimum, maximum)
RULE_FIELDS = {
    "dues_monthly_cents": (1000, 0, 10_000_000),
    "grace_days": (7, 0, 365),
    "events_required": (3, 1, 100),
    "window_months": (6, 1, 60),
}
LEADER_FIELDS = {
    # 0 switches a criterion off; both 0: nobody is a leader.
    "events_led": (1, 0, 1000),
    "pledges_collected": (10, 0, 100_000),
}


@dataclass(frozen=True)
class MembershipRule:
    dues_monthly_cents: int = 1000
    grace_days: int = 7
    events_required: int = 3
    window_months: int = 6
    leader_events_led: int = 1
    leader_pledges_collected: int = 10

    def as_settings(self) -> dict:
        return {
            "dues_monthly_cents": self.dues_monthly_cents,
            "grace_days": self.grace_days,
            "events_required": self.events_required,
            "window_months": self.window_months,
            "leader": {"events_led": self.leader_events_led, "pledges_collected": self.leader_pledges_collected},
        }

    def sql_params(self) -> dict:
        return {f"rule_{key}": value for key, value in asdict(self).items()}


def _checked_int(value, name: str, minimum: int, maximum: int, errors: dict):
    # bool is an int in Python; a rule of `true` events is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = ["must be a whole number"]
    elif not minimum <= value <= maximum:
        errors[name] = [f"must be between {minimum} and {maximum}"]
    return value


def validate_rule(data: dict) -> MembershipRule:
    """A complete rule from settings-shaped data: missing keys take defaults, bad values fail."""
    if not isinstance(data, dict):
        raise ValidationFailed("the membership rule must be an object", details={"membership": ["must be an object"]})
    errors: dict = {}
    unknown = sorted(set(data) - set(RULE_FIELDS) - {"leader"})
    for key in unknown:
        errors[key] = ["unknown field"]
    values = {}
    for name, (default, minimum, maximum) in RULE_FIELDS.items():
        values[name] = _checked_int(data.get(name, default), name, minimum, maximum, errors)
    leader = data.get("leader", {})
    if not isinstance(leader, dict):
        errors["leader"] = ["must be an object"]
        leader = {}
    for key in sorted(set(leader) - set(LEADER_FIELDS)):
        errors[f"leader.{key}"] = ["unknown field"]
    for name, (default, minimum, maximum) in LEADER_FIELDS.items():
        values[f"leader_{name}"] = _checked_int(leader.get(name, default), f"leader.{name}", minimum, maximum, errors)
    if errors:
        raise ValidationFailed("the membership rule is not valid", code="invalid_membership_rule", details=errors)
    return MembershipRule(**values)


def default_tree(rule: MembershipRule) -> dict:
    """The fixed rule as a rule tree (rules.py): dues cover the date (+ grace) OR N events in M months."""
    return {"op": "or", "rules": [
        {"kind": "dues_current", "params": {"grace_days": rule.grace_days}},
        {"kind": "events_in_window", "params": {"count": rule.events_required, "months": rule.window_months}},
    ]}


def _follow_settings_in_tree(session: Session, *, organization_id: int, before: MembershipRule,
                             after: MembershipRule, actor_user_id: int | None) -> None:
    """When the stored rule tree in force is still the settings' rule, a settings change adds the
    matching version (so the tree and the rollup keep agreeing); a customised tree is left alone."""
    latest = session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id).order_by(MembershipRuleVersion.version.desc())
        .limit(1)).scalar_one_or_none()
    if latest is None or latest.tree != default_tree(before) or default_tree(after) == latest.tree:
        return
    session.add(MembershipRuleVersion(organization_id=organization_id, version=latest.version + 1,
                                      tree=default_tree(after), effective_from=utcnow(),
                                      note="follows PATCH /v1/membership-rule", created_by_id=actor_user_id))
    session.flush()


def rule_for(organization: Organization) -> MembershipRule:
    """The organization's rule; settings written before validation existed fall back to defaults."""
    try:
        return validate_rule((organization.settings or {}).get("membership", {}))
    except ValidationFailed:
        return MembershipRule()


def get_membership_rule(session: Session, *, organization_id: int) -> MembershipRule:
    return rule_for(get_organization(session, organization_id))


def update_membership_rule(session: Session, *, organization_id: int, changes: dict, actor_user_id: int | None = None
                           ) -> MembershipRule:
    """Change some fields of the rule; everyone's membership is recomputed by a full rebuild."""

    org = get_organization(session, organization_id, lock=True)
    current = rule_for(org).as_settings()
    merged = {**current, **{k: v for k, v in changes.items() if k != "leader"}}
    if "leader" in changes:
        if not isinstance(changes["leader"], dict):
            raise ValidationFailed("the membership rule is not valid", code="invalid_membership_rule",
                                   details={"leader": ["must be an object"]})
        merged["leader"] = {**current["leader"], **changes["leader"]}
    rule = validate_rule(merged)
    if rule.as_settings() != current:
        org.settings = {**(org.settings or {}), "membership": rule.as_settings()}
        flag_modified(org, "settings")
        record_audit_event(
            session, action="membership.rule_changed", organization_id=organization_id, actor_user_id=actor_user_id,
            target_type="organization", target_id=organization_id,
            details={"from": current, "to": rule.as_settings()},
        )
        request_rebuild(session, organization_id=organization_id)
        _follow_settings_in_tree(session, organization_id=organization_id, before=validate_rule(current), after=rule,
                                 actor_user_id=actor_user_id)
    session.flush()
    return rule


# --- the islands, in session temp tables ---------------------------------------------


def create_people_table(session: Session, select_sql: str, params: dict) -> int:
    """pl_people: the people a computation covers (distinct person ids of this organization)."""
    create_temp_table(
        session, "pl_people",
        f"SELECT DISTINCT x.person_id FROM ({select_sql}) x "
        "JOIN people p ON p.organization_id = :org AND p.id = x.person_id",
        params,
    )
    session.execute(text("ALTER TABLE pl_people ADD PRIMARY KEY (person_id)"))
    return session.execute(text("SELECT count(*) FROM pl_people")).scalar_one()


def in_people(column: str, selective: bool) -> str:
    """How a query keeps to the people in pl_people. A few thousand of them (an incremental run):
    index probes, which the planner would otherwise trade for hashing the whole table. Everyone
    (a rebuild): a hash join."""
    if selective:
        return f"{column} = ANY(ARRAY(SELECT person_id FROM pl_people))"
    return f"{column} IN (SELECT person_id FROM pl_people)"


def build_membership_islands(session: Session, params: dict, *, selective: bool = False) -> None:
    """From dues and attendance of the people in pl_people, build:

    pl_dues      one coverage interval [s, e) per valid payment (with what it paid through)
    pl_attended  each attended event, with the moment it ages out of the window
    pl_windows   [N-th event, first of the N + M months): N events inside M months
    pl_islands   the merged member intervals [s, e)
    `params` holds :org, :tz and the rule_* values (MembershipRule.sql_params()).
    """
    create_temp_table(session, "pl_dues", f"""
        SELECT d.person_id, d.id AS payment_id, d.amount_cents, d.paid_on, d.method, d.period_start, d.period_end,
               cov.paid_through,
               (greatest(d.period_start, d.paid_on)::timestamp AT TIME ZONE :tz) AS s,
               ((cov.paid_through + :rule_grace_days + 1)::timestamp AT TIME ZONE :tz) AS e
        FROM dues_payments d
        -- What the amount pays for at the rule's monthly dues: whole months from the period start,
        -- never past the period end (an underpayment covers less, not nothing-or-all).
        CROSS JOIN LATERAL (
            SELECT CASE WHEN :rule_dues_monthly_cents = 0 THEN d.period_end
                        ELSE least(d.period_end,
                                   (d.period_start + make_interval(
                                        months => (d.amount_cents / :rule_dues_monthly_cents)::int))::date - 1)
                   END AS paid_through
        ) cov
        WHERE d.organization_id = :org AND {in_people("d.person_id", selective)} AND d.voided_at IS NULL
          AND cov.paid_through >= d.period_start
          -- A payment made after its period (and grace) ran out puts nobody in good standing.
          AND d.paid_on <= cov.paid_through + :rule_grace_days
    """, params)
    create_temp_table(session, "pl_attended", f"""
        SELECT a.person_id, e.id AS event_id, e.title, e.kind, e.starts_at,
               ((e.starts_at AT TIME ZONE :tz) + make_interval(months => :rule_window_months)) AT TIME ZONE :tz
                   AS ages_out_at
        FROM event_attendance a
        JOIN events e ON e.organization_id = a.organization_id AND e.id = a.event_id
        WHERE a.organization_id = :org AND {in_people("a.person_id", selective)} AND a.status = 'attended'
          AND e.status = 'scheduled'
    """, params)
    session.execute(text("CREATE INDEX ON pl_dues (person_id)"))
    session.execute(text("CREATE INDEX ON pl_attended (person_id, starts_at)"))
    create_temp_table(session, "pl_windows", """
        SELECT person_id, s, e FROM (
            SELECT person_id, starts_at AS s,
                   lag(ages_out_at, :rule_events_required - 1)
                       OVER (PARTITION BY person_id ORDER BY starts_at, event_id) AS e
            FROM pl_attended
        ) w
        WHERE e IS NOT NULL AND e > s
    """, params)
    create_temp_table(session, "pl_islands", """
        WITH intervals AS (
            SELECT person_id, s, e FROM pl_dues
            UNION ALL
            SELECT person_id, s, e FROM pl_windows
        ), ordered AS (
            SELECT person_id, s, e,
                   max(e) OVER (PARTITION BY person_id ORDER BY s, e
                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
            FROM intervals
        ), numbered AS (
            SELECT person_id, s, e,
                   count(*) FILTER (WHERE reach IS NULL OR s > reach)
                       OVER (PARTITION BY person_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
            FROM ordered
        )
        SELECT person_id, min(s) AS s, max(e) AS e FROM numbered GROUP BY person_id, island
    """, params)
    session.execute(text("CREATE INDEX ON pl_islands (person_id, s)"))


def reasons_sql(person: str, moment: str) -> str:
    """A jsonb list: why `person` is a member at `moment` (SQL expressions), from the temp tables.

    [{"kind": "dues", "paid_through", "covered_until", "payments": [...]},
     {"kind": "attendance", "count", "required", "window_months", "events": [...]}]
    """
    return f"""(
        SELECT coalesce(jsonb_agg(r.reason ORDER BY r.ordinal), '[]'::jsonb) FROM (
            SELECT 1 AS ordinal, jsonb_build_object(
                       'kind', 'dues',
                       'paid_through', max(d.paid_through),
                       'covered_until', max(d.e),
                       'grace_days', :rule_grace_days,
                       'payments', jsonb_agg(jsonb_build_object(
                           'id', d.payment_id, 'amount_cents', d.amount_cents, 'paid_on', d.paid_on,
                           'method', d.method, 'period_start', d.period_start, 'period_end', d.period_end)
                           ORDER BY d.paid_on, d.payment_id)) AS reason
            FROM pl_dues d
            WHERE d.person_id = {person} AND d.s <= {moment} AND {moment} < d.e
            HAVING count(*) > 0
            UNION ALL
            SELECT 2, jsonb_build_object(
                       'kind', 'attendance',
                       'count', count(*),
                       'required', :rule_events_required,
                       'window_months', :rule_window_months,
                       'events', jsonb_agg(jsonb_build_object(
                           'id', a.event_id, 'title', a.title, 'kind', a.kind, 'starts_at', a.starts_at,
                           'ages_out_at', a.ages_out_at)
                           ORDER BY a.starts_at, a.event_id))
            FROM pl_attended a
            WHERE a.person_id = {person} AND a.starts_at <= {moment} AND {moment} < a.ages_out_at
            HAVING count(*) >= :rule_events_required
        ) r
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


# --- reading a person's membership -------------------------------------------------------


def get_person_membership(session: Session, *, organization_id: int, person_id: int) -> dict:
    """Status, since when, why, and the dated history, as last computed by the rollup."""
    person = session.execute(
        select(Person).where(Person.organization_id == organization_id, Person.id == person_id)
    ).scalar_one_or_none()
    if person is None:
        raise NotFound("no such person", code="person_not_found")
    org = get_organization(session, organization_id)
    rule, tz = rule_for(org), timezone_for(org)
    state = session.get(PipelinePerson, (organization_id, person_id))
    history = list(session.execute(
        select(MembershipPeriod)
        .where(MembershipPeriod.organization_id == organization_id, MembershipPeriod.person_id == person_id)
        .order_by(MembershipPeriod.since.desc())
    ).scalars())

    status = state.membership_status if state else "not_member"
    current = history[0] if history and history[0].until is None else None
    return {
        "person_id": person_id,
        "status": status,
        "since": current.since if current else None,
        "good_until": state.member_until if state and status == "member" else None,
        "reasons": describe_reasons(current.status, current.reasons, rule, tz) if current else
        ["no dues payment or event attendance on record"],
        "stage": state.stage if state else "none",
        "rule": rule.as_settings(),
        "history": [
            {"status": p.status, "since": p.since, "until": p.until, "reasons": describe_reasons(p.status, p.reasons, rule, tz),
             "details": p.reasons}
            for p in history
        ],
        "details": current.reasons if current else [],
        "evaluated_at": last_run_at(session, organization_id=organization_id),
        # Rejoining keeps the first join: the history holds every member spell and every lapse.
        "first_joined_at": min((p.since for p in history if p.status == "member"), default=None),
        "current_spell_since": current.since if current and current.status == "member" else None,
        "lapses": [{"since": p.since, "until": p.until} for p in reversed(history) if p.status == "lapsed"],
    }


def _day(value, tz: str) -> str:
    """A stored date or timestamp (ISO text from jsonb) as the organization's local day."""
    value = str(value)
    if len(value) <= 10:
        return value
    return datetime.fromisoformat(value).astimezone(ZoneInfo(tz)).date().isoformat()


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def describe_reasons(status: str, reasons: list, rule: MembershipRule, tz: str) -> list[str]:
    """Human sentences for stored reasons (a member's: why; a lapsed period's: what ran out)."""
    sentences = []
    for reason in reasons or []:
        if reason.get("kind") == "dues":
            payments = reason.get("payments") or []
            listed = ", ".join(f"{_money(p['amount_cents'])} on {_day(p['paid_on'], tz)} by {p['method']}" for p in payments)
            if status == "member":
                sentences.append(f"dues paid through {_day(reason['paid_through'], tz)} "
                                 f"(+{reason.get('grace_days', rule.grace_days)} grace days): {listed}")
            else:
                sentences.append(f"dues paid through {_day(reason['paid_through'], tz)} ran out after "
                                 f"{reason.get('grace_days', rule.grace_days)} grace days")
        elif reason.get("kind") == "attendance":
            events = reason.get("events") or []
            listed = ", ".join(f"{e['title']} ({_day(e['starts_at'], tz)})" for e in events)
            months = reason.get("window_months", rule.window_months)
            if status == "member":
                sentences.append(f"attended {reason['count']} events in the last {months} months: {listed}")
            else:
                sentences.append(f"fewer than {reason.get('required', rule.events_required)} events in the last "
                                 f"{months} months once {events[0]['title']} ({_day(events[0]['starts_at'], tz)}) aged out"
                                 if events else f"events aged out of the {months}-month window")
    return sentences
