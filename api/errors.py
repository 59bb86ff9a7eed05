"""The one error envelope: {"error": {"code", "message", "details"}}.

Every error response, whatever raised it (a domain error, a webargs
validation failure, a werkzeug 404/405/413, an unexpected exception), is built
by `error_response` here. A 500 never echoes exception text.
"""
from __future__ import annotations

import logging

import psycopg
from flask import Flask, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from canvass.errors import DomainError, RateLimited

log = logging.getLogger(__name__)

STATUS_BY_KIND = {
    "malformed": 400,
    "invalid": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "rate_limited": 429,
}

CODE_BY_STATUS = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str, details: dict | None = None, headers: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location ({"json": {...}}); clients want field -> messages."""
    if not isinstance(messages, dict):
        return {"_body": messages}
    if len(messages) == 1:
        (location, inner), = messages.items()
        if isinstance(inner, dict):
            return inner
    return messages


def handle_domain_error(error: DomainError):
    status = STATUS_BY_KIND.get(error.kind, 422)
    headers = {}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = str(max(1, int(error.retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="canvass"'
    return error_response(status, error.code, error.message, error.details, headers)


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        log.error("HTTP %s: %s", status, error.description)
        return error_response(status, "internal_error", "something went wrong on our side")
    data = getattr(error, "data", None) or {}
    code = data.get("code") or CODE_BY_STATUS.get(status, "http_error")
    message = data.get("message") or error.description or error.name
    details = {}
    if "messages" in data:  # webargs / marshmallow validation
        messages = data["messages"]
        details = _flatten_webargs_messages(messages)
        if status == 422:
            message = "the request did not pass validation"
        # webargs reports unparseable JSON as a 400 with this text.
        if status == 400 and "Invalid JSON body." in str(messages):
            code, message, details = "malformed_json", "the request body is not valid JSON", {}
    if status == 404 and not data:
        message = "not found"
    if status == 413:
        message = "the request body is too large"
    return error_response(status, code, message, details)


# How long a client should wait before retrying while a dependency is down: a restart of
# PostgreSQL or Redis takes seconds. Phones keep their queue and retry (sync is idempotent).
RETRY_AFTER_SECONDS = 5

# SQLSTATEs of a server that is going away or not yet accepting connections (class 08 is any
# connection exception); a psycopg error without SQLSTATE comes from the client side of the
# connection (refused, reset, closed), never from a statement.
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03"}  # admin_shutdown, crash_shutdown, cannot_connect_now


def dependency_down(error: BaseException) -> str | None:
    """"database" or "redis" when the error means that service is unreachable, else None.

    Only lost or refused connections and pool timeouts count: a lock timeout, a serialization
    failure or a cancelled statement are also OperationalErrors, and stay what they are.
    """
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return "database"
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return "database"
        error = error.orig
    if isinstance(error, (psycopg.OperationalError, psycopg.InterfaceError)):
        sqlstate = getattr(error, "sqlstate", None)
        if sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES:
            return "database"
        return None
    if isinstance(error, (RedisConnectionError, RedisTimeoutError)):
        return "redis"
    return None


def handle_unavailable(service: str):
    return error_response(
        503, "service_unavailable", "the service is briefly unavailable; retry shortly",
        {"dependency": service}, {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def handle_unexpected(error: Exception):
    service = dependency_down(error)
    if service is not None:
        log.error("%s unavailable: %s: %s", service, type(error).__name__, error)
        return handle_unavailable(service)
    log.exception("unhandled error")
    return error_response(500, "internal_error", "something went wrong on our side")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
