"""Integrity flags on contacts: shown to field leads, never a reason to reject work.

- `far_from_door`: the phone says it was more than FAR_FROM_DOOR_M metres
  (geography distance) from the door's building, and its accuracy was good
  (accuracy_m <= GOOD_ACCURACY_M). A poor or missing fix never flags.
- `too_fast`: a sustained pace no canvasser can keep at real doors. Taking this
  canvasser's contacts in time order, a "fast hop" is a contact at a different
  building from the previous one, less than TOO_FAST_GAP after it. A run of
  TOO_FAST_RUN or more contacts joined by fast hops flags every contact in the
  run. Doors of one building (a courtyard building's units) are never fast
  hops, and one quick hop (logging two doors at once) is not a run.

`far_from_door` is computed by the statement that stores the batch
(`arrival_flags`); `too_fast` by one set-based UPDATE per stored batch
(`flag_pace`). A run may span batches (contacts stored earlier get the flag
too); flags are only ever added.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from geoalchemy2 import Geography
from sqlalchemy import Text, and_, case, cast, func, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from canvass.auth.models import User
from canvass.canvassing.records import Contact
from canvass.errors import ValidationFailed
from canvass.geo.models import Building, Household

# `conflict` is set by canvassing/conflicts.py (another canvasser's result for the same door).
FLAGS = ("far_from_door", "too_fast", "conflict")
FAR_FROM_DOOR_M = 150
GOOD_ACCURACY_M = 50
TOO_FAST_GAP = timedelta(seconds=20)
TOO_FAST_RUN = 5
# How far around a batch to look for runs it may extend; a run of fast hops
# spans less than TOO_FAST_GAP per contact, so this covers runs of 180 contacts.
_RUN_WINDOW = timedelta(hours=1)

_TOO_FAST = text(
    """
    WITH ordered AS (
        SELECT c.id, c.occurred_at,
               c.occurred_at - lag(c.occurred_at) OVER w AS gap,
               h.building_id IS DISTINCT FROM lag(h.building_id) OVER w AS other_building
        FROM contacts c
        JOIN households h ON h.organization_id = c.organization_id AND h.id = c.household_id
        WHERE c.organization_id = :organization_id AND c.canvasser_id = :canvasser_id
          AND c.occurred_at BETWEEN :since AND :until
        WINDOW w AS (ORDER BY c.occurred_at, c.id)
    ), runs AS (
        -- a new run starts at every contact that is not a fast hop
        SELECT id, count(*) FILTER (WHERE NOT coalesce(gap < :gap AND other_building, false))
                   OVER (ORDER BY occurred_at, id) AS run
        FROM ordered
    ), long_runs AS (
        SELECT id FROM (SELECT id, count(*) OVER (PARTITION BY run) AS size FROM runs) sized
        WHERE size >= :min_run
    )
    UPDATE contacts c SET flags = array_append(c.flags, 'too_fast')
    FROM long_runs
    WHERE c.organization_id = :organization_id AND c.id = long_runs.id AND NOT ('too_fast' = ANY (c.flags))
    """
)


def arrival_flags(location, accuracy_m, door):
    """SQL for the flags a contact is stored with: `far_from_door` when the fix is good and more
    than FAR_FROM_DOOR_M from its door's building (on the sphere: a tenth of the spheroid's cost,
    centimetres apart at this range); no location or accuracy, no flag."""
    far = and_(
        accuracy_m <= GOOD_ACCURACY_M,
        ~func.ST_DWithin(cast(location, Geography), cast(door, Geography), FAR_FROM_DOOR_M, False),
    )
    return case((far, literal(["far_from_door"], ARRAY(Text))), else_=literal([], ARRAY(Text)))


def flag_pace(session: Session, *, organization_id: int, canvasser_id: int | None, since: datetime, until: datetime) -> None:
    """Flag `too_fast` runs among this canvasser's contacts around [since, until] (new ones included)."""
    if canvasser_id is None:
        return
    session.execute(
        _TOO_FAST,
        {
            "organization_id": organization_id, "canvasser_id": canvasser_id,
            "since": since - _RUN_WINDOW, "until": until + _RUN_WINDOW,
            "gap": TOO_FAST_GAP, "min_run": TOO_FAST_RUN,
        },
    )


def list_flagged_contacts(
    session: Session,
    *,
    organization_id: int,
    flag: str | None = None,
    canvasser_id: int | None = None,
    campaign_id: int | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict]:
    """Flagged contacts, newest first (keyset by id), with the canvasser, the door and the
    distance to it. Plain rows: a read for display, nothing to track."""
    if flag is not None and flag not in FLAGS:
        raise ValidationFailed("unknown flag", details={"flag": [f"one of {', '.join(FLAGS)}"]})
    contacts, household, building = Contact.__table__, Household.__table__, Building.__table__
    distance = func.ST_Distance(cast(contacts.c.location, Geography), cast(building.c.location, Geography))
    query = (
        select(contacts, User.name.label("canvasser_name"), building.c.line1, household.c.unit,
               distance.label("distance_m"))
        .join(household, and_(household.c.organization_id == contacts.c.organization_id,
                              household.c.id == contacts.c.household_id))
        .join(building, and_(building.c.organization_id == household.c.organization_id,
                             building.c.id == household.c.building_id))
        .outerjoin(User, and_(User.organization_id == contacts.c.organization_id, User.id == contacts.c.canvasser_id))
        .where(contacts.c.organization_id == organization_id, func.cardinality(contacts.c.flags) > 0)
        .order_by(contacts.c.id.desc())
        .limit(limit)
    )
    if flag:
        query = query.where(contacts.c.flags.contains([flag]))
    if canvasser_id is not None:
        query = query.where(contacts.c.canvasser_id == canvasser_id)
    if campaign_id is not None:
        query = query.where(contacts.c.campaign_id == campaign_id)
    if before_id is not None:
        query = query.where(contacts.c.id < before_id)
    return [
        {"contact": row, "canvasser_name": row.canvasser_name, "address": " ".join(p for p in (row.line1, row.unit) if p),
         "distance_m": None if row.distance_m is None else round(row.distance_m, 1)}
        for row in session.execute(query).all()
    ]
