"""The backup runbook of docs/operations.md, run: `pg_dump --format=custom` of a populated database,
`pg_restore` into a fresh one, `canvass db upgrade` (a no-op at head), and every row of every table,
every sequence and the rollups are found again, equal to a full rebuild."""
from __future__ import annotations

import subprocess

import psycopg

from tests.canvass.canvassing.fieldwork import contact, pledge
from tests.faults.phones import assert_rollups_equal_rebuild
from tests.faults.test_database_faults import seed
from tests.faults.test_load_faults import run_safety_net_rollups

# Every base table's rows as text, in a stable order: a digest that differs if any row does.
TABLE_DIGESTS = """
    SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(t::text, ''|'' ORDER BY t::text), '''')) FROM %I.%I t',
                  table_name, table_schema, table_name)
    FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
    ORDER BY table_name
"""
SEQUENCES = "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"


def database_state(url: str) -> dict:
    with psycopg.connect(url) as conn:
        queries = [row[0] for row in conn.execute(TABLE_DIGESTS)]
        tables = {name: (count, digest) for name, count, digest in (conn.execute(q).fetchone() for q in queries)}
        return {"tables": tables, "sequences": conn.execute(SEQUENCES).fetchall(),
                "postgis": conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone(),
                "alembic": conn.execute("SELECT version_num FROM alembic_version").fetchall()}


def test_a_dump_restored_into_a_fresh_database_and_migrated_holds_every_row_and_the_same_rollups(
        fault_app, fault_database_url, redis_server, pg_cluster, tmp_path):
    from canvass.migrate import upgrade_database

    canvass = seed(fault_app, doors=5)
    with fault_app.test_client() as client:
        body = {"device_id": "p", "contacts": [contact(canvass, household=h) for h in canvass.households],
                "pledges": [pledge(canvass)]}
        response = client.post("/v1/sync", json=body, headers=canvass.headers)
    assert response.status_code == 200
    run_safety_net_rollups(fault_app.config["CANVASS_SETTINGS"])
    source = pg_cluster.url("canvass_faults")
    before = database_state(source)
    assert before["tables"]["contacts"][0] >= 5 and before["tables"]["activity_daily"][0] > 0
    assert before["postgis"] is not None

    dump = tmp_path / "canvass.dump"
    server = ["--host", "127.0.0.1", "--port", str(pg_cluster.port), "--username", "canvass"]
    subprocess.run([f"{pg_cluster.bin}/pg_dump", *server, "--format=custom", "--file", str(dump), "canvass_faults"],
                   check=True, capture_output=True, timeout=120)
    restored_url = pg_cluster.create_database("canvass_restored")
    try:
        subprocess.run([f"{pg_cluster.bin}/pg_restore", *server, "--dbname", "canvass_restored", "--no-owner",
                        "--no-privileges", "--exit-on-error", str(dump)], check=True, capture_output=True, timeout=300)
        upgrade_database(restored_url)  # what a deploy runs first; at head it changes nothing
        after = database_state(pg_cluster.url("canvass_restored"))
        assert after == before
        assert_rollups_equal_rebuild(restored_url, canvass.org.id)
    finally:
        with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "canvass_restored" WITH (FORCE)')
