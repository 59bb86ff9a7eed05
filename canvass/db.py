"""The declarative base, the constraint naming convention, and transaction scopes.

Services flush and never commit; the entry point (a view, a job, a CLI command)
owns exactly one transaction through `transaction(session)`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, ForeignKeyConstraint, MetaData, PrimaryKeyConstraint, select, text
from sqlalchemy.orm import DeclarativeBase, Session

from canvass.errors import NotFound

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def get_tenant_row(session: Session, model, *, organization_id: int, row_id: int, lock: bool, missing: NotFound):
    """The organization's row of `model` with that id (FOR UPDATE when `lock`), else `missing` is raised:
    another organization's row is as absent as one that never was."""
    query = select(model).where(model.organization_id == organization_id, model.id == row_id)
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise missing
    return row


def utcnow() -> datetime:
    """The one clock of the services (tests move it with time-machine)."""
    return datetime.now(UTC)


def local_today(tz: str) -> date:
    """Today in the time zone `tz` (an organization's days are its local days)."""
    return utcnow().astimezone(ZoneInfo(tz)).date()


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def tenant_fk(table: str, column: str, target_table: str, *, ondelete: str = "RESTRICT"):
    """A foreign key that includes organization_id, so a row can only point at its own tenant's rows.

    `tenant_fk("contacts", "household_id", "households")` ->
    FOREIGN KEY (organization_id, household_id) REFERENCES households (organization_id, id)
    Every referenced table's primary key is (organization_id, id) (`tenant_key`).
    """
    if ondelete == "SET NULL":
        # Only the reference is cleared: a bare SET NULL would null organization_id too
        # (PostgreSQL 15+ column list).
        ondelete = f"SET NULL ({column})"
    return ForeignKeyConstraint(
        ["organization_id", column],
        [f"{target_table}.organization_id", f"{target_table}.id"],
        ondelete=ondelete,
        name=f"fk_{table}_{column}_{target_table}",
    )


def tenant_key(table: str):
    """PRIMARY KEY (organization_id, id): the target of tenant_fk, with the Citus distribution column first.

    The model's `id` is declared with autoincrement=True (SQLAlchemy infers it only for a
    single-column key), so the database still makes it and inserts get it back; the mapper's
    identity is (organization_id, id): `session.get(Model, (organization_id, id))`.
    """
    return PrimaryKeyConstraint("organization_id", "id", name=f"pk_{table}")


def create_temp_table(session: Session, name: str, body_sql: str, params: dict | None = None) -> None:
    """(Re)create a temp table from a query. Dropped explicitly first: under the tests' savepoints
    ON COMMIT never fires between two runs in one connection."""
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {body_sql}"), params or {})
    session.execute(text(f"ANALYZE {name}"))
