"""The membership settings and reading a person's membership.

Who is a member is decided by the organization's membership rule tree (rules.py: versioned
AND/OR trees of conditions; standing.py: the stretches of time each person meets them, which the
rollup stores). The settings here are what the trees read: the monthly dues (what a payment pays
for), and the leader criteria. `grace_days`, `events_required` and `window_months` are the
parameters of the default tree `dues_current(grace_days) OR events_in_window(events_required,
window_months)`: changing them through `PATCH /v1/membership-rule` adds a rule version with that
tree, as long as the rule in force is that tree; a customised tree is changed with
`PUT /v1/membership-rule/tree` only (409 `membership_rule_customised`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from canvass.audit.services import record_audit_event
from canvass.db import create_temp_table, utcnow
from canvass.errors import Conflict, NotFound, ValidationFailed
from canvass.jobs import request_rebuild
from canvass.orgs.models import Organization
from canvass.orgs.services import get_organization, timezone_for
from canvass.people.models import Person
from canvass.pipeline.models import MembershipPeriod, MembershipRuleVersion, PipelinePerson, StandingSpell
from canvass.pipeline.runs import last_run_at

EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))

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
    """The default rule tree the settings parameterise: dues cover the date (+ grace) OR N events in M months."""
    return {"op": "or", "rules": [
        {"kind": "dues_current", "params": {"grace_days": rule.grace_days}},
        {"kind": "events_in_window", "params": {"count": rule.events_required, "months": rule.window_months}},
    ]}


_TREE_FIELDS = ("grace_days", "events_required", "window_months")


def _settings_into_tree(session: Session, *, organization_id: int, before: MembershipRule,
                        after: MembershipRule, actor_user_id: int | None, now: datetime) -> None:
    """The tree fields of the settings changed: the rule in force must still be the default tree of
    the old settings, and a version with the new settings' tree starts now. An organization with no
    stored version (version 0 reads its settings) first gets version 1 = the old settings' tree from
    1970, so standing before the change stays what it was."""
    latest = session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id).order_by(MembershipRuleVersion.version.desc())
        .limit(1)).scalar_one_or_none()
    if latest is not None and latest.tree != default_tree(before):
        raise Conflict("the membership rule is a customised tree; change it with PUT /v1/membership-rule/tree",
                       code="membership_rule_customised",
                       details={"fields": [f for f in _TREE_FIELDS
                                           if getattr(before, f) != getattr(after, f)]})
    version = latest.version if latest is not None else 0
    if latest is None:
        version = 1
        session.add(MembershipRuleVersion(organization_id=organization_id, version=1, tree=default_tree(before),
                                          effective_from=EPOCH, note="the settings' rule until the first change",
                                          created_by_id=actor_user_id))
    session.add(MembershipRuleVersion(organization_id=organization_id, version=version + 1,
                                      tree=default_tree(after), effective_from=now,
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


def update_membership_rule(session: Session, *, organization_id: int, changes: dict, actor_user_id: int | None = None,
                           now: datetime | None = None) -> MembershipRule:
    """Change some fields of the rule; a change of the default tree's fields is a new rule version in
    force from `now` (default: this moment); everyone's membership is recomputed by a full rebuild."""

    org = get_organization(session, organization_id, lock=True)
    current = rule_for(org).as_settings()
    merged = {**current, **{k: v for k, v in changes.items() if k != "leader"}}
    if "leader" in changes:
        if not isinstance(changes["leader"], dict):
            raise ValidationFailed("the membership rule is not valid", code="invalid_membership_rule",
                                   details={"leader": ["must be an object"]})
        merged["leader"] = {**current["leader"], **changes["leader"]}
    rule = validate_rule(merged)
    before = validate_rule(current)
    if any(getattr(before, f) != getattr(rule, f) for f in _TREE_FIELDS):
        # Refused (nothing saved) when the rule in force is a customised tree.
        _settings_into_tree(session, organization_id=organization_id, before=before, after=rule,
                            actor_user_id=actor_user_id, now=now or utcnow())
    if rule.as_settings() != current:
        org.settings = {**(org.settings or {}), "membership": rule.as_settings()}
        flag_modified(org, "settings")
        record_audit_event(
            session, action="membership.rule_changed", organization_id=organization_id, actor_user_id=actor_user_id,
            target_type="organization", target_id=organization_id,
            details={"from": current, "to": rule.as_settings()},
        )
        request_rebuild(session, organization_id=organization_id)
    session.flush()
    return rule


# --- the people a computation covers ------------------------------------------------


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
        "standing_history": get_standing_history(session, organization_id=organization_id, person_id=person_id),
    }


def get_standing_history(session: Session, *, organization_id: int, person_id: int) -> list[dict]:
    """The person's member spells under each version of the membership rule, oldest version first,
    as the rollup last computed them: [{version, effective_from, note, spells: [{since, until}]}].
    Every version is listed (with no spells if they were never a member under it), so an old rule's
    history reads the same after the rule changed. The member spells of membership_periods are these
    spells merged."""
    versions = session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id).order_by(MembershipRuleVersion.version)
    ).scalars().all()
    spells = session.execute(select(StandingSpell).where(
        StandingSpell.organization_id == organization_id, StandingSpell.person_id == person_id)
        .order_by(StandingSpell.rule_version, StandingSpell.since)).scalars().all()
    listed: dict[int, dict] = {v.version: {"version": v.version, "effective_from": v.effective_from, "note": v.note,
                                           "spells": []} for v in versions}
    for spell in spells:
        # Version 0: the settings' rule of an organization with no stored version.
        entry = listed.setdefault(spell.rule_version, {"version": spell.rule_version, "effective_from": EPOCH,
                                                       "note": "the organization's settings", "spells": []})
        entry["spells"].append({"since": spell.since, "until": spell.until})
    return [listed[k] for k in sorted(listed)]


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
        elif reason.get("kind") in _OTHER_REASONS:
            sentences.append(_OTHER_REASONS[reason["kind"]](status == "member", reason.get("params") or {},
                                                            reason.get("evidence") or [], tz))
    return sentences


def _endorsement_words(kept: bool, params: dict, evidence: list, tz: str) -> str:
    who = ", ".join(f"{e.get('by')} ({e.get('role')}) on {_day(e.get('since'), tz)}" for e in evidence)
    return f"endorsed by {who}" if kept else f"the endorsement by {who} ended"


def _override_words(kept: bool, params: dict, evidence: list, tz: str) -> str:
    who = ", ".join(f"{e.get('by')} on {_day(e.get('since'), tz)}: {e.get('reason')}" for e in evidence)
    return f"made a member by {who}" if kept else f"the override by {who} ended"


# Words for the other conditions of a rule tree (rules.py), as stored reasons: a member's (kept)
# or what ran out at a lapse.
_OTHER_REASONS = {
    "dues_continuous": lambda kept, p, ev, tz: (
        f"dues paid without a gap for at least {p.get('days')} days" if kept
        else f"dues no longer paid without a gap for {p.get('days')} days"),
    "recent_events": lambda kept, p, ev, tz: (
        f"attended at least {p.get('count')} of the last {p.get('of_last')} {p.get('kind')} events" if kept
        else f"fewer than {p.get('count')} of the last {p.get('of_last')} {p.get('kind')} events attended"),
    "lives_in_ward": lambda kept, p, ev, tz: (
        "lives in ward " + ", ".join(str(e.get("ward")) for e in ev) if ev else "lives in one of the wards"),
    "endorsed": _endorsement_words,
    "admin_override": _override_words,
}


def dues_coverage_sql(grace: str, people_filter: str) -> str:
    """Each valid payment's coverage [s, e): from max(period start, paid on) to what the amount
    pays through at the organization's monthly dues (whole months; an underpayment covers less),
    plus grace days. A payment made after its period and grace ran out covers nothing. One definition for
    the rollup's standing (standing.py) and the point evaluation (rules.py); `people_filter` limits the people."""
    return f"""
        SELECT d.person_id, d.id AS payment_id, cov.paid_through,
               (greatest(d.period_start, d.paid_on)::timestamp AT TIME ZONE :tz) AS s,
               ((cov.paid_through + {grace} + 1)::timestamp AT TIME ZONE :tz) AS e,
               jsonb_build_object('id', d.id, 'amount_cents', d.amount_cents, 'paid_on', d.paid_on,
                                  'method', d.method, 'period_start', d.period_start,
                                  'period_end', d.period_end) AS detail,
               d.paid_on
        FROM dues_payments d
        CROSS JOIN LATERAL (
            SELECT CASE WHEN :dues_cents = 0 THEN d.period_end
                        ELSE least(d.period_end, (d.period_start + make_interval(
                                 months => (d.amount_cents / :dues_cents)::int))::date - 1)
                   END AS paid_through
        ) cov
        WHERE d.organization_id = :org AND {people_filter} AND d.voided_at IS NULL
          AND cov.paid_through >= d.period_start AND d.paid_on <= cov.paid_through + {grace}
    """
