"""Asynchronous queries: 202 and polling, the size and time policies, cancellation, server-sent events."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import llm_environ
from tests.fakes.fake_llm import Text, ToolCall, structured
from tests.jobs.support import parse_sse, poll_query

ASYNC = {"Prefer": "respond-async"}


def answer(content: str) -> object:
    return structured({"content": content, "response_type": "ANSWER"})


async def open_case(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/v1/cases", json={"initial_message": "queue workers are stuck"})
    return response.json()["case"]["case_id"]


async def roles(http: httpx.AsyncClient, case_id: str) -> list[tuple[str, str]]:
    body = (await http.get(f"/api/v1/cases/{case_id}/messages", params={"limit": 100})).json()
    return [(m["role"], m["content"]) for m in body["messages"]]


async def llm_app(app_with, fake_llm, **overrides):
    providers, environ = llm_environ(primary=("openai", fake_llm))
    return await app_with(llm_providers=providers, environ=environ, **overrides)


async def test_respond_async_then_poll(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm)
    case_id = await open_case(http)
    fake_llm.script(answer("Restart the consumer group."))
    accepted = await http.post(
        f"/api/v1/cases/{case_id}/queries", json={"query": "why stuck?"}, headers=ASYNC
    )
    assert accepted.status_code == 202
    body = accepted.json()
    assert body["status"] == "processing" and body["query_id"]
    location = accepted.headers["location"]
    assert location == f"http://testserver/api/v1/cases/{case_id}/queries/{body['query_id']}"
    assert accepted.headers["retry-after"] == "1"
    done = await poll_query(http, location)
    assert done["status"] == "completed"
    assert done["response"]["content"] == "Restart the consumer group."
    assert done["response"]["query_id"] == body["query_id"]
    assert await roles(http, case_id) == [
        ("user", "queue workers are stuck"),
        ("user", "why stuck?"),
        ("agent", "Restart the consumer group."),
    ]


async def test_large_query_goes_async_by_policy(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm, async_query_threshold_chars=100)
    case_id = await open_case(http)
    fake_llm.script(answer("digested"))
    accepted = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "log line\n" * 50})
    assert accepted.status_code == 202
    assert (await poll_query(http, accepted.headers["location"]))["response"]["content"] == "digested"


async def test_sync_budget_exhausted_hands_over_to_background(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm, sync_query_budget_seconds=0.3)
    case_id = await open_case(http)
    fake_llm.script(structured({"content": "slow but sure", "response_type": "ANSWER"}, delay=1.0))
    accepted = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "slow one"})
    assert accepted.status_code == 202
    done = await poll_query(http, accepted.headers["location"])
    assert done["response"]["content"] == "slow but sure"
    assert [r for r, _ in await roles(http, case_id)] == ["user", "user", "agent"]


async def test_cancel_a_running_query(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm, job_lease_seconds=1)
    case_id = await open_case(http)
    fake_llm.script(Text("too late", delay=5))
    accepted = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "cancel me"}, headers=ASYNC)
    location = accepted.headers["location"]
    await asyncio.sleep(0.3)
    assert (await http.delete(location)).status_code == 204
    assert (await http.delete(location)).status_code == 204
    done = await poll_query(http, location)
    assert done["status"] == "cancelled" and done["error"]["code"] == "CANCELLED"
    await asyncio.sleep(1.0)
    messages = await roles(http, case_id)
    assert messages[1:] == [
        ("user", "cancel me"),
        ("agent", "This query was cancelled before an answer was ready."),
    ]


async def test_cancel_pending_and_finished_queries(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm, job_concurrency=1)
    case_id = await open_case(http)
    fake_llm.script(Text("first", delay=1.5), answer("third"))
    first = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "first"}, headers=ASYNC)
    second = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "second"}, headers=ASYNC)
    assert (await http.delete(second.headers["location"])).status_code == 204
    assert (await poll_query(http, second.headers["location"]))["status"] == "cancelled"
    await poll_query(http, first.headers["location"])
    finished = await http.delete(first.headers["location"])
    assert finished.status_code == 409 and finished.json()["code"] == "QUERY_FINISHED"
    messages = await roles(http, case_id)
    assert sorted(messages[1:]) == sorted(
        [
            ("user", "first"),
            ("agent", "first"),
            ("user", "second"),
            ("agent", "This query was cancelled before an answer was ready."),
        ]
    )


async def test_streamed_query_events_and_resume(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm)
    case_id = await open_case(http)
    fake_llm.script(answer("Streamed answer."))
    response = await http.post(
        f"/api/v1/cases/{case_id}/queries",
        json={"query": "stream it"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [kind for _, kind, _ in events]
    assert kinds[0] == "status" and events[0][2]["status"] == "pending"
    assert kinds[1] == "status" and events[1][2]["status"] == "processing"
    assert kinds[-1] == "complete"
    assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
    query_id = events[0][2]["query_id"]
    stored = (await http.get(f"/api/v1/cases/{case_id}/queries/{query_id}")).json()
    assert events[-1][2] == stored["response"]
    deltas = "".join(data["text"] for _, kind, data in events if kind == "text_delta")
    assert deltas in ("", "Streamed answer.")
    resumed = await http.get(
        f"/api/v1/cases/{case_id}/queries/{query_id}/events", headers={"Last-Event-ID": str(events[1][0])}
    )
    assert parse_sse(resumed.text) == events[2:]


def answer_after_last_reset(events: list[tuple[int, str, dict]]) -> str:
    """What a client shows: the text deltas since the last `reset`."""
    shown: list[str] = []
    for _, kind, data in events:
        if kind == "reset":
            shown.clear()
        elif kind == "text_delta":
            shown.append(data["text"])
    return "".join(shown)


async def test_stream_shows_tool_calls_and_answer_text(app_with, fake_llm) -> None:
    from tests.api.test_queries import RunbookTool

    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, tools=[RunbookTool()])
    case_id = await open_case(http)
    fake_llm.script(ToolCall("search_runbooks", {"query": "stuck consumers"}),
                    answer("Raise max_connections, then restart the consumers."))
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "fix?"},
                               headers={"Accept": "text/event-stream"})
    events = parse_sse(response.text)
    kinds = [kind for _, kind, _ in events]
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("complete")
    tool_call = next(data for _, kind, data in events if kind == "tool_call")
    assert tool_call == {"name": "search_runbooks", "args": {"query": "stuck consumers"}}
    tool_result = next(data for _, kind, data in events if kind == "tool_result")
    assert "dba@example.com" not in tool_result["text"] and "<EMAIL_" in tool_result["text"]
    assert "text_delta" in kinds
    assert answer_after_last_reset(events) == events[-1][2]["content"]
    assert events[-1][2]["content"] == "Raise max_connections, then restart the consumers."


async def test_failover_mid_stream_does_not_duplicate_text(app_with, fake_llm, fake_llm_backup) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm), backup=("openai", fake_llm_backup))
    http, _ = await app_with(llm_providers=providers, environ=environ, llm_max_retries=0)
    case_id = await open_case(http)
    long_answer = "The primary began this answer and then died. " * 3
    fake_llm.script(structured({"content": long_answer, "response_type": "ANSWER"}, drop_after_chunks=4))
    fake_llm_backup.script(answer("The backup wrote the whole answer."))
    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "go"},
                               headers={"Accept": "text/event-stream"})
    events = parse_sse(response.text)
    assert "reset" in [kind for _, kind, _ in events]
    assert answer_after_last_reset(events) == "The backup wrote the whole answer."
    assert events[-1][2]["content"] == "The backup wrote the whole answer."
    assert events[-1][2]["metadata"]["provider"] == "backup"
