"""Ward funnels: precomputed counts per ward, campaign, day and stage, read by dashboards.

Each person row of pipeline_people contributes, for every stage k it has reached:
  on the day it first reached k:          reached +1
  on the day it first got beyond k:       advanced +1, advanced_seconds += time spent reaching beyond
and +1 to the current count of its stage. A person is attributed to the ward of their household's
building and to the campaign of their first conversation (else of their first pledge card).

The rollup keeps the tables exact by deltas: the old contributions of the people it recomputes
are subtracted and their new ones added, in the same transaction. A full rebuild writes them
from scratch; both give the same rows (tests compare them).
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from canvass.campaigns.models import Campaign
from canvass.db import create_temp_table, local_today
from canvass.errors import NotFound, ValidationFailed
from canvass.geo.models import Boundary
from canvass.orgs.services import get_organization, timezone_for
from canvass.pipeline.membership import in_people
from canvass.pipeline.models import STAGES, FunnelDay, StageCount
from canvass.pipeline.runs import last_run_at

FUNNEL_STAGES = STAGES[1:]
MAX_RANGE_DAYS = 3 * 366
DEFAULT_RANGE_DAYS = 30


def _contributions_sql(where: str, sign: int) -> str:
    rows = []
    for rank, stage in enumerate(FUNNEL_STAGES):
        at = f"pp.reached_{stage}_at"
        rows.append(f"('{stage}', {at}, 1, 0, 0::bigint)")
        if rank + 1 < len(FUNNEL_STAGES):
            beyond = f"pp.reached_{FUNNEL_STAGES[rank + 1]}_at"
            rows.append(f"('{stage}', {beyond}, 0, 1, floor(extract(epoch FROM {beyond} - {at}))::bigint)")
    return f"""
        SELECT pp.ward_key, pp.campaign_key, (x.at AT TIME ZONE :tz)::date AS day, x.stage,
               {sign} * x.reached AS reached, {sign} * x.advanced AS advanced, {sign} * x.seconds AS seconds
        FROM pipeline_people pp
        CROSS JOIN LATERAL (VALUES {", ".join(rows)}) AS x(stage, at, reached, advanced, seconds)
        WHERE pp.organization_id = :org AND x.at IS NOT NULL AND {where}
    """


def _counts_sql(where: str, sign: int) -> str:
    return f"""
        SELECT pp.ward_key, pp.campaign_key, pp.stage, {sign} AS people
        FROM pipeline_people pp
        WHERE pp.organization_id = :org AND pp.stage <> 'none' AND {where}
    """


_AFFECTED = in_people("pp.person_id", selective=True)


def capture_old_contributions(session: Session, params: dict) -> None:
    """Before the people in pl_people are recomputed: their current contributions, negated."""
    create_temp_table(session, "pl_funnel_delta", _contributions_sql(_AFFECTED, -1), params)
    create_temp_table(session, "pl_count_delta", _counts_sql(_AFFECTED, -1), params)


def apply_new_contributions(session: Session, params: dict) -> None:
    """After they are recomputed: add their new contributions and fold the deltas in."""
    session.execute(text(f"INSERT INTO pl_funnel_delta {_contributions_sql(_AFFECTED, 1)}"), params)
    session.execute(text(f"INSERT INTO pl_count_delta {_counts_sql(_AFFECTED, 1)}"), params)
    session.execute(text("""
        INSERT INTO pipeline_funnel_daily AS f
            (organization_id, ward_key, campaign_key, day, stage, reached, advanced, advanced_seconds)
        SELECT :org, ward_key, campaign_key, day, stage, sum(reached), sum(advanced), sum(seconds)
        FROM pl_funnel_delta GROUP BY ward_key, campaign_key, day, stage
        HAVING sum(reached) <> 0 OR sum(advanced) <> 0 OR sum(seconds) <> 0
        ON CONFLICT (organization_id, ward_key, campaign_key, day, stage) DO UPDATE
        SET reached = f.reached + excluded.reached, advanced = f.advanced + excluded.advanced,
            advanced_seconds = f.advanced_seconds + excluded.advanced_seconds
    """), params)
    session.execute(text("""
        DELETE FROM pipeline_funnel_daily f
        USING (SELECT DISTINCT ward_key, campaign_key, day, stage FROM pl_funnel_delta) d
        WHERE f.organization_id = :org AND f.ward_key = d.ward_key AND f.campaign_key = d.campaign_key
          AND f.day = d.day AND f.stage = d.stage AND f.reached = 0 AND f.advanced = 0
    """), params)
    session.execute(text("""
        INSERT INTO pipeline_stage_counts AS c (organization_id, ward_key, campaign_key, stage, people)
        SELECT :org, ward_key, campaign_key, stage, sum(people)
        FROM pl_count_delta GROUP BY ward_key, campaign_key, stage HAVING sum(people) <> 0
        ON CONFLICT (organization_id, ward_key, campaign_key, stage) DO UPDATE SET people = c.people + excluded.people
    """), params)
    session.execute(text("""
        DELETE FROM pipeline_stage_counts c
        USING (SELECT DISTINCT ward_key, campaign_key, stage FROM pl_count_delta) d
        WHERE c.organization_id = :org AND c.ward_key = d.ward_key AND c.campaign_key = d.campaign_key
          AND c.stage = d.stage AND c.people = 0
    """), params)


def rebuild_funnels(session: Session, params: dict) -> None:
    """From scratch, from every pipeline_people row of the organization."""
    session.execute(text("DELETE FROM pipeline_funnel_daily WHERE organization_id = :org"), params)
    session.execute(text("DELETE FROM pipeline_stage_counts WHERE organization_id = :org"), params)
    session.execute(text(f"""
        INSERT INTO pipeline_funnel_daily
            (organization_id, ward_key, campaign_key, day, stage, reached, advanced, advanced_seconds)
        SELECT :org, ward_key, campaign_key, day, stage, sum(reached), sum(advanced), sum(seconds)
        FROM ({_contributions_sql("true", 1)}) c
        GROUP BY ward_key, campaign_key, day, stage
    """), params)
    session.execute(text(f"""
        INSERT INTO pipeline_stage_counts (organization_id, ward_key, campaign_key, stage, people)
        SELECT :org, ward_key, campaign_key, stage, sum(people) FROM ({_counts_sql("true", 1)}) c
        GROUP BY ward_key, campaign_key, stage
    """), params)


# --- reading ------------------------------------------------------------------------------


def get_funnel(session: Session, *, organization_id: int, ward: str | None = None, campaign_id: int | None = None,
               date_from: date | None = None, date_to: date | None = None) -> dict:
    """Counts per stage for a ward (or the whole organization) and a campaign (or all), over days."""
    org = get_organization(session, organization_id)
    tz = timezone_for(org)
    ward_row = None
    if ward is not None:
        ward_row = session.execute(
            select(Boundary).where(Boundary.organization_id == organization_id, Boundary.level == "ward",
                                   Boundary.name == ward)
        ).scalar_one_or_none()
        if ward_row is None:
            raise NotFound(f"no ward named {ward!r}", code="ward_not_found")
    if campaign_id is not None and session.execute(
        select(Campaign.id).where(Campaign.organization_id == organization_id, Campaign.id == campaign_id)
    ).first() is None:
        raise NotFound("no such campaign", code="campaign_not_found")
    date_to = date_to or local_today(tz)
    date_from = date_from or date_to - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if date_from > date_to:
        raise ValidationFailed("from must not be after to", code="invalid_date_range",
                               details={"from": ["must not be after to"]})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(f"a funnel covers at most {MAX_RANGE_DAYS} days", code="invalid_date_range",
                               details={"to": [f"at most {MAX_RANGE_DAYS} days after from"]})

    def scoped(query, model):
        query = query.where(model.organization_id == organization_id)
        if ward_row is not None:
            query = query.where(model.ward_key == ward_row.id)
        if campaign_id is not None:
            query = query.where(model.campaign_key == campaign_id)
        return query

    days = session.execute(scoped(
        select(FunnelDay.day, FunnelDay.stage, func.sum(FunnelDay.reached), func.sum(FunnelDay.advanced),
               func.sum(FunnelDay.advanced_seconds))
        .where(FunnelDay.day.between(date_from, date_to))
        .group_by(FunnelDay.day, FunnelDay.stage), FunnelDay)
    ).all()
    current = dict(session.execute(scoped(
        select(StageCount.stage, func.sum(StageCount.people)).group_by(StageCount.stage), StageCount)
    ).all())

    totals = {stage: {"reached": 0, "advanced": 0, "seconds": 0} for stage in FUNNEL_STAGES}
    by_day: dict = {}
    for day, stage, reached, advanced, seconds in days:
        totals[stage]["reached"] += int(reached)
        totals[stage]["advanced"] += int(advanced)
        totals[stage]["seconds"] += int(seconds)
        if reached:
            by_day.setdefault(day, dict.fromkeys(FUNNEL_STAGES, 0))[stage] = int(reached)
    stages = []
    for index, stage in enumerate(FUNNEL_STAGES):
        t = totals[stage]
        following = totals[FUNNEL_STAGES[index + 1]]["reached"] if index + 1 < len(FUNNEL_STAGES) else None
        stages.append({
            "stage": stage,
            "current": int(current.get(stage, 0)),
            "reached": t["reached"],
            "advanced": t["advanced"],
            # Of the people who reached this stage in the range, how many reached the next one.
            "conversion_to_next": (round(following / t["reached"], 4)
                                   if following is not None and t["reached"] else None),
            "avg_days_in_stage": round(t["seconds"] / t["advanced"] / 86400, 2) if t["advanced"] else None,
        })

    return {
        "ward": {"id": ward_row.id, "name": ward_row.name} if ward_row else None,
        "campaign_id": campaign_id,
        "date_from": date_from,
        "date_to": date_to,
        "timezone": tz,
        "stages": stages,
        "days": [{"day": day, "reached": counts} for day, counts in sorted(by_day.items())],
        "refreshed_at": last_run_at(session, organization_id=organization_id),
    }
