"""The compact profile (`FAULTMAVEN_LLM_<ALIAS>_PROFILE=compact`, issue 15 finding 5): short instructions, no
tool definitions, the server's own retrieval in the prompt, plain text read with light parsing; and what a
request weighs in each profile, counted on what reaches the fake LLM."""

from __future__ import annotations

import json

import httpx

from faultmaven.services.agent.output import AGENT_INSTRUCTIONS, COMPACT_INSTRUCTIONS
from tests.api.test_grounding import FILLERS, RUNBOOK
from tests.conftest import llm_environ
from tests.evidence.support import FAILURE_TEXT, generated_log, upload_file
from tests.fakes.fake_llm import RecordedRequest, Text, structured

CHARS_PER_TOKEN = 4
"""A rough token estimate for English and JSON (the fake LLM has no tokenizer)."""


async def _case(http: httpx.AsyncClient) -> str:
    """A log with a pool failure, its runbook and two others (a lone document scores nothing in BM25)."""
    for title, content in FILLERS.items():
        await http.post("/api/v1/knowledge/documents",
                        json={"title": title, "content": content, "document_type": "playbook"})
    await http.post("/api/v1/knowledge/documents", json={"title": "Connection pool exhausted runbook",
                                                         "content": RUNBOOK, "document_type": "playbook"})
    case_id = (await http.post("/api/v1/cases", json={"title": "Checkout 500s"})).json()["case"]["case_id"]
    assert (await upload_file(http, case_id, "checkout.log", generated_log(2000))).status_code == 201
    return case_id


def request_tokens(request: RecordedRequest) -> int:
    """The estimated tokens of one request as sent: messages, instructions and tool schemas."""
    body = {key: request.body.get(key) for key in ("messages", "tools", "system")}
    return len(json.dumps(body)) // CHARS_PER_TOKEN


async def test_compact_profile_sends_no_tools_and_the_servers_findings(app_with, fake_llm) -> None:
    providers, environ = llm_environ(local=("openai", fake_llm))
    environ["FAULTMAVEN_LLM_LOCAL_PROFILE"] = "compact"
    http, _ = await app_with(llm_providers=providers, environ=environ, kb_load_starter=False)
    case_id = await _case(http)
    fake_llm.script(Text("Answer: NEEDS_MORE_DATA: the pool is exhausted; send pg_stat_activity output."))
    response = await http.post(f"/api/v1/cases/{case_id}/queries",
                               json={"query": "Why is the connection pool exhausted?"})
    assert response.status_code == 201, response.text
    body = response.json()
    request = fake_llm.model_requests[0].body
    assert "tools" not in request or not request["tools"]
    system = "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")
    assert COMPACT_INSTRUCTIONS.strip() in system and AGENT_INSTRUCTIONS.strip() not in system
    user = "\n".join(m["content"] for m in request["messages"] if m["role"] == "user")
    assert FAILURE_TEXT.split(" ")[-1] in user and "maximumPoolSize" in user
    assert body["metadata"]["profile"] == "compact" and body["metadata"]["degraded"] is False
    assert body["response_type"] == "NEEDS_MORE_DATA"
    assert body["content"] == "the pool is exhausted; send pg_stat_activity output."
    assert {s["type"] for s in body["sources"]} >= {"knowledge_base"}


async def test_compact_requests_weigh_a_fraction_of_default_ones(app_with, fake_llm) -> None:
    """Tokens per request in each profile, for the same case and question (printed for the report)."""
    weights = {}
    for profile in ("default", "compact"):
        providers, environ = llm_environ(local=("openai", fake_llm))
        environ["FAULTMAVEN_LLM_LOCAL_PROFILE"] = profile
        http, _ = await app_with(llm_providers=providers, environ=environ, kb_load_starter=False)
        case_id = await _case(http)
        fake_llm.reset()
        fake_llm.script(structured({"content": "The pool is exhausted."}) if profile == "default"
                        else Text("The pool is exhausted."))
        query = {"query": "Why is the connection pool exhausted?"}
        response = await http.post(f"/api/v1/cases/{case_id}/queries", json=query)
        assert response.status_code == 201, response.text
        weights[profile] = request_tokens(fake_llm.model_requests[0])
    print(f"\nestimated tokens per request: {weights}")
    assert weights["compact"] < weights["default"]
