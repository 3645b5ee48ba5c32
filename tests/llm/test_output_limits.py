"""The router on answers cut off at the output-token cap (both wires, streamed or not), the per-provider cap
sent as `max_tokens`, invalid output reported as such, the text-only plan, and their settings' parsing."""

from __future__ import annotations

import dataclasses

import pytest

from faultmaven.infrastructure.llm.config import parse_providers
from faultmaven.models.interfaces import InvalidModelOutputError, LLMCall, StreamEvent
from tests.fakes.fake_llm import FakeLLMServer, Text, ToolCall, structured
from tests.llm.support import RouterFactory, spec_for
from tests.llm.test_router import DIAGNOSIS, make_call


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_text_answer_cut_at_the_cap_is_marked_truncated(
    kind: str, primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(Text("The pod is OOMKilled because", truncated=True))
    router = make_router(spec_for("p", primary, kind=kind))  # type: ignore[arg-type]
    result = await router.generate(make_call())
    assert result.truncated is True and result.output == "The pod is OOMKilled because"


async def test_a_streamed_answer_cut_at_the_cap_is_marked_truncated(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    shown: list[StreamEvent] = []

    async def collect(event: StreamEvent) -> None:
        shown.append(event)

    primary.script(Text("The pod is OOMKilled because", truncated=True))
    router = make_router(spec_for("p", primary))
    result = await router.generate(dataclasses.replace(make_call(), on_stream=collect))
    assert result.truncated is True
    assert "".join(e.data.get("text", "") for e in shown) == "The pod is OOMKilled because"


async def test_a_cut_structured_answer_keeps_its_partial_content(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(structured({"root_cause": "a memory leak in the image resizer " * 4, "confidence": 0.5},
                              truncated=True))
    router = make_router(spec_for("p", primary))
    result = await router.generate(make_call())
    assert result.truncated is True and isinstance(result.output, str)


async def test_a_complete_answer_is_not_truncated_and_no_cap_is_sent_by_default(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(structured(DIAGNOSIS))
    router = make_router(spec_for("p", primary))
    result = await router.generate(make_call())
    assert result.truncated is False
    assert "max_tokens" not in primary.model_requests[0].body


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_the_providers_cap_is_sent_as_max_tokens(
    kind: str, primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(structured(DIAGNOSIS))
    spec = dataclasses.replace(spec_for("p", primary, kind=kind), max_output_tokens=256)  # type: ignore[arg-type]
    await make_router(spec).generate(make_call())
    body = primary.model_requests[0].body
    assert 256 in (body.get("max_tokens"), body.get("max_completion_tokens"))


async def test_invalid_output_after_the_retry_says_what_was_invalid(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(ToolCall("no_such_tool", {}), ToolCall("no_such_tool", {}))
    router = make_router(spec_for("p", primary))
    with pytest.raises(InvalidModelOutputError) as raised:
        await router.generate(make_call())
    assert "no_such_tool" in raised.value.reasons["p"]


async def test_a_text_only_call_sends_no_output_tool(
    primary: FakeLLMServer, make_router: RouterFactory
) -> None:
    primary.script(Text("OOMKilled."))
    call = LLMCall(instructions="Be brief.", prompt="Why?", output_type=str)
    result = await make_router(spec_for("p", primary)).generate(call)
    assert result.output == "OOMKilled."
    assert not primary.model_requests[0].body.get("tools")


def test_output_cap_and_profile_are_parsed_per_alias() -> None:
    environ = {
        "FAULTMAVEN_LLM_PROVIDERS": "local=openai:smollm2,cloud=openai:gpt-4.1-mini",
        "FAULTMAVEN_LLM_LOCAL_MAX_OUTPUT_TOKENS": "512",
        "FAULTMAVEN_LLM_LOCAL_PROFILE": "Compact",
        "FAULTMAVEN_LLM_CLOUD_API_KEY": "sk",
    }
    local, cloud = parse_providers(environ)
    assert (local.max_output_tokens, local.profile) == (512, "compact")
    assert (cloud.max_output_tokens, cloud.profile) == (None, "default")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("MAX_OUTPUT_TOKENS", "0", "positive whole number"), ("MAX_OUTPUT_TOKENS", "1.5", "positive whole"),
     ("PROFILE", "tiny", "is not a profile")],
)
def test_bad_output_cap_or_profile_is_rejected(name: str, value: str, message: str) -> None:
    environ = {"FAULTMAVEN_LLM_PROVIDERS": "local=ollama:llama3.1", f"FAULTMAVEN_LLM_LOCAL_{name}": value}
    with pytest.raises(ValueError, match=message):
        parse_providers(environ)
