"""The fake LLM server speaks the wire formats the real SDKs expect, streamed or not, 50 requests at once."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from anthropic import AsyncAnthropic
from openai import AsyncOpenAI

from tests.fakes.fake_llm import FakeLLMServer, HTTPError, RecordedRequest, Text, ToolCall

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_MESSAGE = [{"role": "user", "content": "hello"}]


def openai_client(server: FakeLLMServer) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)


async def test_openai_streamed_text_with_usage(primary: FakeLLMServer) -> None:
    primary.script(Text("disk is full"))

    async with openai_client(primary) as client:
        stream = await client.chat.completions.create(
            model="m", messages=USER_MESSAGE, stream=True, stream_options={"include_usage": True}
        )
        chunks = [chunk async for chunk in stream]

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "disk is full"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7


async def test_openai_streamed_tool_call_deltas(primary: FakeLLMServer) -> None:
    primary.script(ToolCall("search_logs", {"query": "oom"}))

    stream = await openai_client(primary).chat.completions.create(
        model="m", messages=USER_MESSAGE, stream=True
    )
    deltas = [c.choices[0].delta.tool_calls for c in [chunk async for chunk in stream] if c.choices]

    calls = [call for delta in deltas if delta for call in delta]
    assert calls[0].function.name == "search_logs"
    assert json.loads("".join(call.function.arguments or "" for call in calls)) == {"query": "oom"}


async def test_openai_non_streamed_tool_call(primary: FakeLLMServer) -> None:
    primary.script(ToolCall("search_logs", {"query": "oom"}))

    async with openai_client(primary) as client:
        completion = await client.chat.completions.create(model="m", messages=USER_MESSAGE)

    (call,) = completion.choices[0].message.tool_calls or []
    assert (call.function.name, json.loads(call.function.arguments)) == ("search_logs", {"query": "oom"})
    assert completion.choices[0].finish_reason == "tool_calls"


async def test_anthropic_streamed_tool_use(primary: FakeLLMServer) -> None:
    primary.script(ToolCall("search_logs", {"query": "oom"}))
    client = AsyncAnthropic(base_url=primary.base_url.removesuffix("/v1"), api_key="sk-test", max_retries=0)

    async with client, client.messages.stream(model="m", max_tokens=100, messages=USER_MESSAGE) as stream:
        message = await stream.get_final_message()

    (block,) = message.content
    assert (block.type, block.name, block.input) == ("tool_use", "search_logs", {"query": "oom"})
    assert message.usage.output_tokens == 7


async def test_unscripted_request_answers_500_and_everything_is_recorded(primary: FakeLLMServer) -> None:
    async with httpx.AsyncClient() as client:
        models = await client.get(f"{primary.base_url}/models")
        response = await client.post(f"{primary.base_url}/chat/completions", json={"messages": USER_MESSAGE})

    assert models.json()["data"][0]["id"] == "fake-model"
    assert response.status_code == 500 and "unscripted request" in response.text
    assert [r.path for r in primary.requests] == ["/v1/models", "/v1/chat/completions"]
    assert primary.all_text() == "user\nhello"


async def test_responder_sees_the_request(primary: FakeLLMServer) -> None:
    def echo(request: RecordedRequest) -> Text | HTTPError:
        return Text(f"you said {request.body['messages'][-1]['content']}")

    primary.script(echo)
    async with openai_client(primary) as client:
        completion = await client.chat.completions.create(model="m", messages=USER_MESSAGE)

    assert completion.choices[0].message.content == "you said hello"


async def test_fifty_concurrent_requests_are_served_in_parallel() -> None:
    with FakeLLMServer(default=Text("ok", delay=0.2)) as server:
        async with openai_client(server) as client:
            started = time.monotonic()
            requests = (client.chat.completions.create(model="m", messages=USER_MESSAGE) for _ in range(50))
            answers = await asyncio.gather(*requests)

    assert {a.choices[0].message.content for a in answers} == {"ok"}
    assert time.monotonic() - started < 2


def test_standalone_process_answers_after_the_latency() -> None:
    command = [
        sys.executable,
        "-m",
        "tests.fakes.fake_llm",
        "--port",
        "0",
        "--latency-ms",
        "50",
        "--answer",
        "fine",
    ]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().split()[-1]
            started = time.monotonic()
            response = httpx.post(
                f"{base_url}/chat/completions", json={"model": "m", "messages": USER_MESSAGE}
            )
            assert time.monotonic() - started >= 0.05
            assert response.json()["choices"][0]["message"]["content"] == "fine"
        finally:
            process.terminate()
