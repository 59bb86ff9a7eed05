"""What the organizer dashboards read: turf progress, activity by day, the leaderboard, the
membership roster and the coalition view. Everything comes from the rollups (activity_daily,
activity_turfs, the pipeline's tables), never from raw contacts, so each read stays fast however
many contacts an organization has.

Every function scopes by the caller's organization: a ward or campaign of another organization
is simply not found (404), and a coalition sees its affiliates' aggregates, never their people.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from canvass.campaigns.models import Campaign
from canvass.dashboards.activity import last_activity_rollup_at
from canvass.db import local_today
from canvass.errors import NotFound, ValidationFailed
from canvass.geo.models import Boundary
from canvass.orgs.models import Organization
from canvass.orgs.services import get_organization, timezone_for
from canvass.pipeline.membership import describe_reasons, rule_for

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 3 * 366
ROSTER_STATUSES = ("member", "lapsed")
COUNTERS = ("attempts", "doors", "conversations", "pledges", "flagged")


# --- filters shared by dashboards and exports ------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """A caller's filters, checked against their organization."""

    organization_id: int
    timezone: str
    ward_id: int | None = None
    ward_name: str | None = None
    campaign_id: int | None = None


def resolve_scope(session: Session, *, organization_id: int, ward: str | None = None,
                  campaign_id: int | None = None) -> Scope:
    """Ward (by name) and campaign of the caller's organization; another organization's are not found."""
    org = get_organization(session, organization_id)
    ward_id = None
    if ward is not None:
        ward_id = session.execute(
            select(Boundary.id).where(Boundary.organization_id == organization_id, Boundary.level == "ward",
                                      Boundary.name == ward)
        ).scalar_one_or_none()
        if ward_id is None:
            raise NotFound(f"no ward named {ward!r}", code="ward_not_found")
    if campaign_id is not None and session.execute(
        select(Campaign.id).where(Campaign.organization_id == organization_id, Campaign.id == campaign_id)
    ).first() is None:
        raise NotFound("no such campaign", code="campaign_not_found")
    return Scope(organization_id, timezone_for(org), ward_id, ward, campaign_id)


def check_date_range(date_from: date | None, date_to: date | None, *, max_days: int | None = None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise ValidationFailed("from must not be after to", code="invalid_date_range",
                               details={"from": ["must not be after to"]})
    if max_days is not None and date_from and date_to and (date_to - date_from).days >= max_days:
        raise ValidationFailed(f"a dashboard covers at most {max_days} days", code="invalid_date_range",
                               details={"to": [f"at most {max_days} days after from"]})


def dashboard_range(session: Session, scope: Scope, date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """The days a dashboard shows: the last DEFAULT_RANGE_DAYS local days unless told otherwise."""
    check_date_range(date_from, date_to)
    date_to = date_to or max(local_today(scope.timezone), date_from or date.min)
    date_from = date_from or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    check_date_range(date_from, date_to, max_days=MAX_RANGE_DAYS)
    return date_from, date_to


def _daily_filter(scope: Scope) -> str:
    where = "d.organization_id = :org AND d.day BETWEEN :date_from AND :date_to"
    if scope.ward_id is not None:
        where += " AND d.ward_key = :ward_id"
    if scope.campaign_id is not None:
        where += " AND d.campaign_key = :campaign_id"
    return where


def _params(scope: Scope, **more) -> dict:
    return {"org": scope.organization_id, "ward_id": scope.ward_id, "campaign_id": scope.campaign_id, **more}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


# --- turf progress -------------------------------------------------------------------------


def turf_progress(session: Session, *, organization_id: int, ward: str | None = None,
                  campaign_id: int | None = None) -> dict:
    """Every live turf (of a ward, or all) with its geometry and progress: a GeoJSON FeatureCollection."""
    scope = resolve_scope(session, organization_id=organization_id, ward=ward, campaign_id=campaign_id)
    rows = session.execute(text(f"""
        SELECT t.id, t.name, t.status, t.door_count, w.name AS ward, ST_AsGeoJSON(t.geom, 6)::json AS geometry,
               coalesce(a.doors_knocked, 0) AS doors_knocked, coalesce(a.doors_talked, 0) AS doors_talked,
               coalesce(a.attempts, 0) AS attempts, coalesce(a.conversations, 0) AS conversations,
               coalesce(a.pledges, 0) AS pledges, coalesce(a.flagged, 0) AS flagged, a.last_contact_at,
               l.id AS assignment_id, l.leased_until, u.id AS canvasser_id, u.name AS canvasser_name,
               tm.id AS team_id, tm.name AS team_name
        FROM turfs t
        LEFT JOIN boundaries w ON w.organization_id = t.organization_id AND w.id = t.ward_id
        LEFT JOIN activity_turfs a ON a.organization_id = t.organization_id AND a.turf_id = t.id
             AND a.campaign_key = :campaign_key
        LEFT JOIN assignments l ON l.organization_id = t.organization_id AND l.turf_id = t.id AND l.status = 'active'
        LEFT JOIN users u ON u.organization_id = l.organization_id AND u.id = l.canvasser_id
        LEFT JOIN teams tm ON tm.organization_id = l.organization_id AND tm.id = l.team_id
        WHERE t.organization_id = :org AND t.status <> 'archived'
              {"AND t.ward_id = :ward_id" if scope.ward_id is not None else ""}
        ORDER BY t.name, t.id
    """), _params(scope, campaign_key=campaign_id or 0)).all()
    features = []
    for row in rows:
        features.append({
            "type": "Feature",
            "id": row.id,
            "geometry": row.geometry,
            "properties": {
                "name": row.name, "ward": row.ward, "status": row.status, "door_count": row.door_count,
                "doors_knocked": row.doors_knocked, "doors_talked": row.doors_talked, "attempts": row.attempts,
                "conversations": row.conversations, "pledges": row.pledges, "flagged": row.flagged,
                "completion": _ratio(min(row.doors_knocked, row.door_count), row.door_count),
                "last_contact_at": row.last_contact_at,
                "assignment": {
                    "id": row.assignment_id, "leased_until": row.leased_until,
                    "canvasser": {"id": row.canvasser_id, "name": row.canvasser_name},
                    "team": {"id": row.team_id, "name": row.team_name} if row.team_id else None,
                } if row.assignment_id else None,
            },
        })
    return {
        "type": "FeatureCollection",
        "features": features,
        "ward": scope.ward_name,
        "campaign_id": campaign_id,
        "refreshed_at": last_activity_rollup_at(session, organization_id=organization_id),
    }


# --- activity by day and the leaderboard -------------------------------------------------------


def activity_summary(session: Session, *, organization_id: int, ward: str | None = None,
                     campaign_id: int | None = None, date_from: date | None = None,
                     date_to: date | None = None) -> dict:
    """Door attempts, doors, conversations, pledges and flags per local day (every day of the
    range, zeros included, so a chart needs no gap filling) and in total."""
    scope = resolve_scope(session, organization_id=organization_id, ward=ward, campaign_id=campaign_id)
    date_from, date_to = dashboard_range(session, scope, date_from, date_to)
    sums = ", ".join(f"sum(d.{name})::int AS {name}" for name in COUNTERS)
    rows = {row.day: row for row in session.execute(text(f"""
        SELECT d.day, {sums} FROM activity_daily d WHERE {_daily_filter(scope)} GROUP BY d.day
    """), _params(scope, date_from=date_from, date_to=date_to))}
    days, totals = [], dict.fromkeys(COUNTERS, 0)
    day = date_from
    while day <= date_to:
        row = rows.get(day)
        counts = {name: getattr(row, name) if row else 0 for name in COUNTERS}
        for name in COUNTERS:
            totals[name] += counts[name]
        days.append({"day": day, **counts})
        day += timedelta(days=1)
    return {
        "date_from": date_from, "date_to": date_to, "timezone": scope.timezone, "ward": scope.ward_name,
        "campaign_id": campaign_id,
        "totals": {**totals, "conversation_rate": _ratio(totals["conversations"], totals["attempts"])},
        "days": days,
        "refreshed_at": last_activity_rollup_at(session, organization_id=organization_id),
    }


def canvasser_leaderboard(session: Session, *, organization_id: int, ward: str | None = None,
                          campaign_id: int | None = None, date_from: date | None = None,
                          date_to: date | None = None, limit: int = 50) -> dict:
    """Canvassers ranked by doors, then conversations, with pledges and integrity flags beside."""
    scope = resolve_scope(session, organization_id=organization_id, ward=ward, campaign_id=campaign_id)
    date_from, date_to = dashboard_range(session, scope, date_from, date_to)
    sums = ", ".join(f"sum(d.{name})::int AS {name}" for name in COUNTERS)
    rows = session.execute(text(f"""
        SELECT d.canvasser_key, u.name, {sums}, count(DISTINCT d.day)::int AS days_out
        FROM activity_daily d
        LEFT JOIN users u ON u.organization_id = d.organization_id AND u.id = d.canvasser_key
        WHERE {_daily_filter(scope)} AND d.canvasser_key <> 0
        GROUP BY d.canvasser_key, u.name
        ORDER BY sum(d.doors) DESC, sum(d.conversations) DESC, d.canvasser_key
        LIMIT :limit
    """), _params(scope, date_from=date_from, date_to=date_to, limit=limit)).all()
    return {
        "date_from": date_from, "date_to": date_to, "ward": scope.ward_name, "campaign_id": campaign_id,
        "data": [
            {
                "rank": rank, "canvasser": {"id": row.canvasser_key, "name": row.name},
                **{name: getattr(row, name) for name in COUNTERS}, "days_out": row.days_out,
                "flag_rate": _ratio(row.flagged, row.attempts),
            }
            for rank, row in enumerate(rows, start=1)
        ],
        "refreshed_at": last_activity_rollup_at(session, organization_id=organization_id),
    }


# --- the membership roster --------------------------------------------------------------------


def membership_roster(session: Session, *, organization_id: int, ward: str | None = None,
                      status: str | None = None, limit: int = 100, after_person_id: int | None = None) -> list[dict]:
    """People with a membership history, their standing now (who may vote) and why, as last
    computed by the pipeline rollup; keyset-paginated by person id."""
    if status is not None and status not in ROSTER_STATUSES:
        raise ValidationFailed("unknown status", details={"status": [f"one of {', '.join(ROSTER_STATUSES)}"]})
    scope = resolve_scope(session, organization_id=organization_id, ward=ward)
    org = get_organization(session, organization_id)
    rule, tz = rule_for(org), timezone_for(org)
    rows = session.execute(text(f"""
        SELECT pp.person_id, p.first_name, p.last_name, w.name AS ward, pp.membership_status, pp.stage,
               pp.member_since, pp.member_until, mp.since AS period_since, mp.status AS period_status,
               mp.reasons
        FROM pipeline_people pp
        JOIN people p ON p.organization_id = pp.organization_id AND p.id = pp.person_id
        LEFT JOIN boundaries w ON w.organization_id = pp.organization_id AND w.id = pp.ward_key
        LEFT JOIN membership_periods mp ON mp.organization_id = pp.organization_id AND mp.person_id = pp.person_id
             AND mp.until IS NULL
        WHERE pp.organization_id = :org AND pp.membership_status IN ('member', 'lapsed')
              {"AND pp.membership_status = :status" if status else ""}
              {"AND pp.ward_key = :ward_id" if scope.ward_id is not None else ""}
              {"AND pp.person_id > :after" if after_person_id else ""}
        ORDER BY pp.person_id
        LIMIT :limit
    """), _params(scope, status=status, after=after_person_id, limit=limit)).all()
    return [
        {
            "person": {"id": row.person_id, "first_name": row.first_name, "last_name": row.last_name},
            "ward": row.ward,
            "status": row.membership_status,
            "stage": row.stage,
            # Members in good standing vote (votes.py snapshots the same rule at each vote's cutoff).
            "may_vote": row.membership_status == "member",
            "since": row.period_since,
            "good_until": row.member_until if row.membership_status == "member" else None,
            "reasons": describe_reasons(row.period_status, row.reasons, rule, tz) if row.period_status else [],
        }
        for row in rows
    ]


# --- the coalition view -----------------------------------------------------------------------

_AFFILIATES_SQL = """
    WITH RECURSIVE tree AS (
        SELECT id, parent_id FROM organizations WHERE parent_id = :org
        UNION ALL
        SELECT o.id, o.parent_id FROM organizations o JOIN tree ON o.parent_id = tree.id
    )
    SELECT o.id, o.slug, o.name, o.parent_id FROM organizations o JOIN tree ON tree.id = o.id ORDER BY o.name, o.id
"""


def _affiliate_aggregates(session: Session, affiliate_ids: list[int], date_from: date, date_to: date) -> dict:
    """Per affiliate: activity totals in the range, members now, people per pipeline stage. Counts only."""
    params = {"ids": affiliate_ids, "date_from": date_from, "date_to": date_to}
    sums = ", ".join(f"sum({name})::int AS {name}" for name in COUNTERS)
    activity = {row.organization_id: row for row in session.execute(text(f"""
        SELECT organization_id, {sums} FROM activity_daily
        WHERE organization_id = ANY(:ids) AND day BETWEEN :date_from AND :date_to GROUP BY organization_id
    """), params)}
    members = dict(session.execute(text("""
        SELECT organization_id, count(*)::int FROM pipeline_people
        WHERE organization_id = ANY(:ids) AND membership_status = 'member' GROUP BY organization_id
    """), params).all())
    stages: dict[int, dict] = {}
    for org_id, stage, people in session.execute(text("""
        SELECT organization_id, stage, sum(people)::int FROM pipeline_stage_counts
        WHERE organization_id = ANY(:ids) GROUP BY organization_id, stage
    """), params):
        stages.setdefault(org_id, {})[stage] = people
    return {
        org_id: {
            **{name: getattr(activity[org_id], name) if org_id in activity else 0 for name in COUNTERS},
            "members": members.get(org_id, 0),
            "stages": stages.get(org_id, {}),
        }
        for org_id in affiliate_ids
    }


def coalition_overview(session: Session, *, organization_id: int, date_from: date | None = None,
                       date_to: date | None = None) -> dict:
    """A coalition's affiliates (and theirs, all the way down), each with aggregate counts."""
    scope = resolve_scope(session, organization_id=organization_id)
    date_from, date_to = dashboard_range(session, scope, date_from, date_to)
    affiliates = session.execute(text(_AFFILIATES_SQL), {"org": organization_id}).all()
    aggregates = _affiliate_aggregates(session, [a.id for a in affiliates], date_from, date_to)
    totals = {name: sum(a[name] for a in aggregates.values()) for name in (*COUNTERS, "members")}
    return {
        "date_from": date_from, "date_to": date_to, "totals": totals,
        "affiliates": [
            {"organization": {"id": a.id, "slug": a.slug, "name": a.name}, "parent_id": a.parent_id, **aggregates[a.id]}
            for a in affiliates
        ],
    }


def affiliate_activity(session: Session, *, organization_id: int, affiliate_id: int, date_from: date | None = None,
                       date_to: date | None = None) -> dict:
    """One affiliate's activity by day and its funnel counts; 404 unless it is under the caller's coalition."""
    if affiliate_id not in {a.id for a in session.execute(text(_AFFILIATES_SQL), {"org": organization_id})}:
        raise NotFound("no such affiliate of this organization", code="affiliate_not_found")
    affiliate = session.get(Organization, affiliate_id)
    summary = activity_summary(session, organization_id=affiliate_id, date_from=date_from, date_to=date_to)
    aggregates = _affiliate_aggregates(session, [affiliate_id], summary["date_from"], summary["date_to"])[affiliate_id]
    return {
        "organization": {"id": affiliate.id, "slug": affiliate.slug, "name": affiliate.name},
        "members": aggregates["members"], "stages": aggregates["stages"],
        **{key: summary[key] for key in ("date_from", "date_to", "timezone", "totals", "days", "refreshed_at")},
    }
