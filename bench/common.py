"""Shared benchmark plumbing: a throwaway migrated database, timing, a markdown table."""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

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
