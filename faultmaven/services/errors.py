"""Errors a service raises for the API layer to turn into problem+json (RFC 9457): one class per problem
type (status, default code, title), the only place these are declared."""

from __future__ import annotations

from typing import Any

RESERVED_PROBLEM_FIELDS = frozenset({"type", "title", "status", "detail", "code", "request_id", "headers"})


class ServiceError(Exception):
    """A failure the caller can act on; `code` is the stable UPPER_SNAKE code the client sees.

    `extra` keywords become members of the problem body beside the standard ones, which they may not
    replace (a clash is a programming error, refused when the error is made)."""

    status = 400
    code = "BAD_REQUEST"
    title = "Bad request"

    def __init__(
        self, detail: str, *, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any
    ):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.headers = headers or {}
        clashes = RESERVED_PROBLEM_FIELDS & extra.keys()
        if clashes:
            raise TypeError(f"problem fields {sorted(clashes)} are set by the error itself")
        self.extra = extra


class NotFoundError(ServiceError):
    status, code, title = 404, "NOT_FOUND", "Not found"


class GoneError(ServiceError):
    status, code, title = 410, "GONE", "Gone"


class ConflictError(ServiceError):
    status, code, title = 409, "CONFLICT", "Conflict"


class UnprocessableError(ServiceError):
    status, code, title = 422, "UNPROCESSABLE", "Unprocessable content"


class UnauthorizedError(ServiceError):
    status, code, title = 401, "UNAUTHORIZED", "Unauthorized"


class ForbiddenError(ServiceError):
    status, code, title = 403, "FORBIDDEN", "Forbidden"


class PayloadTooLargeError(ServiceError):
    """413 under RFC 9110's name for it ("Content Too Large")."""

    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Content too large"


class UnsupportedMediaError(ServiceError):
    status, code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"


class TooManyRequestsError(ServiceError):
    status, code, title = 429, "TOO_MANY_REQUESTS", "Too many requests"


class ServiceUnavailableError(ServiceError):
    status, code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"
