"""Membership rule trees for 100,000 people as of a date (issue 14).

`python -m bench rules` (or `python -m bench.bench_rules --people 100000`).

A throwaway database gets one organization with 50 wards and 100,000 people (one per household,
four households a building), then, with set-based SQL (generate_series, deterministic):
30,000 dues payments (a third of them monthly runs with gaps), 600 events (a third of them general
meetings) with 300,000 attendance rows (and 2,500 regulars at the last 5 meetings), and 2,000
endorsements.

Timed, each in its own transaction, as of one date for everyone:
* baseline: the default rule through the rollup's own machinery, over all time (standing.py:
  create_people_table + build_standing: every leaf's intervals, the tree as multiranges, the
  islands), then the islands covering the date (before issue 14's rollup work this was the fixed
  settings rule's islands: 1.90 s);
* the default tree (dues_current OR events_in_window), compiled by rules.py (target <= 5 s), and
  the count checked equal to the baseline's;
* a vote's tree: (membership AND dues paid continuously 30 days AND lives in 5 of the wards AND at
  least 3 of the last 5 general meetings) OR an admin override, with endorsements by a field lead
  as a further OR branch.
"""
from __future__ import annotations

import argparse
from datetime import date

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import markdown_table, seed_ward_grid, throwaway_database, timer
from canvass.pipeline.membership import MembershipRule, create_people_table, default_tree
from canvass.pipeline.rules import count_meeting, end_of_day, validate_tree
from canvass.pipeline.standing import build_standing

AS_OF = date(2026, 4, 15)
TZ = "America/Chicago"
VOTE_TREE = {"op": "or", "rules": [
    {"op": "and", "rules": [
        {"kind": "membership"},
        {"kind": "dues_continuous", "params": {"days": 30, "grace_days": 7}},
        {"kind": "lives_in_ward", "params": {"wards": ["1", "2", "3", "4", "5"]}},
        {"kind": "recent_events", "params": {"count": 3, "of_last": 5, "kind": "meeting"}},
    ]},
    {"kind": "endorsed", "params": {"role": "field_lead"}},
    {"kind": "admin_override"},
]}


def seed(session: Session, people: int) -> int:
    org = session.execute(text(
        "INSERT INTO organizations (slug, name) VALUES ('bench-rules', 'Bench rules') RETURNING id")).scalar_one()
    p = {"org": org, "people": people, "buildings": people // 4, "wards": 50}
    seed_ward_grid(session, p, street="RULE ST")
    session.execute(text("""
        INSERT INTO households (organization_id, building_id, unit)
        SELECT :org, :building0 + (h - 1) / 4, (h % 4)::text FROM generate_series(1, :people) h
    """), p)
    p["household0"] = session.execute(text("SELECT min(id) FROM households WHERE organization_id = :org"),
                                      p).scalar_one()
    session.execute(text("""
        INSERT INTO people (organization_id, household_id, first_name, last_name)
        SELECT :org, :household0 + n - 1, 'Pat', 'Person' || n FROM generate_series(1, :people) n
    """), p)
    p["person0"] = session.execute(text("SELECT min(id) FROM people WHERE organization_id = :org"), p).scalar_one()
    # Dues: 10,000 people pay monthly from January for 1-6 months (a gap after month 3 for some).
    session.execute(text("""
        INSERT INTO dues_payments (organization_id, person_id, amount_cents, paid_on, method, period_start, period_end)
        SELECT :org, :person0 + (n * 7) % :people, 1000, d, 'cash', d, (d + interval '1 month')::date - 1
        FROM generate_series(0, 9999) n
        CROSS JOIN LATERAL generate_series(0, 2) k
        CROSS JOIN LATERAL (SELECT (date '2026-01-01' + make_interval(months => k + (n % 4) + (k / 2) * (n % 2)))::date
                            AS d) x
    """), p)
    session.execute(text("""
        INSERT INTO events (organization_id, kind, title, starts_at, status)
        SELECT :org, CASE WHEN e % 3 = 0 THEN 'meeting' ELSE 'canvass_shift' END, 'Event ' || e,
               timestamptz '2026-01-01 18:00-06' + make_interval(hours => e * 7), 'scheduled'
        FROM generate_series(1, 600) e
    """), p)
    p["event0"] = session.execute(text("SELECT min(id) FROM events WHERE organization_id = :org"), p).scalar_one()
    session.execute(text("""
        INSERT INTO event_attendance (organization_id, event_id, person_id, status)
        SELECT DISTINCT ON (ev, pe) :org, ev, pe, 'attended' FROM (
            SELECT :event0 + (n * 13) % 600 AS ev, :person0 + (n * 31 + n / 600) % :people AS pe
            FROM generate_series(0, 299999) n
        ) x
    """), p)
    # Regulars: the dues payers who pay March to May without a gap attend the last 5 general meetings
    # before the date (so the vote tree's AND branch admits some).
    session.execute(text("""
        INSERT INTO event_attendance (organization_id, event_id, person_id, status)
        SELECT :org, e.id, :person0 + (n * 7) % :people, 'attended'
        FROM (SELECT id FROM events WHERE organization_id = :org AND kind = 'meeting'
                                      AND starts_at <= timestamptz '2026-04-15 23:59-05'
              ORDER BY starts_at DESC LIMIT 5) e
        CROSS JOIN generate_series(2, 9999, 4) n
        ON CONFLICT DO NOTHING
    """), p)
    session.execute(text("""
        INSERT INTO users (organization_id, email, name, roles) VALUES (:org, 'lead@bench.example', 'Lead',
                                                                        ARRAY['field_lead'])
    """), p)
    session.execute(text("""
        INSERT INTO membership_attestations (organization_id, person_id, kind, role, starts_at, recorded_by_id)
        SELECT :org, :person0 + (n * 53) % :people, 'endorsement', 'field_lead', timestamptz '2026-03-01',
               (SELECT id FROM users WHERE organization_id = :org)
        FROM generate_series(1, 2000) n
    """), p)
    session.execute(text("ANALYZE"))
    return org


def islands_today(session: Session, org: int) -> int:
    """The organization's rule (version 0: the default tree) through the rollup's own machinery,
    for everyone, over all time; then who is inside an island at one moment."""
    at = end_of_day(AS_OF, TZ)
    params = {"org": org, "tz": TZ, "dues_cents": MembershipRule().dues_monthly_cents}
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    create_people_table(session, "SELECT id AS person_id FROM people WHERE organization_id = :org", params)
    build_standing(session, params)
    return session.execute(text("SELECT count(DISTINCT person_id) FROM pl_islands WHERE s <= :at AND :at < e"),
                           {"at": at}).scalar_one()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    args = parser.parse_args(argv)
    at = end_of_day(AS_OF, TZ)
    with throwaway_database("canvass_bench_rules") as url:
        engine = create_engine(url)
        with Session(engine) as session, timer() as seeding:
            org = seed(session, args.people)
            session.commit()
        with Session(engine) as session, timer() as baseline:
            fixed = islands_today(session, org)
            session.rollback()
        with Session(engine) as session, timer() as tree:
            by_tree = count_meeting(session, organization_id=org, tree=default_tree(MembershipRule()), at=at, tz=TZ)
            session.rollback()
        with Session(engine) as session, timer() as vote:
            by_vote = count_meeting(session, organization_id=org, tree=validate_tree(VOTE_TREE, allow_membership=True),
                                    at=at, tz=TZ)
            session.rollback()
        engine.dispose()
    assert by_tree == fixed, (by_tree, fixed)
    rows = [
        ["default rule, rollup islands over all time (baseline)", fixed, baseline["seconds"], 1.0],
        ["default tree (dues OR 3 events in 6 months)", by_tree, tree["seconds"], tree["seconds"] / baseline["seconds"]],
        ["vote tree (7 conditions, AND/OR)", by_vote, vote["seconds"], vote["seconds"] / baseline["seconds"]],
    ]
    print(f"{args.people:,} people, as of {AS_OF} (seeded in {seeding['seconds']:.1f} s)\n")
    print(markdown_table(["evaluation", "members", "seconds", "ratio to baseline"], rows))
    return {"people": args.people, "baseline_s": baseline["seconds"], "default_tree_s": tree["seconds"],
            "vote_tree_s": vote["seconds"], "members": by_tree, "vote_eligible": by_vote}


if __name__ == "__main__":
    main()
