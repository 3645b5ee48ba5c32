"""`Idempotency-Key` on every POST, as the contract states: first response stored, replayed byte for byte.

Scoped to caller, method and path; the record lives in the database, so a retry that lands on another
server process replays too. A streamed query (`Accept: text/event-stream`) is stored once its stream
ended, and a replay sends the whole stream again; a stream the client left midway is not stored (its
query carries on, readable at its `Location` or `/events`), so a retry runs the request again.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
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


SPOOL_IN_MEMORY_BYTES = 1024 * 1024
REPLAY_CHUNK_BYTES = 64 * 1024


class SpooledBody:
    """The request body, hashed as it arrives and kept on disk past 1 MiB (evidence uploads may be 100 MB),
    so the request can be run after its key is claimed."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (closed by the caller)
        self._hash = hashlib.sha256()
        self.size = 0

    @classmethod
    async def read(cls, receive: Receive) -> SpooledBody:
        body = cls()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            body.file.write(chunk)
            body._hash.update(chunk)
            body.size += len(chunk)
            if not message.get("more_body", False):
                break
        return body

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def receive(self, client: Receive) -> Receive:
        """Replays the body in chunks, then waits on the client's own channel: a streamed response
        listens there for the disconnect, and must not be told of one the client never made."""
        self.file.seek(0)
        done = False

        async def receive() -> Message:
            nonlocal done
            if done:
                return await client()
            chunk = self.file.read(REPLAY_CHUNK_BYTES)
            done = self.file.tell() >= self.size
            return {"type": "http.request", "body": chunk, "more_body": not done}

        return receive

    def close(self) -> None:
        self.file.close()


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


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
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get("idempotency-key")
        if key is None:
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
        body = await SpooledBody.read(receive)
        try:
            state = scope.setdefault("state", {})
            try:
                principal = state.get("principal") or await resolve_principal(self.container, headers)
            except ServiceError:
                await self.app(scope, body.receive(receive), send)
                return
            state["principal"] = principal
            record_key = _record_key(principal.user_id, "POST", scope["path"], key)
            await self._run_once(scope, body, record_key, receive, send)
        finally:
            body.close()

    async def _run_once(
        self, scope: Scope, body: SpooledBody, record_key: str, receive: Receive, send: Send
    ) -> None:
        store = self.container.idempotency_store
        request_id = scope.get("state", {}).get("request_id")
        claim = await store.claim(record_key, body.digest)
        if claim.outcome is Outcome.MISMATCH:
            await problem_response(
                422,
                "This Idempotency-Key was already used with a different request body",
                code="IDEMPOTENCY_KEY_REUSED",
                request_id=request_id,
            )(scope, _empty_receive, send)
        elif claim.outcome is Outcome.IN_PROGRESS:
            await problem_response(
                409,
                "A request with this Idempotency-Key is still being processed",
                code="IDEMPOTENCY_IN_PROGRESS",
                request_id=request_id,
                headers={"Retry-After": "1"},
            )(scope, _empty_receive, send)
        elif claim.outcome is Outcome.REPLAY:
            assert claim.stored is not None
            await self._replay(claim.stored, send)
        else:
            await self._run_and_store(scope, body, record_key, receive, send)

    @staticmethod
    async def _replay(stored: StoredResponse, send: Send) -> None:
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
        headers.append((b"x-idempotency-replayed", b"true"))
        await send({"type": "http.response.start", "status": stored.status, "headers": headers})
        await send({"type": "http.response.body", "body": stored.body, "more_body": False})

    async def _run_and_store(
        self, scope: Scope, body: SpooledBody, record_key: str, receive: Receive, send: Send
    ) -> None:
        """Stores the response once it was sent whole; a stream the client left midway is not an answer
        to replay (a retry runs the request again)."""
        store = self.container.idempotency_store
        captured: dict[str, object] = {"status": 500, "headers": [], "complete": False}
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
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                captured["complete"] = True

        try:
            await self.app(scope, body.receive(receive), capture)
        except BaseException:
            await store.release(record_key)
            raise
        status = int(captured["status"])  # type: ignore[call-overload]
        if _worth_storing(status) and captured["complete"]:
            await store.complete(record_key, StoredResponse(status, captured["headers"], b"".join(chunks)))  # type: ignore[arg-type]
        else:
            await store.release(record_key)
