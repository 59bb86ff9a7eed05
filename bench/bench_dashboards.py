"""Dashboard endpoints on a big organization: p95 from the rollups vs the same numbers from raw contacts.

`python -m bench dashboards` (or `python -m bench.bench_dashboards --contacts 5000000`).

Data, generated set-based (generate_series) in a throwaway database: one organization with a
ward of 20,000 doors (200 turfs of 100), 200 canvassers, 3 campaigns, and N contacts (default
1,000,000) over 120 days, a third of them conversations, 2% flagged, plus pledge cards for 3%.

Measured:
* rollup: the full rebuild, and an incremental run after a sync-sized batch (500 contacts);
* ours: GET /v1/dashboards/{turfs,summary,leaderboard,follow-ups} through the app (Flask test
  client, token auth, JSON), p50/p95 over repeated requests;
* baseline: the same numbers computed from raw contacts in SQL (no HTTP, no JSON): what the
  endpoints would cost without the rollups.
The rollup reads are bounded by the rollups' size (days x canvassers x campaigns, and turfs), not
by the contacts; the baseline grows linearly with them.
"""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import timedelta

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import markdown_table, throwaway_database, timer

TURFS = 200
DOORS_PER_TURF = 100
CANVASSERS = 200
DAYS = 120
WARD = "27"


def seed(url: str, contacts: int) -> dict:
    """Generate the organization; returns ids. All set-based, a few statements."""
    engine = create_engine(url)
    doors = TURFS * DOORS_PER_TURF
    with engine.begin() as c:
        org = c.execute(text("INSERT INTO organizations (slug, name) VALUES ('bench', 'Bench') RETURNING id")
                        ).scalar_one()
        p = {"org": org, "turfs": TURFS, "per": DOORS_PER_TURF, "doors": doors, "canvassers": CANVASSERS,
             "n": contacts, "days": DAYS, "ward": WARD}
        ward = c.execute(text("""
            INSERT INTO boundaries (organization_id, level, name, geom)
            VALUES (:org, 'ward', :ward, ST_Multi(ST_MakeEnvelope(-87.76, 41.80, -87.56, 41.90, 4326))) RETURNING id
        """), p).scalar_one()
        p["ward_id"] = ward
        c.execute(text("""
            INSERT INTO users (organization_id, email, name, roles)
            SELECT :org, 'canvasser' || g || '@bench.test', 'Canvasser ' || g, ARRAY['canvasser']
            FROM generate_series(1, :canvassers) g
        """), p)
        organizer = c.execute(text("""
            INSERT INTO users (organization_id, email, name, roles) VALUES (:org, 'organizer@bench.test', 'Organizer',
            ARRAY['organizer']) RETURNING id"""), p).scalar_one()
        c.execute(text("""
            INSERT INTO campaigns (organization_id, name, kind, result_codes, pledge_types)
            SELECT :org, 'Campaign ' || g, 'electoral', ARRAY['not_home', 'refused'], ARRAY['vote']
            FROM generate_series(1, 3) g
        """), p)
        c.execute(text("""
            INSERT INTO questions (organization_id, campaign_id, position, prompt, kind)
            SELECT :org, id, 1, 'Will you vote?', 'yes_no' FROM campaigns WHERE organization_id = :org
        """), p)
        # Turf t is a small square in a 20 x 10 grid; its doors sit inside it.
        c.execute(text("""
            INSERT INTO turfs (organization_id, name, ward_id, status, geom, door_count)
            SELECT :org, 'Turf ' || t, :ward_id, 'ready',
                   ST_Multi(ST_MakeEnvelope(-87.76 + (t % 20) * 0.01, 41.80 + (t / 20) * 0.01,
                                            -87.75 + (t % 20) * 0.01, 41.81 + (t / 20) * 0.01, 4326)), :per
            FROM generate_series(0, :turfs - 1) t
        """), p)
        c.execute(text("""
            INSERT INTO buildings (organization_id, address_key, line1, city, state, zip, location, ward_id)
            SELECT :org, d || ' BENCH ST|CHICAGO|60601', d || ' BENCH ST', 'Chicago', 'IL', '60601',
                   ST_SetSRID(ST_MakePoint(-87.7595 + ((d / :per) % 20) * 0.01 + (d % 10) * 0.0009,
                                           41.8005 + ((d / :per) / 20) * 0.01 + ((d % :per) / 10) * 0.0009), 4326),
                   :ward_id
            FROM generate_series(0, :doors - 1) d
        """), p)
        c.execute(text("""
            INSERT INTO households (organization_id, building_id, unit)
            SELECT organization_id, id, '' FROM buildings WHERE organization_id = :org ORDER BY id
        """), p)
        c.execute(text("""
            INSERT INTO people (organization_id, household_id, first_name, last_name, name_key, phone)
            SELECT organization_id, id, 'Pat', 'Resident' || id, 'pat resident' || id,
                   '1312555' || lpad((id % 10000)::text, 4, '0')
            FROM households WHERE organization_id = :org
        """), p)
        c.execute(text("""
            INSERT INTO turf_stops (organization_id, turf_id, household_id, seq)
            SELECT h.organization_id, t.id, h.id, row_number() OVER (PARTITION BY t.id ORDER BY h.id)
            FROM households h
            JOIN turfs t ON t.organization_id = h.organization_id
                 AND t.name = 'Turf ' || ((h.id - (SELECT min(id) FROM households WHERE organization_id = :org)) / :per)
            WHERE h.organization_id = :org
        """), p)
        ids = c.execute(text("""
            SELECT (SELECT min(id) FROM households WHERE organization_id = :org),
                   (SELECT min(id) FROM users WHERE organization_id = :org),
                   (SELECT array_agg(id ORDER BY id) FROM campaigns WHERE organization_id = :org),
                   (SELECT array_agg(id ORDER BY id) FROM questions WHERE organization_id = :org)
        """), p).one()
        p.update(h0=ids[0], u0=ids[1], campaigns=ids[2], questions=ids[3])
    # Contacts in chunks of 500k (one transaction each): canvasser c works turf c's doors, every day
    # of the range, in all three campaigns: the rollup's worst case (every cell filled).
    chunk = 500_000
    for start in range(0, contacts, chunk):
        with engine.begin() as c:
            c.execute(text("""
                INSERT INTO contacts (organization_id, client_id, campaign_id, canvasser_id, household_id, person_id,
                                      occurred_at, result_code, responses, flags)
                SELECT :org, gen_random_uuid(), (:campaigns)[1 + (g / (:canvassers * :days)) % 3],
                       :u0 + (g % :canvassers), :h0 + (g % :canvassers) * :per + (g / :canvassers) % :per,
                       NULL, now() - (((g / :canvassers) % :days) || ' days')::interval
                                 - ((g % 600) || ' minutes')::interval,
                       CASE WHEN g % 3 = 0 THEN NULL ELSE 'not_home' END,
                       CASE WHEN g % 3 = 0 THEN jsonb_build_array(jsonb_build_object(
                           'question_id', (:questions)[1 + g % 3], 'answer', true)) END,
                       CASE WHEN g % 50 = 0 THEN ARRAY['too_fast'] ELSE '{}'::text[] END
                FROM generate_series(:start, :stop - 1) g
            """), {**p, "start": start, "stop": min(contacts, start + chunk)})
    with engine.begin() as c:
        c.execute(text("""
            INSERT INTO pledges (organization_id, client_id, pledge_type, person_id, household_id, campaign_id,
                                 canvasser_id, occurred_at, consent_to_contact, next_follow_up_at)
            SELECT c.organization_id, gen_random_uuid(), 'vote', p.id, c.household_id, c.campaign_id, c.canvasser_id,
                   c.occurred_at, true, c.occurred_at + interval '7 days'
            FROM contacts c JOIN people p ON p.organization_id = c.organization_id AND p.household_id = c.household_id
            WHERE c.organization_id = :org AND c.responses IS NOT NULL AND c.id % 11 = 0
        """), p)
        c.execute(text("ANALYZE"))
    engine.dispose()
    return {"org": p["org"], "organizer": organizer, "ward_id": p["ward_id"], "campaigns": p["campaigns"],
            "h0": p["h0"], "u0": p["u0"], "questions": p["questions"]}


def _sync_batch(engine, ids: dict) -> None:
    """500 contacts by 5 canvassers just now: what one sync stores."""
    with engine.begin() as c:
        c.execute(text("""
            INSERT INTO contacts (organization_id, client_id, campaign_id, canvasser_id, household_id,
                                  occurred_at, result_code)
            SELECT :org, gen_random_uuid(), :campaign, :u0 + g % 5, :h0 + g % 500,
                   now() - (g || ' seconds')::interval, 'not_home'
            FROM generate_series(1, 500) g
        """), {"org": ids["org"], "campaign": ids["campaigns"][0], "u0": ids["u0"], "h0": ids["h0"]})


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _time_requests(client, path: str, headers: dict, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        response.get_data()
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.get_json())
        response.close()
    return samples


BASELINES = {
    # The same numbers straight from contacts (what each endpoint would cost without the rollups).
    "turfs": """
        SELECT s.turf_id, count(DISTINCT c.household_id), count(*) FILTER (WHERE c.responses IS NOT NULL),
               count(*) FILTER (WHERE cardinality(c.flags) > 0)
        FROM turf_stops s JOIN turfs t ON t.organization_id = s.organization_id AND t.id = s.turf_id
        JOIN contacts c ON c.organization_id = s.organization_id AND c.household_id = s.household_id
        WHERE s.organization_id = :org AND t.ward_id = :ward_id GROUP BY s.turf_id
    """,
    "summary": """
        SELECT (c.occurred_at AT TIME ZONE 'America/Chicago')::date, count(*),
               count(DISTINCT (c.canvasser_id, c.household_id)), count(*) FILTER (WHERE c.responses IS NOT NULL)
        FROM contacts c JOIN households h ON h.organization_id = c.organization_id AND h.id = c.household_id
        JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
        WHERE c.organization_id = :org AND b.ward_id = :ward_id AND c.occurred_at >= now() - interval '30 days'
        GROUP BY 1
    """,
    "leaderboard": """
        SELECT c.canvasser_id, count(*), count(*) FILTER (WHERE c.responses IS NOT NULL),
               count(*) FILTER (WHERE cardinality(c.flags) > 0)
        FROM contacts c WHERE c.organization_id = :org AND c.occurred_at >= now() - interval '30 days'
        GROUP BY 1 ORDER BY 2 DESC LIMIT 50
    """,
}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args(argv or [])

    from api import create_app
    from canvass.auth.models import User
    from canvass.auth.services import issue_token
    from canvass.config import Settings
    from canvass.dashboards.activity import rebuild_activity, rollup_activity

    with throwaway_database("canvass_bench_dash") as url:
        with timer() as generated:
            ids = seed(url, args.contacts)
        engine = create_engine(url)
        with timer() as rebuilt, Session(engine) as session, session.begin():
            rebuild_activity(session, organization_id=ids["org"])
        # A sync-sized batch, then the incremental run the sync would trigger.
        _sync_batch(engine, ids)
        with Session(engine) as session, session.begin():
            rollup_activity(session, organization_id=ids["org"])  # the previous run's stretch
        _sync_batch(engine, ids)
        with timer() as incremental, Session(engine) as session, session.begin():
            rollup_activity(session, organization_id=ids["org"])

        app = create_app(Settings(database_url=url, testing=True, log_level="WARNING"))
        with Session(engine) as session, session.begin():
            token = issue_token(session, user=session.get(User, (ids["org"], ids["organizer"])), ttl=timedelta(hours=1)).raw
        headers = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        paths = {
            "turfs": f"/v1/dashboards/turfs?ward={WARD}",
            "summary": f"/v1/dashboards/summary?ward={WARD}",
            "leaderboard": "/v1/dashboards/leaderboard",
            "follow-ups": "/v1/dashboards/follow-ups?limit=50",
        }
        ours = {}
        for name, path in paths.items():
            _time_requests(client, path, headers, 3)  # warm caches and connections
            ours[name] = _time_requests(client, path, headers, args.repeat)
        baseline = {}
        with engine.connect() as c:
            for name, sql in BASELINES.items():
                samples = []
                for _ in range(5):
                    started = time.perf_counter()
                    c.execute(text(sql), {"org": ids["org"], "ward_id": ids["ward_id"]}).all()
                    samples.append((time.perf_counter() - started) * 1000)
                baseline[name] = samples
        with engine.connect() as c:
            sizes = c.execute(text("""
                SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM pledges),
                       (SELECT count(*) FROM activity_daily), (SELECT count(*) FROM activity_turfs)
            """)).one()
        engine.dispose()
        with app.app_context():
            from api.extensions import db

            db.engine.dispose()
        app.extensions["canvass_redis"].close()

    every = [s for samples in ours.values() for s in samples]
    rows = [[name, round(_p(s, 0.5), 1), round(_p(s, 0.95), 1),
             round(_p(baseline[name], 0.95), 1) if name in baseline else "-"] for name, s in ours.items()]
    rows.append(["all dashboard endpoints", round(_p(every, 0.5), 1), round(_p(every, 0.95), 1), "-"])
    print(f"contacts: {sizes[0]:,}  pledges: {sizes[1]:,}  activity_daily rows: {sizes[2]:,}  "
          f"activity_turfs rows: {sizes[3]:,}")
    print(f"generate: {generated['seconds']:.1f} s  full rebuild: {rebuilt['seconds']:.1f} s  "
          f"incremental after 500 contacts: {incremental['seconds'] * 1000:.0f} ms\n")
    print(markdown_table(["endpoint", "ours p50 ms", "ours p95 ms", "baseline from raw contacts p95 ms (SQL only)"],
                         rows))
    return {
        "contacts": sizes[0], "pledges": sizes[1], "activity_daily_rows": sizes[2], "activity_turfs_rows": sizes[3],
        "rebuild_seconds": rebuilt["seconds"], "incremental_ms": incremental["seconds"] * 1000,
        "p95_ms": {name: _p(s, 0.95) for name, s in ours.items()}, "p95_all_ms": _p(every, 0.95),
        "baseline_p95_ms": {name: _p(s, 0.95) for name, s in baseline.items()},
        "p50_ms": {name: statistics.median(s) for name, s in ours.items()},
    }


if __name__ == "__main__":
    main(__import__("sys").argv[1:])
