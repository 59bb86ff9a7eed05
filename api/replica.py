"""Reads that may go to the read replica (READ_DATABASE_URL): dashboards, exports, the console's lists.

`read_transaction()` gives a transaction on the replica when one is configured, reachable,
streaming and at most READ_MAX_LAG_SECONDS behind (and, for a console user who just wrote
something, past that write); otherwise on the primary, through the request's usual session.
Every response that read this way says where from and how stale:

    X-Read-Source: replica | primary
    X-Replica-Lag: 1.250              (seconds; only when served from the replica)
    X-Replica-Skipped: replay_lag     (why not, when a configured replica was passed over)

Writes, sync, leases and anything that must read its own writes never come here.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, Response, current_app, g
from flask import session as web_session
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.extensions import db, refuse_closed_connections
from canvass.db import transaction
from canvass.replica import measure_replica, primary_wal_position, replica_has_replayed

log = logging.getLogger(__name__)

# After a failed connection the replica is left alone this long (a replica that is down must not
# cost every request a connect timeout).
REPLICA_RETRY_SECONDS = 30.0
# The console session's key for the primary's WAL position after this user's last write.
WROTE_AT_LSN = "wrote_lsn"


@dataclass
class _ReplicaRuntime:
    sessions: sessionmaker
    down_until: float = 0.0


@dataclass(frozen=True)
class ReadSource:
    name: str  # "replica" or "primary"
    lag_seconds: float | None = None
    skipped: str = ""  # why a configured replica was not used


def install_read_replica(app: Flask) -> None:
    settings = app.config["CANVASS_SETTINGS"]
    if settings.read_database_url:
        with app.app_context():
            engine = db.engines["replica"]
        refuse_closed_connections(engine)
        app.extensions["canvass_replica"] = _ReplicaRuntime(sessions=sessionmaker(engine, expire_on_commit=False))
    app.after_request(_read_source_headers)


def _read_source_headers(response: Response) -> Response:
    source: ReadSource | None = g.get("canvass_read_source")
    if source is not None:
        response.headers["X-Read-Source"] = source.name
        if source.lag_seconds is not None:
            response.headers["X-Replica-Lag"] = f"{source.lag_seconds:.3f}"
        if source.skipped:
            response.headers["X-Replica-Skipped"] = source.skipped
    return response


@contextmanager
def read_transaction(*, own_writes: bool = False) -> Iterator[Session]:
    """A transaction for a read: on the replica when it may serve it, else on the primary.

    `own_writes`: the reader is a console user who may have just written; the replica must have
    replayed past their last write (the position the console recorded), or the primary answers.
    """
    read_session, on_replica = choose_read_session(own_writes=own_writes)
    try:
        with transaction(read_session) as scoped:
            yield scoped
    finally:
        if on_replica:
            read_session.close()


def choose_read_session(*, own_writes: bool = False) -> tuple[Session, bool]:
    """The session a read should use (the caller closes it when the second value, on the replica,
    is true; otherwise it is the request's primary session). Records the source for the headers."""
    replica: _ReplicaRuntime | None = current_app.extensions.get("canvass_replica")
    if replica is None:
        g.canvass_read_source = ReadSource("primary")
        return db.session, False
    replica_session, source = _usable_replica_session(replica, own_writes=own_writes)
    g.canvass_read_source = source
    if replica_session is None:
        return db.session, False
    return replica_session, True


def read_source() -> ReadSource | None:
    """Where this request's read went (after choose_read_session / read_transaction)."""
    return g.get("canvass_read_source")


def _usable_replica_session(replica: _ReplicaRuntime, *, own_writes: bool) -> tuple[Session | None, ReadSource]:
    if time.monotonic() < replica.down_until:
        return None, ReadSource("primary", skipped="unreachable")
    settings = current_app.config["CANVASS_SETTINGS"]
    replica_session = replica.sessions()
    try:
        state = measure_replica(replica_session, max_lag_seconds=settings.read_max_lag_seconds)
        reason = state.reason
        wrote_lsn = web_session.get(WROTE_AT_LSN) if own_writes else None
        if state.usable and state.in_recovery and wrote_lsn and not replica_has_replayed(replica_session, lsn=wrote_lsn):
            reason = "own_writes"
        if state.usable and not reason:
            return replica_session, ReadSource("replica", lag_seconds=state.lag_seconds)
    except DBAPIError:
        log.warning("the read replica is unreachable; reading from the primary for %.0f s", REPLICA_RETRY_SECONDS)
        replica.down_until = time.monotonic() + REPLICA_RETRY_SECONDS
        reason = "unreachable"
    replica_session.close()
    return None, ReadSource("primary", skipped=reason)


def remember_own_write() -> None:
    """After a console write: later console reads of this user wait for a replica past it."""
    if "canvass_replica" not in current_app.extensions:
        return
    with transaction(db.session) as primary_session:
        web_session[WROTE_AT_LSN] = primary_wal_position(primary_session)
