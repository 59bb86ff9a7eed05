"""Walk-list GET latency at 16 concurrent phones vs the app's own floor (`GET /v1/me`), same run.

`python -m bench walklist` (`make bench BENCH_ARGS=walklist`), or
`python -m bench.bench_walklist --clients 16 --seconds 8 --rounds 2`.

A throwaway database (on BENCH_DATABASE_URL's server) gets one organization
seeded through the product's own paths: a ward of ~3,000 seeded synthetic
households (multi-unit buildings, ~2 people each) imported from CSV, cut into
turfs of ~120 doors, 16 canvassers each holding a lease of one turf, and
contacts on a third of the doors (so `last_result` and the refusal filter have
work to do).

Served exactly as the Procfile serves it: gunicorn with the repository's
gunicorn.conf.py (sync workers, cores + 1), on 127.0.0.1, Redis at
BENCH_REDIS_URL (else REDIS_URL). A second server, identical but for
WALKLIST_CACHE_SECONDS=0, shows what a GET costs when the document must be
built (right after something on the turf changed).

Load: wrk (`make bench` installs it), one thread and one connection per phone,
each sending its own token back to back for a fixed time; latency runs from the
request being written to the answer's last byte. wrk's own CPU is printed (under
a fifth of one core, most of it the Lua status check), so the server keeps the
machine. Without wrk the phones are Python threads in this process (flagged in
the output): they share a GIL and the two cores with the server.

Phases, alternating round by round so a busy machine slows them alike:
* walk list (200): full GETs without If-None-Match (the target);
* walk list (200), built every request: the same against the cache-off server;
* walk list, If-None-Match (304): what a phone polls;
* baseline: GET /v1/me (bearer auth + one small JSON: the floor of any
  authenticated request on this stack).

Every answer's status is checked (200, or 304 for the conditional phase).
Reported: p50/p95/p99 and requests/s of each, the load average around the run;
target p95 <= 50 ms for the walk list.
"""
from __future__ import annotations

import argparse
import http.client
import io
import os
import re
import resource
import runpy
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shapely.geometry import box
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.common import bench_redis_url, free_port, markdown_table, start_app_server, throwaway_database

REPO_ROOT = Path(__file__).resolve().parent.parent
WRK_SCRIPT = Path(__file__).resolve().parent / "wrk_phones.lua"
WARD_BOX = (-87.700, 41.940, -87.680, 41.952)
TARGET_P95_MS = 50.0
WALKLIST = "walk list (200)"
BUILT = "walk list (200), built every request"
CONDITIONAL = "walk list, If-None-Match (304)"
BASELINE = "baseline: GET /v1/me"


def seed(url: str, *, households: int, clients: int, turf_doors: int) -> list[dict]:
    import canvass.models  # noqa: F401
    from canvass.auth.services import create_user, issue_token
    from canvass.campaigns.models import PLEDGE_TYPES, RESULT_CODES, Campaign, Question
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
        now = datetime.now(UTC)
        codes = ["not_home", "not_home", "come_back", "refused", None]
        for i, household_id in enumerate(households_ids[::3]):
            code = codes[i % len(codes)]
            session.add(Contact(organization_id=org.id, client_id=uuid.uuid4(), campaign_id=campaign.id,
                                household_id=household_id, occurred_at=now - timedelta(minutes=i),
                                result_code=code, responses=None if code else [{"question_id": 1, "answer": "A"}]))
        session.commit()
    engine.dispose()
    return phones


def serving_layout() -> str:
    """What gunicorn.conf.py (the Procfile's settings) asks for on this machine."""
    conf = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))
    return f"gunicorn {conf['worker_class']} workers x {conf['workers']} (gunicorn.conf.py)"


def current_etags(port: int, phones: list[dict]) -> None:
    for phone in phones:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", f"/v1/assignments/{phone['assignment_id']}/walklist",
                           headers={"Authorization": f"Bearer {phone['token']}"})
        response = connection.getresponse()
        phone["bytes"] = len(response.read())
        phone["etag"] = response.getheader("ETag")
        connection.close()


def wrk_phase(port: int, phones: list[dict], *, path_of, seconds: float, conditional: bool) -> dict:
    """One wrk run: a thread and a connection per phone. Latencies in ms."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        for phone in phones:
            listing.write(f"{phone['token']} {path_of(phone)} {phone['etag'] if conditional else ''}\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        run = subprocess.run(
            ["wrk", f"-t{len(phones)}", f"-c{len(phones)}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", listing.name, "304" if conditional else "200"],
            capture_output=True, text=True, check=False,
        )
    finally:
        os.unlink(listing.name)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = re.search(r"^RESULT (.*)$", run.stdout, re.MULTILINE)
    if run.returncode != 0 or not found:
        raise SystemExit(f"wrk failed: {run.stdout[-500:]} {run.stderr[-500:]}")
    result = {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", found.group(1))}
    if result["unexpected_status"] or result["socket_errors"] > 0.01 * result["requests"]:
        raise SystemExit(f"unexpected answers: {found.group(1)}")
    duration = result["duration_us"] / 1e6
    return {
        "requests": int(result["requests"]), "rps": result["requests"] / duration,
        "p50_ms": result["p50_us"] / 1000, "p95_ms": result["p95_us"] / 1000, "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000, "bytes_per_answer": result["bytes"] / result["requests"],
        # wrk's own CPU (user + system) as a share of one core: the generator must stay light.
        "client_cpu": (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / duration,
    }


def thread_phase(port: int, phones: list[dict], *, path_of, seconds: float, conditional: bool) -> dict:
    """Fallback without wrk: each phone's Python thread sends requests back to back. Latencies in ms."""
    latencies: list[list[float]] = [[] for _ in phones]
    errors: list[str] = []
    barrier = threading.Barrier(len(phones))

    def client(slot: int, phone: dict) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {phone['token']}"}
        if conditional:
            headers["If-None-Match"] = phone["etag"]
        path, expected = path_of(phone), (304 if conditional else 200)
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
            "p95_ms": quantile(0.95), "p99_ms": quantile(0.99), "max_ms": flat[-1]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--doors", type=int, default=120)
    parser.add_argument("--client", choices=("auto", "wrk", "threads"), default="auto",
                        help="load generator (auto: wrk if installed, else Python threads)")
    args = parser.parse_args(argv or [])
    redis_url = bench_redis_url()
    generator = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "threads")
    if generator == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk (make bench does), or --client threads")
    if generator == "threads":
        print(("WARNING: wrk is not installed. " if args.client == "auto" else "")
              + "The phones are Python threads sharing this process's GIL and the server's cores, which inflates "
              "every phase's tail (make bench installs wrk)", file=sys.stderr)
    phase_of = wrk_phase if generator == "wrk" else thread_phase
    load_at_start = os.getloadavg()  # the machine's other work, before ours

    with throwaway_database("canvass_bench_walklist") as url:
        phones = seed(url, households=args.households, clients=args.clients, turf_doors=args.doors)
        cached_port, built_port = free_port(), free_port()
        servers = [start_app_server(url, redis_url, cached_port),
                   start_app_server(url, redis_url, built_port, env={"WALKLIST_CACHE_SECONDS": "0"})]
        try:
            current_etags(cached_port, phones)
            walklist_path = lambda p: f"/v1/assignments/{p['assignment_id']}/walklist"  # noqa: E731
            phases = {
                WALKLIST: dict(port=cached_port, path_of=walklist_path, conditional=False),
                BUILT: dict(port=built_port, path_of=walklist_path, conditional=False),
                CONDITIONAL: dict(port=cached_port, path_of=walklist_path, conditional=True),
                BASELINE: dict(port=cached_port, path_of=lambda p: "/v1/me", conditional=False),
            }
            for spec in phases.values():  # warm-up: connections, caches, prepared statements
                phase_of(spec["port"], phones, path_of=spec["path_of"], seconds=1.0, conditional=spec["conditional"])
            load_before = os.getloadavg()
            runs: dict[str, list[dict]] = {name: [] for name in phases}
            for _ in range(args.rounds):
                for name, spec in phases.items():
                    runs[name].append(phase_of(spec["port"], phones, path_of=spec["path_of"], seconds=args.seconds,
                                               conditional=spec["conditional"]))
            load_after = os.getloadavg()
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=30)

    def merged(results: list[dict]) -> dict:
        return {
            "requests": sum(r["requests"] for r in results),
            "rps": statistics.mean(r["rps"] for r in results),
            "p50_ms": statistics.mean(r["p50_ms"] for r in results),
            "p95_ms": max(r["p95_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results),
            "max_ms": max(r["max_ms"] for r in results),
            "p95_ms_per_round": [round(r["p95_ms"], 2) for r in results],
            **({"client_cpu": max(r["client_cpu"] for r in results)} if "client_cpu" in results[0] else {}),
        }

    results = {name: merged(r) for name, r in runs.items()}
    doors = sorted(p["doors"] for p in phones)
    summary = {
        "clients": args.clients,
        "turf_doors": f"{doors[0]}-{doors[-1]}",
        "document_bytes": f"{min(p['bytes'] for p in phones)}-{max(p['bytes'] for p in phones)}",
        "server": f"{serving_layout()}, 127.0.0.1, {os.cpu_count()} CPUs",
        "load_generator": "wrk, a thread and a connection per phone" if generator == "wrk"
        else "Python threads in the bench process",
        "load_average_at_start": [round(x, 2) for x in load_at_start],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "phases": results,
        "walklist_p95_ms": results[WALKLIST]["p95_ms"],
        "target_p95_ms": TARGET_P95_MS,
        "walklist_p95_over_baseline": results[WALKLIST]["p95_ms"] / results[BASELINE]["p95_ms"],
        "built_p95_over_baseline": results[BUILT]["p95_ms"] / results[BASELINE]["p95_ms"],
    }
    print(f"{args.clients} concurrent phones, turfs of {summary['turf_doors']} doors "
          f"({summary['document_bytes']} bytes); {summary['server']}; load: {summary['load_generator']}")
    print(f"load average (1, 5, 15 min): at start {summary['load_average_at_start']}, before measuring "
          f"{summary['load_average_before']}, after {summary['load_average_after']}\n")
    print(markdown_table(
        ["request", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "p95 by round"],
        [[name, r["requests"], r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
          " / ".join(f"{x:.1f}" for x in r["p95_ms_per_round"])] for name, r in results.items()],
    ))
    if "client_cpu" in results[WALKLIST]:
        print(f"\nwrk's own CPU: at most {max(r['client_cpu'] for r in results.values()):.0%} of one core")
    verdict = "meets" if summary["walklist_p95_ms"] <= TARGET_P95_MS else "misses"
    print(f"\nwalk list p95 {summary['walklist_p95_ms']:.1f} ms ({verdict} the {TARGET_P95_MS:.0f} ms target), "
          f"{summary['walklist_p95_over_baseline']:.2f}x the p95 of GET /v1/me in the same run; built every request: "
          f"p95 {results[BUILT]['p95_ms']:.1f} ms ({summary['built_p95_over_baseline']:.2f}x)")
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
