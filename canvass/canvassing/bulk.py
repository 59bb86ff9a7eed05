"""Set-based SQL for the ingest path: items found by client id in one query, new rows written in
one INSERT ... SELECT FROM json_to_recordset(...) that skips what a racing upload stored. Used by
canvassing/sync.py; nothing here runs a query per item."""
from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import JSON, Text, and_, any_, bindparam, cast, column, func, select
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from canvass.canvassing import integrity
from canvass.canvassing.records import Contact, Pledge
from canvass.geo.models import Building, Household


def any_of(values, type_) -> Any:
    """`= ANY(:array)`, for short lists (a batch's few turfs)."""
    return any_(bindparam(None, list(values), type_=ARRAY(type_)))


def wanted_values(values, type_):
    """A batch's ids as a table to join: `unnest(:array) AS wanted(value)`.

    One bind parameter whatever the batch size (one cached, prepared statement),
    and a plan that stays one index lookup per id even on tables the planner
    has no statistics for yet, where an `id = ANY(:array)` filter can become a
    scan per row.
    """
    return func.unnest(bindparam(None, list(values), type_=ARRAY(type_))).table_valued("value").render_derived(
        name="wanted"
    )


def stored_ids(session: Session, model, organization_id: int, client_ids: list) -> dict:
    if not client_ids:
        return {}
    table, wanted = model.__table__, wanted_values(client_ids, UUID(as_uuid=True))
    rows = session.execute(
        select(table.c.client_id, table.c.id).select_from(wanted).join(
            table, and_(table.c.organization_id == organization_id, table.c.client_id == wanted.c.value)
        )
    )
    return dict(rows.all())


def _recordset(table, names: tuple[str, ...]):
    """The batch as a table: `json_to_recordset(:batch) AS batch (name type, ...)`.

    The whole batch travels as one JSON document (serialized in C, parsed by the
    server in C) and the statement is the same for every batch, so it is
    prepared once: no VALUES list that grows with the batch and is parsed anew,
    no per-element array quoting. Geometry travels as EWKT text.
    """
    def record_type(name):
        type_ = table.c[name].type
        return Text() if isinstance(type_, Geometry) else type_

    return (
        func.json_to_recordset(cast(bindparam("batch", type_=Text), JSON))
        .table_valued(*(column(name, record_type(name)) for name in names))
        .render_derived(name="batch", with_types=True)
    )


def _insert_ignoring_stored(table, names, rows):
    """INSERT ... SELECT ... ON CONFLICT (organization_id, client_id) DO NOTHING RETURNING client_id, id.

    Rows go in client_id order, so overlapping uploads lock in the same order.
    """
    return (
        pg_insert(table)
        .from_select(list(names), rows)
        .on_conflict_do_nothing(index_elements=["organization_id", "client_id"])
        .returning(table.c.client_id, table.c.id)
    )


_CONTACT_FIELDS = (
    "organization_id", "client_id", "campaign_id", "assignment_id", "canvasser_id", "household_id", "person_id",
    "device_id", "occurred_at", "result_code", "responses", "notes", "do_not_contact", "location", "accuracy_m",
)
_PLEDGE_FIELDS = (
    "organization_id", "client_id", "pledge_type", "source", "person_id", "household_id", "campaign_id",
    "assignment_id", "canvasser_id", "device_id", "occurred_at", "consent_to_contact", "notes", "follow_up_status",
    "next_follow_up_at", "phone", "email",
)


def _contacts_insert():
    """Contacts arrive with their door flags, computed against their building in the same statement."""
    contacts, households, buildings = Contact.__table__, Household.__table__, Building.__table__
    batch = _recordset(contacts, _CONTACT_FIELDS)
    location = func.ST_GeomFromEWKT(batch.c.location)
    rows = (
        select(*(location if name == "location" else batch.c[name] for name in _CONTACT_FIELDS),
               integrity.arrival_flags(location, batch.c.accuracy_m, buildings.c.location))
        .select_from(batch)
        .join(households, and_(households.c.organization_id == batch.c.organization_id,
                               households.c.id == batch.c.household_id))
        .join(buildings, and_(buildings.c.organization_id == households.c.organization_id,
                              buildings.c.id == households.c.building_id))
        .order_by(batch.c.client_id)
    )
    return _insert_ignoring_stored(contacts, (*_CONTACT_FIELDS, "flags"), rows)


def _pledges_insert():
    batch = _recordset(Pledge.__table__, _PLEDGE_FIELDS)
    rows = select(*(batch.c[name] for name in _PLEDGE_FIELDS)).order_by(batch.c.client_id)
    return _insert_ignoring_stored(Pledge.__table__, _PLEDGE_FIELDS, rows)


@cache
def _insert_statement(model) -> tuple:
    """Built once, on first use: a column declared by its foreign key alone has its type only once
    every model is mapped, which an import of this module may come before."""
    if model is Contact:
        return _contacts_insert(), _CONTACT_FIELDS
    return _pledges_insert(), _PLEDGE_FIELDS


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # UUIDs


def insert_new(session: Session, model, rows) -> dict:
    """client_id -> id of the rows this statement inserted (not those already there)."""
    if not rows:
        return {}
    statement, names = _insert_statement(model)
    batch = json.dumps([{name: row[name] for name in names} for row in rows], default=_json_value)
    return dict(session.execute(statement, {"batch": batch}).all())
