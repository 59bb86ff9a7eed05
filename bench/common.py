"""Shared benchmark plumbing: a throwaway migrated database, timing, a markdown table."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from canvass.config import _normalize_database_url
from canvass.migrate import upgrade_database


def server_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set BENCH_DATABASE_URL or DATABASE_URL (make bench does) to a PostgreSQL+PostGIS server")
    return _normalize_database_url(url)


@contextmanager
def throwaway_database(prefix: str = "canvass_bench", *, migrate: bool = True) -> Iterator[str]:
    """A new database on the bench server, migrated to head, dropped afterwards."""
    server = make_url(server_url())
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            upgrade_database(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


REPO_ROOT = Path(__file__).resolve().parent.parent
# The real Chicago files committed with the tests (source and licence: tests/data/README.md).
CHICAGO = REPO_ROOT / "tests" / "data" / "chicago"


def bench_redis_url() -> str:
    """BENCH_REDIS_URL, else REDIS_URL (`make bench` sets it to the embedded Redis), else db 13 locally."""
    return os.environ.get("BENCH_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_process(process: subprocess.Popen, *, grace: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not gone after `grace` seconds."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_app_server(url: str, redis_url: str, port: int, *, args: tuple[str, ...] = (),
                     env: dict | None = None, timeout: float = 30) -> subprocess.Popen:
    """The app under gunicorn with the Procfile's settings (gunicorn.conf.py; `args` override them)
    on 127.0.0.1:`port`, returned once /healthz answers 200."""
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", str(REPO_ROOT / "gunicorn.conf.py"), *args,
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "api:create_app()"],
        cwd=REPO_ROOT,
        env={**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_LEVEL": "WARNING",
             "SECRET_KEY": "bench-only", **(env or {})},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the app did not come up under gunicorn (is Redis running at {redis_url}?)")


def psycopg_dsn(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for raw psycopg baselines."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def timer() -> Iterator[dict]:
    result = {}
    started = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - started


def markdown_table(headers: list[str], rows: list[list]) -> str:
    def cell(value):
        return f"{value:,.2f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def seed_ward_grid(session, params: dict, *, street: str) -> None:
    """`params["wards"]` square wards in a row and `params["buildings"]` buildings spread over them, for
    organization `params["org"]`; sets `params["ward0"]` and `params["building0"]` (the first ids).
    The rollups only read ward ids through buildings, so the shapes are plain squares."""
    session.execute(text("""
        INSERT INTO boundaries (organization_id, level, name, geom)
        SELECT :org, 'ward', w::text, ST_Multi(ST_MakeEnvelope(-87.9 + w * 0.01, 41.8, -87.9 + w * 0.01 + 0.01, 41.81,
                                                               4326))
        FROM generate_series(1, :wards) w
    """), params)
    params["ward0"] = session.execute(text("SELECT min(id) FROM boundaries WHERE organization_id = :org"),
                                      params).scalar_one()
    session.execute(text(f"""
        INSERT INTO buildings (organization_id, address_key, line1, city, state, zip, location, ward_id)
        SELECT :org, b || ' {street}|CHICAGO|60618', b || ' {street}', 'Chicago', 'IL', '60618',
               ST_SetSRID(ST_MakePoint(-87.9 + (b % :wards) * 0.01 + 0.005, 41.805), 4326), :ward0 + b % :wards
        FROM generate_series(1, :buildings) b
    """), params)
    params["building0"] = session.execute(text("SELECT min(id) FROM buildings WHERE organization_id = :org"),
                                          params).scalar_one()
