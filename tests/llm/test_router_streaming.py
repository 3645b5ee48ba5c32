"""Streamed turns (`LLMCall.on_stream`) against fake OpenAI/Anthropic servers over real HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel
from pydantic_ai.messages import (
    AgentStreamEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
)

from faultmaven.infrastructure.llm.streaming import AnswerStream, visible_text
from faultmaven.models.interfaces import LLMCall, LLMProviderError, StreamEvent, ToolContext, ToolResult
from tests.fakes.fake_llm import FakeLLMServer, HTTPError, Text, ToolCall, structured
from tests.llm.support import EventLog, RouterFactory, spec_for


class Answer(BaseModel):
    content: str
    confidence: float


class SearchArgs(BaseModel):
    query: str


class SearchTool:
    name = "search_logs"
    description = "Search the attached logs."
    args_model = SearchArgs

    def __init__(self) -> None:
        self.executed: list[str] = []

    async def execute(self, context: ToolContext, args: BaseModel) -> ToolResult:
        assert isinstance(args, SearchArgs)
        self.executed.append(args.query)
        return ToolResult(text=f"3 matches for {args.query}: OOMKilled")


ANSWER = Answer(content="The pod is OOMKilled: raise its memory limit to 512Mi.", confidence=0.8)
BACKUP_ANSWER = Answer(content="Backup says: the node ran out of memory.", confidence=0.6)


class Screen(list[StreamEvent]):
    """A consumer that follows the rule: after a reset, drop the partial answer."""

    async def __call__(self, event: StreamEvent) -> None:
        self.append(event)

    @property
    def text(self) -> str:
        shown = ""
        for event in self:
            shown = "" if event.kind == "reset" else shown + event.data["text"]
        return shown

    @property
    def deltas(self) -> list[str]:
        return [e.data["text"] for e in self if e.kind == "text_delta"]

    @property
    def resets(self) -> list[dict[str, str]]:
        return [e.data for e in self if e.kind == "reset"]


def make_call(screen: Screen, tools: tuple[SearchTool, ...] = (), budget: float = 10.0) -> LLMCall:
    return LLMCall(
        instructions="You are FaultMaven.",
        prompt="Why does the pod restart?",
        output_type=Answer,
        tools=tools,
        tool_context=ToolContext(case_id="case-1", user_id="user-1"),
        time_budget_seconds=budget,
        on_stream=screen,
    )


async def test_structured_answer_streams_only_its_content(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    screen = Screen()
    primary.script(structured(ANSWER))
    router = make_router(spec_for("primary", primary))

    result = await router.generate(make_call(screen))

    assert result.output == ANSWER
    assert (result.provider, result.input_tokens, result.output_tokens) == ("primary", 11, 7)
    assert primary.model_requests[0].stream
    assert len(screen.deltas) >= 2
    assert "".join(screen.deltas) == ANSWER.content
    assert screen.resets == []
    assert not any("{" in delta or "confidence" in delta for delta in screen.deltas)


async def test_plain_text_answer_streams_its_text(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    screen = Screen()
    text = "The pod is OOMKilled; raise its memory limit."
    primary.script(Text(text))
    router = make_router(spec_for("local", primary))

    result = await router.generate(make_call(screen))

    assert result.output == text
    assert screen.deltas == [text[: len(text) // 2], text[len(text) // 2 :]], "the fake sends it in halves"


async def test_a_leading_think_block_is_not_shown(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    screen = Screen()
    primary.script(Text("<think>the user wants the cause</think>\nThe pod is OOMKilled."))
    router = make_router(spec_for("local", primary))

    await router.generate(make_call(screen))

    assert screen.text == "The pod is OOMKilled."
    assert not any("think" in delta or "user wants" in delta for delta in screen.deltas)


async def test_json_printed_as_text_shows_only_its_content(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    screen = Screen()
    primary.script(Text(ANSWER.model_dump_json()))
    router = make_router(spec_for("local", primary))

    await router.generate(make_call(screen))

    assert screen.text == ANSWER.content


async def test_anthropic_streaming(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    screen = Screen()
    primary.script(structured(ANSWER))
    router = make_router(spec_for("claude", primary, kind="anthropic"))

    result = await router.generate(make_call(screen))

    assert (result.provider, result.output) == ("claude", ANSWER)
    assert primary.model_requests[0].path == "/v1/messages" and primary.model_requests[0].stream
    assert screen.text == ANSWER.content and screen.resets == []


async def test_tool_call_then_streamed_answer(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    screen = Screen()
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), structured(ANSWER))
    router = make_router(spec_for("primary", primary))

    result = await router.generate(make_call(screen, tools=(tool,)))

    assert tool.executed == ["oom"]
    assert [c.name for c in result.tool_calls] == ["search_logs"]
    assert result.output == ANSWER
    assert "".join(screen.deltas) == ANSWER.content
    assert not any("oom" in delta for delta in screen.deltas)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("", None),
        ("<thi", None),
        ("<think>still thinking", None),
        ("<THINK>done</THINK>\n\nAnswer", "Answer"),
        ("<reasoning>x</reasoning>Answer", "Answer"),
        ("<EMAIL_1> sent it", "<EMAIL_1> sent it"),
        ("```js", None),
        ("```bash\nkubectl get pods", "```bash\nkubectl get pods"),
        ('```json\n{"content": "OOM', "OOM"),
        ('{"confidence": 0.5, "content": "OOM\\nKill', "OOM\nKill"),
        ("Plain answer", "Plain answer"),
    ],
)
def test_visible_text(raw: str, shown: str | None) -> None:
    assert visible_text(raw) == shown


async def test_text_before_a_tool_call_is_reset() -> None:
    """Unit level: the fake server cannot send text and a tool call in one response."""
    screen = Screen()
    answer = AnswerStream(screen, lambda: "claude")
    preamble = [
        PartStartEvent(index=0, part=TextPart("Let me search ")),
        PartDeltaEvent(index=0, delta=TextPartDelta("the logs.")),
        PartStartEvent(index=1, part=ToolCallPart("search_logs", '{"query": "oom"}')),
    ]
    final = [
        PartStartEvent(index=0, part=ToolCallPart("final_result", '{"content": "OOM')),
        PartDeltaEvent(index=0, delta=ToolCallPartDelta(args_delta='Killed", "confidence": 0.8}')),
    ]

    for events in (preamble, final):
        await answer.consume(_aiter(events))

    assert screen.deltas == ["Let me search ", "the logs.", "OOM", "Killed"]
    assert screen.resets == [{"provider": "claude", "reason": "superseded"}]
    assert screen.text == "OOMKilled"


async def _aiter(events: list[AgentStreamEvent]) -> AsyncIterator[AgentStreamEvent]:
    for event in events:
        yield event


async def test_mid_stream_failure_resets_then_streams_the_backup_answer(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory, events: EventLog
) -> None:
    screen = Screen()
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), structured(ANSWER, drop_after_chunks=3))
    backup.script(structured(BACKUP_ANSWER))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    result = await router.generate(make_call(screen, tools=(tool,)))

    assert (result.provider, result.output) == ("backup", BACKUP_ANSWER)
    kinds = [e.kind for e in screen]
    first_reset = kinds.index("reset")
    assert "text_delta" in kinds[:first_reset], "the primary's partial answer was shown before it died"
    assert screen.resets == [{"provider": "primary", "reason": "connection error"}]
    assert screen.text == BACKUP_ANSWER.content
    assert tool.executed == ["oom"]
    assert "3 matches for oom: OOMKilled" in backup.all_text()
    assert events.named("failover") == [{"from": "primary", "to": "backup", "reason": "connection"}]
    assert [e["outcome"] for e in events.named("llm_call")] == ["success", "connection", "success"]
    assert (result.input_tokens, result.output_tokens) == (22, 14), "usage of both runs, broken one unbilled"


async def test_request_limit_spans_the_restart(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), structured(ANSWER, drop_after_chunks=3))
    backup.default = ToolCall("search_logs", {"query": "oom"})
    router = make_router(spec_for("primary", primary), spec_for("backup", backup), request_limit=3)

    with pytest.raises(LLMProviderError, match="did not finish within 3 requests"):
        await router.generate(make_call(Screen(), tools=(tool,)))

    assert len(backup.model_requests) == 1
    assert tool.executed == ["oom"], "the identical call on the backup is answered from the first result"


async def test_mid_stream_failure_of_plain_text(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    screen = Screen()
    partial = "The primary starts answering and then"
    primary.script(Text(partial, drop_after_chunks=2))
    backup.script(Text("The backup answers in full."))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup, kind="anthropic"))

    result = await router.generate(make_call(screen))

    assert (result.provider, result.output) == ("backup", "The backup answers in full.")
    assert screen.deltas[0] == partial[: len(partial) // 2]
    assert screen.text == "The backup answers in full."


async def test_every_provider_dying_mid_stream_raises(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    screen = Screen()
    primary.script(structured(ANSWER, drop_after_chunks=3))
    backup.script(structured(BACKUP_ANSWER, drop_after_chunks=3))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    with pytest.raises(LLMProviderError) as raised:
        await router.generate(make_call(screen))

    assert raised.value.reasons == {"primary": "connection error", "backup": "connection error"}
    assert [r["provider"] for r in screen.resets] == ["primary", "backup"]


async def test_a_failing_consumer_is_not_blamed_on_the_provider(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    async def broken_screen(event: StreamEvent) -> None:
        raise ConnectionResetError("the browser went away")

    primary.script(structured(ANSWER))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup), failure_threshold=1)
    call = make_call(Screen())
    call.on_stream = broken_screen

    with pytest.raises(ConnectionResetError):
        await router.generate(call)

    assert backup.requests == []
    assert router.health()[0].circuit_state == "closed"


async def test_failure_before_the_stream_fails_over_without_reset(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    screen = Screen()
    primary.script(HTTPError(503))
    backup.script(structured(BACKUP_ANSWER))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    result = await router.generate(make_call(screen))

    assert result.provider == "backup"
    assert screen.resets == [] and screen.text == BACKUP_ANSWER.content


async def test_breaker_counts_streamed_failures_and_skips_an_open_provider(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory, events: EventLog
) -> None:
    primary.script(structured(ANSWER, drop_after_chunks=3), HTTPError(500))
    backup.default = structured(BACKUP_ANSWER)
    router = make_router(spec_for("primary", primary), spec_for("backup", backup), failure_threshold=2)

    for _ in range(2):
        assert (await router.generate(make_call(Screen()))).provider == "backup"
    assert [h.circuit_state for h in router.health()] == ["open", "closed"]

    screen = Screen()
    result = await router.generate(make_call(screen))

    assert result.provider == "backup"
    assert len(primary.model_requests) == 2
    assert events.named("failover")[-1] == {"from": "primary", "to": "backup", "reason": "circuit_open"}
    assert screen.resets == []


async def test_time_budget_cuts_off_a_stalled_stream(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(Text("slow", delay=3.0))
    router = make_router(spec_for("primary", primary, timeout=10), spec_for("backup", backup))

    started = time.monotonic()
    with pytest.raises(LLMProviderError) as raised:
        await router.generate(make_call(Screen(), budget=0.5))

    assert time.monotonic() - started < 1.0
    assert backup.requests == []
    assert str(raised.value) == "time budget of 0.5s exhausted"
    assert raised.value.reasons == {
        "primary": "cut off at the time budget",
        "backup": "time budget exhausted",
    }


async def test_time_budget_cuts_off_a_stream_in_progress(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    """A slow consumer makes the stream outlive the budget: the next pull after the deadline is cut off."""
    screen = Screen()

    async def slow_screen(event: StreamEvent) -> None:
        await screen(event)
        if event.kind == "text_delta":
            await asyncio.sleep(0.3)

    primary.script(structured(ANSWER))
    router = make_router(spec_for("primary", primary, timeout=10), spec_for("backup", backup))
    call = make_call(screen, budget=0.5)
    call.on_stream = slow_screen

    started = time.monotonic()
    with pytest.raises(LLMProviderError) as raised:
        await router.generate(call)

    assert time.monotonic() - started < 1.0
    assert backup.requests == []
    assert len(screen.deltas) == 2
    assert screen.resets == [{"provider": "primary", "reason": "cut off at the time budget"}]
    assert raised.value.reasons == {
        "primary": "cut off at the time budget",
        "backup": "time budget exhausted",
    }
