"""Pipeline stages: contacted -> supporter -> pledged -> volunteer -> member -> leader.

A person's stage at any moment is a pure function of their facts:
  leader     a member now who has met a leadership criterion (led K events, or N pledge cards
             were collected by the user account linked to them)
  member     inside a membership island (standing.py: the rule versions' spells, merged)
  volunteer  attended an event (a shift, meeting, action...)
  pledged    signed a pledge card
  supporter  gave a high answer to their campaign's support question: a `scale` answer of 4 or 5,
             or yes to a `yes_no` question the campaign names in settings["support_question_id"]
             (without that setting, the campaign's first scale question is its support question)
  contacted  had a door conversation (a contact with responses) recorded against them
The highest that holds wins; member and leader end when membership lapses, the rest are for good.

Only person-level contacts move people. A household-level conversation (no person_id) doesn't
say who was at the door: counting every resident would inflate the funnel, so it counts for none.

Stage history is recomputed from the facts for every person the rollup touches, so a contact
synced late from an offline phone lands in its true place in the history, and an incremental
run and a full rebuild agree row for row.
"""
from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from canvass.audit.services import record_audit_event
from canvass.campaigns.models import Campaign, Question
from canvass.db import create_temp_table
from canvass.errors import NotFound, ValidationFailed
from canvass.jobs import request_rebuild
from canvass.people.models import Person
from canvass.pipeline.membership import in_people
from canvass.pipeline.models import STAGES, PipelinePerson, StageTransition
from canvass.pipeline.standing import reason_moments_sql

_STAGE_ARRAY = "ARRAY[" + ", ".join(f"'{s}'" for s in STAGES) + "]::text[]"


def _stage_name(rank_sql: str) -> str:
    return f"({_STAGE_ARRAY})[({rank_sql}) + 1]"


def build_facts(session: Session, params: dict, *, selective: bool = False) -> None:
    """pl_facts: one row per person in pl_people with the first moment of each fact."""
    create_temp_table(session, "pl_support_questions", """
        SELECT DISTINCT ON (q.campaign_id) q.campaign_id, q.id AS question_id, q.kind
        FROM questions q
        JOIN campaigns c ON c.organization_id = q.organization_id AND c.id = q.campaign_id
        WHERE q.organization_id = :org AND q.kind IN ('scale', 'yes_no')
          AND CASE WHEN jsonb_typeof(c.settings -> 'support_question_id') = 'number'
                   THEN q.id = (c.settings ->> 'support_question_id')::numeric
                   ELSE q.kind = 'scale' END
        ORDER BY q.campaign_id, q.position
    """, params)
    create_temp_table(session, "pl_conversations", f"""
        SELECT c.person_id, c.id, c.occurred_at, c.campaign_id,
               EXISTS (
                   SELECT 1
                   FROM jsonb_array_elements(CASE WHEN jsonb_typeof(c.responses) = 'array'
                                                  THEN c.responses ELSE '[]'::jsonb END) r
                   JOIN pl_support_questions sq ON sq.campaign_id = c.campaign_id
                        AND r ->> 'question_id' = sq.question_id::text
                   -- Sync stores scale answers as 1-5 and yes_no answers as booleans.
                   WHERE CASE sq.kind WHEN 'scale' THEN r -> 'answer' IN ('4'::jsonb, '5'::jsonb)
                                      ELSE r -> 'answer' = 'true'::jsonb END
               ) AS support
        FROM contacts c
        WHERE c.organization_id = :org AND {in_people("c.person_id", selective)} AND c.responses IS NOT NULL
    """, params)
    create_temp_table(session, "pl_facts", f"""
        WITH first_contact AS (
            SELECT DISTINCT ON (person_id) person_id, occurred_at, id, campaign_id
            FROM pl_conversations ORDER BY person_id, occurred_at, id
        ), first_support AS (
            SELECT DISTINCT ON (person_id) person_id, occurred_at, id
            FROM pl_conversations WHERE support ORDER BY person_id, occurred_at, id
        ), first_pledge AS (
            SELECT DISTINCT ON (g.person_id) g.person_id, g.occurred_at, g.id, g.campaign_id
            FROM pledges g
            WHERE g.organization_id = :org AND {in_people("g.person_id", selective)}
            ORDER BY g.person_id, g.occurred_at, g.id
        ), first_attended AS (
            SELECT DISTINCT ON (person_id) person_id, starts_at, event_id
            FROM pl_attended ORDER BY person_id, starts_at, event_id
        ), led AS (
            SELECT person_id, starts_at AS at, id FROM (
                SELECT e.led_by_person_id AS person_id, e.starts_at, e.id,
                       row_number() OVER (PARTITION BY e.led_by_person_id ORDER BY e.starts_at, e.id) AS n
                FROM events e
                WHERE e.organization_id = :org AND {in_people("e.led_by_person_id", selective)}
                  AND e.status = 'scheduled' AND :rule_leader_events_led > 0
            ) x WHERE n = :rule_leader_events_led
        ), collected AS (
            SELECT person_id, occurred_at AS at, id FROM (
                SELECT u.person_id, g.occurred_at, g.id,
                       row_number() OVER (PARTITION BY u.person_id ORDER BY g.occurred_at, g.id) AS n
                FROM users u
                JOIN pledges g ON g.organization_id = u.organization_id AND g.canvasser_id = u.id
                WHERE u.organization_id = :org AND {in_people("u.person_id", selective)}
                  AND :rule_leader_pledges_collected > 0
            ) x WHERE n = :rule_leader_pledges_collected
        ), leadership AS (
            SELECT DISTINCT ON (person_id) person_id, at, id, cause FROM (
                SELECT person_id, at, id, 'event' AS cause FROM led
                UNION ALL SELECT person_id, at, id, 'pledge' FROM collected
            ) x ORDER BY person_id, at, cause
        )
        SELECT p.person_id,
               fc.occurred_at AS contacted_at, fc.id AS contact_id,
               fs.occurred_at AS supporter_at, fs.id AS support_contact_id,
               fp.occurred_at AS pledged_at, fp.id AS pledge_id,
               fa.starts_at AS volunteer_at, fa.event_id AS volunteer_event_id,
               ld.at AS leader_at, ld.id AS leader_cause_id,
               coalesce(fc.campaign_id, fp.campaign_id, 0) AS campaign_key
        FROM pl_people p
        LEFT JOIN first_contact fc ON fc.person_id = p.person_id
        LEFT JOIN first_support fs ON fs.person_id = p.person_id
        LEFT JOIN first_pledge fp ON fp.person_id = p.person_id
        LEFT JOIN first_attended fa ON fa.person_id = p.person_id
        LEFT JOIN leadership ld ON ld.person_id = p.person_id
    """, params)
    session.execute(text("ALTER TABLE pl_facts ADD PRIMARY KEY (person_id)"))


def build_transitions(session: Session, params: dict) -> None:
    """pl_points: every moment a person's stage may change (past and future);
    pl_transitions: the changes that happened up to :as_of, with their causes."""
    create_temp_table(session, "pl_points", f"""
        SELECT person_id, contacted_at AS at, 'contact' AS cause, contact_id AS cause_id, 1 AS rank
            FROM pl_facts WHERE contacted_at IS NOT NULL
        UNION ALL SELECT person_id, supporter_at, 'support_answer', support_contact_id, 2
            FROM pl_facts WHERE supporter_at IS NOT NULL
        UNION ALL SELECT person_id, pledged_at, 'pledge', pledge_id, 3
            FROM pl_facts WHERE pledged_at IS NOT NULL
        UNION ALL SELECT person_id, volunteer_at, 'attendance', volunteer_event_id, 4
            FROM pl_facts WHERE volunteer_at IS NOT NULL
        UNION ALL SELECT person_id, s, 'membership_started', NULL, 5 FROM pl_islands
        UNION ALL SELECT person_id, leader_at, 'leadership', leader_cause_id, 6
            FROM pl_facts WHERE leader_at IS NOT NULL
        UNION ALL SELECT person_id, e, 'membership_lapsed', NULL, 0 FROM pl_islands WHERE e < 'infinity'
        -- Inside a membership, why it holds changes when a payment starts or ends, an event enters
        -- or leaves the window, an endorsement expires: no new stage (rank -1), but the stored
        -- reasons are recomputed then, so they never depend on when a run happened to look.
        UNION ALL SELECT m.person_id, m.at, 'membership_reasons', NULL, -1 FROM ({reason_moments_sql()}) m
    """, params)
    session.execute(text("CREATE INDEX ON pl_points (person_id, at)"))
    create_temp_table(session, "pl_transitions", """
        WITH moments AS (
            SELECT DISTINCT person_id, at FROM pl_points WHERE at <= :as_of
        ), staged AS (
            SELECT m.person_id, m.at,
                   CASE WHEN member.yes AND f.leader_at <= m.at THEN 6
                        WHEN member.yes THEN 5
                        WHEN f.volunteer_at <= m.at THEN 4
                        WHEN f.pledged_at <= m.at THEN 3
                        WHEN f.supporter_at <= m.at THEN 2
                        WHEN f.contacted_at <= m.at THEN 1
                        ELSE 0 END AS stage
            FROM moments m
            JOIN pl_facts f ON f.person_id = m.person_id
            CROSS JOIN LATERAL (
                SELECT EXISTS (SELECT 1 FROM pl_islands i
                               WHERE i.person_id = m.person_id AND i.s <= m.at AND m.at < i.e) AS yes
            ) member
        ), changes AS (
            SELECT person_id, at, stage,
                   lag(stage, 1, 0) OVER (PARTITION BY person_id ORDER BY at) AS previous
            FROM staged
        )
        SELECT c.person_id,
               row_number() OVER (PARTITION BY c.person_id ORDER BY c.at)::int AS position,
               c.previous AS from_rank, c.stage AS to_rank, c.at AS occurred_at,
               coalesce(why.cause, 'membership_lapsed') AS cause, why.cause_id
        FROM changes c
        -- Going up: the fact at that moment that explains the new stage; going down: a lapse.
        LEFT JOIN LATERAL (
            SELECT p.cause, p.cause_id FROM pl_points p
            WHERE c.stage > c.previous AND p.person_id = c.person_id AND p.at = c.at
              AND p.rank BETWEEN 1 AND c.stage
            ORDER BY p.rank DESC, p.cause_id
            LIMIT 1
        ) why ON true
        WHERE c.stage <> c.previous
    """, params)


def insert_transitions_sql() -> str:
    return f"""
        INSERT INTO pipeline_stage_transitions
            (organization_id, person_id, position, from_stage, to_stage, occurred_at, cause, cause_id)
        SELECT :org, person_id, position, {_stage_name('from_rank')}, {_stage_name('to_rank')}, occurred_at,
               cause, cause_id
        FROM pl_transitions
    """


def insert_people_sql() -> str:
    """pipeline_people rows for everyone in pl_people with any fact, past or future (a future one
    still needs its row: next_change_at is how the ageing job finds them when the moment comes)."""
    reached = ", ".join(
        f"min(occurred_at) FILTER (WHERE to_rank >= {rank}) AS reached_{name}_at"
        for rank, name in enumerate(STAGES) if rank > 0
    )
    reached_columns = ", ".join(f"reached_{name}_at" for name in STAGES[1:])
    return f"""
        WITH latest AS (
            SELECT DISTINCT ON (person_id) person_id, to_rank, occurred_at
            FROM pl_transitions ORDER BY person_id, position DESC
        ), reached AS (
            SELECT person_id, {reached} FROM pl_transitions GROUP BY person_id
        ), current_island AS (
            SELECT person_id, s, e FROM pl_islands WHERE s <= :as_of AND :as_of < e
        ), lapsed AS (
            SELECT DISTINCT person_id FROM pl_islands WHERE e <= :as_of
        ), ahead AS (
            SELECT person_id, min(at) FILTER (WHERE at > :as_of) AS next_change_at FROM pl_points GROUP BY person_id
        )
        INSERT INTO pipeline_people
            (organization_id, person_id, ward_key, campaign_key, stage, stage_since, {reached_columns},
             membership_status, member_since, member_until, next_change_at)
        SELECT :org, f.person_id, coalesce(b.ward_id, 0), f.campaign_key,
               {_stage_name('coalesce(latest.to_rank, 0)')}, latest.occurred_at,
               {", ".join(f"r.reached_{name}_at" for name in STAGES[1:])},
               CASE WHEN cur.s IS NOT NULL THEN 'member' WHEN lapsed.person_id IS NOT NULL THEN 'lapsed'
                    ELSE 'not_member' END,
               cur.s, nullif(cur.e, 'infinity'), ahead.next_change_at
        FROM pl_facts f
        JOIN ahead ON ahead.person_id = f.person_id  -- everyone with a fact, past or future
        JOIN people pe ON pe.organization_id = :org AND pe.id = f.person_id
        LEFT JOIN households h ON h.organization_id = :org AND h.id = pe.household_id
        LEFT JOIN buildings b ON b.organization_id = :org AND b.id = h.building_id
        LEFT JOIN latest ON latest.person_id = f.person_id
        LEFT JOIN reached r ON r.person_id = f.person_id
        LEFT JOIN current_island cur ON cur.person_id = f.person_id
        LEFT JOIN lapsed ON lapsed.person_id = f.person_id
    """


def get_person_pipeline(session: Session, *, organization_id: int, person_id: int) -> dict:
    """A person's stage now and every transition, as last rolled up."""
    if session.execute(select(Person.id).where(Person.organization_id == organization_id, Person.id == person_id)
                       ).first() is None:
        raise NotFound("no such person", code="person_not_found")
    row = session.get(PipelinePerson, (organization_id, person_id))
    transitions = list(session.execute(
        select(StageTransition)
        .where(StageTransition.organization_id == organization_id, StageTransition.person_id == person_id)
        .order_by(StageTransition.position)
    ).scalars())
    return {
        "person_id": person_id,
        "stage": row.stage if row else "none",
        "stage_since": row.stage_since if row else None,
        "ward_id": (row.ward_key or None) if row else None,
        "campaign_id": (row.campaign_key or None) if row else None,
        "reached": {name: getattr(row, f"reached_{name}_at") if row else None for name in STAGES[1:]},
        "transitions": transitions,
    }


def set_support_question(session: Session, *, organization_id: int, campaign_id: int, question_id: int,
                         actor_user_id: int | None = None) -> dict:
    """Name the campaign's support question (a scale or yes_no one): a 4-5 or a yes there makes a
    supporter. Who is a supporter changes throughout, so the pipeline is rebuilt."""

    campaign = session.execute(select(Campaign).where(
        Campaign.organization_id == organization_id, Campaign.id == campaign_id).with_for_update()).scalar_one_or_none()
    if campaign is None:
        raise NotFound("no such campaign", code="campaign_not_found")
    question = session.execute(select(Question).where(
        Question.organization_id == organization_id, Question.campaign_id == campaign_id, Question.id == question_id)
    ).scalar_one_or_none()
    if question is None:
        raise NotFound("no such question in this campaign", code="question_not_found")
    if question.kind not in ("scale", "yes_no"):
        raise ValidationFailed("a support question is a scale or a yes_no question", code="not_a_support_question",
                               details={"question_id": [f"this question is a {question.kind} question"]})
    previous = (campaign.settings or {}).get("support_question_id")
    if previous != question.id:
        campaign.settings = {**(campaign.settings or {}), "support_question_id": question.id}
        flag_modified(campaign, "settings")
        record_audit_event(session, action="campaign.support_question_set", organization_id=organization_id,
                           actor_user_id=actor_user_id, target_type="campaign", target_id=campaign.id,
                           details={"from": previous, "to": question.id})
        request_rebuild(session, organization_id=organization_id)
    session.flush()
    return {"campaign_id": campaign.id, "question_id": question.id}
