"""Offline sync ingest through HTTP vs raw batched INSERT ... ON CONFLICT of the same rows.

`python -m bench sync` (or `python -m bench.bench_sync --contacts 20000 --batch 200`).

A throwaway database (on BENCH_DATABASE_URL's server) gets one organization
per path, seeded alike: a canvasser, a campaign with four questions, ~2,000
households (1,000 two-flats) on one turf and the canvasser's lease of it. Each
path stores the same N contacts (70% door results, 30% conversations with
three answers, 60% with a GPS fix, a few `moved`/`wrong_address`, one every
30 s of a week) in batches, each batch committed:

* baselines, raw psycopg into the contacts table, `ON CONFLICT (organization_id,
  client_id) DO NOTHING`: one multi-row VALUES statement per batch; psycopg's
  pipelined executemany; one INSERT ... SELECT FROM unnest(column arrays); one
  INSERT ... SELECT FROM json_to_recordset(the batch as JSON), as ours stores;
* ours: `POST /v1/sync` over HTTP to the app served by gunicorn (one sync
  worker) on 127.0.0.1, one request per batch: bearer auth, per-item
  validation against the campaign and the lease, storage, door outcomes,
  integrity flags, the pipeline enqueue on Redis (BENCH_REDIS_URL, default
  db 13 of the local Redis; its queue is emptied afterwards);
* ours again with every batch (a phone retrying everything): all `duplicate`.

The paths alternate round by round, so a busy machine slows them alike.
Reported: rows/s of each, ours / the fastest baseline (target >= 0.20), and
resend / first send time (target <= 1.0).
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import (
    bench_redis_url,
    free_port,
    markdown_table,
    psycopg_dsn,
    start_app_server,
    throwaway_database,
    timer,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ("organization_id", "client_id", "campaign_id", "assignment_id", "canvasser_id", "household_id", "person_id",
           "device_id", "occurred_at", "result_code", "responses", "notes", "do_not_contact", "location", "accuracy_m")
DEVICE = "bench-phone"


# --- the canvass ------------------------------------------------------------------------


def seed(url: str, *, buildings: int, slug: str = "bench-sync") -> dict:
    """An organization ready to take field work; returns the ids the uploads need."""
    from canvass.auth.services import create_user, issue_token
    from canvass.campaigns.services import create_campaign
    from canvass.orgs.services import create_organization
    from canvass.turfs.leases import assign_turf

    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        org = create_organization(session, slug=slug, name=f"Bench organization {slug}")
        canvasser = create_user(session, organization_id=org.id, email=f"canvasser@{slug}.test", name="Bench Canvasser",
                                roles=["canvasser"])
        token = issue_token(session, user=canvasser, ttl=timedelta(days=1)).raw
        campaign = create_campaign(session, organization_id=org.id, actor=None, name="Bench campaign", kind="electoral",
                                   questions=[
                                       {"prompt": "Who will you vote for?", "kind": "choice",
                                        "choices": ["Rivera", "Okafor", "Undecided"]},
                                       {"prompt": "Support for the ordinance?", "kind": "scale"},
                                       {"prompt": "Can we count on you?", "kind": "yes_no"},
                                       {"prompt": "Anything else?", "kind": "text"},
                                   ])
        params = {"org": org.id, "n": buildings}
        # A grid of two-flats, ~35 m apart, in the 33rd ward area.
        session.execute(text("""
            INSERT INTO buildings (organization_id, address_key, line1, city, state, zip, location)
            SELECT :org, (2000 + 2 * g) || ' W BENCH ST|CHICAGO|60618', (2000 + 2 * g) || ' W BENCH ST', 'Chicago',
                   'IL', '60618', ST_SetSRID(ST_MakePoint(-87.72 + (g % 40) * 0.0004, 41.94 + (g / 40) * 0.0003), 4326)
            FROM generate_series(1, :n) AS g
        """), params)
        session.execute(text("""
            INSERT INTO households (organization_id, building_id, unit)
            SELECT :org, b.id, u.unit FROM buildings b CROSS JOIN (VALUES ('1F'), ('2F')) AS u (unit)
            WHERE b.organization_id = :org
        """), params)
        session.execute(text("""
            INSERT INTO people (organization_id, household_id, first_name, last_name, name_key)
            SELECT :org, h.id, 'Resident', 'No' || h.id, 'resident no' || h.id FROM households h
            WHERE h.organization_id = :org
        """), params)
        turf_id = session.execute(text("""
            INSERT INTO turfs (organization_id, name, status, geom, door_count, building_count)
            SELECT :org, 'Bench turf', 'ready', ST_Multi(ST_Envelope(ST_Buffer(ST_Collect(location), 0.001))),
                   2 * :n, :n
            FROM buildings WHERE organization_id = :org
            RETURNING id
        """), params).scalar_one()
        session.execute(text("""
            INSERT INTO turf_stops (organization_id, turf_id, household_id, seq)
            SELECT :org, :turf, id, row_number() OVER (ORDER BY id) FROM households WHERE organization_id = :org
        """), {**params, "turf": turf_id})
        assignment = assign_turf(session, organization_id=org.id, turf_id=turf_id, canvasser_id=canvasser.id,
                                 campaign_id=campaign.id, actor_id=None, default_lease_hours=72)
        # The lease started a week ago: the week's contacts fall inside it.
        session.execute(text("UPDATE assignments SET leased_at = now() - interval '8 days' "
                             "WHERE organization_id = :org AND id = :id"), {"org": org.id, "id": assignment.id})
        doors = session.execute(text("""
            SELECT h.id, p.id, ST_X(b.location), ST_Y(b.location) FROM households h
            JOIN buildings b ON b.organization_id = h.organization_id AND b.id = h.building_id
            JOIN people p ON p.organization_id = h.organization_id AND p.household_id = h.id
            WHERE h.organization_id = :org ORDER BY h.id
        """), params).all()
        questions = {q.kind: q.id for q in campaign.questions}
        ids = {"org": org.id, "canvasser": canvasser.id, "campaign": campaign.id, "assignment": assignment.id,
               "token": token, "doors": [tuple(d) for d in doors], "questions": questions}
    engine.dispose()
    return ids


def make_contacts(ids: dict, count: int, *, seed_: int = 4) -> list[dict]:
    """The phone's items, in walking order, one every 30 seconds of the past week."""
    rng = random.Random(seed_)
    start = datetime.now(UTC) - timedelta(days=7)
    questions, doors = ids["questions"], ids["doors"]
    items = []
    for i in range(count):
        household_id, person_id, lon, lat = doors[i % len(doors)]
        item = {"client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "assignment_id": ids["assignment"],
                "household_id": household_id,
                "occurred_at": (start + timedelta(seconds=30 * i)).astimezone(timezone(timedelta(hours=-6))).isoformat()}
        roll = rng.random()
        if roll < 0.30:
            item["person_id"] = person_id
            item["responses"] = [
                {"question_id": questions["choice"], "answer": rng.choice(["Rivera", "Okafor", "Undecided"])},
                {"question_id": questions["scale"], "answer": rng.randint(1, 5)},
                {"question_id": questions["yes_no"], "answer": rng.random() < 0.6},
            ]
            item["notes"] = "Talked about the alley lights"
        elif roll < 0.31:
            item["person_id"], item["result_code"] = person_id, "moved"
        elif roll < 0.315:
            item["result_code"] = "wrong_address"
        else:
            item["result_code"] = rng.choice(["not_home"] * 6 + ["refused", "come_back", "inaccessible"])
        if rng.random() < 0.6:
            item["location"] = {"lat": lat + rng.uniform(-1e-4, 1e-4), "lon": lon + rng.uniform(-1e-4, 1e-4),
                                "accuracy_m": round(rng.uniform(5, 30), 1)}
        items.append(item)
    return items


def analyze(url: str) -> None:
    """Statistics, as autovacuum would have them on a live database after an import."""
    with psycopg.connect(psycopg_dsn(url), autocommit=True) as connection:
        connection.execute("ANALYZE")


# --- the baselines -------------------------------------------------------------------------


def as_row(ids: dict, item: dict) -> tuple:
    location = item.get("location")
    return (
        ids["org"], item["client_id"], ids["campaign"], item["assignment_id"], ids["canvasser"], item["household_id"],
        item.get("person_id"), DEVICE, item["occurred_at"], item.get("result_code"),
        Jsonb(item["responses"]) if "responses" in item else None, item.get("notes"), False,
        f"SRID=4326;POINT({location['lon']} {location['lat']})" if location else None,
        location["accuracy_m"] if location else None,
    )


_ONE_ROW = "(" + ", ".join("ST_GeomFromEWKT(%s)" if c == "location" else "%s" for c in COLUMNS) + ")"
_CONFLICT = "ON CONFLICT (organization_id, client_id) DO NOTHING"
_UNNEST = (
    f"INSERT INTO contacts ({', '.join(COLUMNS)}) SELECT "
    + ", ".join("ST_GeomFromEWKT(location)" if c == "location" else c for c in COLUMNS)
    + " FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
    "%s::text[], %s::timestamptz[], %s::text[], %s::jsonb[], %s::text[], %s::boolean[], %s::text[], %s::float8[]) "
    f"AS batch ({', '.join(COLUMNS)}) {_CONFLICT}"
)


_JSON = (
    f"INSERT INTO contacts ({', '.join(COLUMNS)}) SELECT "
    + ", ".join("ST_GeomFromEWKT(location)" if c == "location" else c for c in COLUMNS)
    + " FROM json_to_recordset(%s::json) AS batch (organization_id bigint, client_id uuid, campaign_id bigint, "
    "assignment_id bigint, canvasser_id bigint, household_id bigint, person_id bigint, device_id text, "
    "occurred_at timestamptz, result_code text, responses jsonb, notes text, do_not_contact boolean, location text, "
    f"accuracy_m float8) {_CONFLICT}"
)


def insert_values(connection, ids, batch):
    """One multi-row INSERT ... VALUES statement per batch."""
    connection.execute(
        f"INSERT INTO contacts ({', '.join(COLUMNS)}) VALUES {', '.join([_ONE_ROW] * len(batch))} {_CONFLICT}",
        [value for item in batch for value in as_row(ids, item)],
    )


def insert_executemany(connection, ids, batch):
    """psycopg's executemany of a one-row INSERT (pipelined: one round trip per batch)."""
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO contacts ({', '.join(COLUMNS)}) VALUES {_ONE_ROW} {_CONFLICT}",
                           [as_row(ids, item) for item in batch])


def insert_unnest(connection, ids, batch):
    """One INSERT ... SELECT FROM unnest(column arrays) per batch (what the sync path does)."""
    rows = [as_row(ids, item) for item in batch]
    connection.execute(_UNNEST, [list(column) for column in zip(*rows)])


def insert_json(connection, ids, batch):
    """One INSERT ... SELECT FROM json_to_recordset(the batch as one JSON document) (also what ours does)."""
    rows = [dict(zip(COLUMNS, as_row(ids, item))) for item in batch]
    for row in rows:
        row["responses"] = row["responses"].obj if row["responses"] is not None else None
    connection.execute(_JSON, [json.dumps(rows)])


BASELINES = {
    "multi-row VALUES": insert_values, "executemany": insert_executemany, "unnest arrays": insert_unnest,
    "json_to_recordset": insert_json,
}


# --- ours, over HTTP -------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None, token: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def upload(port: int, token: str, bodies: list[bytes], expected: str) -> float:
    with timer() as took:
        for body in bodies:
            status, payload = request(port, "POST", "/v1/sync", body, token)
            if status != 200:
                raise SystemExit(f"sync answered {status}: {payload[:300]!r}")
            results = json.loads(payload)["results"]
            if any(r["status"] != expected for r in results):
                bad = next(r for r in results if r["status"] != expected)
                raise SystemExit(f"expected every item {expected}, got {bad}")
    return took["seconds"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--buildings", type=int, default=1_000, help="two households each")
    parser.add_argument("--rounds", type=int, default=5, help="baselines and ours alternate, round by round")
    args = parser.parse_args(argv)
    redis_url = bench_redis_url()
    seconds = {name: 0.0 for name in BASELINES} | {"first": 0.0, "resend": 0.0}

    with throwaway_database("canvass_bench_sync") as url:
        # One organization per path, seeded alike, all in the same tables: each path's rows land
        # in a table as big as the others', and the same client_ids never collide across them.
        canvasses = {name: seed(url, buildings=args.buildings, slug=f"bench-{n}") for n, name in
                     enumerate([*BASELINES, "ours"])}
        analyze(url)
        items = {name: make_contacts(ids, args.contacts) for name, ids in canvasses.items()}
        batches = {name: [rows[i:i + args.batch] for i in range(0, len(rows), args.batch)]
                   for name, rows in items.items()}
        requests_ = len(batches["ours"])
        per_round = -(-requests_ // args.rounds)
        ours = canvasses["ours"]
        bodies = [json.dumps({"device_id": DEVICE, "contacts": batch}).encode() for batch in batches["ours"]]

        port = free_port()
        # One worker: ingest per web process, against one connection's raw INSERTs.
        server = start_app_server(url, redis_url, port, args=("--workers", "1"))
        try:
            token = ours["token"]
            # Warm the worker with requests that store nothing (every item rejected).
            stale = [{**item, "assignment_id": 10**12} for item in batches["ours"][0]]
            for _ in range(3):
                request(port, "POST", "/v1/sync", json.dumps({"contacts": stale}).encode(), token)
            with psycopg.connect(psycopg_dsn(url)) as connection:
                for start in range(0, requests_, per_round):
                    window = slice(start, start + per_round)
                    for name, insert in BASELINES.items():
                        with timer() as took:
                            for batch in batches[name][window]:
                                insert(connection, canvasses[name], batch)
                                connection.commit()
                        seconds[name] += took["seconds"]
                    seconds["first"] += upload(port, token, bodies[window], "created")
            seconds["resend"] = upload(port, token, bodies, "duplicate")
        finally:
            server.terminate()
            server.wait(timeout=30)
            from redis import Redis
            from rq import Queue

            redis = Redis.from_url(redis_url)
            Queue("canvass", connection=redis).empty()
            redis.close()

    n = len(items["ours"])
    fastest = min(BASELINES, key=seconds.get)
    result = {
        "contacts": n, "batch": args.batch, "requests": requests_, "rounds": args.rounds,
        "server": "gunicorn, 1 sync worker, 127.0.0.1",
        **{f"raw_{name.replace(' ', '_').replace('-', '_')}_rows_per_s": n / seconds[name] for name in BASELINES},
        "fastest_baseline": fastest,
        "http_sync_rows_per_s": n / seconds["first"],
        "http_resend_rows_per_s": n / seconds["resend"],
        "ratio_http_to_fastest_raw": seconds[fastest] / seconds["first"],
        "resend_to_first_time": seconds["resend"] / seconds["first"],
    }
    rows = [[f"raw psycopg: {name}", n / seconds[name], 1000 * seconds[name] / requests_,
             seconds[fastest] / seconds[name]] for name in BASELINES]
    rows += [
        ["POST /v1/sync, first send", n / seconds["first"], 1000 * seconds["first"] / requests_,
         seconds[fastest] / seconds["first"]],
        ["POST /v1/sync, resend (all duplicate)", n / seconds["resend"], 1000 * seconds["resend"] / requests_,
         seconds[fastest] / seconds["resend"]],
    ]
    print(markdown_table(["path", "rows/s", "ms per batch", "vs fastest raw"], rows))
    print(f"\n{n:,} contacts per path in {requests_} batches of {args.batch}, {args.rounds} alternating rounds; "
          f"ours / fastest raw ({fastest}) = {result['ratio_http_to_fastest_raw']:.2f} (target >= 0.20); "
          f"resend / first send time = {result['resend_to_first_time']:.2f} (target <= 1.0)")
    return result


if __name__ == "__main__":
    main()
