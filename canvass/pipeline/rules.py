"""Membership and vote eligibility as composable, explained rules (issue 14).

A rule is an AND/OR tree of conditions, stored as data:

    {"op": "or", "rules": [
        {"kind": "dues_current", "params": {"grace_days": 7}},
        {"kind": "events_in_window", "params": {"count": 3, "months": 6}}]}

Each condition has parameters, a meaning as of a moment, and words for why a person meets it or
not (CONDITIONS). An organization's membership rule is versioned (membership_rules): a change adds
a version in force from then on, so a past moment is evaluated under the rule of that moment. A
vote may carry its own rule, which may include `{"kind": "membership"}` (the organization's rule
in force at the cutoff).

Evaluation is set-based: each leaf condition fills one session temp table rl_c<i> (person_id, met,
detail) for the people in rl_people, and one SELECT combines them with the tree compiled into one
boolean SQL expression (rl_result). No per-person Python; explaining a person is the same SQL for a
one-person rl_people, worded in Python.

The membership *rollup* (islands, stages, membership_periods, the per-version spells) computes
the same conditions over time (standing.py); the tests check the two agree. `member_for` reads
membership_periods, so it counts membership as the rollup last computed it, and it may only be part
of a vote's rule, not of the membership rule it would be measuring.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canvass.audit.services import record_audit_event
from canvass.auth.models import ROLES, User
from canvass.db import create_temp_table, local_today, utcnow
from canvass.errors import Forbidden, NotFound, ValidationFailed
from canvass.jobs import request_rebuild
from canvass.orgs.services import get_organization, timezone_for
from canvass.people.models import Person
from canvass.pipeline.membership import default_tree, dues_coverage_sql, get_standing_history, rule_for
from canvass.pipeline.models import EVENT_KINDS, MembershipAttestation, MembershipRuleVersion
from canvass.pipeline.runs import note_people_changed

MAX_NODES = 50
MAX_DEPTH = 6
MAX_WARDS = 50
EPOCH = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))

# kind -> {param: spec}; spec: ("int", default or None if required, minimum, maximum),
# ("kind", default), ("kinds", default), ("role", default), ("wards", default).
CONDITIONS: dict[str, dict[str, tuple]] = {
    "dues_current": {"grace_days": ("int", 7, 0, 365)},
    "dues_continuous": {"days": ("int", None, 1, 3650), "grace_days": ("int", 0, 0, 365)},
    "events_in_window": {"count": ("int", None, 1, 100), "months": ("int", None, 1, 60), "kinds": ("kinds", None)},
    "recent_events": {"count": ("int", None, 1, 100), "of_last": ("int", None, 1, 100), "kind": ("kind", None)},
    "lives_in_ward": {"wards": ("wards", None)},
    "member_for": {"days": ("int", None, 1, 36500)},
    "endorsed": {"role": ("role", None)},
    "admin_override": {},
    # Only in a vote's rule: the organization's membership rule in force at the cutoff.
    "membership": {},
}
OPS = ("and", "or")


# --- validation -------------------------------------------------------------------------


def _check_param(spec: tuple, value, where: str, errors: dict):
    kind = spec[0]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            errors[where] = ["must be a whole number"]
        elif not spec[2] <= value <= spec[3]:
            errors[where] = [f"must be between {spec[2]} and {spec[3]}"]
    elif kind == "kind":
        if value not in EVENT_KINDS:
            errors[where] = [f"must be one of {', '.join(EVENT_KINDS)}"]
    elif kind == "kinds":
        if value is not None and (not isinstance(value, list) or not value or any(v not in EVENT_KINDS for v in value)):
            errors[where] = [f"must be a non-empty list of {', '.join(EVENT_KINDS)} (or left out: any kind)"]
    elif kind == "role":
        if value not in ROLES:
            errors[where] = [f"must be one of {', '.join(ROLES)}"]
    elif kind == "wards":
        if value is not None and (not isinstance(value, list) or not 1 <= len(value) <= MAX_WARDS
                                  or any(not isinstance(v, str) or not 1 <= len(v) <= 100 for v in value)):
            errors[where] = [f"must be a list of 1-{MAX_WARDS} ward names (or left out: any of the organization's wards)"]
    return value


def validate_tree(tree, *, allow_membership: bool = False) -> dict:
    """A normalized copy of the tree (parameters' defaults filled in), or ValidationFailed
    `invalid_rule` with details naming each bad node by its path (`rules[1].params.count`)."""
    errors: dict = {}
    count = [0]

    def walk(node, path: str, depth: int):
        where = path or "rule"
        count[0] += 1
        if not isinstance(node, dict):
            errors[where] = ["must be an object: a group {op, rules} or a condition {kind, params}"]
            return None
        if depth > MAX_DEPTH:
            errors[where] = [f"groups nest at most {MAX_DEPTH} deep"]
            return None
        prefix = f"{path}." if path else ""
        if "op" in node or "rules" in node:
            for key in sorted(set(node) - {"op", "rules"}):
                errors[prefix + key] = ["unknown field"]
            if node.get("op") not in OPS:
                errors[prefix + "op"] = ["must be and or or"]
            children = node.get("rules")
            if not isinstance(children, list) or not children:
                errors[prefix + "rules"] = ["a group needs at least one rule"]
                return None
            return {"op": node.get("op"), "rules": [walk(child, f"{prefix}rules[{i}]", depth + 1)
                                                    for i, child in enumerate(children)]}
        for key in sorted(set(node) - {"kind", "params"}):
            errors[prefix + key] = ["unknown field"]
        kind = node.get("kind")
        if kind not in CONDITIONS or (kind == "membership" and not allow_membership):
            known = [k for k in CONDITIONS if allow_membership or k != "membership"]
            errors[prefix + "kind"] = [f"unknown condition {kind!r}; known: {', '.join(known)}"]
            return None
        params = node.get("params", {})
        if not isinstance(params, dict):
            errors[prefix + "params"] = ["must be an object"]
            return None
        specs = CONDITIONS[kind]
        for key in sorted(set(params) - set(specs)):
            errors[f"{prefix}params.{key}"] = ["unknown parameter"]
        out = {}
        for name, spec in specs.items():
            value = params.get(name, spec[1])
            if value is None and spec[1] is None and spec[0] in ("int", "kind", "role"):
                errors[f"{prefix}params.{name}"] = ["required"]
                continue
            out[name] = _check_param(spec, value, f"{prefix}params.{name}", errors)
        if kind == "recent_events" and isinstance(out.get("count"), int) and isinstance(out.get("of_last"), int) \
                and out["count"] > out["of_last"]:
            errors[f"{prefix}params.count"] = ["must not exceed of_last"]
        return {"kind": kind, "params": {k: v for k, v in out.items() if v is not None}}

    normalized = walk(tree, "", 1)
    if count[0] > MAX_NODES:
        errors["rule"] = [f"at most {MAX_NODES} nodes"]
    if errors:
        raise ValidationFailed("the rule is not valid", code="invalid_rule", details=errors)
    assert normalized is not None
    return normalized


# --- versions ---------------------------------------------------------------------------


def _version_dict(row: MembershipRuleVersion) -> dict:
    return {"version": row.version, "tree": row.tree, "effective_from": row.effective_from, "note": row.note,
            "created_by_id": row.created_by_id, "created_at": row.created_at}


def rule_in_force(session: Session, *, organization_id: int, at: datetime | None = None) -> dict:
    """The organization's membership rule version in force at `at` (default: the latest). An
    organization with no stored version (made after migration 0008) has version 0: its settings' rule."""
    query = select(MembershipRuleVersion).where(MembershipRuleVersion.organization_id == organization_id)
    if at is not None:
        query = query.where(MembershipRuleVersion.effective_from <= at)
    row = session.execute(query.order_by(MembershipRuleVersion.version.desc()).limit(1)).scalar_one_or_none()
    if row is not None:
        return _version_dict(row)
    org = get_organization(session, organization_id)
    return {"version": 0, "tree": default_tree(rule_for(org)), "effective_from": EPOCH,
            "note": "the organization's settings (no version stored yet)", "created_by_id": None, "created_at": None}


def list_rule_versions(session: Session, *, organization_id: int) -> list[dict]:
    rows = session.execute(select(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id).order_by(MembershipRuleVersion.version.desc())
    ).scalars().all()
    return [_version_dict(r) for r in rows] or [rule_in_force(session, organization_id=organization_id)]


def set_membership_rule(session: Session, *, organization_id: int, tree, note: str = "",
                        actor_user_id: int | None = None, now: datetime | None = None) -> dict:
    """A new version of the rule, in force from `now`. Earlier versions stay as they were. Audited.
    Returns the version with `warnings` (e.g. nobody would be a member as of today)."""
    now = now or utcnow()
    normalized = validate_tree(tree)
    if any(leaf["kind"] == "member_for" for leaf in tree_leaves(normalized)):
        raise ValidationFailed("the rule is not valid", code="invalid_rule", details={
            "rule": ["member_for measures membership itself: use it in a vote's eligibility rule, "
                     "not in the membership rule"]})
    org = get_organization(session, organization_id, lock=True)
    current = rule_in_force(session, organization_id=organization_id)
    warnings: list[str] = []
    if normalized == current["tree"]:
        return {**current, "warnings": ["the rule is unchanged; no new version"]}
    row = MembershipRuleVersion(organization_id=organization_id, version=current["version"] + 1, tree=normalized,
                                effective_from=now, note=(note or "").strip(), created_by_id=actor_user_id)
    session.add(row)
    session.flush()
    record_audit_event(session, action="membership.rule_tree_changed", organization_id=organization_id,
                       actor_user_id=actor_user_id, target_type="organization", target_id=organization_id,
                       details={"from_version": current["version"], "to_version": row.version,
                                "from": current["tree"], "to": normalized})
    # Everyone's standing changes from `now` on (the rollup also notices the new version by itself).
    request_rebuild(session, organization_id=organization_id)
    tz = timezone_for(org)
    meeting = count_meeting(session, organization_id=organization_id, tree=normalized, at=now, tz=tz)
    if meeting == 0:
        warnings.append(f"nobody meets this rule as of {now.astimezone(ZoneInfo(tz)).date().isoformat()}: "
                        "every person would be a non-member")
    return {**_version_dict(row), "warnings": warnings}


# --- attestations -----------------------------------------------------------------------


def _require_person(session: Session, *, organization_id: int, person_id: int) -> None:
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")


def record_attestation(session: Session, *, organization_id: int, person_id: int, kind: str, actor: User,
                       reason: str = "", expires_at: datetime | None = None, role: str | None = None,
                       now: datetime | None = None) -> MembershipAttestation:
    """An endorsement (by the actor, in one of their roles) or an admin's override (with a reason). Audited."""
    now = now or utcnow()
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")
    errors: dict = {}
    if kind == "override":
        if "admin" not in (actor.roles or []):
            raise Forbidden("only an admin may override membership", code="forbidden")
        role = "admin"
        if not (reason or "").strip():
            errors["reason"] = ["an override needs a reason"]
    elif kind == "endorsement":
        held = list(actor.roles or [])
        role = role or (held[0] if held else None)
        if role not in held:
            raise Forbidden("you can endorse only in a role you hold", code="forbidden")
    else:
        errors["kind"] = ["must be endorsement or override"]
    if expires_at is not None and expires_at <= now:
        errors["expires_at"] = ["must be in the future"]
    if errors:
        raise ValidationFailed("the attestation is not valid", details=errors)
    row = MembershipAttestation(organization_id=organization_id, person_id=person_id, kind=kind, role=role,
                                reason=(reason or "").strip(), starts_at=now, expires_at=expires_at,
                                recorded_by_id=actor.id)
    session.add(row)
    session.flush()
    note_people_changed(session, organization_id=organization_id, person_ids=[person_id], reason=kind)
    record_audit_event(session, action=f"membership.{kind}_recorded", organization_id=organization_id,
                       actor_user_id=actor.id, target_type="person", target_id=person_id,
                       details={"attestation_id": row.id, "role": role, "reason": row.reason,
                                "expires_at": expires_at.isoformat() if expires_at else None})
    return row


def revoke_attestation(session: Session, *, organization_id: int, person_id: int, attestation_id: int, actor: User,
                       now: datetime | None = None) -> MembershipAttestation:
    now = now or utcnow()
    row = session.execute(select(MembershipAttestation).where(
        MembershipAttestation.organization_id == organization_id, MembershipAttestation.person_id == person_id,
        MembershipAttestation.id == attestation_id).with_for_update()).scalar_one_or_none()
    if row is None:
        raise NotFound("no such endorsement or override", code="attestation_not_found")
    if row.kind == "override" and "admin" not in (actor.roles or []):
        raise Forbidden("only an admin may revoke an override", code="forbidden")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
        note_people_changed(session, organization_id=organization_id, person_ids=[person_id], reason=f"{row.kind}_revoked")
        record_audit_event(session, action=f"membership.{row.kind}_revoked", organization_id=organization_id,
                           actor_user_id=actor.id, target_type="person", target_id=person_id,
                           details={"attestation_id": row.id})
    return row


def list_attestations(session: Session, *, organization_id: int, person_id: int) -> list[MembershipAttestation]:
    _require_person(session, organization_id=organization_id, person_id=person_id)
    return list(session.execute(select(MembershipAttestation).where(
        MembershipAttestation.organization_id == organization_id, MembershipAttestation.person_id == person_id)
        .order_by(MembershipAttestation.starts_at.desc(), MembershipAttestation.id.desc())).scalars())


# --- compiling a tree to SQL -------------------------------------------------------------

_IN_PEOPLE = "IN (SELECT person_id FROM rl_people)"


def _dues_coverage(i: int, grace: str) -> str:
    return dues_coverage_sql(grace, f"d.person_id {_IN_PEOPLE}")


def _leaf_sql(i: int, kind: str, params: dict) -> tuple[str, dict]:
    """SELECT person_id, met, detail for one condition; people without a row do not meet it."""
    p = {f"c{i}_{k}": v for k, v in params.items()}
    if kind == "dues_current":
        return f"""
            SELECT person_id, bool_or(s <= :as_of AND :as_of < e) AS met,
                   jsonb_build_object('paid_through', max(paid_through), 'grace_days', :c{i}_grace_days) AS detail
            FROM ({_dues_coverage(i, f":c{i}_grace_days")}) cov WHERE s <= :as_of GROUP BY person_id
        """, p
    if kind == "dues_continuous":
        return f"""
            WITH cov AS ({_dues_coverage(i, f":c{i}_grace_days")}), ordered AS (
                SELECT person_id, s, e, max(e) OVER (PARTITION BY person_id ORDER BY s, e
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
                FROM cov WHERE s <= :as_of
            ), numbered AS (
                SELECT person_id, s, e, count(*) FILTER (WHERE reach IS NULL OR s > reach)
                           OVER (PARTITION BY person_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island
                FROM ordered
            ), islands AS (
                SELECT person_id, min(s) AS s, max(e) AS e FROM numbered GROUP BY person_id, island
            )
            SELECT person_id,
                   bool_or(e > :as_of AND s <= ((:as_of AT TIME ZONE :tz) - make_interval(days => :c{i}_days))
                                                AT TIME ZONE :tz) AS met,
                   jsonb_build_object('since', max(s) FILTER (WHERE e > :as_of), 'days', :c{i}_days,
                                      'last_covered_until', max(e)) AS detail
            FROM islands GROUP BY person_id
        """, p
    if kind == "events_in_window":
        kinds = f"AND e.kind = ANY(CAST(:c{i}_kinds AS text[]))" if params.get("kinds") else ""
        return f"""
            SELECT a.person_id, count(*) >= :c{i}_count AS met,
                   jsonb_build_object('count', count(*), 'events', jsonb_agg(jsonb_build_object(
                       'title', e.title, 'starts_at', e.starts_at) ORDER BY e.starts_at, e.id)) AS detail
            FROM event_attendance a
            JOIN events e ON e.organization_id = a.organization_id AND e.id = a.event_id
            WHERE a.organization_id = :org AND a.person_id {_IN_PEOPLE} AND a.status = 'attended'
              AND e.status = 'scheduled' AND e.starts_at <= :as_of {kinds}
              AND ((e.starts_at AT TIME ZONE :tz) + make_interval(months => :c{i}_months)) AT TIME ZONE :tz > :as_of
            GROUP BY a.person_id
        """, p
    if kind == "recent_events":
        return f"""
            WITH last AS MATERIALIZED (
                SELECT id FROM events
                WHERE organization_id = :org AND kind = :c{i}_kind AND status = 'scheduled' AND starts_at <= :as_of
                ORDER BY starts_at DESC, id DESC LIMIT :c{i}_of_last
            )
            SELECT a.person_id, count(*) >= :c{i}_count AS met,
                   jsonb_build_object('attended', count(*), 'held', (SELECT count(*) FROM last)) AS detail
            FROM event_attendance a JOIN last ON last.id = a.event_id
            WHERE a.organization_id = :org AND a.person_id {_IN_PEOPLE} AND a.status = 'attended'
            GROUP BY a.person_id
        """, p
    if kind == "lives_in_ward":
        met = f"bd.name = ANY(CAST(:c{i}_wards AS text[]))" if params.get("wards") else "true"
        return f"""
            SELECT pe.id AS person_id, {met} AS met, jsonb_build_object('ward', bd.name) AS detail
            FROM people pe
            JOIN households h ON h.organization_id = pe.organization_id AND h.id = pe.household_id
            JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
            JOIN boundaries bd ON bd.organization_id = b.organization_id AND bd.id = b.ward_id
            WHERE pe.organization_id = :org AND pe.id {_IN_PEOPLE}
        """, p
    if kind == "member_for":
        return f"""
            SELECT person_id,
                   bool_or(since <= ((:as_of AT TIME ZONE :tz) - make_interval(days => :c{i}_days)) AT TIME ZONE :tz)
                       AS met,
                   jsonb_build_object('since', min(since)) AS detail
            FROM membership_periods
            WHERE organization_id = :org AND person_id {_IN_PEOPLE} AND status = 'member'
              AND since <= :as_of AND (until IS NULL OR until > :as_of)
            GROUP BY person_id
        """, p
    if kind in ("endorsed", "admin_override"):
        role = f"AND m.role = :c{i}_role" if kind == "endorsed" else ""
        attestation = "endorsement" if kind == "endorsed" else "override"
        return f"""
            SELECT DISTINCT ON (m.person_id) m.person_id, true AS met,
                   jsonb_build_object('by', coalesce(u.name, u.email), 'role', m.role, 'since', m.starts_at,
                                      'expires_at', m.expires_at, 'reason', m.reason) AS detail
            FROM membership_attestations m
            LEFT JOIN users u ON u.organization_id = m.organization_id AND u.id = m.recorded_by_id
            WHERE m.organization_id = :org AND m.person_id {_IN_PEOPLE} AND m.kind = '{attestation}' {role}
              AND m.starts_at <= :as_of AND (m.expires_at IS NULL OR m.expires_at > :as_of)
              AND (m.revoked_at IS NULL OR m.revoked_at > :as_of)
            ORDER BY m.person_id, m.starts_at DESC, m.id DESC
        """, p
    raise AssertionError(f"no SQL for condition {kind}")  # validate_tree refuses unknown kinds


def expand_membership(session: Session, tree: dict, *, organization_id: int, at: datetime) -> dict:
    """A vote's tree with each `membership` condition replaced by the membership rule in force at `at`
    (a group labelled with its version)."""
    if "op" in tree:
        return {**tree, "rules": [expand_membership(session, child, organization_id=organization_id, at=at)
                                  for child in tree["rules"]]}
    if tree["kind"] != "membership":
        return tree
    version = rule_in_force(session, organization_id=organization_id, at=at)
    inner = version["tree"]
    if "op" not in inner:
        inner = {"op": "and", "rules": [inner]}
    return {**inner, "label": f"the membership rule (version {version['version']})"}


def tree_leaves(tree: dict) -> list[dict]:
    """The conditions of a rule tree, in the order `tree_expression` numbers them."""
    if "op" in tree:
        return [leaf for child in tree["rules"] for leaf in tree_leaves(child)]
    return [tree]


def tree_expression(tree: dict, *, and_joiner: str, or_joiner: str, leaf_sql: Callable[[int], str]) -> str:
    """The tree as one SQL expression: leaf i (in `tree_leaves` order) is `leaf_sql(i)`, groups are joined
    with the operators given (booleans here: AND/OR; standing.py's multiranges: * and +)."""
    counter = iter(range(len(tree_leaves(tree))))

    def walk(node: dict) -> str:
        if "op" in node:
            joiner = and_joiner if node["op"] == "and" else or_joiner
            return "(" + joiner.join(walk(child) for child in node["rules"]) + ")"
        return leaf_sql(next(counter))

    return walk(tree)


def evaluate_rule(session: Session, *, organization_id: int, tree: dict, at: datetime, tz: str) -> None:
    """rl_result (person_id, met, leaf_met boolean[], leaf_detail jsonb) for everyone in rl_people,
    the tree (already expanded: no `membership` leaves) evaluated at the moment `at`."""
    org = get_organization(session, organization_id)
    params = {"org": organization_id, "tz": tz, "as_of": at, "dues_cents": rule_for(org).dues_monthly_cents}
    leaves = tree_leaves(tree)
    for i, leaf in enumerate(leaves):
        sql, leaf_params = _leaf_sql(i, leaf["kind"], leaf["params"])
        create_temp_table(session, f"rl_c{i}", sql, {**params, **leaf_params})
        session.execute(text(f"CREATE UNIQUE INDEX ON rl_c{i} (person_id)"))
    joins = " ".join(f"LEFT JOIN rl_c{i} c{i} ON c{i}.person_id = p.person_id" for i in range(len(leaves)))
    def met(i: int) -> str:
        return f"coalesce(c{i}.met, false)"

    flags = ", ".join(met(i) for i in range(len(leaves)))
    details = ", ".join(f"c{i}.detail" for i in range(len(leaves)))
    whole = tree_expression(tree, and_joiner=" AND ", or_joiner=" OR ", leaf_sql=met)
    create_temp_table(session, "rl_result", f"""
        SELECT p.person_id, {whole} AS met, ARRAY[{flags}] AS leaf_met,
               jsonb_build_array({details}) AS leaf_detail
        FROM rl_people p {joins}
    """, params)
    session.execute(text("ALTER TABLE rl_result ADD PRIMARY KEY (person_id)"))


def fill_people(session: Session, select_sql: str, params: dict) -> int:
    """rl_people: the people an evaluation covers (distinct ids of this organization's people)."""
    create_temp_table(session, "rl_people", f"""
        SELECT DISTINCT x.person_id FROM ({select_sql}) x
        JOIN people p ON p.organization_id = :org AND p.id = x.person_id
    """, params)
    session.execute(text("ALTER TABLE rl_people ADD PRIMARY KEY (person_id)"))
    return session.execute(text("SELECT count(*) FROM rl_people")).scalar_one()


def count_meeting(session: Session, *, organization_id: int, tree: dict, at: datetime, tz: str) -> int:
    """How many of the organization's people meet the tree at `at`."""
    fill_people(session, "SELECT id AS person_id FROM people WHERE organization_id = :org", {"org": organization_id})
    evaluate_rule(session, organization_id=organization_id,
                  tree=expand_membership(session, tree, organization_id=organization_id, at=at), at=at, tz=tz)
    return session.execute(text("SELECT count(*) FROM rl_result WHERE met")).scalar_one()


def end_of_day(day: date, tz: str) -> datetime:
    """The last moment of a local day: standing "as of" a date counts everything on that day."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(tz)) - timedelta(microseconds=1)


# --- words ------------------------------------------------------------------------------


def _day(value, tz: str) -> str:
    if value is None:
        return "?"
    if isinstance(value, str):
        if len(value) <= 10:
            return value
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).date().isoformat()
    return value.isoformat()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def describe_condition(kind: str, params: dict, met: bool, detail: dict | None, tz: str) -> str:
    """Why a person meets a condition or not, in words."""
    d = detail or {}
    if kind == "dues_current":
        grace = params["grace_days"]
        if met:
            return f"dues paid through {_day(d.get('paid_through'), tz)} (+{_plural(grace, 'grace day')}) cover the date"
        if d.get("paid_through"):
            return f"dues paid through {_day(d['paid_through'], tz)} ran out after {_plural(grace, 'grace day')}"
        return "no dues payment on record"
    if kind == "dues_continuous":
        days = params["days"]
        if met:
            return f"dues paid without a gap since {_day(d.get('since'), tz)}, at least the {days} days required"
        if d.get("since"):
            return f"dues paid without a gap only since {_day(d['since'], tz)}, fewer than the {days} days required"
        if d.get("last_covered_until"):
            return f"dues lapsed on {_day(d['last_covered_until'], tz)}; {days} days without a gap are required"
        return f"no dues payment on record; {days} days of dues without a gap are required"
    if kind == "events_in_window":
        which = " or ".join(params["kinds"]) + " " if params.get("kinds") else ""
        count = d.get("count", 0)
        listed = ", ".join(f"{e['title']} ({_day(e['starts_at'], tz)})" for e in d.get("events") or [])
        head = (f"attended {_plural(count, which + 'event')} in the last {params['months']} months "
                f"({params['count']} required)")
        return head + (f": {listed}" if listed else "")
    if kind == "recent_events":
        attended = d.get("attended", 0)
        return (f"attended {attended} of the last {params['of_last']} {params['kind']} events "
                f"({params['count']} required)")
    if kind == "lives_in_ward":
        wards = params.get("wards")
        where = f"ward {', '.join(wards)}" if wards else "one of the organization's wards"
        if d.get("ward") is None:
            return f"no known home ward (a household in {where} is required)"
        return f"lives in ward {d['ward']}" + ("" if met else f", not in {where}")
    if kind == "member_for":
        if d.get("since"):
            return (f"a member since {_day(d['since'], tz)}"
                    + (f", at least {params['days']} days" if met else f", fewer than the {params['days']} days required"))
        return f"not a member at the date ({params['days']} days of membership required)"
    if kind == "endorsed":
        if met:
            until = f" until {_day(d['expires_at'], tz)}" if d.get("expires_at") else ""
            return f"endorsed by {d.get('by')} ({d.get('role')}) on {_day(d.get('since'), tz)}{until}"
        return f"no current endorsement by a {params['role']}"
    if kind == "admin_override":
        if met:
            return f"made a member by {d.get('by')} on {_day(d.get('since'), tz)}: {d.get('reason')}"
        return "no admin override"
    return kind


def explain(tree: dict, leaf_met: list[bool], leaf_detail: list, tz: str) -> dict:
    """The tree with each node met or not and its words (for one person's rl_result row)."""
    counter = [0]

    def walk(node: dict) -> dict:
        if "op" in node:
            children = [walk(child) for child in node["rules"]]
            met = all(c["met"] for c in children) if node["op"] == "and" else any(c["met"] for c in children)
            label = node.get("label")
            words = ("all of these" if node["op"] == "and" else "at least one of these")
            text_ = (f"{label}: " if label else "") + words + (" — met" if met else " — not met")
            return {"op": node["op"], "met": met, "text": text_, "rules": children}
        i = counter[0]
        counter[0] += 1
        met = bool(leaf_met[i])
        return {"kind": node["kind"], "params": node["params"], "met": met,
                "text": describe_condition(node["kind"], node["params"], met, leaf_detail[i], tz)}

    return walk(tree)


def explain_person(session: Session, *, organization_id: int, person_id: int, as_of: date | None = None,
                   tree: dict | None = None) -> dict:
    """Whether the person meets the membership rule in force at the end of `as_of` (their local
    day; default today), with the tree, each node met or not, in words."""
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")
    tz = timezone_for(get_organization(session, organization_id))
    as_of = as_of or local_today(tz)
    at = end_of_day(as_of, tz)
    version = rule_in_force(session, organization_id=organization_id, at=at)
    tree = expand_membership(session, tree or version["tree"], organization_id=organization_id, at=at)
    fill_people(session, "SELECT CAST(:person AS bigint) AS person_id", {"org": organization_id, "person": person_id})
    evaluate_rule(session, organization_id=organization_id, tree=tree, at=at, tz=tz)
    leaf_met, leaf_detail = session.execute(text("SELECT leaf_met, leaf_detail FROM rl_result")).one()
    explained = explain(tree, leaf_met, leaf_detail, tz)
    return {"person_id": person_id, "as_of": as_of, "evaluated_at": at, "version": version["version"],
            "met": explained["met"], "tree": explained,
            "standing_history": get_standing_history(session, organization_id=organization_id, person_id=person_id)}


def people_meeting(session: Session, *, organization_id: int, as_of: date) -> int:
    """How many people meet the membership rule in force at the end of `as_of` (the bench's entry point)."""
    tz = timezone_for(get_organization(session, organization_id))
    at = end_of_day(as_of, tz)
    return count_meeting(session, organization_id=organization_id,
                         tree=rule_in_force(session, organization_id=organization_id, at=at)["tree"], at=at, tz=tz)


def count_versions(session: Session, *, organization_id: int) -> int:
    return session.execute(select(func.count()).select_from(MembershipRuleVersion).where(
        MembershipRuleVersion.organization_id == organization_id)).scalar_one()
