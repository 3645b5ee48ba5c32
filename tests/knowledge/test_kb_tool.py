"""The `search_knowledge_base` tool with the fake LLM: its results become the answer's sources."""

from __future__ import annotations

import json

from faultmaven.models.interfaces import ToolContext
from faultmaven.tools.knowledge_search import (
    MAX_HITS,
    MAX_SNIPPET_CHARS,
    KnowledgeSearchArgs,
    KnowledgeSearchTool,
)
from tests.conftest import llm_environ
from tests.fakes.fake_llm import ToolCall, structured


async def test_agent_cites_knowledge_base_sources(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = (await http.post("/api/v1/cases", json={"initial_message": "pods crash looping"})).json()[
        "case"
    ]["case_id"]
    fake_llm.script(
        ToolCall("search_knowledge_base", {"query": "CrashLoopBackOff exit code"}),
        structured({"content": "Check the previous logs, see the runbook.", "response_type": "ANSWER"}),
    )
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why do pods restart?"})
    assert response.status_code == 201, response.text
    body = response.json()
    offered = [tool["function"]["name"] for tool in fake_llm.model_requests[0].body["tools"]]
    assert "search_knowledge_base" in offered
    tool_reply = json.dumps(fake_llm.model_requests[1].body["messages"])
    assert "Kubernetes pod in CrashLoopBackOff" in tool_reply
    sources = body["sources"]
    assert 1 <= len(sources) <= MAX_HITS
    first = sources[0]
    assert first["type"] == "knowledge_base" and 0 < first["confidence"] < 1
    assert first["metadata"]["title"] == "Kubernetes pod in CrashLoopBackOff"
    assert first["metadata"]["document_id"].startswith("kb_") and first["metadata"]["chunk_id"].startswith(
        "chk_"
    )
    document = await http.get(f"/api/v1/knowledge/documents/{first['metadata']['document_id']}")
    assert document.status_code == 200
    assert body["metadata"]["tool_calls"] == ["search_knowledge_base"]


async def test_tool_text_is_budgeted_and_reports_no_match(container) -> None:
    tool = KnowledgeSearchTool(container.knowledge_service)
    local = await container.auth_service.local_user()
    context = ToolContext(case_id=None, user_id=local.user_id)
    result = await tool.execute(
        context, KnowledgeSearchArgs(query="database slow query index replication", limit=20)
    )
    assert len(result.sources) == MAX_HITS
    assert all(len(source.content) <= MAX_SNIPPET_CHARS for source in result.sources)
    assert len(result.text) <= MAX_HITS * (MAX_SNIPPET_CHARS + 200) + 100
    assert result.text.splitlines()[1].startswith("[1] ")
    empty = await tool.execute(context, KnowledgeSearchArgs(query='"zzqx'))
    assert empty.sources == [] and "No knowledge base document matches" in empty.text
