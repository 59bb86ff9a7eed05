"""`python -m bench.loadtest [--quick]` (`make loadtest`, `make loadtest LOADTEST_ARGS=--quick`).

A throwaway database on BENCH_DATABASE_URL's server (else DATABASE_URL; `make loadtest` sets the
embedded cluster), seeded by seed.py; the stack of stack.py on a free loopback port; locust
headless for a fixed time and at most a fixed number of requests; then verify.py's drain and
checks. Prints the table for docs/reliability.md and exits non-zero if any check failed:
an error answer (anything but the deliberate 304s and 409s), a lost, doubled or rejected item,
rollups that differ from a rebuild, a server process that died, or memory that grew by more
than 10 % between the end of the warm-up and the end of the run.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import REPO_ROOT, markdown_table, throwaway_database
from bench.loadtest import verify
from bench.loadtest.seed import Crowd, seed_crowd
from bench.loadtest.stack import QUEUE, Stack

FULL = {"phones": 1000, "phones_per_turf": 4, "doors_per_turf": 60, "spare_turfs": 6, "seconds": 600,
        "spawn_rate": 5.0, "max_requests": 400_000, "burst_max": 200}
QUICK = {"phones": 100, "phones_per_turf": 4, "doors_per_turf": 40, "spare_turfs": 4, "seconds": 60,
         "spawn_rate": 10.0, "max_requests": 40_000, "burst_max": 50}
MEMORY_GROWTH_LIMIT = 0.10


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 phones for 60 s (what make test runs)")
    for name, value in FULL.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=None,
                            help=f"default {value:,} (quick: {QUICK[name]:,})")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def run_locust(stack: Stack, crowd_file: Path, work: Path, args: argparse.Namespace) -> dict:
    users = args.phones + 4 + 2  # phones, leads, organizers (locustfile.py's fixed counts)
    env = {**os.environ, "LOADTEST_CROWD": str(crowd_file), "LOADTEST_OUT": str(work / "ledgers.json"),
           "LOADTEST_SECONDS": str(args.seconds), "LOADTEST_MAX_REQUESTS": str(args.max_requests),
           "LOADTEST_PHONES_PER_TURF": str(args.phones_per_turf),
           "LOADTEST_BURST_MAX": str(args.burst_max), "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")), "--headless",
               "--host", stack.base_url, "-u", str(users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s",
               "--stop-timeout", "10", "--csv", str(work / "locust"), "--only-summary", "--loglevel", "WARNING",
               "--exit-code-on-error", "0", "--skip-log-setup"]
    with open(work / "locust.log", "w") as log:
        locust = subprocess.run(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                timeout=args.seconds + 300, check=False)
    if locust.returncode != 0 or not (work / "ledgers.json").exists():
        raise SystemExit(f"locust failed ({locust.returncode}): {(work / 'locust.log').read_text()[-3000:]}")
    return json.loads((work / "ledgers.json").read_text())


def endpoint_table(work: Path) -> list[dict]:
    rows = []
    with open(work / "locust_stats.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append({"endpoint": f"{row['Type']} {row['Name']}".strip(), "requests": int(row["Request Count"]),
                         "errors": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                         "p50": row["50%"], "p95": row["95%"], "p99": row["99%"], "max": row["Max Response Time"]})
    return rows


def sample_memory(stack: Stack, samples: list, stop: threading.Event) -> None:
    while not stop.wait(5):
        samples.append((time.monotonic(), stack.memory()))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work = Path(tempfile.mkdtemp(prefix="canvass-loadtest-"))
    results: dict = {"settings": {k: getattr(args, k) for k in FULL}, "quick": args.quick}
    with throwaway_database("canvass_load") as url:
        started = time.monotonic()
        crowd = seed_crowd(url, phones=args.phones, phones_per_turf=args.phones_per_turf,
                           doors_per_turf=args.doors_per_turf, spare_turfs=args.spare_turfs)
        crowd_file = work / "crowd.json"
        crowd.write(crowd_file)
        results["seed_seconds"] = round(time.monotonic() - started, 1)
        stack = Stack(database_url=url, log_dir=work)
        try:
            stack.start()
            samples: list = []
            stop = threading.Event()
            sampler = threading.Thread(target=sample_memory, args=(stack, samples, stop), daemon=True)
            run_started = time.monotonic()
            sampler.start()
            out = run_locust(stack, crowd_file, work, args)
            results["run_seconds"] = round(time.monotonic() - run_started, 1)
            stop.set()
            sampler.join()
            results["memory_kib"] = memory_report(samples, run_started, warmup=args.phones / args.spawn_rate + 15)
            results["alive_after_run"] = stack.alive()
            results["endpoints"] = endpoint_table(work)
            results["statuses"] = out["statuses"]
            results["retries"] = out["retries"]
            results["requests"] = out["requests"]
            drain_started = time.monotonic()
            results["drain"] = verify.drain(stack.base_url, out["phones"])
            results["drain"]["queue_wait_seconds"] = round(verify.wait_for_queue(stack.redis_url, QUEUE), 1)
            verify.run_safety_nets(stack.redis_url, QUEUE)
            results["drain"]["seconds"] = round(time.monotonic() - drain_started, 1)
            results["failed_jobs"] = verify.failed_jobs(stack.redis_url, QUEUE)
            results["ledgers"] = verify.check_ledgers(url, crowd.organization_id, out["phones"])
            results["rollups"] = verify.check_rollups(url, crowd.organization_id)
            results["alive_at_end"] = stack.alive()
        finally:
            stack.stop()
    results["problems"] = problems(results)
    print(report(results, crowd, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if results["problems"]:
        print(f"logs kept in {work}", file=sys.stderr)
    return 1 if results["problems"] else 0


def memory_report(samples: list, run_started: float, *, warmup: float) -> dict:
    """RSS at the end of the warm-up (every phone spawned, signed in, first walk list) and at the end."""
    after_warmup = [m for t, m in samples if t - run_started >= warmup] or [m for _, m in samples]
    start, end = after_warmup[0], after_warmup[-1]
    return {"start": start, "end": end,
            "growth": {name: round(end[name] / start[name] - 1, 3) for name in start if start[name]}}


def problems(results: dict) -> list[str]:
    found = []
    errors = sum(row["errors"] for row in results["endpoints"] if row["endpoint"] != "Aggregated")
    if errors:
        found.append(f"{errors} error answers")
    ledgers = results["ledgers"]
    for key in ("missing", "stored_twice", "acknowledged_not_stored", "acknowledged_with_another_id",
                "stored_but_never_sent", "rejected"):
        if ledgers[key]:
            found.append(f"{ledgers[key]} items {key.replace('_', ' ')}")
    if ledgers["statuses"].get("never answered"):
        found.append("items never answered after the drain")
    if results["drain"]["resent_not_duplicate"]:
        found.append("a resent item was not answered duplicate with its first id")
    for key in ("activity_equals_rebuild", "pipeline_equals_rebuild", "watermark_covers_every_contact"):
        if not results["rollups"][key]:
            found.append(f"rollups: {key} is false")
    if results["failed_jobs"]:
        found.append(f"{results['failed_jobs']} failed jobs")
    for when in ("alive_after_run", "alive_at_end"):
        dead = [name for name, alive in results[when].items() if not alive]
        if dead:
            found.append(f"{', '.join(dead)} died ({when})")
    for name, growth in results["memory_kib"]["growth"].items():
        if growth > MEMORY_GROWTH_LIMIT:
            found.append(f"{name} memory grew {growth:.0%}")
    return found


def report(results: dict, crowd: Crowd, args: argparse.Namespace) -> str:
    rows = [[r["endpoint"], r["requests"], r["errors"], round(r["rps"], 2), r["p50"], r["p95"], r["p99"], r["max"]]
            for r in results["endpoints"]]
    memory = results["memory_kib"]
    ledgers = results["ledgers"]
    lines = [
        f"canvass-day load test: {args.phones} phones in teams of {args.phones_per_turf} "
        f"({len(crowd.phones) // args.phones_per_turf} turfs), {len(crowd.leads)} leads on {len(crowd.spare_turfs)} "
        f"spare turfs, {len(crowd.organizers)} organizers; {args.seconds} s (ran {results['run_seconds']} s), "
        f"{crowd.doors:,} doors, seeded in {results['seed_seconds']} s",
        "",
        markdown_table(["endpoint", "requests", "errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows),
        "",
        "answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(results["statuses"].items())),
        f"resends during the run: {results['retries'] or 'none'}",
        f"drain: {results['drain']}",
        f"ledgers: {ledgers}",
        f"rollups: {results['rollups']}",
        f"failed jobs: {results['failed_jobs']}",
        "memory (RSS, KiB) after warm-up -> end: "
        + ", ".join(f"{n} {memory['start'][n]:,} -> {memory['end'][n]:,} ({memory['growth'].get(n, 0):+.1%})"
                    for n in memory["start"]),
        "",
        "PASS" if not results["problems"] else "FAIL: " + "; ".join(results["problems"]),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
