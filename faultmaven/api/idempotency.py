"""`Idempotency-Key` on every POST, as the contract states: first response stored, replayed byte for byte.

Scoped to caller, method and path; the record lives in the database, so a retry that lands on another
server process replays too.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from faultmaven.api.dependencies import resolve_principal
from faultmaven.api.problems import problem_response
from faultmaven.infrastructure.persistence.idempotency_store import Outcome, StoredResponse
from faultmaven.services.errors import ServiceError

if TYPE_CHECKING:
    from faultmaven.container import Container

_KEY = re.compile(r"^[A-Za-z0-9_-]{8,255}$")
_NOT_REPLAYED = {b"x-request-id", b"date", b"server"}


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _record_key(user_id: str, method: str, path: str, key: str) -> str:
    return hashlib.sha256(f"{user_id}\n{method}\n{path}\n{key}".encode()).hexdigest()


def _worth_storing(status: int) -> bool:
    """A server failure or a rate limit is not an answer: the retry must run again."""
    return status < 500 and status != 429


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, container: Container):
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        if not _KEY.match(key):
            await problem_response(
                400,
                "Idempotency-Key must be 8 to 255 characters of [A-Za-z0-9_-]",
                code="INVALID_IDEMPOTENCY_KEY",
                request_id=request_id,
            )(scope, receive, send)
            return
        body = await _read_body(receive)
        try:
            principal = await resolve_principal(self.container, headers)
        except ServiceError:
            await self.app(scope, _replaying_receive(body), send)
            return
        scope.setdefault("state", {})["principal"] = principal
        record_key = _record_key(principal.user_id, "POST", scope["path"], key)
        await self._run_once(scope, body, record_key, send)

    async def _run_once(self, scope: Scope, body: bytes, record_key: str, send: Send) -> None:
        store = self.container.idempotency_store
        request_id = scope.get("state", {}).get("request_id")
        claim = await store.claim(record_key, hashlib.sha256(body).hexdigest())
        if claim.outcome is Outcome.MISMATCH:
            await problem_response(
                422,
                "This Idempotency-Key was already used with a different request body",
                code="IDEMPOTENCY_KEY_REUSED",
                request_id=request_id,
            )(scope, _replaying_receive(b""), send)
        elif claim.outcome is Outcome.IN_PROGRESS:
            await problem_response(
                409,
                "A request with this Idempotency-Key is still being processed",
                code="IDEMPOTENCY_IN_PROGRESS",
                request_id=request_id,
                headers={"Retry-After": "1"},
            )(scope, _replaying_receive(b""), send)
        elif claim.outcome is Outcome.REPLAY:
            assert claim.stored is not None
            await self._replay(claim.stored, send)
        else:
            await self._run_and_store(scope, body, record_key, send)

    @staticmethod
    async def _replay(stored: StoredResponse, send: Send) -> None:
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
        headers.append((b"x-idempotency-replayed", b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body, "more_body": False})

    async def _run_and_store(self, scope: Scope, body: bytes, record_key: str, send: Send) -> None:
        store = self.container.idempotency_store
        captured: dict[str, object] = {"status": 500, "headers": []}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [
                    (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in message.get("headers", [])
                    if name.lower() not in _NOT_REPLAYED
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replaying_receive(body), capture)
        except BaseException:
            await store.release(record_key)
            raise
        status = int(captured["status"])  # type: ignore[call-overload]
        if _worth_storing(status):
            await store.complete(record_key, StoredResponse(status, captured["headers"], b"".join(chunks)))  # type: ignore[arg-type]
        else:
            await store.release(record_key)
