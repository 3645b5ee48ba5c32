"""LLMRouter against fake OpenAI/Anthropic servers over real HTTP: tools, failover, breakers, budget."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from pydantic import BaseModel

from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.models.interfaces import LLMCall, LLMProviderError, ToolContext, ToolResult
from tests.fakes.fake_llm import Drop, FakeLLMServer, HTTPError, RecordedRequest, Text, ToolCall, structured
from tests.llm.support import EventLog, FakeClock, RouterFactory, spec_for


class Diagnosis(BaseModel):
    root_cause: str
    confidence: float


class SearchArgs(BaseModel):
    query: str


class SearchTool:
    """A BaseTool that counts its executions."""

    name = "search_logs"
    description = "Search the attached logs."
    args_model = SearchArgs

    def __init__(self) -> None:
        self.executed: list[str] = []

    async def execute(self, context: ToolContext, args: BaseModel) -> ToolResult:
        assert isinstance(args, SearchArgs)
        self.executed.append(args.query)
        return ToolResult(text=f"3 matches for {args.query}: OOMKilled")


DIAGNOSIS = Diagnosis(root_cause="memory leak", confidence=0.8)


def make_call(tools: tuple[SearchTool, ...] = (), budget: float = 10.0) -> LLMCall:
    return LLMCall(
        instructions="You are FaultMaven.",
        prompt="Why does the pod restart?",
        output_type=Diagnosis,
        tools=tools,
        tool_context=ToolContext(case_id="case-1", user_id="user-1"),
        time_budget_seconds=budget,
    )


def tool_messages(server: FakeLLMServer) -> list[str]:
    """Contents of the `role: tool` messages the OpenAI wire carried, across all requests."""
    return [m["content"] for r in server.model_requests for m in r.body["messages"] if m["role"] == "tool"]


async def test_structured_answer_from_first_provider(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    result = await router.generate(make_call())

    assert result.output == DIAGNOSIS
    assert (result.provider, result.model) == ("primary", "primary-model")
    assert (result.input_tokens, result.output_tokens) == (11, 7)
    assert backup.requests == []
    request = primary.model_requests[0]
    assert request.headers["authorization"] == "Bearer sk-primary-secret"
    assert "You are FaultMaven." in primary.all_text() and "Why does the pod restart?" in primary.all_text()


async def test_anthropic_wire(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    primary.script(structured(DIAGNOSIS))
    router = make_router(spec_for("claude", primary, kind="anthropic"))

    result = await router.generate(make_call())

    assert result.output == DIAGNOSIS
    assert result.provider == "claude"
    assert primary.model_requests[0].path == "/v1/messages"
    assert primary.model_requests[0].headers["authorization"] == "Bearer sk-claude-secret"


async def test_plain_text_answer_is_accepted(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    primary.script(Text("The pod is OOMKilled; raise its memory limit."))
    router = make_router(spec_for("local", primary))

    result = await router.generate(make_call())

    assert result.output == "The pod is OOMKilled; raise its memory limit."


async def test_tool_call_runs_once_and_its_result_reaches_the_model(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary))

    result = await router.generate(make_call(tools=(tool,)))

    assert tool.executed == ["oom"]
    assert [(c.name, c.args) for c in result.tool_calls] == [("search_logs", {"query": "oom"})]
    assert tool_messages(primary) == ["3 matches for oom: OOMKilled"]
    assert result.output == DIAGNOSIS


async def test_identical_repeated_tool_call_is_answered_from_the_first_result(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    repeat = ToolCall("search_logs", {"query": "oom"})
    primary.script(repeat, repeat, structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary))

    result = await router.generate(make_call(tools=(tool,)))

    assert tool.executed == ["oom"]
    assert len(result.tool_calls) == 1
    assert tool_messages(primary)[-1] == "3 matches for oom: OOMKilled"


async def test_invalid_tool_arguments_go_back_to_the_model(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"q": "oom"}), structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary))

    result = await router.generate(make_call(tools=(tool,)))

    assert tool.executed == []
    assert result.tool_calls == []
    assert "Invalid arguments for search_logs" in primary.all_text()


@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (HTTPError(500), "server_error"),
        (HTTPError(429, retry_after=30), "rate_limited"),
        (HTTPError(401, "bad key"), "auth"),
        (Text("too late", delay=2.0), "timeout"),
        (Drop(), "connection"),
    ],
)
async def test_failover_to_the_next_provider(
    primary: FakeLLMServer,
    backup: FakeLLMServer,
    make_router: RouterFactory,
    events: EventLog,
    failure: HTTPError | Text | Drop,
    kind: str,
) -> None:
    primary.script(failure)
    backup.script(structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary, timeout=0.3), spec_for("backup", backup))

    result = await router.generate(make_call())

    assert (result.provider, result.output) == ("backup", DIAGNOSIS)
    assert len(primary.model_requests) == 1
    assert events.named("failover") == [{"from": "primary", "to": "backup", "reason": kind}]
    primary_calls = [e for e in events.named("llm_call") if e["provider"] == "primary"]
    assert [e["outcome"] for e in primary_calls] == [kind]


async def test_retry_honours_retry_after(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    primary.script(HTTPError(429, retry_after=0.3), structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary), max_retries=1)

    started = time.monotonic()
    result = await router.generate(make_call())

    assert result.provider == "primary"
    assert time.monotonic() - started >= 0.3
    assert len(primary.model_requests) == 2


async def test_retry_after_beyond_the_cap_fails_over_at_once(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(HTTPError(429, retry_after=60))
    backup.script(structured(DIAGNOSIS))
    router = make_router(
        spec_for("primary", primary), spec_for("backup", backup), max_retries=1, retry_after_cap_seconds=5
    )

    started = time.monotonic()
    result = await router.generate(make_call())

    assert result.provider == "backup"
    assert time.monotonic() - started < 2
    assert len(primary.model_requests) == 1


async def test_bad_request_is_not_retried_and_does_not_open_the_breaker(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(HTTPError(400, "bad schema"))
    backup.script(structured(DIAGNOSIS))
    router = make_router(
        spec_for("primary", primary), spec_for("backup", backup), failure_threshold=1, max_retries=1
    )

    result = await router.generate(make_call())

    assert result.provider == "backup"
    assert len(primary.model_requests) == 1
    assert router.health()[0].circuit_state == "closed"


async def test_open_breaker_skips_the_dead_provider_without_waiting(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory, events: EventLog
) -> None:
    primary.default = Text("never in time", delay=1.0)
    backup.script(structured(DIAGNOSIS), structured(DIAGNOSIS), structured(DIAGNOSIS))
    router = make_router(
        spec_for("primary", primary, timeout=0.2), spec_for("backup", backup), failure_threshold=2
    )

    for _ in range(2):
        assert (await router.generate(make_call())).provider == "backup"
    assert [h.circuit_state for h in router.health()] == ["open", "closed"]
    assert {"provider": "primary", "state": "open"} in events.named("circuit_state")

    started = time.monotonic()
    result = await router.generate(make_call())

    assert result.provider == "backup"
    assert time.monotonic() - started < 0.15
    assert len(primary.model_requests) == 2
    assert events.named("failover")[-1] == {"from": "primary", "to": "backup", "reason": "circuit_open"}


async def test_half_open_probe_closes_the_breaker_on_success(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    clock = FakeClock()
    primary.script(HTTPError(503), structured(DIAGNOSIS))
    backup.script(structured(DIAGNOSIS), structured(DIAGNOSIS))
    router = make_router(
        spec_for("primary", primary),
        spec_for("backup", backup),
        failure_threshold=1,
        cooldown_seconds=30,
        clock=clock,
    )

    assert (await router.generate(make_call())).provider == "backup"
    assert router.health()[0].circuit_state == "open"
    assert (await router.generate(make_call())).provider == "backup"
    assert len(primary.model_requests) == 1

    clock.now += 31
    assert router.health()[0].circuit_state == "half_open"
    assert (await router.generate(make_call())).provider == "primary"
    assert router.health()[0].circuit_state == "closed"


async def test_failed_half_open_probe_reopens_the_breaker(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    clock = FakeClock()
    primary.script(HTTPError(500), HTTPError(500))
    backup.script(structured(DIAGNOSIS), structured(DIAGNOSIS))
    router = make_router(
        spec_for("primary", primary),
        spec_for("backup", backup),
        failure_threshold=1,
        cooldown_seconds=30,
        clock=clock,
    )
    await router.generate(make_call())

    clock.now += 31
    assert (await router.generate(make_call())).provider == "backup"

    assert len(primary.model_requests) == 2
    assert router.health()[0].circuit_state == "open"


async def test_all_providers_down_raises_with_reasons_per_provider(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(HTTPError(500))
    backup.script(HTTPError(429, retry_after=60))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    with pytest.raises(LLMProviderError) as raised:
        await router.generate(make_call())

    assert raised.value.reasons == {"primary": "500 server error", "backup": "429 rate limited"}


async def test_open_breakers_everywhere_fail_fast(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    primary.script(HTTPError(500))
    router = make_router(spec_for("primary", primary), failure_threshold=1)
    with pytest.raises(LLMProviderError):
        await router.generate(make_call())

    with pytest.raises(LLMProviderError) as raised:
        await router.generate(make_call())

    assert raised.value.reasons == {"primary": "circuit open"}
    assert len(primary.model_requests) == 1


async def test_no_provider_configured() -> None:
    router = LLMRouter([])

    assert router.configured is False
    assert router.health() == []
    with pytest.raises(LLMProviderError, match="no LLM provider configured"):
        await router.generate(make_call())


async def test_time_budget_cuts_off_the_request_in_flight_and_starts_no_other(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(Text("slow", delay=3.0))
    router = make_router(spec_for("primary", primary, timeout=10), spec_for("backup", backup))

    started = time.monotonic()
    with pytest.raises(LLMProviderError) as raised:
        await router.generate(make_call(budget=0.5))

    assert time.monotonic() - started < 1.0
    assert backup.requests == []
    assert str(raised.value) == "time budget of 0.5s exhausted"
    assert raised.value.reasons == {
        "primary": "cut off at the time budget",
        "backup": "time budget exhausted",
    }


async def test_failover_mid_turn_does_not_repeat_an_executed_tool_call(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), HTTPError(502))
    backup.script(structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    result = await router.generate(make_call(tools=(tool,)))

    assert tool.executed == ["oom"]
    assert result.provider == "backup"
    assert tool_messages(backup) == ["3 matches for oom: OOMKilled"]


async def test_anthropic_backup_continues_an_openai_tool_loop(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory
) -> None:
    tool = SearchTool()
    primary.script(ToolCall("search_logs", {"query": "oom"}), HTTPError(500))
    backup.script(structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup, kind="anthropic"))

    result = await router.generate(make_call(tools=(tool,)))

    assert (result.provider, result.output) == ("backup", DIAGNOSIS)
    assert tool.executed == ["oom"]
    assert "3 matches for oom: OOMKilled" in backup.all_text()


async def test_events_never_carry_prompt_text(
    primary: FakeLLMServer, backup: FakeLLMServer, make_router: RouterFactory, events: EventLog
) -> None:
    primary.script(HTTPError(500))
    backup.script(structured(DIAGNOSIS))
    router = make_router(spec_for("primary", primary), spec_for("backup", backup))

    await router.generate(make_call())

    dumped = json.dumps(events)
    assert "pod restart" not in dumped and "FaultMaven" not in dumped
    assert {e["outcome"] for e in events.named("llm_call")} == {"server_error", "success"}
    success = events.named("llm_call")[-1]
    assert (success["provider"], success["input_tokens"], success["output_tokens"]) == ("backup", 11, 7)


async def test_concurrent_turns_are_independent(primary: FakeLLMServer, make_router: RouterFactory) -> None:
    tool = SearchTool()

    def reply(request: RecordedRequest) -> ToolCall:
        answered_tool = any(m["role"] == "tool" for m in request.body["messages"])
        return (
            structured(DIAGNOSIS, delay=0.05) if answered_tool else ToolCall("search_logs", {"query": "oom"})
        )

    primary.default = reply
    router = make_router(spec_for("primary", primary))

    results = await asyncio.gather(*(router.generate(make_call(tools=(tool,))) for _ in range(30)))

    assert all(r.output == DIAGNOSIS and len(r.tool_calls) == 1 for r in results)
    assert len(tool.executed) == 30
    assert len(primary.model_requests) == 60
