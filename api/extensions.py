"""Extension singletons, bound to an app in create_app()."""
from __future__ import annotations

import select

from flask import current_app
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from canvass.db import Base

# Our models use canvass.db.Base; Flask-SQLAlchemy only provides the session and engines.
# Views return ORM objects after their transaction commits; expiring them on commit would
# reload each row when it is serialized (a query per row).
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})


class CanvassApi(Api):
    """flask-smorest's Api, documenting our error envelope for every error response."""

    from api.schemas.common import ErrorEnvelope as ERROR_SCHEMA


def redis_connection() -> Redis:
    """The app's Redis client (short timeouts: Redis trouble must not hang a request)."""
    return current_app.extensions["canvass_redis"]


def make_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)


def refuse_closed_connections(engine: Engine) -> None:
    """Replace a pooled connection the server has closed, without a round trip per checkout.

    An idle, healthy PostgreSQL connection has nothing to read; one the server closed (a
    restart, pg_terminate_backend, an idle timeout) has its FATAL message or end-of-file
    waiting. pool_pre_ping finds the same with a `SELECT 1` round trip on every checkout,
    which was a fifth of a walk-list request's time under load (docs/benchmarks.md). On
    DisconnectionError the pool opens a fresh connection. A connection lost silently (a
    network partition) is caught by neither before use.
    """

    @event.listens_for(engine, "checkout")
    def _refuse_if_readable(dbapi_connection, connection_record, connection_proxy):
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        if poller.poll(0):
            raise DisconnectionError("the server closed this pooled connection")
