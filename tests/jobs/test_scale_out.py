"""Two API processes and one worker on PostgreSQL + Redis behave as one service."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import NO_POSTGRES, NO_REDIS, POSTGRES_URL, REDIS_URL, _reset_postgres, llm_environ
from tests.fakes.fake_llm import FakeLLMServer, structured
from tests.integration.server_process import running_server
from tests.jobs.support import parse_sse, poll_query

pytestmark = [
    pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES),
    pytest.mark.skipif(not REDIS_URL, reason=NO_REDIS),
]


async def test_two_api_processes_and_a_worker() -> None:
    import redis.asyncio as redis

    assert POSTGRES_URL and REDIS_URL
    await _reset_postgres(POSTGRES_URL)
    async with redis.from_url(REDIS_URL) as connection:
        await connection.delete("faultmaven:queries")
    with FakeLLMServer() as fake_llm:
        fake_llm.default = structured({"content": "answered by the worker pool", "response_type": "ANSWER"})
        providers, environ = llm_environ(primary=("openai", fake_llm))
        env = {
            **environ,
            "FAULTMAVEN_LLM_PROVIDERS": providers,
            "FAULTMAVEN_DATABASE_URL": POSTGRES_URL,
            "FAULTMAVEN_QUEUE_URL": REDIS_URL,
            "FAULTMAVEN_RATE_LIMIT_QUERIES": "4/minute",
            "FAULTMAVEN_RATE_LIMIT_KEY_PREFIX": f"scale-out-{uuid.uuid4().hex}",
            "FAULTMAVEN_REDIS_URL": REDIS_URL,
        }
        with (
            running_server(env) as url_a,
            running_server(env) as url_b,
            running_server(env, command="worker"),
        ):
            async with httpx.AsyncClient(base_url=url_a) as a, httpx.AsyncClient(base_url=url_b) as b:
                case_id = (await a.post("/api/v1/cases", json={})).json()["case"]["case_id"]
                accepted = await a.post(
                    f"/api/v1/cases/{case_id}/queries",
                    json={"query": "async on A"},
                    headers={"Prefer": "respond-async"},
                )
                assert accepted.status_code == 202
                done = await poll_query(b, f"/api/v1/cases/{case_id}/queries/{accepted.json()['query_id']}")
                assert done["response"]["content"] == "answered by the worker pool"

                streamed = await a.post(
                    f"/api/v1/cases/{case_id}/queries",
                    json={"query": "stream on A"},
                    headers={"Accept": "text/event-stream"},
                )
                events = parse_sse(streamed.text)
                assert events[-1][1] == "complete"
                assert events[-1][2]["content"] == "answered by the worker pool"

                key = {"Idempotency-Key": "scale-out-key-1"}
                first = await a.post(f"/api/v1/cases/{case_id}/queries", json={"query": "once"}, headers=key)
                calls = len(fake_llm.model_requests)
                again = await b.post(f"/api/v1/cases/{case_id}/queries", json={"query": "once"}, headers=key)
                assert again.content == first.content and again.headers["x-idempotency-replayed"] == "true"
                assert len(fake_llm.model_requests) == calls

                limited = await b.post(f"/api/v1/cases/{case_id}/queries", json={"query": "fifth"})
                assert limited.status_code == 429, "the four queries sent to A and B share one budget"
                assert (
                    limited.headers["x-ratelimit-remaining"] == "0"
                    and int(limited.headers["retry-after"]) > 0
                )

                messages = (await b.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
                assert [m["role"] for m in messages] == ["user", "agent"] * 3
