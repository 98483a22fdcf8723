"""Errors that become clear JSON answers (API) or pages (web)."""
from __future__ import annotations

from typing import Any


class SaolaError(Exception):
    """Base of Saola's own errors: an HTTP status, a machine code and a message for people."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 details: Any = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details = details

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After for RetryLater)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


class ValidationError(SaolaError):
    status = 422
    code = "validation_error"


class NotFound(SaolaError):
    status = 404
    code = "not_found"


class Conflict(SaolaError):
    status = 409
    code = "conflict"


class Unauthorized(SaolaError):
    status = 401
    code = "unauthorized"


class Forbidden(SaolaError):
    status = 403
    code = "forbidden"


class RetryLater(SaolaError):
    """Refused for now (429 too many attempts, 503 busy); ``retry_after`` seconds go in
    the Retry-After header and in ``details``."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: float, status: int | None = None,
                 code: str | None = None, details: dict | None = None):
        self.retry_after = max(1, int(-(-retry_after // 1)))  # whole seconds, rounded up
        super().__init__(message, status=status, code=code,
                         details={**(details or {}), "retry_after": self.retry_after})

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
