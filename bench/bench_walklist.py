"""Walk-list GET latency at 16 concurrent phones vs the app's own floor (`GET /v1/me`).

`python -m bench walklist` (or `python -m bench.bench_walklist --clients 16 --seconds 10`).

A throwaway database (on BENCH_DATABASE_URL's server) gets one organization
seeded through the product's own paths: a ward of ~3,000 seeded synthetic
households (multi-unit buildings, ~2 people each) imported from CSV, cut into
turfs of ~120 doors, 16 canvassers each holding a lease of one turf, and
contacts on a third of the doors (so `last_result` and the refusal filter have
work to do). The app runs under gunicorn (gthread workers) on 127.0.0.1; 16
client threads, one per canvasser with its own token and keep-alive
connection, then for a fixed time:

* ours: `GET /v1/assignments/{id}/walklist` (full 200 responses);
* ours, revalidating: the same with `If-None-Match` (304, what a phone polls);
* baseline: `GET /v1/me` (bearer auth + one small JSON: the floor of any
  authenticated request on this stack).

Reported: p50/p95/p99 and requests/s of each; target p95 <= 50 ms for the
walk list. The phases alternate, so a busy machine slows them alike.
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from shapely.geometry import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import markdown_table, throwaway_database

REPO_ROOT = Path(__file__).resolve().parent.parent
WARD_BOX = (-87.700, 41.940, -87.680, 41.952)
TARGET_P95_MS = 50.0


def seed(url: str, *, households: int, clients: int, turf_doors: int) -> list[dict]:
    import canvass.models  # noqa: F401
    from canvass.auth.services import create_user, issue_token
    from canvass.canvassing.models import PLEDGE_TYPES, RESULT_CODES, Campaign, Question
    from canvass.canvassing.records import Contact
    from canvass.geo.boundaries import import_boundaries
    from canvass.geo.households import import_households
    from canvass.geo.synthetic import generate_households, write_households_csv
    from canvass.orgs.services import create_organization
    from canvass.turfs.leases import assign_turf
    from canvass.turfs.services import cut_turfs_for_area

    engine = create_engine(url)
    with Session(engine) as session:
        org = create_organization(session, slug="bench-walklist", name="Bench")
        import_boundaries(session, organization_id=org.id, level="ward", name_field="ward", geojson={
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {"ward": "1"}, "geometry": box(*WARD_BOX).__geo_interface__}],
        })
        csv_text = io.StringIO()
        write_households_csv(generate_households(box(*WARD_BOX), count=households, seed=11), csv_text)
        import_households(session, organization_id=org.id, stream=io.BytesIO(csv_text.getvalue().encode()))
        cut = cut_turfs_for_area(session, organization_id=org.id, actor_id=None, target_doors=turf_doors, ward="1")
        campaign = Campaign(organization_id=org.id, name="Bench campaign", kind="electoral", script="Hi!",
                            result_codes=list(RESULT_CODES), pledge_types=list(PLEDGE_TYPES))
        session.add(campaign)
        session.flush()
        for position, (prompt, kind, choices) in enumerate(
            [("Who will you vote for?", "choice", ["A", "B", "Undecided"]), ("Support the ordinance?", "scale", None),
             ("Can we count on you?", "yes_no", None)], start=1):
            session.add(Question(organization_id=org.id, campaign_id=campaign.id, position=position, prompt=prompt,
                                 kind=kind, choices=choices))
        phones = []
        turfs = sorted(cut.turfs, key=lambda t: abs(t.door_count - turf_doors))[:clients]
        for n, turf in enumerate(turfs):
            user = create_user(session, organization_id=org.id, email=f"canvasser{n}@bench.test", name=f"C {n}",
                               roles=["canvasser"])
            assignment = assign_turf(session, organization_id=org.id, turf_id=turf.id, canvasser_id=user.id,
                                     campaign_id=campaign.id, actor_id=None, default_lease_hours=72)
            token = issue_token(session, user=user, ttl=timedelta(days=1)).raw
            phones.append({"token": token, "assignment_id": assignment.id, "doors": turf.door_count})
        # A third of the doors have been knocked: results, a few refusals, some conversations.
        households_ids = session.execute(text("SELECT household_id FROM turf_stops WHERE organization_id = :o"),
                                         {"o": org.id}).scalars().all()
        now = datetime.now(timezone.utc)
        codes = ["not_home", "not_home", "come_back", "refused", None]
        for i, household_id in enumerate(households_ids[::3]):
            code = codes[i % len(codes)]
            session.add(Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                                household_id=household_id, occurred_at=now - timedelta(minutes=i),
                                result_code=code, responses=None if code else [{"question_id": 1, "answer": "A"}]))
        session.commit()
    engine.dispose()
    return phones


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, redis_url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "SECRET_KEY": "bench-only"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(workers),
         "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "api:create_app()"],
        cwd=REPO_ROOT, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("the app did not come up under gunicorn (is Redis running at BENCH_REDIS_URL?)")


def hammer(port: int, phones: list[dict], *, path_of, seconds: float, conditional: bool) -> dict:
    """Each phone's thread sends requests back to back for `seconds`; returns latencies in ms."""
    latencies: list[list[float]] = [[] for _ in phones]
    errors: list[str] = []
    barrier = threading.Barrier(len(phones))

    def client(slot: int, phone: dict) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {phone['token']}"}
        path = path_of(phone)
        if conditional:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            headers["If-None-Match"] = response.getheader("ETag")
        expected = 304 if conditional else 200
        barrier.wait()
        stop = time.perf_counter() + seconds
        while (started := time.perf_counter()) < stop:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies[slot].append((time.perf_counter() - started) * 1000)
            if response.status != expected:
                errors.append(f"{path}: {response.status}")
                return
        connection.close()

    threads = [threading.Thread(target=client, args=(slot, phone)) for slot, phone in enumerate(phones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"unexpected answers: {errors[:3]}")
    flat = sorted(x for per_client in latencies for x in per_client)
    quantile = lambda q: flat[min(len(flat) - 1, int(q * len(flat)))]  # noqa: E731
    return {"requests": len(flat), "rps": len(flat) / seconds, "p50_ms": statistics.median(flat),
            "p95_ms": quantile(0.95), "p99_ms": quantile(0.99)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--doors", type=int, default=120)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn gthread workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    args = parser.parse_args(argv or [])
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

    with throwaway_database("canvass_bench_walklist") as url:
        phones = seed(url, households=args.households, clients=args.clients, turf_doors=args.doors)
        port = free_port()
        server = start_server(url, redis_url, port, args.workers, args.threads)
        try:
            phases = {
                "walk list (200)": dict(path_of=lambda p: f"/v1/assignments/{p['assignment_id']}/walklist", conditional=False),
                "walk list, If-None-Match (304)": dict(path_of=lambda p: f"/v1/assignments/{p['assignment_id']}/walklist",
                                                       conditional=True),
                "baseline: GET /v1/me": dict(path_of=lambda p: "/v1/me", conditional=False),
            }
            for spec in phases.values():  # warm-up: connections, caches, JIT-free paths
                hammer(port, phones, seconds=1.0, **spec)
            runs: dict[str, list[dict]] = {name: [] for name in phases}
            for _ in range(args.rounds):
                for name, spec in phases.items():
                    runs[name].append(hammer(port, phones, seconds=args.seconds, **spec))
        finally:
            server.terminate()
            server.wait(timeout=30)

    def merged(results: list[dict]) -> dict:
        return {
            "requests": sum(r["requests"] for r in results),
            "rps": statistics.mean(r["rps"] for r in results),
            "p50_ms": statistics.mean(r["p50_ms"] for r in results),
            "p95_ms": max(r["p95_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results),
        }

    results = {name: merged(r) for name, r in runs.items()}
    doors = sorted(p["doors"] for p in phones)
    summary = {
        "clients": args.clients,
        "turf_doors": f"{doors[0]}-{doors[-1]}",
        "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads, 127.0.0.1, {os.cpu_count()} CPUs",
        "phases": results,
        "walklist_p95_ms": results["walk list (200)"]["p95_ms"],
        "target_p95_ms": TARGET_P95_MS,
        "walklist_p95_over_baseline": results["walk list (200)"]["p95_ms"] / results["baseline: GET /v1/me"]["p95_ms"],
    }
    print(f"{args.clients} concurrent phones, turfs of {summary['turf_doors']} doors; {summary['server']}\n")
    print(markdown_table(
        ["request", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms"],
        [[name, r["requests"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"]] for name, r in results.items()],
    ))
    verdict = "meets" if summary["walklist_p95_ms"] <= TARGET_P95_MS else "misses"
    print(f"\nwalk list p95 {summary['walklist_p95_ms']:.1f} ms ({verdict} the {TARGET_P95_MS:.0f} ms target); "
          f"{summary['walklist_p95_over_baseline']:.1f}x the p95 of GET /v1/me")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
