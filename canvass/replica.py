"""How far behind a streaming read replica is, measured on the replica itself.

A read may go to the replica only when what it serves is current to within a known bound. The
replica answers that itself: it is in recovery, its WAL receiver is streaming from the primary,
and either it has replayed everything it received (lag 0) or its lag is the time since the last
transaction it replayed. A replica that stopped streaming (primary gone, network cut) may have
replayed all it received and still be arbitrarily stale, so it is never usable.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

_REPLICA_STATE = text("""
    SELECT pg_is_in_recovery() AS in_recovery,
           CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS replay_paused,
           (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS receiver_status,
           CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() END AS caught_up,
           pg_last_wal_replay_lsn()::text AS replay_lsn,
           extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS since_last_replay
""")

_LSN_AT_LEAST = text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    in_recovery: bool
    # Seconds the data may be behind the primary (0: everything received is replayed); None: unknown.
    lag_seconds: float | None
    # Why a replica is not usable ("" when it is): not_streaming, replay_lag, lag_unknown.
    reason: str = ""


def measure_replica(session: Session, *, max_lag_seconds: float) -> ReplicaState:
    """The replica's state, as seen on `session`'s connection (the one the read will use)."""
    row = session.execute(_REPLICA_STATE).mappings().one()
    if not row["in_recovery"]:
        # A primary (READ_DATABASE_URL set to the primary, or a replica promoted): always current.
        return ReplicaState(usable=True, in_recovery=False, lag_seconds=0.0)
    if row["receiver_status"] != "streaming":
        return ReplicaState(usable=False, in_recovery=True, lag_seconds=None, reason="not_streaming")
    if row["caught_up"]:
        lag: float | None = 0.0
    else:
        lag = row["since_last_replay"]
    if lag is None:
        return ReplicaState(usable=False, in_recovery=True, lag_seconds=None, reason="lag_unknown")
    lag = max(lag, 0.0)
    if lag > max_lag_seconds:
        return ReplicaState(usable=False, in_recovery=True, lag_seconds=lag, reason="replay_lag")
    return ReplicaState(usable=True, in_recovery=True, lag_seconds=lag)


def replica_has_replayed(session: Session, *, lsn: str) -> bool:
    """Has the replica replayed the primary's WAL up to `lsn` (a write this client made)?"""
    return bool(session.execute(_LSN_AT_LEAST, {"lsn": lsn}).scalar_one())


def primary_wal_position(session: Session) -> str:
    """The primary's WAL position now: a reader that needs its own writes waits for a replica past it."""
    return str(session.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one())
