"""The schema's fitness for Citus, distributed by organization_id (docs/scaling.md).

Every tenant table (one with an organization_id column) must have organization_id in each unique key,
so each key can be enforced on one shard; and the hot paths (sync, walk list, rollups) must filter
every statement on a tenant table by organization_id, so each routes to one shard.

Every tenant table's primary key is (organization_id, id) too (migrations 0011 and 0014; the tenant foreign
keys' target), except the tables in NARROW_PRIMARY_KEYS, each with its reason: none now. The test holds that
list exact, so a table that goes back to an id-only key, or a new one without organization_id in its key, fails it.
"""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import text

from canvass.db import utcnow

# Sign-in finds a user by e-mail and a phone's token by its hash before any organization is known, so
# these two keys are global on purpose: on Citus, users and api_tokens stay on the coordinator (a
# local or reference table) or get an e-mail/token -> organization lookup (docs/scaling.md).
GLOBAL_SIGN_IN_KEYS = {"api_tokens.uq_api_tokens_token_hash", "users.uq_users_email_lower"}
SIGN_IN_TABLES = {"api_tokens", "users"}

def _tenant_tables(session) -> list[str]:
    return list(session.execute(text("""
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
        WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' AND t.table_type = 'BASE TABLE'
        ORDER BY 1
    """)).scalars())


def _keys(session, kind: str) -> list[tuple[str, str, list[str]]]:
    """(table, constraint or index name, columns) of each primary key (kind 'p') or unique key ('u': unique
    constraints and unique indexes, partial ones included)."""
    rows = session.execute(text("""
        SELECT t.relname, i.relname, array_agg(a.attname ORDER BY a.attname)
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
        LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey) AND a.attnum > 0
        WHERE CASE WHEN :kind = 'p' THEN x.indisprimary ELSE x.indisunique AND NOT x.indisprimary END
        GROUP BY t.relname, i.relname
    """), {"kind": kind}).all()
    return [(table, name, [c for c in columns if c]) for table, name, columns in rows]


def test_every_unique_key_of_a_tenant_table_includes_organization_id(db_session):
    tenant = set(_tenant_tables(db_session))
    assert len(tenant) > 20
    missing = sorted(f"{table}.{name} {columns}" for table, name, columns in _keys(db_session, "u")
                     if table in tenant and "organization_id" not in columns
                     and f"{table}.{name}" not in GLOBAL_SIGN_IN_KEYS)
    assert missing == [], "unique keys a shard could not enforce alone:\n" + "\n".join(missing)


def test_every_tenant_primary_key_includes_organization_id(db_session):
    tenant = set(_tenant_tables(db_session))
    primary = {table: columns for table, _, columns in _keys(db_session, "p") if table in tenant}
    assert set(primary) == tenant, f"tenant tables without a primary key: {sorted(tenant - set(primary))}"
    narrow = {table for table, columns in primary.items() if "organization_id" not in columns}
    assert narrow == set(NARROW_PRIMARY_KEYS), (
        f"new: {sorted(narrow - set(NARROW_PRIMARY_KEYS))}, now wide: {sorted(set(NARROW_PRIMARY_KEYS) - narrow)}")
    # The surrogate key tables (the tenant foreign keys' targets) have exactly (organization_id, id).
    assert {t for t, columns in primary.items() if "id" in columns and t not in narrow} == {
        t for t, columns in primary.items() if columns == ["id", "organization_id"]}


def test_a_sign_in_of_no_organization_goes_to_the_global_table_not_the_audit_log(db_session):
    """audit_events needs no exception: a failed sign-in with an unknown e-mail, the one event of no
    organization, is a sign_in_failures row (migration 0014), and organization_id cannot be null."""
    from canvass.auth.services import authenticate

    assert authenticate(db_session, email="nobody@example.org", password="wrong") is None
    nullable = db_session.execute(text(
        "SELECT is_nullable FROM information_schema.columns"
        " WHERE table_name = 'audit_events' AND column_name = 'organization_id'")).scalar_one()
    failures = db_session.execute(text("SELECT email FROM sign_in_failures")).scalars().all()
    assert (nullable, failures) == ("NO", ["nobody@example.org"])


# Hot paths: every statement that reads or writes a tenant table names organization_id.
_TABLE_REF = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)", re.IGNORECASE)


def _unscoped(statements: list[str], tenant: set[str]) -> list[str]:
    bad = []
    for statement in statements:
        touched = {name.lower() for name in _TABLE_REF.findall(statement)} & tenant
        # The bearer token's own row (found by its hash, before the organization is known).
        if touched and not touched <= SIGN_IN_TABLES and "organization_id" not in statement:
            bad.append(" ".join(statement.split())[:300])
    return bad


def test_sync_walk_list_and_rollups_filter_every_tenant_statement_by_organization(
        client, db_session, statements, worker_runtime):
    from canvass.dashboards.activity import rollup_activity
    from canvass.pipeline.rollup import refresh_pipeline
    from tests.canvass.canvassing.fieldwork import contact, make_canvass

    tenant = set(_tenant_tables(db_session))
    canvass = make_canvass(db_session, doors=3)
    db_session.flush()
    statements.clear()

    walklist = client.get(f"/v1/assignments/{canvass.assignment.id}/walklist", headers=canvass.headers)
    assert walklist.status_code == 200
    synced = client.post("/v1/sync", json={"device_id": "phone-1", "contacts": [contact(canvass)]}, headers=canvass.headers)
    assert synced.get_json()["results"][0]["status"] == "created"
    rollup_activity(db_session, organization_id=canvass.org.id)
    refresh_pipeline(db_session, organization_id=canvass.org.id, as_of=utcnow() + timedelta(minutes=1))

    touched = [s for s in statements if _TABLE_REF.search(s)]
    assert len(touched) > 10
    assert _unscoped(statements, tenant) == []


def test_the_scope_check_finds_a_statement_without_the_organization():
    assert _unscoped(["SELECT * FROM contacts WHERE id = 1"], {"contacts"})
    assert not _unscoped(["SELECT * FROM contacts WHERE organization_id = 1 AND id = 1"], {"contacts"})
    assert _unscoped(["UPDATE users SET name = 'x' FROM contacts WHERE contacts.id = 1"], {"contacts", "users"})


# Tenant tables whose primary key does not include organization_id, and why: none. (audit_events was
# one until migration 0014 moved its events of no organization to the global sign_in_failures.)
NARROW_PRIMARY_KEYS: dict[str, str] = {}
