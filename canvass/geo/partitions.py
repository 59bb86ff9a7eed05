"""An organization's own partitions of buildings, households and people.

The three tables are partitioned by organization_id (migration 0013). Every organization's rows start
in the DEFAULT partitions (`<table>__shared`), where each insert maintains every index and checks every
foreign key row by row. An organization's first big household import instead fills standalone
tables `<table>__org_<id>` with no secondary index and no foreign key, builds the indexes in bulk, and
attaches them as the organization's partitions: the foreign keys are then checked by one join each.
About 5x faster for a million rows (docs/benchmarks.md); the same rows, keys and constraints after.

Attaching locks briefly: SHARE UPDATE EXCLUSIVE on the partitioned table (imports attach one at a
time), and ACCESS EXCLUSIVE on the shared partition while PostgreSQL checks that it holds no row of
the organization (a scan of it) until the import commits. `lock_timeout` bounds the wait; an import
that cannot get the locks is refused whole (`import_busy`) and can be run again.
"""
from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from canvass.errors import Conflict

__all__ = ["PARTITIONED_TABLES", "attach_load_tables", "create_load_tables", "has_no_rows_or_partitions",
           "index_statements"]

PARTITIONED_TABLES = ("buildings", "households", "people")  # in foreign key order
ATTACH_LOCK_TIMEOUT = "10s"
_LOCK_NOT_AVAILABLE = "55P03"


def partition_name(table: str, organization_id: int) -> str:
    return f"{table}__org_{int(organization_id)}"


def has_no_rows_or_partitions(session: Session, organization_id: int) -> bool:
    """True when the organization has no building, household or person, nor partitions of its own."""
    checks = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {table} WHERE organization_id = :org)"
                          for table in PARTITIONED_TABLES)
    return bool(session.execute(text(f"""
        SELECT {checks} AND NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = ANY(:names))
    """), {"org": organization_id,
           "names": [partition_name(t, organization_id) for t in PARTITIONED_TABLES]}).scalar_one())


def index_statements(session: Session, table: str, target: str) -> list[str]:
    """The partitioned table's keys and indexes, as statements that build them on `target` (also what
    bench/bench_import.py builds for its storage floor, so the two measure the same indexes)."""
    rows = session.execute(text("""
        SELECT pg_get_indexdef(x.indexrelid), pg_get_constraintdef(c.oid)
        FROM pg_index x
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE x.indrelid = CAST(:table AS regclass) ORDER BY x.indexrelid
    """), {"table": table}).all()
    statements = []
    for index, constraint in rows:
        if constraint is not None:  # a primary key or unique constraint: the partition's must be one too
            statements.append(f"ALTER TABLE {target} ADD {constraint}")
        else:  # "CREATE [UNIQUE] INDEX name ON ONLY public.table USING ..." -> unnamed, on the target
            statements.append(re.sub(r"INDEX \S+ ON (ONLY )?\S+ USING", f"INDEX ON {target} USING", index, count=1))
    return statements


def create_load_tables(session: Session, organization_id: int, *, indexed_now: tuple[str, ...] = ()) -> dict[str, str]:
    """Standalone tables shaped like the partitioned ones, checked to hold only this organization (so
    attaching them needs no scan); `indexed_now` get their indexes at once (small tables an upsert
    needs keys on). Returns table -> load table."""
    org = int(organization_id)
    tables = {}
    for table in PARTITIONED_TABLES:
        target = tables[table] = partition_name(table, org)
        session.execute(text(f"""
            CREATE TABLE {target} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE,
                                   CONSTRAINT {target}_organization CHECK (organization_id = {org}))
        """))
        if table in indexed_now:
            for statement in index_statements(session, table, target):
                session.execute(text(statement))
    return tables


def attach_load_tables(session: Session, organization_id: int) -> None:
    """Builds the indexes of the load tables that have none yet in bulk, then attaches all three as the
    organization's partitions (the foreign keys are validated then, one join each)."""
    org = int(organization_id)
    session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    unindexed = session.execute(text("""
        SELECT c.relname FROM pg_class c WHERE c.relname = ANY(:names)
        AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid)
    """), {"names": [partition_name(t, org) for t in PARTITIONED_TABLES]}).scalars().all()
    for table in PARTITIONED_TABLES:
        if partition_name(table, org) in unindexed:
            for statement in index_statements(session, table, partition_name(table, org)):
                session.execute(text(statement))
    session.execute(text(f"SET LOCAL lock_timeout = '{ATTACH_LOCK_TIMEOUT}'"))
    try:
        for table in PARTITIONED_TABLES:
            session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {partition_name(table, org)} "
                                 f"FOR VALUES IN ({org})"))
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        raise Conflict(
            "the database was too busy to add the organization's new tables (another import or a long "
            "query held them); nothing was imported: run the import again",
            code="import_busy",
        ) from None
    session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
