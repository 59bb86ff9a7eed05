"""Sign-in throttling in Redis: a fixed window of failures per e-mail and per client address.

If Redis is unreachable, sign-in still works (logged): being locked out of the
field because the cache is down is worse than a short window without throttling.
"""
from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError

from api.extensions import redis_connection
from canvass.errors import RateLimited

log = logging.getLogger(__name__)


def _prefix() -> str:
    return current_app.config["CANVASS_SETTINGS"].redis_key_prefix


def _email_key(email: str) -> str:
    return f"{_prefix()}:login-fail:email:{email}"


def _keys(email: str, ip: str | None) -> list[str]:
    keys = [_email_key(email)]
    if ip:
        # Per address, allow more: several canvassers share a campaign office's Wi-Fi.
        keys.append(f"{_prefix()}:login-fail:ip:{ip}")
    return keys


def _limit_for(key: str) -> int:
    limit = current_app.config["CANVASS_SETTINGS"].login_max_failures
    return limit * 4 if ":ip:" in key else limit


def check_login_allowed(email: str, ip: str | None) -> None:
    try:
        redis = redis_connection()
        for key in _keys(email, ip):
            failures = int(redis.get(key) or 0)
            if failures >= _limit_for(key):
                retry_after = redis.ttl(key)
                raise RateLimited(
                    "too many failed sign-ins; wait before trying again",
                    code="too_many_attempts",
                    retry_after=retry_after if retry_after and retry_after > 0 else 1,
                )
    except RedisError:
        log.warning("login throttle unavailable (Redis error); allowing the attempt")


def record_login_failure(email: str, ip: str | None) -> None:
    window = current_app.config["CANVASS_SETTINGS"].login_window_seconds
    try:
        pipe = redis_connection().pipeline()
        for key in _keys(email, ip):
            pipe.incr(key)
            pipe.expire(key, window, nx=True)
        pipe.execute()
    except RedisError:
        log.warning("could not record a failed sign-in (Redis error)")


def clear_login_failures(email: str) -> None:
    try:
        redis_connection().delete(_email_key(email))
    except RedisError:
        log.warning("could not clear failed sign-ins (Redis error)")
