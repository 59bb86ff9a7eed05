from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.extensions import db, redis_connection

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """200 when the database and Redis answer, 503 with which one failed otherwise."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        log.exception("health check: database")
        checks["database"] = "unavailable"
    finally:
        db.session.rollback()
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except RedisError:
        log.exception("health check: redis")
        checks["redis"] = "unavailable"
    healthy = all(v == "ok" for v in checks.values())
    response = jsonify({"status": "ok" if healthy else "unavailable", "checks": checks})
    response.status_code = 200 if healthy else 503
    return response
