"""Which errors mean "a dependency is down" (503 service_unavailable, retry) and which stay a
500: only lost or refused connections and pool timeouts; a lock timeout, a cancelled statement
or a serialization failure are OperationalErrors too, and are not outages."""
import psycopg
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sa_exc

from api.errors import dependency_down


def wrapped(orig, **kwargs):
    return sa_exc.OperationalError("SELECT 1", {}, orig, **kwargs)


@pytest.mark.parametrize("error, down", [
    (wrapped(psycopg.OperationalError("connection failed: Connection refused")), "database"),
    (wrapped(psycopg.errors.AdminShutdown()), "database"),
    (wrapped(psycopg.errors.CannotConnectNow()), "database"),
    (wrapped(psycopg.errors.ConnectionFailure()), "database"),
    (wrapped(psycopg.errors.LockNotAvailable()), None),
    (wrapped(psycopg.errors.QueryCanceled()), None),
    (wrapped(psycopg.errors.SerializationFailure()), None),
    (wrapped(psycopg.errors.LockNotAvailable(), connection_invalidated=True), "database"),
    (sa_exc.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("the connection is closed")), "database"),
    (sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), "database"),
    (RedisConnectionError("Error 111 connecting"), "redis"),
    (RedisTimeoutError("Timeout reading from socket"), "redis"),
    (ResponseError("WRONGTYPE"), None),
    (ValueError("a bug"), None),
])
def test_only_unreachable_services_count_as_down(error, down):
    assert dependency_down(error) == down
