"""Extension singletons, bound to an app in create_app()."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from redis import Redis

from canvass.db import Base

# Our models use canvass.db.Base; Flask-SQLAlchemy only provides the session and engines.
# Views return ORM objects after their transaction commits; expiring them on commit would
# reload each row when it is serialized (a query per row).
db = SQLAlchemy(metadata=Base.metadata, session_options={"expire_on_commit": False})


class CanvassApi(Api):
    """flask-smorest's Api, documenting our error envelope for every error response."""

    from api.schemas.common import ErrorEnvelope as ERROR_SCHEMA  # noqa: N811


def current_api() -> Api:
    return current_app.extensions["canvass_api"]


def redis_connection() -> Redis:
    """The app's Redis client (short timeouts: Redis trouble must not hang a request)."""
    return current_app.extensions["canvass_redis"]


def make_redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
