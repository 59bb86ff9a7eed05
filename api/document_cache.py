"""Built walk-list documents kept in Redis, shared by every web process.

`canvass.turfs.walklist` decides whether an entry is current (each one carries the ETag it
was built for, and one that is not the current version is never served); this only stores
bytes. Redis trouble must not fail a walk list: a failed read is a miss, a failed write is
skipped, both logged.
"""
from __future__ import annotations

import logging

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError

from api.extensions import redis_connection

log = logging.getLogger(__name__)


class RedisDocumentCache:
    def __init__(self, redis: Redis, *, prefix: str, ttl_seconds: int):
        self._redis, self._prefix, self._ttl = redis, prefix, ttl_seconds

    def get(self, key: str) -> bytes | None:
        try:
            return self._redis.get(self._prefix + key)
        except RedisError:
            log.warning("walk-list cache unavailable (Redis error); building the document")
            return None

    def put(self, key: str, value: bytes) -> None:
        try:
            # One entry per assignment, replaced when its version changes; the TTL only frees
            # entries of assignments nobody reads any more.
            self._redis.set(self._prefix + key, value, ex=self._ttl)
        except RedisError:
            log.warning("walk-list cache unavailable (Redis error); document not kept")


def walklist_cache() -> RedisDocumentCache | None:
    settings = current_app.config["CANVASS_SETTINGS"]
    if settings.walklist_cache_seconds <= 0:
        return None
    return RedisDocumentCache(redis_connection(), prefix=f"{settings.redis_key_prefix}:walklist:",
                              ttl_seconds=settings.walklist_cache_seconds)
