"""The member pipeline rollup at scale: full rebuild, incremental run, and job coalescing.

`python -m bench rollup` (or `python -m bench.bench_rollup --contacts 1000000`).

A throwaway database (on BENCH_DATABASE_URL's server) gets one organization with 50 wards,
5 campaigns, 250,000 people in 125,000 households, then, with set-based SQL (generate_series,
deterministic: no random()), 1,000,000 contacts over six months (85% conversations with a support
answer, 15% door attempts), 100,000 pledge cards (some collected by members' own accounts),
2,000 events with 200,000 attendance rows, and 20,000 dues payments.

* full rebuild: canvass.pipeline.rollup.refresh_pipeline(mode="full"), one transaction
  (target <= 60 s); baseline: a plain INSERT ... SELECT of the same contact, pledge and
  attendance rows into unindexed tables (the cost of merely reading and writing them once);
* incremental: 10,000 new conversations committed, then one incremental run (target <= 2 s),
  timed twice: right after the full rebuild (the run that also re-checks the rebuild's stretch of
  ids against its snapshot) and in steady state;
* a canvass day: 100,000 contacts synced in 200 commits of 500, each asking for the rollup job
  on a real Redis queue (BENCH_REDIS_URL, default db 13 of the local Redis), with a worker
  draining the queue every 10 commits: the most rollup jobs ever pending for the organization
  (target: 1).
"""
from __future__ import annotations

import argparse
import uuid

from redis import Redis
from rq import SimpleWorker
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from bench.common import bench_redis_url, markdown_table, seed_ward_grid, throwaway_database, timer

PEOPLE = 250_000
WARDS = 50
CAMPAIGNS = 5
EVENTS = 2_000
MEMBER_ACCOUNTS = 200


def seed(session: Session, *, contacts: int, pledges: int, attendance: int, dues: int) -> int:
    """Everything the rollup reads, written with set-based SQL. Returns the organization id."""
    org = session.execute(text(
        "INSERT INTO organizations (slug, name) VALUES ('bench-pipeline', 'Bench pipeline') RETURNING id"
    )).scalar_one()
    p = {"org": org, "people": PEOPLE, "households": PEOPLE // 2, "buildings": PEOPLE // 4, "wards": WARDS}
    seed_ward_grid(session, p, street="BENCH ST")
    session.execute(text("""
        INSERT INTO households (organization_id, building_id, unit)
        SELECT :org, :building0 + (h - 1) / 2, CASE WHEN h % 2 = 0 THEN '2' ELSE '1' END
        FROM generate_series(1, :households) h
    """), p)
    p["household0"] = session.execute(text("SELECT min(id) FROM households WHERE organization_id = :org"),
                                      p).scalar_one()
    session.execute(text("""
        INSERT INTO people (organization_id, household_id, first_name, last_name, name_key)
        SELECT :org, :household0 + (i - 1) / 2, 'Resident', i::text, 'resident ' || i
        FROM generate_series(1, :people) i
    """), p)
    p["person0"] = session.execute(text("SELECT min(id) FROM people WHERE organization_id = :org"), p).scalar_one()
    session.execute(text("""
        INSERT INTO campaigns (organization_id, name, kind, result_codes, pledge_types)
        SELECT :org, 'Campaign ' || c, 'issue', ARRAY['not_home', 'refused'], ARRAY['member', 'vote']
        FROM generate_series(1, 5) c
    """), p)
    session.execute(text("""
        INSERT INTO questions (organization_id, campaign_id, position, prompt, kind)
        SELECT :org, id, 1, 'Do you support the ordinance?', 'scale' FROM campaigns WHERE organization_id = :org
    """), p)
    p["campaign0"] = session.execute(text("SELECT min(id) FROM campaigns WHERE organization_id = :org"), p).scalar_one()
    p["question0"] = session.execute(text("SELECT min(id) FROM questions WHERE organization_id = :org"), p).scalar_one()
    session.execute(text("""
        INSERT INTO users (organization_id, email, name, roles, person_id)
        SELECT :org, 'member' || u || '@bench.test', 'Member ' || u, ARRAY['canvasser'], :person0 + u - 1
        FROM generate_series(1, :accounts) u
    """), {**p, "accounts": MEMBER_ACCOUNTS})
    p["user0"] = session.execute(text("SELECT min(id) FROM users WHERE organization_id = :org"), p).scalar_one()
    insert_contacts(session, p, first=1, count=contacts)
    session.execute(text("""
        INSERT INTO pledges (organization_id, client_id, pledge_type, person_id, household_id, campaign_id,
                             canvasser_id, occurred_at, consent_to_contact)
        SELECT :org, gen_random_uuid(), CASE WHEN i % 3 = 0 THEN 'vote' ELSE 'member' END,
               :person0 + (i * 104729) % :people, :household0 + ((i * 104729) % :people) / 2,
               :campaign0 + i % 5, :user0 + i % :accounts,
               now() - make_interval(mins => ((i * 37) % 259200)::int) + interval '5 minutes', true
        FROM generate_series(1::bigint, :n) i
    """), {**p, "n": pledges, "accounts": MEMBER_ACCOUNTS})
    session.execute(text("""
        INSERT INTO events (organization_id, kind, title, starts_at, led_by_person_id)
        SELECT :org, 'meeting', 'Meeting ' || e, now() - make_interval(hours => e * 4),
               CASE WHEN e % 10 = 0 THEN :person0 + e % :people END
        FROM generate_series(1, :events) e
    """), {**p, "events": EVENTS})
    p["event0"] = session.execute(text("SELECT min(id) FROM events WHERE organization_id = :org"), p).scalar_one()
    # Distinct (event, person) pairs; many people come to two or three events.
    session.execute(text("""
        INSERT INTO event_attendance (organization_id, event_id, person_id, status)
        SELECT :org, :event0 + i % :events, :person0 + ((i / :events) * 2500 + (i % :events) * 3) % :people,
               CASE WHEN i % 10 = 0 THEN 'no_show' ELSE 'attended' END
        FROM generate_series(0::bigint, :n - 1) i
    """), {**p, "events": EVENTS, "n": attendance})
    session.execute(text("""
        INSERT INTO dues_payments (organization_id, person_id, amount_cents, paid_on, method, period_start, period_end)
        SELECT :org, :person0 + (i * 7) % :people, CASE WHEN i % 4 = 0 THEN 12000 ELSE 1000 END,
               current_date - (i % 300), 'card', current_date - (i % 300),
               current_date - (i % 300) + CASE WHEN i % 4 = 0 THEN 364 ELSE 30 END
        FROM generate_series(1, :n) i
    """), {**p, "n": dues})
    session.info["bench_params"] = p
    return org


def insert_contacts(session: Session, p: dict, *, first: int, count: int) -> None:
    session.execute(text("""
        INSERT INTO contacts (organization_id, client_id, campaign_id, household_id, person_id, occurred_at,
                              result_code, responses)
        SELECT :org, gen_random_uuid(), :campaign0 + i % 5, :household0 + ((i * 7919) % :people) / 2,
               CASE WHEN i % 20 < 17 THEN :person0 + (i * 7919) % :people END,
               now() - make_interval(mins => ((i * 13) % 259200)::int),
               CASE WHEN i % 20 >= 17 THEN 'not_home' END,
               CASE WHEN i % 20 < 17 THEN jsonb_build_array(jsonb_build_object(
                   'question_id', :question0 + i % 5, 'answer', 1 + (i * 31) % 5)) END
        FROM generate_series(CAST(:first AS bigint), :first + :count - 1) i
    """), {**p, "first": first, "count": count})


def plain_copy(session: Session) -> None:
    """The baseline: the same rows, read once and written once into plain unindexed tables."""
    for table in ("contacts", "pledges", "event_attendance"):
        session.execute(text(f"CREATE TABLE bench_plain_{table} AS SELECT * FROM {table} WHERE false"))
        session.execute(text(f"INSERT INTO bench_plain_{table} SELECT * FROM {table}"))


def main(argv: list[str] | None = None) -> dict:
    from canvass.config import Settings
    from canvass.db import transaction
    from canvass.jobs import request_rollup, rollup_job_id
    from canvass.pipeline.rollup import refresh_pipeline
    from workers import runtime

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pledges", type=int, default=100_000)
    parser.add_argument("--attendance", type=int, default=200_000)
    parser.add_argument("--dues", type=int, default=20_000)
    parser.add_argument("--new-contacts", type=int, default=10_000)
    parser.add_argument("--day-contacts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv or [])
    redis_url = bench_redis_url()

    results: dict = {}
    with throwaway_database("canvass_bench_rollup") as url:
        engine = create_engine(url)
        with Session(engine) as session, timer() as seeding:
            org = seed(session, contacts=args.contacts, pledges=args.pledges, attendance=args.attendance,
                       dues=args.dues)
            params = session.info["bench_params"]
            session.commit()
            session.execute(text("ANALYZE"))
            session.commit()
        results["seed_seconds"] = round(seeding["seconds"], 1)

        with Session(engine) as session:
            with timer() as full:
                outcome = refresh_pipeline(session, organization_id=org, mode="full")
                session.commit()
            results["full_rebuild_seconds"] = round(full["seconds"], 2)
            results["people_in_pipeline"] = outcome.people
            with timer() as baseline:
                plain_copy(session)
                session.commit()
            results["plain_insert_select_seconds"] = round(baseline["seconds"], 2)
            counts = session.execute(text("""
                SELECT (SELECT count(*) FROM pipeline_people), (SELECT count(*) FROM pipeline_stage_transitions),
                       (SELECT count(*) FROM membership_periods), (SELECT count(*) FROM pipeline_funnel_daily),
                       (SELECT count(*) FILTER (WHERE membership_status = 'member') FROM pipeline_people)
            """)).one()
            results.update(zip(("pipeline_people", "transitions", "membership_periods", "funnel_rows", "members"),
                               counts))

        def incremental(first: int) -> tuple[float, int]:
            with Session(engine) as session:
                insert_contacts(session, params, first=first, count=args.new_contacts)
                session.commit()
            with Session(engine) as session, timer() as took:
                outcome = refresh_pipeline(session, organization_id=org, mode="incremental")
                session.commit()
            return took["seconds"], outcome.people

        first_after_full, people = incremental(args.contacts + 1)
        steady, steady_people = incremental(args.contacts + args.new_contacts + 1)
        results["incremental_after_full_seconds"] = round(first_after_full, 2)
        results["incremental_seconds"] = round(steady, 2)
        results["incremental_people"] = steady_people

        # A canvass day through the real job machinery.
        redis = Redis.from_url(redis_url)
        queue_name = f"bench-rollup-{uuid.uuid4().hex[:8]}"
        runtime.configure(Settings(database_url=url, redis_url=redis_url, queue_name=queue_name),
                          session_factory=sessionmaker(engine, expire_on_commit=False), redis=redis)
        redis.delete(f"rq:job:{rollup_job_id(org)}")
        queue = runtime.get_queue()
        most_pending, jobs_run, next_id = 0, 0, args.contacts + 2 * args.new_contacts + 1
        batches = args.day_contacts // args.batch
        try:
            with timer() as day:
                for batch in range(batches):
                    with Session(engine) as session, transaction(session):
                        insert_contacts(session, params, first=next_id, count=args.batch)
                        request_rollup(session, organization_id=org)
                    next_id += args.batch
                    most_pending = max(most_pending, sum(1 for j in queue.job_ids if j == rollup_job_id(org)))
                    if batch % 10 == 9 or batch == batches - 1:
                        jobs_run += queue.count
                        SimpleWorker([queue], connection=redis).work(burst=True)
            results["day_contacts"] = batches * args.batch
            results["day_commits"] = batches
            results["day_rollup_jobs_run"] = jobs_run
            results["day_most_pending_jobs"] = most_pending
            results["day_seconds"] = round(day["seconds"], 1)
        finally:
            queue.empty()
            queue.delete(delete_jobs=True)
            redis.close()
        engine.dispose()

    ratio = results["full_rebuild_seconds"] / results["plain_insert_select_seconds"]
    rows = [
        ["full rebuild (1 transaction)", f"{args.contacts:,} contacts, {args.pledges:,} pledges, "
         f"{args.attendance:,} attendance, {args.dues:,} dues", results["full_rebuild_seconds"], "<= 60 s"],
        ["plain INSERT ... SELECT of the same rows", "contacts + pledges + attendance",
         results["plain_insert_select_seconds"], f"rebuild / plain = {ratio:.1f}x"],
        ["incremental, first run after the rebuild", f"{args.new_contacts:,} new contacts",
         results["incremental_after_full_seconds"], "<= 2 s"],
        ["incremental, steady state", f"{args.new_contacts:,} new contacts ({results['incremental_people']:,} people)",
         results["incremental_seconds"], "<= 2 s"],
        ["canvass day through RQ", f"{results['day_contacts']:,} contacts in {results['day_commits']} commits, "
         f"{results['day_rollup_jobs_run']} jobs run", results["day_seconds"],
         f"most pending jobs: {results['day_most_pending_jobs']} (target 1)"],
    ]
    print(markdown_table(["what", "rows", "seconds", "note"], rows))
    print(f"\npipeline: {results['pipeline_people']:,} people ({results['members']:,} members), "
          f"{results['transitions']:,} transitions, {results['membership_periods']:,} membership periods, "
          f"{results['funnel_rows']:,} funnel rows; seeding took {results['seed_seconds']} s")
    results["rebuild_vs_plain_ratio"] = round(ratio, 2)
    return results


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
