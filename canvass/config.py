"""Configuration, read from the environment in one place and only when asked.

Nothing here runs at import time: `Settings.from_env()` is called by the app
factory, the CLI and the worker entry points; tests build a Settings directly.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting is missing or malformed."""


def _normalize_database_url(url: str) -> str:
    # SQLAlchemy 2.1 needs the psycopg (3) driver named explicitly.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _int(env: dict, name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


_ORIGIN = re.compile(r"^https?://[^/\s,]+$")


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"CORS_ORIGINS holds {origin!r}: give origins like https://app.example.org, comma-separated")
    return origins


def _pooler(raw: str) -> str:
    if raw not in ("none", "transaction"):
        raise ConfigError(f"DATABASE_POOLER must be 'none' or 'transaction', got {raw!r}")
    return raw


_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines of a .env file (comments, blank lines and `export ` allowed; one level of
    single or double quotes stripped). A missing file reads as empty."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for line in text.splitlines():
        match = _ENV_LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[match.group(1)] = value
    return values


def load_env_files(environ: dict, roots: list[Path]) -> list[Path]:
    """Fill `environ` from each root's `.env` (the user's settings), then `.data/embedded.env`
    (the addresses `make run` / `make start` wrote for the embedded services). A variable
    already set wins over both, and `.env` wins over the embedded file. Returns the files read."""
    read = []
    for root in dict.fromkeys(path.resolve() for path in roots):
        for path in (root / ".env", root / ".data" / "embedded.env"):
            values = read_env_file(path)
            if values:
                read.append(path)
            for name, value in values.items():
                environ.setdefault(name, value)
    return read


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str = "redis://127.0.0.1:6379/0"
    secret_key: str = field(default="dev-only-not-secret", repr=False)
    token_ttl_hours: int = 720  # 30 days: phones stay logged in through a campaign
    login_max_failures: int = 5
    login_window_seconds: int = 900
    default_lease_hours: int = 72
    max_content_length: int = 2 * 1024 * 1024
    sync_max_items: int = 500
    queue_name: str = "canvass"
    # Prefix of every Redis key we write; tests use a unique one so parallel runs don't collide.
    redis_key_prefix: str = "canvass"
    # How long a built walk list is kept in Redis after it was last built (0: not kept).
    walklist_cache_seconds: int = 3600
    log_level: str = "INFO"
    # Origins (scheme://host[:port]) whose web pages may call the API (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # Months after which free-text notes and contact details of people who never became
    # supporters are purged by the nightly retention job (0: kept).
    retention_months: int = 24
    # The console's base map: a Leaflet tile URL template and its attribution (unset: turf outlines only).
    map_tile_url: str | None = None
    map_tile_attribution: str = ""
    # An optional streaming replica for dashboards, exports and the console's read-only pages; a
    # read goes to it only while it is streaming and at most read_max_lag_seconds behind.
    read_database_url: str | None = None
    read_max_lag_seconds: int = 30
    # "transaction": DATABASE_URL is a pooler in transaction mode (PgBouncer before 1.21), so the
    # driver prepares no named statements (each transaction may meet another server connection).
    database_pooler: str = "none"
    testing: bool = False

    @classmethod
    def from_env(cls, environ: dict | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        database_url = env.get("DATABASE_URL")
        if not database_url:
            raise ConfigError("DATABASE_URL is not set: start the embedded services with `make run` (or `make start`) "
                              "in the checkout, or set it (e.g. postgresql+psycopg://user@host:5432/canvass)")
        return cls(
            database_url=_normalize_database_url(database_url),
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            secret_key=env.get("SECRET_KEY") or cls.secret_key,
            token_ttl_hours=_int(env, "TOKEN_TTL_HOURS", cls.token_ttl_hours, minimum=1),
            login_max_failures=_int(env, "LOGIN_MAX_FAILURES", cls.login_max_failures, minimum=1),
            login_window_seconds=_int(env, "LOGIN_WINDOW_SECONDS", cls.login_window_seconds, minimum=1),
            default_lease_hours=_int(env, "DEFAULT_LEASE_HOURS", cls.default_lease_hours, minimum=1),
            max_content_length=_int(env, "MAX_CONTENT_LENGTH", cls.max_content_length, minimum=1024),
            walklist_cache_seconds=_int(env, "WALKLIST_CACHE_SECONDS", cls.walklist_cache_seconds),
            log_level=env.get("LOG_LEVEL") or cls.log_level,
            queue_name=env.get("CANVASS_QUEUE") or cls.queue_name,
            cors_origins=_origins(env.get("CORS_ORIGINS", "")),
            retention_months=_int(env, "RETENTION_MONTHS", cls.retention_months),
            map_tile_url=env.get("MAP_TILE_URL") or None,
            map_tile_attribution=env.get("MAP_TILE_ATTRIBUTION") or "",
            read_database_url=_normalize_database_url(env["READ_DATABASE_URL"]) if env.get("READ_DATABASE_URL") else None,
            read_max_lag_seconds=_int(env, "READ_MAX_LAG_SECONDS", cls.read_max_lag_seconds),
            database_pooler=_pooler(env.get("DATABASE_POOLER") or cls.database_pooler),
        )

    def with_overrides(self, **changes: Any) -> Settings:
        changes["database_url"] = _normalize_database_url(changes.get("database_url", self.database_url))
        if changes.get("read_database_url"):
            changes["read_database_url"] = _normalize_database_url(changes["read_database_url"])
        return replace(self, **changes)

    def engine_connect_args(self) -> dict[str, Any]:
        """psycopg connect arguments for DATABASE_URL: no server-side prepared statements behind a
        transaction-mode pooler (a statement prepared on one server connection is unknown on the next)."""
        args: dict[str, Any] = {"connect_timeout": 5}
        if self.database_pooler == "transaction":
            args["prepare_threshold"] = None
        return args
