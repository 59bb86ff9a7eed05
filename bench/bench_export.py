"""Streaming a 1,000,000-contact CSV export: rows/s and memory, vs a raw COPY baseline.

`python -m bench export` (or `python -m bench.bench_export --contacts 1000000`).

The organization is bench_dashboards.seed's (set-based generate_series). Each measurement runs in
a fresh Python process, so its peak RSS is its own:
* ours: GET /v1/exports/contacts through the app (Flask test client, token auth, unbuffered),
  reading the streamed body chunk by chunk: the full path (filters checked, joins for campaign,
  canvasser, address, ward and person, do-not-contact left out, ISO timestamps, audit rows);
* baseline: psycopg `COPY (SELECT * FROM contacts WHERE organization_id = ... ORDER BY id) TO
  STDOUT (FORMAT csv)` read the same way: the floor for getting those rows out of PostgreSQL.
Memory is reported as peak RSS, and as RSS growth between the first chunk and the end of the
stream (flat memory: growth stays near zero however many rows go by).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import timedelta

from bench.common import markdown_table, psycopg_dsn, throwaway_database, timer


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(url: str, organizer_id: int) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from api import create_app
    from api.extensions import db
    from canvass.audit.models import AuditEvent
    from canvass.auth.models import User
    from canvass.auth.services import issue_token
    from canvass.config import Settings

    app = create_app(Settings(database_url=url, testing=True, log_level="WARNING"))
    with app.app_context():
        engine = db.engine
    with Session(engine) as session, session.begin():
        organizer = session.scalars(select(User).where(User.id == organizer_id)).one()
        token = issue_token(session, user=organizer, ttl=timedelta(hours=1)).raw
    client = app.test_client()
    start_rss = _rss_mb()
    started = time.perf_counter()
    response = client.get("/v1/exports/contacts", headers={"Authorization": f"Bearer {token}"}, buffered=False)
    assert response.status_code == 200, response.get_data()
    size, first_rss = 0, None
    for chunk in response.response:
        size += len(chunk)
        if first_rss is None:
            first_rss = _rss_mb()
    response.close()
    seconds = time.perf_counter() - started
    end_rss = _rss_mb()
    with Session(engine) as session:
        finished = session.execute(select(AuditEvent).where(AuditEvent.action == "export.finished")
                                   .order_by(AuditEvent.id.desc()).limit(1)).scalar_one()
        rows = finished.details["rows"]
    return {"rows": rows, "bytes": size, "seconds": seconds, "peak_rss_mb": _peak_mb(),
            "rss_growth_mb": end_rss - (first_rss or start_rss), "start_rss_mb": start_rss}


def _baseline(url: str, organization_id: int) -> dict:
    import psycopg

    start_rss = _rss_mb()
    started = time.perf_counter()
    rows, size, first_rss = -1, 0, None  # -1: the header
    with psycopg.connect(psycopg_dsn(url)) as connection, connection.cursor() as cursor:
        with cursor.copy("COPY (SELECT * FROM contacts WHERE organization_id = %s ORDER BY id) "
                         "TO STDOUT WITH (FORMAT csv, HEADER true)", (organization_id,)) as copy:
            for block in copy:
                rows += 1
                size += len(block)
                if first_rss is None:
                    first_rss = _rss_mb()
    seconds = time.perf_counter() - started
    return {"rows": rows, "bytes": size, "seconds": seconds, "peak_rss_mb": _peak_mb(),
            "rss_growth_mb": _rss_mb() - (first_rss or start_rss), "start_rss_mb": start_rss}


def _in_fresh_process(kind: str, url: str, key: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.bench_export", "--worker", kind, url, str(key)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "URL", "ID"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv or [])
    if args.worker:
        kind, url, key = args.worker
        result = _ours(url, int(key)) if kind == "ours" else _baseline(url, int(key))
        print(json.dumps(result))
        return result

    from bench.bench_dashboards import seed

    with throwaway_database("canvass_bench_export") as url:
        with timer() as generated:
            ids = seed(url, args.contacts)
        print(f"generated {args.contacts:,} contacts in {generated['seconds']:.1f} s", flush=True)
        baseline = _in_fresh_process("baseline", url, ids["org"])
        ours = _in_fresh_process("ours", url, ids["organizer"])

    rows = []
    for name, r in (("ours: GET /v1/exports/contacts", ours), ("baseline: raw COPY of contacts", baseline)):
        rows.append([name, f"{r['rows']:,}", round(r["seconds"], 2), f"{r['rows'] / r['seconds']:,.0f}",
                     round(r["bytes"] / 2**20, 1), round(r["peak_rss_mb"], 1), round(r["rss_growth_mb"], 1)])
    print(markdown_table(["run", "rows", "seconds", "rows/s", "MiB sent", "peak RSS MiB", "RSS growth in stream MiB"],
                         rows))
    return {"ours": ours, "baseline": baseline,
            "ours_rows_per_second": ours["rows"] / ours["seconds"],
            "baseline_rows_per_second": baseline["rows"] / baseline["seconds"]}


if __name__ == "__main__":
    main(sys.argv[1:])
