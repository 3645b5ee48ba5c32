"""`LeanAsyncOpenAI` against the stock `AsyncOpenAI`: the same call on both, against one scripted loopback
server, gives the same request on the wire and the same result or exception (pydantic-ai maps the SDK's
exceptions to its own, so the lean path must raise exactly what the SDK raises)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI
from openai._types import Omit

from faultmaven.infrastructure.llm.openai_client import LeanAsyncOpenAI

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "fake-model",
    "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Check the pool."}}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4, "total_tokens": 16},
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = json.dumps(COMPLETION).encode()
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


@dataclass
class Seen:
    headers: dict[str, str]
    body: Any


class ScriptedServer:
    """Answers every request with `reply`; records what it received."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.seen: list[Seen] = []
        self.base_url = ""
        self._handlers: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await self._answer(reader, writer)
        finally:
            writer.close()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.seen.append(Seen(headers, json.loads(body)))
        await asyncio.sleep(self.reply.delay)
        if not self.reply.drop:
            extra = "".join(f"{k}: {v}\r\n" for k, v in self.reply.headers.items())
            writer.write(
                f"HTTP/1.1 {self.reply.status} X\r\ncontent-type: {self.reply.content_type}\r\n{extra}"
                f"content-length: {len(self.reply.body)}\r\nconnection: close\r\n\r\n".encode()
                + self.reply.body
            )
            await writer.drain()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ScriptedServer]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.base_url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1"
        try:
            yield self
        finally:
            server.close()
            for handler in self._handlers:
                handler.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await server.wait_closed()


async def _call(client_type: type[AsyncOpenAI], server: ScriptedServer) -> Any:
    client = client_type(base_url=server.base_url, api_key="sk-test", max_retries=0, timeout=0.5)
    async with client:
        try:
            return await client.chat.completions.create(
                model="fake-model",
                messages=[{"role": "user", "content": "Why is checkout slow? ümlaut"}],
                temperature=0.2,
                extra_headers={"User-Agent": "pydantic-ai/test", "X-Stainless-Lang": Omit()},
                extra_body={"custom_field": 1},
            )
        except openai.OpenAIError as error:
            return error


async def _both(reply: Reply) -> tuple[Any, Any, ScriptedServer]:
    async with ScriptedServer(reply).running() as server:
        stock = await _call(AsyncOpenAI, server)
        lean = await _call(LeanAsyncOpenAI, server)
    return stock, lean, server


def _same_error(stock: Any, lean: Any) -> None:
    assert type(lean) is type(stock)
    assert getattr(lean, "status_code", None) == getattr(stock, "status_code", None)
    assert getattr(lean, "body", None) == getattr(stock, "body", None)
    assert str(lean) == str(stock)


async def test_a_completion_is_the_same_object_and_the_same_request():
    stock, lean, server = await _both(Reply(headers={"x-request-id": "req-7"}))
    assert lean.model_dump() == stock.model_dump()
    assert lean._request_id == stock._request_id == "req-7"
    stock_seen, lean_seen = server.seen
    assert lean_seen.body == stock_seen.body
    assert lean_seen.body["custom_field"] == 1
    for name in ("authorization", "user-agent", "content-type", "accept", "x-stainless-async"):
        assert lean_seen.headers.get(name) == stock_seen.headers.get(name), name
    assert lean_seen.headers["user-agent"] == "pydantic-ai/test"
    assert "x-stainless-lang" not in lean_seen.headers


@pytest.mark.parametrize(
    "reply",
    [
        Reply(status=429, body=b'{"error": {"message": "slow down"}}', headers={"retry-after": "2"}),
        Reply(status=401, body=b'{"error": {"message": "bad key"}}'),
        Reply(status=404, body=b'{"error": {"message": "no such model"}}'),
        Reply(status=500, body=b"upstream exploded", content_type="text/plain"),
        Reply(drop=True),
        Reply(delay=2.0),
    ],
    ids=["429", "401", "404", "500-text", "dropped", "timeout"],
)
async def test_a_failure_raises_what_the_sdk_raises(reply: Reply):
    stock, lean, _ = await _both(reply)
    assert isinstance(stock, openai.OpenAIError)
    _same_error(stock, lean)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(body=b"not json at all", content_type="text/plain"), str),
        (Reply(content_type="text/plain"), openai.types.chat.ChatCompletion),
    ],
    ids=["text", "json-as-text"],
)
async def test_a_reply_without_a_json_content_type_reads_as_the_sdk_reads_it(reply: Reply, expected: type):
    stock, lean, _ = await _both(reply)
    assert isinstance(stock, expected)
    assert isinstance(lean, expected)
    if expected is str:
        assert lean == stock
    else:
        assert lean.model_dump() == stock.model_dump()
