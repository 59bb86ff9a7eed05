from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.errors import RETRY_AFTER_SECONDS
from api.extensions import db, redis_connection

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """200 `{"status": "ok", "checks": {"database": "ok", "redis": "ok"}}` when both answer;
    503 `{"status": "degraded", "checks": {"database": "down", "redis": "ok"}}` (naming what is
    down) with `Retry-After` otherwise. Not wrapped in the error envelope: it is a status page
    for load balancers and operators, and its shape is the same either way."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as error:
        log.error("health check: database down: %s", error)
        checks["database"] = "down"
    finally:
        try:
            db.session.rollback()
        except SQLAlchemyError:  # the connection is gone; the session is discarded after the request
            pass
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except RedisError as error:
        log.error("health check: redis down: %s", error)
        checks["redis"] = "down"
    healthy = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ok" if healthy else "degraded", "checks": checks})
    response.status_code = 200 if healthy else 503
    if not healthy:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
