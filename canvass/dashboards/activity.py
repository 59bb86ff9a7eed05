"""The activity rollup: door attempts, doors, conversations, pledges and flags, precomputed for dashboards.

Two derived tables (models.py), per organization:
  activity_daily   per local day, ward, campaign and canvasser (the summary and the leaderboard)
  activity_turfs   per turf and campaign (0 = all): distinct doors of the turf knocked / talked to

How a run works. Both tables are kept by *recomputing whole keys* from the raw rows, never by
adding deltas: a (canvasser, day) cell is deleted and rebuilt from every contact and pledge card
of that canvasser on that day, and a turf from every contact and card at its doors. Recomputing a
key twice gives the same rows, so a run may reprocess rows it has seen before at no risk; that
is what makes the watermark below safe, and a job run twice (or retried) harmless.
  - The cells a run touches: (canvasser, day) of every contact and card past the watermark. A
    contact's day is widened by FLAG_REACH either side, because storing a batch may add
    integrity flags to the same canvasser's earlier contacts (canvassing/integrity.py).
  - The turfs: every turf holding a door of a contact or card in those cells.
A contact's ward is its household's building's ward, its turf any turf whose stops hold its
household (turfs are counted by their doors, so a re-cut turf shows the work done at its doors).
Days are the organization's local days (the pipeline's time zone setting).

Watermarks and commit order (the pipeline rollup's scheme, canvass/pipeline/rollup.py, whose
snapshot helpers this module shares). Ids come from sequences at insert time, but transactions
commit in any order: a long sync may commit id 100 after id 101 was rolled up. So each source
keeps `done` (every id at or below is counted for good) and `seen` (the highest id counted), and
each run stores the snapshot it read with. A run takes the rows above `seen`, plus the rows
between `done` and `seen` that the last run's snapshot could not see (a late commit with a lower
id, or an old contact whose flags were updated since). By induction every row a snapshot could
see has been counted. At the end a run notes `guard_xid`, the xmax of a fresh snapshot; a later
run that finds no transaction older than that still running moves `done` up to the old `seen`,
keeping the stretch it checks short (a long transaction anywhere in the cluster only lengthens
that check, never the recomputation). What the ids can't see - a building moved to another ward,
a turf re-cut - the nightly full rebuild repairs.

One run, one transaction, one organization; the watermark row's lock serialises runs of the
same organization, so two workers never interleave.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from canvass.dashboards.models import ActivityWatermark
from canvass.db import create_temp_table, utcnow
from canvass.orgs.services import get_organization, timezone_for

# Both rollups share one watermark scheme; its snapshot queries live with the pipeline's rollup.
# The pipeline's snapshot watermark scheme, shared so both rollups see commits the same way.
from canvass.pipeline.rollup import GUARD_SQL, START_SQL, locked_watermark, unseen

# integrity.py flags a canvasser's contacts up to an hour around a stored batch (its run window).
FLAG_REACH = timedelta(hours=1)
SOURCES = ("contacts", "pledges")

# --- the rows of a run ---------------------------------------------------------------------

_CELLS_SQL = f"""
    SELECT DISTINCT x.canvasser_key, x.day FROM (
        SELECT coalesce(c.canvasser_id, 0) AS canvasser_key, (d.at AT TIME ZONE :tz)::date AS day
        FROM contacts c
        CROSS JOIN LATERAL (VALUES (c.occurred_at - :reach), (c.occurred_at), (c.occurred_at + :reach)) AS d(at)
        WHERE c.organization_id = :org AND c.id > :contacts_done AND {unseen("c", "id", "contacts_seen")}
        UNION ALL
        SELECT coalesce(g.canvasser_id, 0), (g.occurred_at AT TIME ZONE :tz)::date
        FROM pledges g
        WHERE g.organization_id = :org AND g.id > :pledges_done AND {unseen("g", "id", "pledges_seen")}
    ) x
"""
_ALL_CELLS_SQL = """
    SELECT DISTINCT coalesce(canvasser_id, 0) AS canvasser_key, (occurred_at AT TIME ZONE :tz)::date AS day
    FROM contacts WHERE organization_id = :org
    UNION
    SELECT coalesce(canvasser_id, 0), (occurred_at AT TIME ZONE :tz)::date FROM pledges WHERE organization_id = :org
"""

_CONTACT_COLUMNS = """c.id, c.household_id, c.campaign_id, coalesce(c.canvasser_id, 0) AS canvasser_key, c.occurred_at,
    c.responses IS NOT NULL AS conversation, cardinality(c.flags) > 0 AS flagged"""
_PLEDGE_COLUMNS = """g.id, coalesce(g.household_id, p.household_id) AS household_id, g.campaign_id,
    coalesce(g.canvasser_id, 0) AS canvasser_key, g.occurred_at"""
_PLEDGE_PERSON = "LEFT JOIN people p ON p.organization_id = g.organization_id AND p.id = g.person_id"


def _in_cells(table: str, alias: str, columns: str, extra_join: str = "") -> str:
    """Rows of `table` in the cells of act_cells. Two branches, so each can use the
    (organization_id, canvasser_id, occurred_at) index: canvasser = k, or no canvasser (key 0)."""
    window = (f"{alias}.occurred_at >= (k.day::timestamp AT TIME ZONE :tz) "
              f"AND {alias}.occurred_at < ((k.day + 1)::timestamp AT TIME ZONE :tz)")
    return f"""
        SELECT {columns} FROM act_cells k
        JOIN {table} {alias} ON {alias}.organization_id = :org AND {alias}.canvasser_id = k.canvasser_key AND {window}
        {extra_join}
        WHERE k.canvasser_key <> 0
        UNION ALL
        SELECT {columns} FROM act_cells k
        JOIN {table} {alias} ON {alias}.organization_id = :org AND {alias}.canvasser_id IS NULL AND {window}
        {extra_join}
        WHERE k.canvasser_key = 0
    """


def _insert_daily_sql(contacts: str, pledges: str) -> str:
    return f"""
        INSERT INTO activity_daily (organization_id, day, ward_key, campaign_key, canvasser_key,
                                    attempts, doors, conversations, pledges, flagged)
        SELECT :org, x.day, coalesce(b.ward_id, 0), x.campaign_key, x.canvasser_key,
               count(*) FILTER (WHERE x.is_contact),
               count(DISTINCT x.household_id) FILTER (WHERE x.is_contact),
               count(*) FILTER (WHERE x.conversation),
               count(*) FILTER (WHERE NOT x.is_contact),
               count(*) FILTER (WHERE x.flagged)
        FROM (
            SELECT true AS is_contact, (occurred_at AT TIME ZONE :tz)::date AS day, campaign_id AS campaign_key,
                   canvasser_key, household_id, conversation, flagged
            FROM ({contacts}) c
            UNION ALL
            SELECT false, (occurred_at AT TIME ZONE :tz)::date, coalesce(campaign_id, 0), canvasser_key, household_id,
                   false, false
            FROM ({pledges}) g
        ) x
        LEFT JOIN households h ON h.organization_id = :org AND h.id = x.household_id
        LEFT JOIN buildings b ON b.organization_id = :org AND b.id = h.building_id
        GROUP BY x.day, coalesce(b.ward_id, 0), x.campaign_key, x.canvasser_key
    """


# Every turf in act_turfs, from all work at its doors; campaign_key 0 = all campaigns together.
_INSERT_TURFS_SQL = """
    WITH stops AS (
        SELECT s.turf_id, s.household_id FROM turf_stops s
        JOIN act_turfs t ON t.turf_id = s.turf_id
        WHERE s.organization_id = :org
    ), work AS (
        SELECT st.turf_id, c.campaign_id, c.household_id, c.responses IS NOT NULL AS conversation,
               cardinality(c.flags) > 0 AS flagged, c.occurred_at, 1 AS attempt, 0 AS pledge
        FROM stops st JOIN contacts c ON c.organization_id = :org AND c.household_id = st.household_id
        UNION ALL
        SELECT st.turf_id, g.campaign_id, NULL, false, false, NULL, 0, 1
        FROM stops st JOIN pledges g ON g.organization_id = :org AND g.household_id = st.household_id
        UNION ALL
        -- a card without a household counts at its person's door
        SELECT st.turf_id, g.campaign_id, NULL, false, false, NULL, 0, 1
        FROM stops st
        JOIN people p ON p.organization_id = :org AND p.household_id = st.household_id
        JOIN pledges g ON g.organization_id = :org AND g.person_id = p.id AND g.household_id IS NULL
    )
    INSERT INTO activity_turfs (organization_id, turf_id, campaign_key, doors_knocked, doors_talked, attempts,
                                conversations, pledges, flagged, last_contact_at)
    SELECT :org, turf_id, CASE WHEN GROUPING(campaign_id) = 1 THEN 0 ELSE campaign_id END,
           count(DISTINCT household_id), count(DISTINCT household_id) FILTER (WHERE conversation),
           sum(attempt), count(*) FILTER (WHERE conversation), sum(pledge), count(*) FILTER (WHERE flagged),
           max(occurred_at)
    FROM work
    GROUP BY GROUPING SETS ((turf_id, campaign_id), (turf_id))
    -- a card with no campaign counts only in the all-campaigns row
    HAVING GROUPING(campaign_id) = 1 OR campaign_id IS NOT NULL
"""

_SEEN_SQL = """
    SELECT (SELECT max(id) FROM contacts WHERE organization_id = :org AND id > :contacts_done),
           (SELECT max(id) FROM pledges WHERE organization_id = :org AND id > :pledges_done)
"""


@dataclass(frozen=True)
class ActivityRollupResult:
    organization_id: int
    mode: str  # incremental | full
    cells: int = 0  # (canvasser, day) cells recomputed
    turfs: int = 0  # turfs recomputed
    new_rows: bool = False  # rows beyond what earlier runs had seen


# --- asking for runs -------------------------------------------------------------------------


def last_activity_rollup_at(session: Session, *, organization_id: int) -> datetime | None:
    return session.execute(
        select(ActivityWatermark.last_run_at).where(ActivityWatermark.organization_id == organization_id)
    ).scalar_one_or_none()


# --- a run -----------------------------------------------------------------------------------


def _run(session: Session, organization_id: int, *, full: bool) -> ActivityRollupResult:
    # Before any row is read: our snapshot, and which transactions might still commit rows we can't see yet.
    snapshot, xmax, horizon = session.execute(text(START_SQL)).one()
    org = get_organization(session, organization_id)
    watermark = locked_watermark(session, ActivityWatermark, organization_id)
    params = {
        "org": organization_id, "tz": timezone_for(org), "reach": FLAG_REACH,
        **{f"{source}_{mark}": getattr(watermark, f"{source}_{mark}")
           for source in SOURCES for mark in ("done", "seen")},
        "previous_snapshot": watermark.read_snapshot, "xmax": xmax, "epoch": (xmax >> 32) << 32,
    }

    if full:
        session.execute(text("DELETE FROM activity_daily WHERE organization_id = :org"), params)
        session.execute(text("DELETE FROM activity_turfs WHERE organization_id = :org"), params)
        session.execute(text(_insert_daily_sql(
            f"SELECT {_CONTACT_COLUMNS} FROM contacts c WHERE c.organization_id = :org",
            f"SELECT {_PLEDGE_COLUMNS} FROM pledges g {_PLEDGE_PERSON} WHERE g.organization_id = :org",
        )), params)
        create_temp_table(session, "act_turfs", "SELECT id AS turf_id FROM turfs WHERE organization_id = :org", params)
        session.execute(text(_INSERT_TURFS_SQL), params)
        cells = session.execute(text(f"SELECT count(*) FROM ({_ALL_CELLS_SQL}) x"), params).scalar_one()
    else:
        create_temp_table(session, "act_cells", _CELLS_SQL, params)
        cells = session.execute(text("SELECT count(*) FROM act_cells")).scalar_one()
        if cells:
            create_temp_table(session, "act_contacts", _in_cells("contacts", "c", _CONTACT_COLUMNS), params)
            create_temp_table(session, "act_pledges",
                              _in_cells("pledges", "g", _PLEDGE_COLUMNS, _PLEDGE_PERSON), params)
            session.execute(text("""
                DELETE FROM activity_daily d USING act_cells k
                WHERE d.organization_id = :org AND d.canvasser_key = k.canvasser_key AND d.day = k.day
            """), params)
            session.execute(text(_insert_daily_sql("SELECT * FROM act_contacts", "SELECT * FROM act_pledges")), params)
            create_temp_table(session, "act_turfs", """
                SELECT DISTINCT s.turf_id FROM turf_stops s
                WHERE s.organization_id = :org AND s.household_id IN (
                    SELECT household_id FROM act_contacts
                    UNION SELECT household_id FROM act_pledges WHERE household_id IS NOT NULL)
            """, params)
            session.execute(text("""
                DELETE FROM activity_turfs a USING act_turfs t WHERE a.organization_id = :org AND a.turf_id = t.turf_id
            """), params)
            session.execute(text(_INSERT_TURFS_SQL), params)
    turfs = session.execute(text("SELECT count(*) FROM act_turfs")).scalar_one() if full or cells else 0

    # If every transaction that was open when the last run ended has finished, all ids up to that
    # run's `seen` were visible to this run, hence counted by it or before: they are done for good.
    if horizon >= watermark.guard_xid:
        for source in SOURCES:
            setattr(watermark, f"{source}_done", getattr(watermark, f"{source}_seen"))
    new_rows = False
    for source, value in zip(SOURCES, session.execute(text(_SEEN_SQL), params).one()):
        if value is not None and value > getattr(watermark, f"{source}_seen"):
            setattr(watermark, f"{source}_seen", value)
            new_rows = True
    watermark.guard_xid = session.execute(text(GUARD_SQL)).scalar_one()
    watermark.read_snapshot = snapshot
    watermark.last_run_at = utcnow()
    if full:
        watermark.last_full_rebuild_at = watermark.last_run_at
    session.flush()
    return ActivityRollupResult(organization_id=organization_id, mode="full" if full else "incremental",
                                cells=cells, turfs=turfs, new_rows=new_rows)


def rollup_activity(session: Session, *, organization_id: int) -> ActivityRollupResult:
    """Recompute the cells and turfs touched by contacts and cards past the watermark. Flushes."""
    return _run(session, organization_id, full=False)


def rebuild_activity(session: Session, *, organization_id: int) -> ActivityRollupResult:
    """Both tables of the organization from nothing but the raw rows (the nightly repair). Flushes."""
    return _run(session, organization_id, full=True)


def activity_snapshot(session: Session, *, organization_id: int) -> dict[str, list[tuple]]:
    """Every derived row of the organization in a stable order: what a full rebuild must reproduce."""
    tables = {
        "activity_daily": "day, ward_key, campaign_key, canvasser_key",
        "activity_turfs": "turf_id, campaign_key",
    }
    return {
        table: [tuple(row) for row in session.execute(
            text(f"SELECT * FROM {table} WHERE organization_id = :org ORDER BY {order}"), {"org": organization_id}
        )]
        for table, order in tables.items()
    }
