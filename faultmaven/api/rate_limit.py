"""Per-user and per-IP request budgets: queries and other writes are counted separately.

Queries (`POST /api/v1/cases/{id}/queries`, `POST /api/v1/agent/...`) cost an LLM turn, so they get the
smaller `rate_limit_queries` budget; every other POST/PUT/PATCH/DELETE spends `rate_limit_writes`.
Reads are never limited: the client polls `GET .../queries/{id}` for asynchronous answers, and a read
costs little. Health and metrics are never limited.

Each limited response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
(Unix time in seconds, as GitHub and most `X-RateLimit-*` APIs send it) for the caller's most constrained
identity; a 429 adds `Retry-After` in seconds. The client IP is the ASGI peer: behind a proxy, run the
server with trusted forwarded headers (`faultmaven serve --forwarded-allow-ips`) so that it is the real
caller's.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faultmaven.api.dependencies import resolve_principal
from faultmaven.api.problems import problem_response
from faultmaven.infrastructure.rate_limiter import RateDecision
from faultmaven.models.user import Principal
from faultmaven.services.errors import ServiceError

if TYPE_CHECKING:
    from faultmaven.container import Container

_QUERY_PATH = re.compile(r"^/api/v1/(cases/[^/]+/queries|agent/.+)$")
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BUDGET_NOUNS = {"queries": "queries", "writes": "write requests"}


def budget_for(method: str, path: str) -> str | None:
    """The budget a request spends: "queries", "writes", or None for reads, health and metrics."""
    if method not in _WRITE_METHODS or path in ("/health", "/metrics") or path.startswith("/health/"):
        return None
    return "queries" if method == "POST" and _QUERY_PATH.match(path) else "writes"


def rate_limit_headers(decision: RateDecision) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(math.ceil(decision.reset_at)),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
    return headers


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *encoded]}
        await send(message)

    return wrapped


class RateLimitMiddleware:
    """Inside EnsureStartedMiddleware (a bearer token is checked against the database) and outside
    IdempotencyMiddleware, so a rejected request never claims an idempotency record."""

    def __init__(self, app: ASGIApp, *, container: Container):
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        budget = budget_for(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if budget is None or not self.container.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        identities = await self._identities(scope)
        decision = await self.container.rate_limiter.hit(budget, identities)
        if decision is None:
            await self.app(scope, receive, send)
        elif decision.allowed:
            await self.app(scope, receive, _with_headers(send, rate_limit_headers(decision)))
        else:
            await self._reject(scope, receive, send, budget, decision)

    async def _identities(self, scope: Scope) -> list[str]:
        """`user:<id>` when the caller is known (an unauthenticated request is limited by IP alone, and
        the route answers its 401), and always `ip:<address>`."""
        client = scope.get("client")
        identities = [f"ip:{client[0] if client else 'unknown'}"]
        principal = await self._principal(scope)
        if principal is not None:
            identities.insert(0, f"user:{principal.user_id}")
        return identities

    async def _principal(self, scope: Scope) -> Principal | None:
        """The caller, cached in `scope["state"]` so the routes' `get_principal` does not resolve it again."""
        state = scope.setdefault("state", {})
        if state.get("principal") is None:
            try:
                state["principal"] = await resolve_principal(self.container, Headers(scope=scope))
            except ServiceError:
                return None
        return state["principal"]

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, budget: str, decision: RateDecision
    ) -> None:
        detail = (
            f"Too many {_BUDGET_NOUNS[budget]}: the limit is {self.container.rate_limiter.budgets[budget]}. "
            f"Try again in {decision.retry_after} seconds."
        )
        await problem_response(
            429,
            detail,
            code="RATE_LIMITED",
            request_id=scope.get("state", {}).get("request_id"),
            headers=rate_limit_headers(decision),
            budget=budget,
            retry_after=decision.retry_after,
        )(scope, receive, send)
