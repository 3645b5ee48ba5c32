"""Knowledge-base errors the API turns into problem+json."""

from __future__ import annotations

from faultmaven.services.errors import ServiceError


class PayloadTooLargeError(ServiceError):
    status, code, title = 413, "PAYLOAD_TOO_LARGE", "Content too large"


class UnsupportedMediaError(ServiceError):
    status, code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"
