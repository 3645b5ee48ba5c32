"""Case queries end to end against a fake LLM speaking the OpenAI and Anthropic wire protocols."""

from __future__ import annotations

import asyncio
import json

import httpx
from pydantic import BaseModel

from faultmaven.models.interfaces import ToolContext, ToolResult, ToolSource
from tests.conftest import llm_environ
from tests.fakes.fake_llm import Drop, HTTPError, Text, ToolCall, structured


def answer(content: str, response_type: str = "ANSWER", **extra: object) -> object:
    return structured({"content": content, "response_type": response_type, **extra})


async def open_case(http: httpx.AsyncClient, **body: object) -> str:
    body.setdefault("initial_message", "Getting 500 errors on API calls")
    response = await http.post("/api/v1/cases", json=body)
    assert response.status_code == 201
    return response.json()["case"]["case_id"]


async def messages(http: httpx.AsyncClient, case_id: str) -> list[dict]:
    return (await http.get(f"/api/v1/cases/{case_id}/messages", params={"limit": 100})).json()["messages"]


async def test_query_answered_by_llm_and_persisted(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.script(
        answer(
            "The upstream pool is exhausted.",
            "SOLUTION_READY",
            confidence=0.8,
            suggested_actions=["Raise pool size"],
        )
    )
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "What causes the 500s?"})
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] == "3.1.0"
    assert body["content"] == "The upstream pool is exhausted."
    assert body["response_type"] == "SOLUTION_READY"
    assert body["confidence_score"] == 0.8 and body["suggested_actions"] == ["Raise pool size"]
    assert body["case_id"] == case_id and body["query_id"]
    assert response.headers["location"] == f"/api/v1/cases/{case_id}/queries/{body['query_id']}"
    assert body["metadata"]["provider"] == "primary" and body["metadata"]["model"] == "fake-openai-model"
    assert body["metadata"]["degraded"] is False
    assert body["view_state"]["active_case"]["case_id"] == case_id
    assert body["view_state"]["active_case"]["message_count"] == 3
    sent = fake_llm.model_requests[0].body
    prompt = json.dumps(sent["messages"])
    assert "Getting 500 errors on API calls" in prompt and "What causes the 500s?" in prompt
    rows = await messages(http, case_id)
    assert [(m["role"], m["content"]) for m in rows] == [
        ("user", "Getting 500 errors on API calls"),
        ("user", "What causes the 500s?"),
        ("agent", "The upstream pool is exhausted."),
    ]
    assert rows[1]["query_id"] == rows[2]["query_id"] == body["query_id"]
    polled = (await http.get(f"/api/v1/cases/{case_id}/queries/{body['query_id']}")).json()
    assert polled["status"] == "completed" and polled["response"] == body
    listed = await http.get(f"/api/v1/cases/{case_id}/queries")
    assert listed.headers["x-total-count"] == "1"
    assert listed.json()[0]["query"] == "What causes the 500s?" and listed.json()[0]["status"] == "completed"


async def test_plain_text_answer_from_small_model(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.script(Text("<think>hmm</think>Check the DNS resolver."))
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why?"})).json()
    assert body["content"] == "Check the DNS resolver." and body["response_type"] == "ANSWER"


async def test_anthropic_provider(app_with, fake_llm) -> None:
    providers, environ = llm_environ(claude=("anthropic", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.script(answer("Certificate expired at 03:00.", "SOLUTION_READY"))
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "TLS errors?"})).json()
    assert body["content"] == "Certificate expired at 03:00."
    assert fake_llm.model_requests[0].path == "/v1/messages"


class SearchArgs(BaseModel):
    query: str


class RunbookTool:
    """A test tool standing in for the knowledge base: returns a fixed runbook with a source."""

    name = "search_runbooks"
    description = "Search the team's runbooks"
    args_model = SearchArgs

    def __init__(self) -> None:
        self.calls: list[tuple[ToolContext, str]] = []

    async def execute(self, context: ToolContext, args: BaseModel) -> ToolResult:
        self.calls.append((context, args.query))  # type: ignore[attr-defined]
        return ToolResult(
            text="Runbook: pool exhaustion. Contact dba@example.com, raise max_connections.",
            sources=[
                ToolSource(
                    type="knowledge_base",
                    content="raise max_connections",
                    metadata={"title": "Pool exhaustion", "document_id": "doc_1"},
                )
            ],
        )


async def test_tool_call_result_reaches_model_masked_and_becomes_a_source(app_with, fake_llm) -> None:
    tool = RunbookTool()
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, tools=[tool])
    case_id = await open_case(http)
    fake_llm.script(
        ToolCall("search_runbooks", {"query": "pool exhausted"}),
        answer("Raise max_connections, see the runbook."),
    )
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "fix?"})).json()
    assert len(tool.calls) == 1 and tool.calls[0][0].case_id == case_id
    second = json.dumps(fake_llm.model_requests[1].body["messages"])
    assert "raise max_connections" in second
    assert "dba@example.com" not in fake_llm.all_text()
    assert body["sources"] == [
        {
            "type": "knowledge_base",
            "content": "raise max_connections",
            "confidence": None,
            "metadata": {"title": "Pool exhaustion", "document_id": "doc_1"},
        }
    ]
    assert body["metadata"]["tool_calls"] == ["search_runbooks"]
    tools_offered = [t["function"]["name"] for t in fake_llm.model_requests[0].body["tools"]]
    assert "search_runbooks" in tools_offered


async def test_failover_to_backup_on_500_429_and_drop(app_with, fake_llm, fake_llm_backup) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm), backup=("openai", fake_llm_backup))
    http, _ = await app_with(llm_providers=providers, environ=environ, llm_max_retries=0)
    case_id = await open_case(http)
    for failure in (HTTPError(500), HTTPError(429, retry_after=0), Drop()):
        fake_llm.script(failure)
        fake_llm_backup.script(answer("from backup"))
        body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "status?"})).json()
        assert body["content"] == "from backup", failure
        assert body["metadata"]["provider"] == "backup"
    rows = await messages(http, case_id)
    assert [m["role"] for m in rows] == ["user"] + ["user", "agent"] * 3
    assert "agent" not in [m["role"] for m in rows if m["content"] == "from backup" and m["role"] == "user"]


async def test_breaker_skips_dead_provider_without_waiting(app_with, fake_llm, fake_llm_backup) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm), backup=("openai", fake_llm_backup))
    environ["FAULTMAVEN_LLM_PRIMARY_TIMEOUT"] = "0.5"
    http, _ = await app_with(
        llm_providers=providers,
        environ=environ,
        llm_max_retries=0,
        llm_failure_threshold=2,
        llm_cooldown_seconds=60,
    )
    case_id = await open_case(http)
    for _ in range(2):
        fake_llm.script(Text("too late", delay=2))
        fake_llm_backup.script(answer("backup answer"))
        assert (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "q"})).status_code == 201
    seen_by_primary = len(fake_llm.model_requests)
    fake_llm_backup.script(answer("fast backup"))
    started = asyncio.get_running_loop().time()
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "again"})).json()
    assert asyncio.get_running_loop().time() - started < 0.5
    assert body["content"] == "fast backup"
    assert len(fake_llm.model_requests) == seen_by_primary
    ready = (await http.get("/health/ready")).json()
    states = {p["alias"]: p["circuit_state"] for p in ready["llm"]["providers"]}
    assert states == {"primary": "open", "backup": "closed"}
    metrics = (await http.get("/metrics")).text
    assert 'llm_circuit_state{provider="primary"} 2.0' in metrics
    assert "llm_provider_failovers_total" in metrics


async def test_all_providers_down_gives_degraded_answer_and_keeps_the_query(
    app_with, fake_llm, fake_llm_backup
) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm), backup=("openai", fake_llm_backup))
    http, _ = await app_with(llm_providers=providers, environ=environ, llm_max_retries=0)
    case_id = await open_case(http)
    fake_llm.script(HTTPError(503))
    fake_llm_backup.script(HTTPError(500))
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "is prod down?"})
    assert response.status_code == 201
    body = response.json()
    assert body["metadata"]["degraded"] is True and body["metadata"]["degraded_reason"] == "llm_unavailable"
    assert "AI is unavailable" in body["content"] and "primary" in body["content"]
    assert body["response_type"] == "ANSWER"
    rows = await messages(http, case_id)
    assert [(m["role"], m["content"][:13]) for m in rows[1:]] == [
        ("user", "is prod down?"),
        ("agent", "**The AI is u"),
    ]
    assert rows[2]["metadata"]["degraded"] is True


async def test_no_llm_configured_gives_honest_useful_answer(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client, title="Checkout 502s", description="502 from checkout since 14:00")
    response = await client.post(f"/api/v1/cases/{case_id}/queries", json={"query": "What is wrong?"})
    assert response.status_code == 201
    body = response.json()
    assert body["metadata"]["degraded"] is True and body["metadata"]["degraded_reason"] == "no_llm_configured"
    assert "No LLM provider is configured" in body["content"]
    assert "FAULTMAVEN_LLM_PROVIDERS" in body["content"]
    assert "Checkout 502s" in body["content"] and "502 from checkout since 14:00" in body["content"]
    assert "I've analyzed your query:" not in body["content"]


async def test_idempotent_query_replay_does_not_call_llm_twice(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.script(answer("only once"))
    headers = {"Idempotency-Key": "query-key-0001"}
    first = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "q1"}, headers=headers)
    second = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "q1"}, headers=headers)
    assert second.content == first.content and second.headers["x-idempotency-replayed"] == "true"
    assert len(fake_llm.model_requests) == 1
    rows = await messages(http, case_id)
    assert [m["role"] for m in rows] == ["user", "user", "agent"]


async def test_concurrent_queries_on_one_case_exact_counts(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.default = answer("concurrent answer")
    try:
        responses = await asyncio.gather(
            *[
                http.post(f"/api/v1/cases/{case_id}/queries", json={"query": f"q{index}"})
                for index in range(10)
            ]
        )
    finally:
        fake_llm.default = None
    assert [r.status_code for r in responses] == [201] * 10
    rows = await messages(http, case_id)
    assert len(rows) == 21
    asked = sorted(m["content"] for m in rows[1:] if m["role"] == "user")
    assert asked == sorted(f"q{i}" for i in range(10))
    per_query: dict[str, list[str]] = {}
    for row in rows[1:]:
        per_query.setdefault(row["query_id"], []).append(row["role"])
    assert all(sorted(roles) == ["agent", "user"] for roles in per_query.values()) and len(per_query) == 10
    case = (await http.get(f"/api/v1/cases/{case_id}")).json()
    assert case["message_count"] == 21


async def test_deprecated_routes_answer_with_headers_and_can_retire(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ)
    case_id = await open_case(http)
    fake_llm.script(answer("legacy answer"), answer("session answer"))
    legacy = await http.post(f"/api/v1/agent/cases/{case_id}/query", json={"query": "old client"})
    assert legacy.status_code == 200 and legacy.json()["content"] == "legacy answer"
    assert legacy.headers["deprecation"].startswith("@")
    assert legacy.headers["sunset"] == "Mon, 30 Jun 2025 23:59:59 GMT"
    assert legacy.headers["link"] == f'</api/v1/cases/{case_id}/queries>; rel="successor-version"'
    session_query = await http.post(
        "/api/v1/agent/query", json={"query": "oldest client", "session_id": "s1"}
    )
    assert session_query.status_code == 200
    new_case = session_query.json()["case_id"]
    assert [m["role"] for m in await messages(http, new_case)] == ["user", "agent"]
    metrics = (await http.get("/metrics")).text
    assert 'deprecated_route_requests_total{route="/api/v1/agent/cases/{case_id}/query"} 1.0' in metrics

    retired, _ = await app_with(deprecated_routes_retired=True)
    gone = await retired.post(f"/api/v1/agent/cases/{case_id}/query", json={"query": "x"})
    assert gone.status_code == 410
    assert gone.json()["code"] == "ROUTE_RETIRED" and "/queries" in gone.json()["successor"]


async def test_feature_flag_off_answers_without_case_context(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, enable_case_agent_integration=False)
    case_id = await open_case(http)
    fake_llm.script(answer("stateless"))
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "hello there"})).json()
    assert body["content"] == "stateless"
    assert "Getting 500 errors" not in fake_llm.all_text()
    health = (await http.get("/health/detailed")).json()
    assert health["case_integration"]["enabled"] is False


async def test_query_validation(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    for body in ({}, {"query": ""}, {"query": "x", "priority": "urgent"}, {"query": 3}):
        response = await client.post(f"/api/v1/cases/{case_id}/queries", json=body)
        assert response.status_code == 422, body
    assert (await client.post("/api/v1/cases/nope/queries", json={"query": "x"})).status_code == 404
    assert (await client.get(f"/api/v1/cases/{case_id}/queries/q_nope")).status_code == 404
    ok = await client.post(f"/api/v1/cases/{case_id}/queries", json={"query": "x", "priority": "low"})
    assert ok.status_code == 201


async def test_title_by_llm_and_fallback_when_it_fails(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, llm_max_retries=0)
    case_id = await open_case(http, initial_message="orders-api pods restart with OOMKilled since 09:00")
    fake_llm.script(structured({"title": '"Orders API OOMKilled restarts since 09:00."'}))
    named = await http.post(f"/api/v1/cases/{case_id}/title", json={"max_words": 6})
    assert named.status_code == 200 and named.headers["x-title-source"] == "llm"
    assert named.json()["title"] == "Orders API OOMKilled restarts since 09:00"
    fake_llm.script(HTTPError(500))
    fallback = await http.post(f"/api/v1/cases/{case_id}/title", json={"max_words": 4})
    assert fallback.headers["x-title-source"] == "fallback"
    assert fallback.json()["title"] == "orders-api pods restart with…"
