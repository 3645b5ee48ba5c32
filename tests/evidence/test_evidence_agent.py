"""The evidence tools through the agent with a scripted fake LLM: what the model reads, what the user sees."""

from __future__ import annotations

import json

from faultmaven.models.interfaces import ToolContext
from faultmaven.tools.evidence_tools import GetEvidenceDigestTool, SearchCaseEvidenceTool
from tests.conftest import llm_environ
from tests.evidence.support import FAILURE_LINE, FAILURE_TEXT, generated_log, open_case, upload_file
from tests.fakes.fake_llm import ToolCall, structured


def answer(content: str) -> object:
    return structured({"content": content, "response_type": "ANSWER"})


def tool_messages(request_body: dict) -> str:
    return json.dumps([m for m in request_body["messages"] if m.get("role") == "tool"])


async def test_search_tool_finds_the_failure_line_and_cites_it(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    data_id = (await upload_file(http, case_id, "checkout.log", generated_log(5000))).json()["data_id"]
    fake_llm.script(
        ToolCall("search_case_evidence", {"query": "pool exhausted"}),
        answer(f"The database pool ran dry at line {FAILURE_LINE}."),
    )
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "Why do checkouts fail?"})
    assert response.status_code == 201, response.text
    body = response.json()
    offered = [tool["function"]["name"] for tool in fake_llm.model_requests[0].body["tools"]]
    assert {"search_case_evidence", "get_evidence_digest"} <= set(offered)
    seen = tool_messages(fake_llm.model_requests[1].body)
    assert f"[{data_id}:{FAILURE_LINE}]" in seen and "connection pool exhausted" in seen
    assert f"[{data_id}:{FAILURE_LINE + 1}]" not in seen
    cited = [source for source in body["sources"] if source["type"] == "log_file"]
    assert len(cited) == 1 and FAILURE_TEXT in cited[0]["content"]
    assert cited[0]["metadata"] == {
        "evidence_id": data_id,
        "title": "checkout.log",
        "line_start": FAILURE_LINE,
        "line_end": FAILURE_LINE,
    }
    assert body["metadata"]["tool_calls"] == ["search_case_evidence"]


async def test_digest_tool_renders_the_digest_and_cites_the_top_error(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    data_id = (await upload_file(http, case_id, "checkout.log", generated_log(3000))).json()["data_id"]
    await http.post(f"/api/v1/cases/{case_id}/data", json={"content": "replicas: 3\nimage: api:1\n"})
    fake_llm.script(ToolCall("get_evidence_digest", {}), answer("See the digest."))
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "Summarize the logs"})).json()
    seen = tool_messages(fake_llm.model_requests[1].body)
    assert "Log digest of checkout.log" in seen and "connection pool exhausted" in seen
    assert "config (yaml)" in seen and "no digest" in seen
    [source] = [source for source in body["sources"] if source["type"] == "log_analysis"]
    assert source["metadata"] == {
        "evidence_id": data_id,
        "title": "checkout.log",
        "line_start": FAILURE_LINE,
        "line_end": FAILURE_LINE,
    }


async def test_secrets_in_evidence_reach_the_model_masked_and_the_user_in_clear(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    line = "2024-05-01 10:00:00 ERROR auth failed for ops@example.com from 203.0.113.7 password=s3cr3t-Pa55"
    await upload_file(http, case_id, "auth.log", f"{line}\n".encode())
    fake_llm.script(ToolCall("search_case_evidence", {"query": "auth failed"}), answer("Bad password."))
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "auth?"})).json()
    sent = fake_llm.all_text()
    assert "ops@example.com" not in sent and "203.0.113.7" not in sent and "s3cr3t-Pa55" not in sent
    seen = tool_messages(fake_llm.model_requests[1].body)
    assert "<EMAIL_1>" in seen and "LITERAL" not in seen
    assert body["sources"][0]["content"] == line


async def test_tools_are_scoped_to_the_context_case(container, client) -> None:
    mine, other = await open_case(client), await open_case(client)
    await upload_file(client, other, "other.log", generated_log(1500))
    search = SearchCaseEvidenceTool(container.evidence_service)
    digest = GetEvidenceDigestTool(container.evidence_service)
    found = await search.execute(ToolContext(mine, None), search.args_model(query="pool exhausted"))
    assert "No line" in found.text and found.sources == []
    other_id = (await client.get(f"/api/v1/cases/{other}/data")).json()[0]["data_id"]
    probed = await digest.execute(ToolContext(mine, None), digest.args_model(data_id=other_id))
    assert "No such evidence" in probed.text and probed.sources == []
    nul = await search.execute(ToolContext(mine, None), search.args_model(query="pool\x00", data_id="\x00"))
    assert "No line" in nul.text
    no_case = await search.execute(ToolContext(None, None), search.args_model(query="pool"))
    assert "No case" in no_case.text
    hit = await search.execute(ToolContext(other, None), search.args_model(query='"pool exhausted"', limit=1))
    assert hit.sources[0].metadata["line_start"] == FAILURE_LINE


async def test_search_limit_and_budget(container, client) -> None:
    case_id = await open_case(client)
    await upload_file(client, case_id, "app.log", generated_log(3000))
    search = SearchCaseEvidenceTool(container.evidence_service)
    args = search.args_model(query="GET /orders", limit=50)
    result = await search.execute(ToolContext(case_id, None), args)
    assert "50+ matching lines" in result.text and len(result.text) <= 4_100
    assert len(result.sources) == 1 and result.sources[0].metadata["line_end"] > 1
