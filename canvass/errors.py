"""Domain errors: plain exceptions with a stable `code`.

The HTTP edge maps each `kind` to a status (api/errors.py); the CLI prints the
message. Nothing here knows about HTTP. Codes are documented in docs/errors.md.
"""
from __future__ import annotations


class DomainError(Exception):
    kind = "invalid"  # one of: malformed, invalid, unauthorized, forbidden, not_found, conflict, too_large, rate_limited
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}


class MalformedInput(DomainError):
    """Input that cannot even be read as what it claims to be (answered 400)."""

    kind = "malformed"
    code = "malformed_request"


class ValidationFailed(DomainError):
    kind = "invalid"
    code = "validation_failed"


class Unauthorized(DomainError):
    kind = "unauthorized"
    code = "unauthorized"


class Forbidden(DomainError):
    kind = "forbidden"
    code = "forbidden"


class NotFound(DomainError):
    """Also raised for another organization's ids: never reveal other tenants."""

    kind = "not_found"
    code = "not_found"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"


class TooLarge(DomainError):
    kind = "too_large"
    code = "too_large"


class RateLimited(DomainError):
    kind = "rate_limited"
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after
