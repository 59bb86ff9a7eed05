"""buildings, households and people partitioned by organization (LIST on organization_id), so an
organization's first big household import loads its own partition without live indexes and builds
them in bulk (issue 16)

- Each table becomes a partitioned table of the same name, with the same columns, keys, indexes,
  checks, foreign keys and triggers; the existing table, renamed `<table>__shared`, is attached as
  its DEFAULT partition (no rows move). Organizations live there until a first import gives them
  `<table>__org_<id>` (canvass/geo/households.py).
- Foreign keys from and to the three tables are dropped and added again, so they bind to the
  partitioned tables; adding them checks every row (a scan of the referencing tables).
- Downgrade moves every organization's partition back into one table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:00:00
"""
from alembic import op
from sqlalchemy import text

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

TABLES = ("buildings", "households", "people")
SHARED = "__shared"


def _rows(sql: str, **params):
    return op.get_bind().execute(text(sql), params).all()


def _drop_foreign_keys() -> list[tuple[str, str, str]]:
    """Drops the foreign keys from or to the tables; returns (table, name, definition) of each."""
    keys = _rows("""
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE contype = 'f' AND (conrelid::regclass::text = ANY(:tables) OR confrelid::regclass::text = ANY(:tables))
          AND conparentid = 0
        ORDER BY 1, 2
    """, tables=list(TABLES))
    for table, name, _ in keys:
        op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return keys


def _add_foreign_keys(keys) -> None:
    for table, name, definition in keys:
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _drop_triggers(table: str) -> list[str]:
    """Drops the table's own triggers; returns their definitions, to create them again."""
    triggers = _rows("""
        SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
        WHERE tgrelid = CAST(:table AS regclass) AND NOT tgisinternal AND tgparentid = 0 ORDER BY 1
    """, table=table)
    for name, _ in triggers:
        op.execute(f'DROP TRIGGER "{name}" ON {table}')
    return [definition for _, definition in triggers]


def _keys_and_indexes(table: str) -> list[tuple[str, str, str | None]]:
    """(index name, index definition, constraint definition or None) of each index of the table."""
    return _rows("""
        SELECT i.relname, pg_get_indexdef(x.indexrelid), pg_get_constraintdef(c.oid)
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
        WHERE x.indrelid = CAST(:table AS regclass) ORDER BY 1
    """, table=table)


def _sequence(table: str) -> str:
    return _rows("SELECT pg_get_serial_sequence(:table, 'id')", table=table)[0][0]


def upgrade() -> None:
    foreign_keys = _drop_foreign_keys()
    for table in TABLES:
        triggers = _drop_triggers(table)
        indexes = _keys_and_indexes(table)
        sequence = _sequence(table)
        op.execute(f"ALTER TABLE {table} RENAME TO {table}{SHARED}")
        for name, _, _ in indexes:
            op.execute(f'ALTER INDEX "{name}" RENAME TO "{name}{SHARED}"')
        op.execute(f"""
            CREATE TABLE {table} (LIKE {table}{SHARED} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
            PARTITION BY LIST (organization_id)
        """)
        for name, index, constraint in indexes:
            if constraint is not None:
                op.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {constraint}')
            else:
                op.execute(index)  # "CREATE INDEX name ON public.<table> ...": now the partitioned table
        op.execute(f"ALTER TABLE {table} ATTACH PARTITION {table}{SHARED} DEFAULT")
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
        for definition in triggers:
            op.execute(definition)
    _add_foreign_keys(foreign_keys)


def downgrade() -> None:
    foreign_keys = _drop_foreign_keys()
    for table in TABLES:
        triggers = _drop_triggers(table)
        sequence = _sequence(table)
        partitions = [name for (name,) in _rows("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = CAST(:table AS regclass) AND c.relname <> :shared ORDER BY 1
        """, table=table, shared=f"{table}{SHARED}")]
        for partition in partitions:  # each organization's rows go back to the shared table
            op.execute(f"ALTER TABLE {table} DETACH PARTITION {partition}")
            op.execute(f"INSERT INTO {table} SELECT * FROM {partition}")
            op.execute(f"DROP TABLE {partition}")
        op.execute(f"ALTER TABLE {table} DETACH PARTITION {table}{SHARED}")
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}{SHARED}.id")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}{SHARED} RENAME TO {table}")
        for name, _, _ in _keys_and_indexes(table):
            if name.endswith(SHARED):
                op.execute(f'ALTER INDEX "{name}" RENAME TO "{name[:-len(SHARED)]}"')
        for definition in triggers:
            op.execute(definition)
    _add_foreign_keys(foreign_keys)
