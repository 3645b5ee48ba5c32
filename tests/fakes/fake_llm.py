"""A scripted LLM server on loopback that the real OpenAI and Anthropic SDKs talk to over TCP.

Tests exercise the real HTTP clients, retries, timeouts and error mapping instead of mocking them. Each test
queues the replies it expects (`server.script(...)`); a request nobody scripted gets a 500 so it is noticed.
Run standalone for end-to-end tests and benchmarks:

    python -m tests.fakes.fake_llm --port 8089 --latency-ms 50
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

FAKE_INPUT_TOKENS = 11
FAKE_OUTPUT_TOKENS = 7
OUTPUT_TOOL_NAME = "final_result"
"""The tool pydantic-ai declares for structured output (`pydantic_ai._output.DEFAULT_OUTPUT_TOOL_NAME`)."""

OPENAI_PATH = "/v1/chat/completions"
ANTHROPIC_PATH = "/v1/messages"
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class Text:
    """Answer with plain assistant text.

    `drop_after_chunks=N` (streamed requests only) sends the first N SSE events, then cuts the connection
    before the body is complete: a provider dying mid-stream. Non-streamed requests get the whole answer.
    """

    text: str
    delay: float = 0.0
    drop_after_chunks: int | None = None
    truncated: bool = False
    """Stop as a server at its output-token cap does: `finish_reason: length` (Anthropic: `max_tokens`)."""


@dataclass(frozen=True)
class ToolCall:
    """Answer with one tool call; `args` is sent as JSON. `drop_after_chunks` and `truncated` as for
    `Text` (a truncated call's arguments are cut in half, as a capped server leaves them)."""

    name: str
    args: dict[str, Any]
    delay: float = 0.0
    drop_after_chunks: int | None = None
    truncated: bool = False

    @property
    def arguments(self) -> str:
        """The arguments as sent on the wire."""
        raw = json.dumps(self.args)
        return raw[: len(raw) // 2] if self.truncated else raw


@dataclass(frozen=True)
class HTTPError:
    """Answer with an HTTP error in the wire's error format (or `body` verbatim when given)."""

    status: int
    message: str = "scripted error"
    retry_after: float | None = None
    body: dict[str, Any] | None = None
    delay: float = 0.0


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""

    delay: float = 0.0


Reply = Text | ToolCall | HTTPError | Drop


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


Responder = Callable[[RecordedRequest], Reply]
ScriptItem = Reply | Responder


def structured(
    value: BaseModel | dict[str, Any],
    delay: float = 0.0,
    drop_after_chunks: int | None = None,
    truncated: bool = False,
) -> ToolCall:
    """The reply pydantic-ai reads as structured output: a call of its `final_result` output tool."""
    args = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return ToolCall(
        OUTPUT_TOOL_NAME, args, delay=delay, drop_after_chunks=drop_after_chunks, truncated=truncated
    )


def collect_strings(value: Any) -> Iterator[str]:
    """Every string inside a parsed JSON value, keys excluded."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from collect_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from collect_strings(item)


@dataclass
class _HTTPResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class FakeLLMServer:
    """Scripted OpenAI/Anthropic-compatible server running its own event loop in a background thread."""

    def __init__(self, port: int = 0, default: ScriptItem | None = None) -> None:
        self.requested_port = port
        self.default = default
        self.requests: list[RecordedRequest] = []
        self._script: deque[ScriptItem] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # -- scripting and assertions -------------------------------------------------------------------------

    def script(self, *items: ScriptItem) -> FakeLLMServer:
        """Queue replies, one per model request, in order."""
        with self._lock:
            self._script.extend(items)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._script)

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """Recorded chat-completions and messages requests (not `GET /v1/models`)."""
        return [r for r in self.requests if r.path in (OPENAI_PATH, ANTHROPIC_PATH)]

    def all_text(self) -> str:
        """Every string sent in request bodies (messages, instructions, tool results, schemas), one a line."""
        return "\n".join(s for request in self.requests for s in collect_strings(request.body))

    def reset(self) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()

    # -- lifecycle ----------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.sockets[0].getsockname()[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeLLMServer:
        """Start serving in a daemon thread; returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run_in_thread, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(timeout=5):
            raise RuntimeError("fake LLM server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run_in_thread(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self.serve())
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def serve(self) -> asyncio.Server:
        self._server = await asyncio.start_server(self._track_connection, "127.0.0.1", self.requested_port)
        return self._server

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def _track_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # client left, or shutdown cancelled us: the stream callback must see a clean end
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer requests on one keep-alive connection until the client closes it or a reply ends it."""
        while request := await _read_request(reader):
            self.requests.append(request)
            keep_open = await self._answer(request, writer)
            if not keep_open:
                return

    async def _answer(self, request: RecordedRequest, writer: asyncio.StreamWriter) -> bool:
        if request.method == "GET" and request.path == "/v1/models":
            await _write_response(writer, _json_response(200, {"object": "list", "data": [_model_entry()]}))
            return True
        if request.method != "POST" or request.path not in (OPENAI_PATH, ANTHROPIC_PATH):
            await _write_response(writer, _json_response(404, {"error": {"message": "not found"}}))
            return True
        reply = self._next_reply(request)
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply, Drop):
            return False
        if isinstance(reply, HTTPError):
            await _write_response(writer, _error_response(request.path, reply))
            return True
        if request.stream:
            await self._write_stream(request, reply, writer)
            return False
        await _write_response(writer, _json_response(200, self._completion(request, reply)))
        return True

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            item = self._script.popleft() if self._script else self.default
        if item is None:
            return HTTPError(500, "unscripted request")
        return item if isinstance(item, Reply) else item(request)

    def _completion(self, request: RecordedRequest, reply: Text | ToolCall) -> dict[str, Any]:
        call_id = f"call_{next(self._ids)}"
        if request.path == OPENAI_PATH:
            return _openai_completion(request, reply, call_id)
        return _anthropic_message(request, reply, call_id)

    async def _write_stream(
        self, request: RecordedRequest, reply: Text | ToolCall, writer: asyncio.StreamWriter
    ) -> None:
        """Send SSE events, then close the connection to end the body (no chunked encoding needed)."""
        call_id = f"call_{next(self._ids)}"
        if request.path == OPENAI_PATH:
            events = [(None, chunk) for chunk in _openai_chunks(request, reply, call_id)]
        else:
            events = _anthropic_events(request, reply, call_id)
        if reply.drop_after_chunks is not None:
            await _write_cut_stream(events, reply.drop_after_chunks, writer)
            return
        writer.write(SSE_HEAD)
        for event, data in events:
            writer.write(_sse(event, data))
            await writer.drain()
        if request.path == OPENAI_PATH:
            writer.write(b"data: [DONE]\n\n")
        await writer.drain()


def _sse(event: str | None, data: dict[str, Any]) -> bytes:
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {json.dumps(data)}\n\n".encode()


async def _write_cut_stream(
    events: list[tuple[str | None, dict[str, Any]]], sent: int, writer: asyncio.StreamWriter
) -> None:
    """Announce the whole body's length, send only the first `sent` events, then let the caller close.

    The declared content-length makes the client see an incomplete body (an error), not a short stream.
    """
    chunks = [_sse(event, data) for event, data in events]
    head = SSE_HEAD.replace(b"\r\n\r\n", f"\r\ncontent-length: {sum(map(len, chunks))}\r\n\r\n".encode())
    writer.write(head)
    for chunk in chunks[:sent]:
        writer.write(chunk)
        await writer.drain()


# -- HTTP framing -----------------------------------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _version = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    raw = await _read_body(reader, headers)
    body = json.loads(raw) if raw else None
    return RecordedRequest(method=method, path=target.split("?", 1)[0], headers=headers, body=body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        return b"".join(chunks)
    return await reader.readexactly(int(headers.get("content-length", "0")))


async def _write_response(writer: asyncio.StreamWriter, response: _HTTPResponse) -> None:
    headers = {"content-length": str(len(response.body)), "connection": "keep-alive", **response.headers}
    head = f"HTTP/1.1 {response.status} {_reason(response.status)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(head.encode() + b"\r\n" + response.body)
    await writer.drain()


def _reason(status: int) -> str:
    return {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}.get(
        status, "Status"
    )


def _json_response(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> _HTTPResponse:
    return _HTTPResponse(
        status, json.dumps(payload).encode(), {"content-type": "application/json", **(headers or {})}
    )


def _error_response(path: str, error: HTTPError) -> _HTTPResponse:
    if error.body is not None:
        payload = error.body
    elif path == ANTHROPIC_PATH:
        payload = {
            "type": "error",
            "error": {"type": _anthropic_error_type(error.status), "message": error.message},
        }
    else:
        payload = {"error": {"message": error.message, "type": "fake_error", "code": None}}
    return _json_response(error.status, payload, _retry_after_headers(error.retry_after))


def _retry_after_headers(seconds: float | None) -> dict[str, str]:
    """Whole seconds in `Retry-After` (HTTP has no fractions), exact ones in `retry-after-ms` (as OpenAI)."""
    if seconds is None:
        return {}
    return {"retry-after": str(math.ceil(seconds)), "retry-after-ms": f"{seconds * 1000:.0f}"}


def _anthropic_error_type(status: int) -> str:
    return {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}.get(
        status, "api_error"
    )


def _model_entry() -> dict[str, Any]:
    return {"id": "fake-model", "object": "model", "created": 0, "owned_by": "faultmaven-tests"}


# -- OpenAI chat completions ------------------------------------------------------------------------------


def _openai_usage() -> dict[str, int]:
    return {
        "prompt_tokens": FAKE_INPUT_TOKENS,
        "completion_tokens": FAKE_OUTPUT_TOKENS,
        "total_tokens": FAKE_INPUT_TOKENS + FAKE_OUTPUT_TOKENS,
    }


def _openai_envelope(request: RecordedRequest, kind: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": kind,
        "created": int(time.time()),
        "model": request.body.get("model"),
    }


def _openai_completion(request: RecordedRequest, reply: Text | ToolCall, call_id: str) -> dict[str, Any]:
    if isinstance(reply, Text):
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    else:
        function = {"name": reply.name, "arguments": reply.arguments}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        }
    choice = {"index": 0, "message": message, "finish_reason": _openai_finish_reason(reply)}
    return {**_openai_envelope(request, "chat.completion"), "choices": [choice], "usage": _openai_usage()}


def _openai_finish_reason(reply: Text | ToolCall) -> str:
    if reply.truncated:
        return "length"
    return "stop" if isinstance(reply, Text) else "tool_calls"


def _openai_chunks(request: RecordedRequest, reply: Text | ToolCall, call_id: str) -> list[dict[str, Any]]:
    """Role, content in two pieces, finish reason, then usage if `stream_options.include_usage` asks."""
    envelope = _openai_envelope(request, "chat.completion.chunk")

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {**envelope, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    if isinstance(reply, Text):
        half = len(reply.text) // 2
        pieces = [{"content": reply.text[:half]}, {"content": reply.text[half:]}]
    else:
        arguments = reply.arguments
        half = len(arguments) // 2
        start = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": reply.name, "arguments": ""},
        }
        pieces = [{"tool_calls": [start]}]
        pieces += [
            {"tool_calls": [{"index": 0, "function": {"arguments": part}}]}
            for part in (arguments[:half], arguments[half:])
        ]
    finish_reason = _openai_finish_reason(reply)
    chunks = [chunk({"role": "assistant", "content": ""}), *map(chunk, pieces), chunk({}, finish_reason)]
    if (request.body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**envelope, "choices": [], "usage": _openai_usage()})
    return chunks


# -- Anthropic messages -----------------------------------------------------------------------------------


def _anthropic_block(reply: Text | ToolCall, call_id: str) -> dict[str, Any]:
    if isinstance(reply, Text):
        return {"type": "text", "text": reply.text}
    return {"type": "tool_use", "id": f"toolu_{call_id}", "name": reply.name, "input": reply.args}


def _anthropic_stop_reason(reply: Text | ToolCall) -> str:
    if reply.truncated:
        return "max_tokens"
    return "end_turn" if isinstance(reply, Text) else "tool_use"


def _anthropic_message(request: RecordedRequest, reply: Text | ToolCall, call_id: str) -> dict[str, Any]:
    return {
        "id": f"msg_{call_id}",
        "type": "message",
        "role": "assistant",
        "model": request.body.get("model"),
        "content": [_anthropic_block(reply, call_id)],
        "stop_reason": _anthropic_stop_reason(reply),
        "stop_sequence": None,
        "usage": {"input_tokens": FAKE_INPUT_TOKENS, "output_tokens": FAKE_OUTPUT_TOKENS},
    }


def _anthropic_events(
    request: RecordedRequest, reply: Text | ToolCall, call_id: str
) -> list[tuple[str, dict[str, Any]]]:
    message = {**_anthropic_message(request, reply, call_id), "content": [], "stop_reason": None}
    message["usage"] = {"input_tokens": FAKE_INPUT_TOKENS, "output_tokens": 1}
    if isinstance(reply, Text):
        start_block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": reply.text}]
    else:
        start_block = {**_anthropic_block(reply, call_id), "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": reply.arguments}]
    stop = {"stop_reason": _anthropic_stop_reason(reply), "stop_sequence": None}
    return [
        ("message_start", {"type": "message_start", "message": message}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": start_block}),
        *[("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": d}) for d in deltas],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {"type": "message_delta", "delta": stop, "usage": {"output_tokens": FAKE_OUTPUT_TOKENS}},
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


# -- standalone -------------------------------------------------------------------------------------------


async def _serve_forever(port: int, latency_ms: int, answer: str) -> None:
    server = FakeLLMServer(port=port, default=Text(answer, delay=latency_ms / 1000))
    listening = await server.serve()
    print(f"fake LLM listening on {server.base_url}", flush=True)
    async with listening:
        await listening.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic-compatible LLM server for tests.")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--latency-ms", type=int, default=0, help="delay before every answer")
    parser.add_argument("--answer", default="The fake LLM answers: check the service logs.")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port, args.latency_ms, args.answer))


if __name__ == "__main__":
    main()
