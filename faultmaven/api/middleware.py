"""Pure-ASGI middleware on every request: request id, security headers, trailing slash, body cap, metrics,
last-resort 500."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faultmaven.api.outage import RETRY_AFTER_SECONDS, OutageLog, outage_kind
from faultmaven.api.problems import problem_response
from faultmaven.infrastructure.observability.metrics import Metrics

_logger = structlog.get_logger("faultmaven.http")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))


class BodyTooLarge(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    return given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _response_headers(headers: list[tuple[bytes, bytes]], request_id: str) -> list[tuple[bytes, bytes]]:
    """Our request id, and the headers that stop a browser from sniffing a JSON or text body into HTML
    and from sending our URLs (case ids, query strings) to other sites as a referrer."""
    present = {name.lower() for name, _ in headers}
    kept = [(name, value) for name, value in headers if name.lower() != b"x-request-id"]
    kept += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
    kept.append((b"x-request-id", request_id.encode()))
    return kept


def _nul_problem(scope: Scope, request_id: str) -> Response | None:
    """NUL in a URL: no resource has such an id (404; a DELETE of it is already done, 204) and no filter
    may hold one (400). PostgreSQL would reject both, so they never reach a query."""
    if "\x00" in scope["path"]:
        if scope["method"] == "DELETE":
            return Response(status_code=204)
        return problem_response(404, "Not found", code="NOT_FOUND", request_id=request_id)
    if b"%00" in scope.get("query_string", b"").lower():
        return problem_response(400, "NUL characters are not allowed in query strings",
                                code="INVALID_CHARACTERS", request_id=request_id)
    return None


def _strip_trailing_slash(scope: Scope) -> None:
    """`/api/v1/cases/` routes like `/api/v1/cases`, with no redirect (clients do not follow them)."""
    path: str = scope["path"]
    if len(path) > 1 and path.endswith("/"):
        scope["path"] = path.rstrip("/") or "/"
        raw = scope.get("raw_path")
        if raw:
            scope["raw_path"] = raw.rstrip(b"/") or b"/"


def _capped_receive(receive: Receive, limit: int) -> Receive:
    received = 0

    async def wrapped() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise BodyTooLarge
        return message

    return wrapped


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        max_body_bytes: int,
        body_limits: dict[str, int] | None = None,
    ):
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.body_limits = body_limits or {}
        self.outages = OutageLog()

    def _body_limit(self, path: str) -> int:
        """The cap for this path: the longest matching configured pattern's, else the default."""
        for pattern, limit in self.body_limits.items():
            if re.fullmatch(pattern, path):
                return limit
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _strip_trailing_slash(scope)
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder: dict[str, Any] = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder.update(status=message["status"], started=True)
                message = {**message, "headers": _response_headers(message.get("headers", []), request_id)}
            await send(message)

        try:
            refusal = _nul_problem(scope, request_id)
            if refusal is not None:
                await refusal(scope, receive, send_with_id)
                return
            limit = self._body_limit(scope["path"])
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge
            await self.app(scope, _capped_receive(receive, limit), send_with_id)
        except BodyTooLarge:
            if not status_holder["started"]:
                await problem_response(
                    413,
                    f"The request body exceeds the limit of {limit} bytes",
                    code="PAYLOAD_TOO_LARGE",
                    request_id=request_id,
                )(scope, receive, send_with_id)
        except Exception as error:
            kind = outage_kind(error)
            if kind is not None:
                self.outages.record(kind, error)
                if not status_holder["started"]:
                    await problem_response(
                        503,
                        "Storage is unavailable for the moment; retry shortly",
                        code="STORAGE_UNAVAILABLE",
                        request_id=request_id,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                    )(scope, receive, send_with_id)
                return
            _logger.exception("unhandled error", path=scope["path"], method=scope["method"])
            if not status_holder["started"]:
                await problem_response(
                    500,
                    "An unexpected error occurred; it has been logged",
                    code="INTERNAL_ERROR",
                    request_id=request_id,
                )(scope, receive, send_with_id)
        finally:
            self._observe(scope, status_holder["status"], time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "<unmatched>"
        self.metrics.observe_http_request(scope["method"], template, status, seconds)
        _logger.info(
            "request",
            method=scope["method"],
            route=template,
            status=status,
            duration_ms=round(seconds * 1000, 2),
        )


class EnsureStartedMiddleware:
    """Runs the container's idempotent start before the first request, for servers without lifespan
    (httpx's ASGITransport in tests): migrations are then never skipped."""

    def __init__(self, app: ASGIApp, *, start: Callable[[], Awaitable[None]]):
        self.app = app
        self.start = start

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.start()
        await self.app(scope, receive, send)
