"""Answers you can trust with any model (issue 15, findings 1-4), through the HTTP API on the fake LLM:
only placeholders this turn sent are restored; a truncated answer says so; invalid model output is its own
degraded reason and degraded texts are not fed back as the agent's turns; echoes are flagged."""

from __future__ import annotations

import json
import re

import httpx

from faultmaven.infrastructure.security.sanitizer import PLACEHOLDER_PATTERN
from faultmaven.services.agent.output import AGENT_INSTRUCTIONS
from tests.conftest import llm_environ
from tests.evidence.support import upload_file
from tests.fakes.fake_llm import RecordedRequest, Text, ToolCall, structured

LOG = "\n".join(
    [
        "2026-03-02T10:00:00Z INFO gateway started",
        "2026-03-02T10:00:01Z WARN connection refused from 10.20.30.41 port 5432",
        "2026-03-02T10:00:02Z WARN connection refused from 10.20.30.42 port 5432",
        "2026-03-02T10:00:03Z INFO retrying",
    ]
)


async def _case_with_log(http: httpx.AsyncClient) -> str:
    case = await http.post("/api/v1/cases", json={"title": "Gateway refusals"})
    case_id = case.json()["case"]["case_id"]
    uploaded = await upload_file(http, case_id, "gateway.log", LOG.encode())
    assert uploaded.status_code == 201, uploaded.text
    return case_id


async def _case_on_fake_llm(app_with, fake_llm, **environ: str) -> tuple[httpx.AsyncClient, str]:
    """A server whose one provider is the fake LLM (with `environ` added), and a case with the log."""
    providers, llm = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ={**llm, **environ})
    return http, await _case_with_log(http)


async def _ask(http: httpx.AsyncClient, case_id: str, query: str) -> dict:
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": query})
    assert response.status_code == 201, response.text
    return response.json()


def _last_tool_text(request: RecordedRequest) -> str:
    return "\n".join(str(m.get("content")) for m in request.body["messages"] if m.get("role") == "tool")


# -- finding 1: restore only what was sent ---------------------------------------------------------------


async def test_a_placeholder_the_model_invents_is_not_restored(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("| host | refusals |\n|---|---|\n| <IP_ADDRESS_2> | 40 |\n| <IP_ADDRESS_1> | 12 |"))
    body = await _ask(http, case_id, "Which hosts are the top offenders?")
    assert "10.20.30.4" not in fake_llm.all_text()
    assert "<IP_ADDRESS_2>" in body["content"] and "<IP_ADDRESS_1>" in body["content"]
    assert "10.20.30.41" not in body["content"] and "10.20.30.42" not in body["content"]


async def test_a_placeholder_sent_in_this_turn_is_restored(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)

    def cite_what_the_tool_showed(request: RecordedRequest) -> ToolCall:
        seen = re.findall(r"<IP_ADDRESS_\d+>", _last_tool_text(request))
        return structured({"content": f"Refused: {', '.join(seen)} (host <IP_ADDRESS_9>)."})

    fake_llm.script(ToolCall("search_case_evidence", {"query": "refused"}), cite_what_the_tool_showed)
    body = await _ask(http, case_id, "Which hosts were refused?")
    assert "10.20.30.41" in body["content"] and "10.20.30.42" in body["content"]
    assert "<IP_ADDRESS_9>" in body["content"]


async def test_instructions_and_schemas_hold_no_placeholder_shaped_example(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("Check the gateway's database connection."))
    await _ask(http, case_id, "What next?")
    body = fake_llm.model_requests[0].body
    system = [m["content"] for m in body["messages"] if m["role"] == "system"]
    assert system and AGENT_INSTRUCTIONS.strip() in "\n".join(system)
    assert PLACEHOLDER_PATTERN.search(json.dumps([system, body.get("tools")])) is None


# -- finding 2: truncation -------------------------------------------------------------------------------


async def test_a_truncated_answer_is_marked_and_says_so(app_with, fake_llm) -> None:
    cap = {"FAULTMAVEN_LLM_PRIMARY_MAX_OUTPUT_TOKENS": "321"}
    http, case_id = await _case_on_fake_llm(app_with, fake_llm, **cap)
    fake_llm.script(Text("The database refuses connections because the pool", truncated=True))
    body = await _ask(http, case_id, "Why are connections refused?")
    assert body["metadata"]["truncated"] is True
    assert body["metadata"]["degraded"] is False
    assert "truncated" in body["metadata"]["quality_flags"]
    assert body["content"].startswith("The database refuses connections because the pool")
    assert "cut off" in body["content"]
    sent = fake_llm.model_requests[0].body
    assert 321 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))


async def test_the_stored_agent_message_keeps_the_trust_flags(app_with, fake_llm) -> None:
    """After a reload the conversation still says the answer was cut off."""
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("The database refuses connections because the pool", truncated=True))
    await _ask(http, case_id, "Why are connections refused?")
    messages = (await http.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    stored = [m for m in messages if m["message_type"] == "agent_response"][-1]
    assert stored["metadata"]["truncated"] is True
    assert "truncated" in stored["metadata"]["quality_flags"]


async def test_a_truncated_structured_answer_keeps_what_was_written(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    content = "The database on port 5432 refuses connections: its max_connections is reached. " * 3
    fake_llm.script(structured({"content": content, "response_type": "ANSWER"}, truncated=True))
    body = await _ask(http, case_id, "Why are connections refused?")
    assert body["metadata"]["truncated"] is True and body["metadata"]["degraded"] is False
    assert body["content"].startswith("The database on port 5432 refuses connections")
    assert "cut off" in body["content"]
    assert fake_llm.model_requests[0].body.get("max_tokens") is None


async def test_a_complete_answer_is_not_marked(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(structured({"content": "Port 5432 refuses: check the database's max_connections."}))
    body = await _ask(http, case_id, "Why are connections refused?")
    assert body["metadata"]["truncated"] is False and body["metadata"]["quality_flags"] == []
    assert "cut off" not in body["content"]


# -- finding 3: invalid model output ---------------------------------------------------------------------


async def test_invalid_tool_calls_are_their_own_degraded_reason(app_with, fake_llm, capsys) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(ToolCall("search_everything", {"q": 1}), ToolCall("search_everything", {"q": 2}))
    body = await _ask(http, case_id, "Why are connections refused?")
    metadata = body["metadata"]
    assert metadata["degraded"] is True and metadata["degraded_reason"] == "invalid_model_output"
    assert "search_everything" in metadata["provider_errors"]["primary"]
    assert "output could not be used" in body["content"]
    assert "every configured LLM provider failed" not in body["content"]
    assert "ask again in a moment" not in body["content"]
    logged = capsys.readouterr()
    assert "LLM output invalid" in logged.out + logged.err and "search_everything" in logged.out + logged.err


async def test_degraded_answers_are_not_fed_back_as_the_agents_turns(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(ToolCall("search_everything", {}), ToolCall("search_everything", {}))
    degraded = await _ask(http, case_id, "First question about port 5432")
    assert degraded["metadata"]["degraded"] is True
    fake_llm.reset()
    fake_llm.script(Text("Check max_connections on the database."))
    await _ask(http, case_id, "Second question")
    prompt = fake_llm.all_text()
    assert "First question about port 5432" in prompt
    assert "output could not be used" not in prompt and "built without AI" not in prompt


async def test_an_empty_answer_is_invalid_model_output(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("<think>hmm</think>"), Text("```\n```"))
    for _ in range(2):
        body = await _ask(http, case_id, "Why?")
        assert body["metadata"]["degraded_reason"] == "invalid_model_output"
        assert "empty answer" in body["metadata"]["provider_errors"]["primary"]


# -- finding 4: echo and junk ----------------------------------------------------------------------------


async def test_an_answer_reciting_the_prompt_is_flagged(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("First I looked at port 5432 and the gateway refusals since this morning."))
    await _ask(http, case_id, "First I looked at port 5432 and the gateway refusals since this morning.")

    def recite(request: RecordedRequest) -> Text:
        users = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
        return Text(str(users[-1]))

    fake_llm.script(recite)
    body = await _ask(http, case_id, "What should I check next on the gateway?")
    assert body["metadata"]["degraded"] is False
    assert "echoes_prompt" in body["metadata"]["quality_flags"]


async def test_an_answer_reciting_the_instructions_is_flagged(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text(AGENT_INSTRUCTIONS))
    body = await _ask(http, case_id, "Why are connections refused?")
    assert "echoes_instructions" in body["metadata"]["quality_flags"]


async def test_an_answer_reciting_the_tool_descriptions_is_flagged(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)

    def recite_tools(request: RecordedRequest) -> Text:
        return Text(" ".join(tool["function"]["description"] for tool in request.body["tools"]))

    fake_llm.script(recite_tools)
    body = await _ask(http, case_id, "Why are connections refused?")
    assert "echoes_tool_descriptions" in body["metadata"]["quality_flags"]


async def test_a_short_answer_reciting_the_prompts_labels_is_flagged(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("The current query is: What is wrong with the gateway?"))
    body = await _ask(http, case_id, "What is wrong with the gateway?")
    assert "echoes_prompt" in body["metadata"]["quality_flags"]


async def test_an_answer_going_round_in_a_loop_is_flagged(app_with, fake_llm) -> None:
    http, case_id = await _case_on_fake_llm(app_with, fake_llm)
    fake_llm.script(Text("The gateway is currently running version 3.1.7. " * 12, truncated=True))
    body = await _ask(http, case_id, "Which version runs?")
    assert {"repetitive", "truncated"} <= set(body["metadata"]["quality_flags"])
