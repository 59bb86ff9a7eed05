"""The pipeline rollup: stages, membership history and funnels, kept current from the raw rows.

One run, one transaction, one organization (under a transaction-level advisory lock, so two
workers never roll up one organization at once). A run recomputes a set of people from all of
their facts and replaces their derived rows; the funnels follow by deltas. What a run
recomputes depends on its mode:

  incremental  people with rows beyond the watermarks (contacts, pledges, attendance, dues,
               noted person changes), plus people whose next time-driven change has come
  due          only the latter: the daily membership ageing
  full         everyone: the nightly rebuild, from nothing but the raw rows

Because every run recomputes whole people, reprocessing a row is harmless: a job run twice
gives the same tables, and a killed job (rolled back, watermarks untouched) is simply redone.

Watermarks and commit order. Row ids come from sequences at insert time, but transactions
commit in any order: a long sync may commit id 100 after id 101 was rolled up. So each source
keeps two marks: `done` (every id at or below is processed for good) and `seen` (the highest id
processed), and each run stores the snapshot it read with. A run takes the rows above `seen`,
plus the rows between `done` and `seen` that the last run's snapshot could not see (their xmin,
the writing transaction, was still in progress then: a late commit, or an update). At the end
of a run we note `guard_xid`, the xmax of a fresh snapshot. A later run that finds no
transaction still writing a source table (pg_locks: RowExclusiveLock) with an xid below the
guard knows every id up to the old `seen` is visible, hence processed by itself, and moves
`done` there, which keeps the stretch it checks short. Reprocessing is harmless, missing is not:
when in doubt a row is taken again. The one gap: an insert that drew its id, then waited (a
unique-index conflict with a racing insert that later aborts) longer than a whole rollup run
before getting its xid. The nightly full rebuild repairs that, and anything else outside the
watermarks (a building moved to another ward, a person deleted).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from canvass.db import utcnow
from canvass.orgs.services import get_organization, timezone_for
from canvass.pipeline.funnels import apply_new_contributions, capture_old_contributions, rebuild_funnels
from canvass.pipeline.membership import create_people_table, in_people, rule_for
from canvass.pipeline.models import MembershipRuleVersion, PipelineWatermark
from canvass.pipeline.runs import note_people_changed
from canvass.pipeline.stages import build_facts, build_transitions, insert_people_sql, insert_transitions_sql
from canvass.pipeline.standing import build_standing, membership_periods_sql, standing_spells_sql

MODES = ("incremental", "due", "full")
# pg_try_advisory_xact_lock(class, key): this class is the pipeline rollup, the key the organization.
ADVISORY_LOCK_CLASS = 5_050_505

# The oldest transaction still in progress, cluster-wide, not counting our own (in the tests, the
# test's outer transaction). canvass.dashboards' rollup uses it; ours asks the narrower question of
# _OPEN_WRITERS_SQL below, which unrelated long transactions don't answer "yes" to.
_HORIZON = """coalesce(
        (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s) AS x
         WHERE x IS DISTINCT FROM pg_current_xact_id_if_assigned()),
        pg_snapshot_xmax(s)::text::bigint)"""
_HORIZON_SQL = f"SELECT {_HORIZON} FROM pg_current_snapshot() AS s"
GUARD_SQL = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"

_PEOPLE_WITH_FACTS = """
    SELECT person_id FROM contacts WHERE organization_id = :org AND person_id IS NOT NULL AND responses IS NOT NULL
    UNION ALL SELECT person_id FROM pledges WHERE organization_id = :org
    UNION ALL SELECT person_id FROM users WHERE organization_id = :org AND person_id IS NOT NULL
    UNION ALL SELECT person_id FROM event_attendance WHERE organization_id = :org
    UNION ALL SELECT person_id FROM dues_payments WHERE organization_id = :org
    UNION ALL SELECT led_by_person_id FROM events WHERE organization_id = :org AND led_by_person_id IS NOT NULL
    UNION ALL SELECT person_id FROM membership_attestations WHERE organization_id = :org
"""
_PEOPLE_DUE = """
    SELECT person_id FROM pipeline_people WHERE organization_id = :org AND next_change_at <= :as_of
"""
# A run's first statement: its snapshot (stored, for the next run), its xmax, and the horizon.
START_SQL = f"SELECT s::text, pg_snapshot_xmax(s)::text::bigint, {_HORIZON} FROM pg_current_snapshot() AS s"
SOURCE_TABLES = ("contacts", "pledges", "event_attendance", "dues_payments", "pipeline_person_changes")


def _as_xid8(xid32: str) -> str:
    """A 32-bit xid (SQL expression) widened to the xid8 nearest the current one (:xmax, :epoch)."""
    x = f"({xid32})::text::bigint"
    return (f"(CASE WHEN :epoch + {x} > :xmax + 2147483648 THEN :epoch + {x} - 4294967296 "
            f"WHEN :epoch + {x} < :xmax - 2147483648 THEN :epoch + {x} + 4294967296 ELSE :epoch + {x} END)")


# Could a transaction still commit a source row with an id at or below the last run's `seen`? Only
# one that was writing a source table (it holds RowExclusiveLock on it until it ends) and got its
# xid before that run ended (below `guard_xid`), or has none yet (mid first insert: counted too).
# Transactions of other databases, or ones that don't write these tables, don't hold us back.
_OPEN_WRITERS_SQL = f"""
    SELECT count(*) FROM pg_locks r
    LEFT JOIN pg_locks x ON x.virtualtransaction = r.virtualtransaction AND x.locktype = 'transactionid'
                        AND x.mode = 'ExclusiveLock' AND x.granted
    WHERE r.locktype = 'relation' AND r.mode = 'RowExclusiveLock' AND r.pid IS DISTINCT FROM pg_backend_pid()
      AND r.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND r.relation = ANY(CAST(:source_tables AS regclass[]))
      AND (x.transactionid IS NULL OR {_as_xid8("x.transactionid")} < :guard)
"""


def open_writers(session: Session, *, tables, guard_xid: int, xmax: int) -> int:
    """Transactions that may still commit rows with ids at or below the last run's `seen` in these
    tables (see _OPEN_WRITERS_SQL). `xmax`: the current run's snapshot xmax."""
    return session.execute(text(_OPEN_WRITERS_SQL), {
        "source_tables": list(tables), "guard": guard_xid, "xmax": xmax, "epoch": (xmax >> 32) << 32,
    }).scalar_one()


def unseen(alias: str, key: str, seen: str) -> str:
    """Rows the last run may have missed: beyond what it had seen, or written by a transaction its
    snapshot could not see yet (a late commit with a lower id, an update of an old row)."""
    return (f"({alias}.{key} > :{seen} OR CAST(:previous_snapshot AS text) IS NULL OR NOT pg_visible_in_snapshot("
            f"CAST(CAST({_as_xid8(f'{alias}.xmin')} AS text) AS xid8), CAST(:previous_snapshot AS pg_snapshot)))")


_PEOPLE_CHANGED = f"""
    SELECT person_id FROM contacts c
        WHERE c.organization_id = :org AND c.id > :contacts_done AND c.person_id IS NOT NULL
          AND c.responses IS NOT NULL AND {unseen("c", "id", "contacts_seen")}
    UNION ALL SELECT g.person_id FROM pledges g
        WHERE g.organization_id = :org AND g.id > :pledges_done AND {unseen("g", "id", "pledges_seen")}
    UNION ALL SELECT u.person_id FROM pledges g
        JOIN users u ON u.organization_id = g.organization_id AND u.id = g.canvasser_id
        WHERE g.organization_id = :org AND g.id > :pledges_done AND u.person_id IS NOT NULL
          AND {unseen("g", "id", "pledges_seen")}
    UNION ALL SELECT a.person_id FROM event_attendance a
        WHERE a.organization_id = :org AND a.change_seq > :changes_done AND {unseen("a", "change_seq", "changes_seen")}
    UNION ALL SELECT d.person_id FROM dues_payments d
        WHERE d.organization_id = :org AND d.change_seq > :changes_done AND {unseen("d", "change_seq", "changes_seen")}
    UNION ALL SELECT n.person_id FROM pipeline_person_changes n
        WHERE n.organization_id = :org AND n.change_seq > :changes_done AND {unseen("n", "change_seq", "changes_seen")}
"""
_SEEN_SQL = """
    SELECT (SELECT max(id) FROM contacts WHERE organization_id = :org AND id > :contacts_done),
           (SELECT max(id) FROM pledges WHERE organization_id = :org AND id > :pledges_done),
           greatest((SELECT max(change_seq) FROM event_attendance WHERE organization_id = :org AND change_seq > :changes_done),
                    (SELECT max(change_seq) FROM dues_payments WHERE organization_id = :org AND change_seq > :changes_done),
                    (SELECT max(change_seq) FROM pipeline_person_changes
                     WHERE organization_id = :org AND change_seq > :changes_done))
"""
_DERIVED_TABLES = ("pipeline_stage_transitions", "membership_periods", "membership_standing_spells", "pipeline_people")
SOURCES = ("contacts", "pledges", "changes")


@dataclass(frozen=True)
class RollupResult:
    organization_id: int
    mode: str
    skipped: bool = False  # another run holds the organization's lock
    people: int = 0  # people recomputed
    new_rows: bool = False  # rows beyond what earlier runs had seen
    as_of: datetime | None = None


# --- merging two records of a person ---------------------------------------------------


def move_person_records(session: Session, *, organization_id: int, from_person_id: int, into_person_id: int) -> None:
    """For a merge of two records of one person: their attendance, dues, events led and member
    account move to the survivor, and both are recomputed. Attendance of both at one event keeps
    the more telling status (attended > no_show > signed_up > cancelled). Votes are left as cast."""
    params = {"org": organization_id, "gone": from_person_id, "kept": into_person_id}
    session.execute(text("""
        UPDATE event_attendance kept
        SET status = gone.status, change_seq = nextval('pipeline_change_seq'), updated_at = now()
        FROM event_attendance gone
        WHERE kept.organization_id = :org AND kept.person_id = :kept
          AND gone.organization_id = :org AND gone.person_id = :gone AND gone.event_id = kept.event_id
          AND array_position(ARRAY['cancelled', 'signed_up', 'no_show', 'attended'], gone.status)
            > array_position(ARRAY['cancelled', 'signed_up', 'no_show', 'attended'], kept.status)
    """), params)
    session.execute(text("""
        DELETE FROM event_attendance gone USING event_attendance kept
        WHERE gone.organization_id = :org AND gone.person_id = :gone
          AND kept.organization_id = :org AND kept.person_id = :kept AND kept.event_id = gone.event_id
    """), params)
    for table in ("event_attendance", "dues_payments"):
        session.execute(text(f"""
            UPDATE {table} SET person_id = :kept, change_seq = nextval('pipeline_change_seq'), updated_at = now()
            WHERE organization_id = :org AND person_id = :gone
        """), params)
    session.execute(text("UPDATE events SET led_by_person_id = :kept "
                         "WHERE organization_id = :org AND led_by_person_id = :gone"), params)
    # The survivor keeps their own account; the other's moves over only if they have none.
    session.execute(text("""
        UPDATE users SET person_id = CASE WHEN EXISTS (SELECT 1 FROM users k WHERE k.organization_id = :org
                                                       AND k.person_id = :kept) THEN NULL ELSE :kept END
        WHERE organization_id = :org AND person_id = :gone
    """), params)
    note_people_changed(session, organization_id=organization_id, person_ids=[from_person_id, into_person_id],
                        reason="merge")


# --- a run ------------------------------------------------------------------------------


def locked_watermark(session: Session, model, organization_id: int):
    """The organization's watermark row of `model` (created if missing), locked for this transaction."""
    session.execute(
        pg_insert(model).values(organization_id=organization_id).on_conflict_do_nothing()
    )
    return session.execute(
        select(model).where(model.organization_id == organization_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


def _rule_changed_since(session: Session, *, organization_id: int, last_as_of: datetime | None,
                        as_of: datetime) -> bool:
    if last_as_of is None:
        return False
    return session.execute(select(MembershipRuleVersion.id).where(
        MembershipRuleVersion.organization_id == organization_id,
        MembershipRuleVersion.effective_from > last_as_of, MembershipRuleVersion.effective_from <= as_of,
    ).limit(1)).first() is not None


def refresh_pipeline(session: Session, *, organization_id: int, mode: str = "incremental",
                     as_of: datetime | None = None) -> RollupResult:
    """One rollup run (see the module docstring). Flushes; the caller commits."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    # Before any row is read: the snapshot the next run checks our reading against.
    snapshot, xmax, _ = session.execute(text(START_SQL)).one()
    locked = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:cls, (:org % 2147483648)::int)"),
        {"cls": ADVISORY_LOCK_CLASS, "org": organization_id},
    ).scalar_one()
    if not locked:
        return RollupResult(organization_id=organization_id, mode=mode, skipped=True)
    org = get_organization(session, organization_id)
    # Timestamps inside reasons (jsonb) render in the session time zone: pin it, so every run agrees.
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))
    # A rebuild sorts and hashes a few hundred thousand people: in memory rather than on disk. And
    # JIT compiling each of a run's ~40 statements cost more than it saved (6.4 s -> 2.8 s for 10,000 contacts).
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL random_page_cost = 1.1"))
    as_of = as_of or utcnow()
    watermark = locked_watermark(session, PipelineWatermark, organization_id)
    settings = rule_for(org)  # the dues' monthly price and the leader criteria; membership is the rule tree's
    params = {
        "org": organization_id, "tz": timezone_for(org), "as_of": as_of, "dues_cents": settings.dues_monthly_cents,
        "rule_leader_events_led": settings.leader_events_led,
        "rule_leader_pledges_collected": settings.leader_pledges_collected,
        **{f"{source}_{mark}": getattr(watermark, f"{source}_{mark}") for source in SOURCES for mark in ("done", "seen")},
        "previous_snapshot": watermark.read_snapshot, "xmax": xmax, "epoch": (xmax >> 32) << 32,
    }
    # Asked before any source row is read: if no transaction that could still commit an id at or
    # below the last run's `seen` is open now, every such row is visible to what this run reads next,
    # so it is processed now (above `seen`, or flagged unseen by the last snapshot) and `done` may
    # move up to `seen` at the end.
    settled = mode != "due" and not open_writers(
        session, tables=SOURCE_TABLES, guard_xid=watermark.guard_xid, xmax=xmax)

    if mode == "incremental" and _rule_changed_since(session, organization_id=organization_id,
                                                      last_as_of=watermark.last_as_of, as_of=as_of):
        # A rule version that came into force since the last run changes everyone's standing from
        # then on: recompute everyone (whether or not the rebuild job it requested got through).
        mode = "full"
    if mode == "full":
        people = create_people_table(session, _PEOPLE_WITH_FACTS, params)
        for table in _DERIVED_TABLES:
            session.execute(text(f"DELETE FROM {table} WHERE organization_id = :org"), params)
    else:
        sources = _PEOPLE_DUE if mode == "due" else f"{_PEOPLE_CHANGED} UNION ALL {_PEOPLE_DUE}"
        people = create_people_table(session, sources, params)
        if people:
            capture_old_contributions(session, params)
            for table in _DERIVED_TABLES:
                session.execute(text(
                    f"DELETE FROM {table} WHERE organization_id = :org AND {in_people('person_id', selective=True)}"
                ), params)

    if people or mode == "full":  # nobody to recompute: the derived tables stand as they are
        build_standing(session, params, selective=mode != "full")
        build_facts(session, params, selective=mode != "full")
        build_transitions(session, params)
        session.execute(text(insert_transitions_sql()), params)
        session.execute(text(insert_people_sql()), params)
        session.execute(text(
            f"INSERT INTO membership_periods (organization_id, person_id, since, until, status, reasons) "
            f"{membership_periods_sql()}"
        ), params)
        session.execute(text(
            f"INSERT INTO membership_standing_spells (organization_id, person_id, rule_version, since, until) "
            f"{standing_spells_sql()}"
        ), params)
        if mode == "full":
            rebuild_funnels(session, params)
        else:
            apply_new_contributions(session, params)

    new_rows = False
    if mode != "due":
        if settled:
            for source in SOURCES:
                setattr(watermark, f"{source}_done", getattr(watermark, f"{source}_seen"))
        latest = session.execute(text(_SEEN_SQL), params).one()
        for source, value in zip(SOURCES, latest):
            if value is not None and value > getattr(watermark, f"{source}_seen"):
                setattr(watermark, f"{source}_seen", value)
                new_rows = True
        watermark.guard_xid = session.execute(text(GUARD_SQL)).scalar_one()
        watermark.read_snapshot = snapshot
    else:
        # Noted changes at or below `done` are processed for good. Pruned by the short daily run
        # only: a delete holds a write lock on a source table, and a long rebuild holding one would
        # keep every other organization's `done` from moving.
        session.execute(
            text("DELETE FROM pipeline_person_changes WHERE organization_id = :org AND change_seq <= :done"),
            {"org": organization_id, "done": watermark.changes_done},
        )
    watermark.last_run_at = utcnow()
    watermark.last_as_of = as_of
    if mode == "full":
        watermark.last_full_rebuild_at = watermark.last_run_at
    session.flush()
    return RollupResult(organization_id=organization_id, mode=mode, people=people, new_rows=new_rows, as_of=as_of)


def pipeline_snapshot(session: Session, *, organization_id: int) -> dict[str, list[tuple]]:
    """Every derived row of the organization, in a stable order: what a full rebuild must reproduce."""
    tables = {
        "pipeline_people": "person_id",
        "pipeline_stage_transitions": "person_id, position",
        "membership_periods": "person_id, since",
        "membership_standing_spells": "person_id, rule_version, since",
        "pipeline_funnel_daily": "ward_key, campaign_key, day, stage",
        "pipeline_stage_counts": "ward_key, campaign_key, stage",
    }
    return {
        table: [tuple(row) for row in session.execute(
            text(f"SELECT * FROM {table} WHERE organization_id = :org ORDER BY {order}"), {"org": organization_id}
        )]
        for table, order in tables.items()
    }
