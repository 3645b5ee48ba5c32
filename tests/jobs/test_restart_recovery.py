"""A server process killed (SIGKILL) in the middle of an asynchronous query: after a restart the query
completes, or is failed explicitly, and its messages are there exactly once."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.conftest import llm_environ
from tests.fakes.fake_llm import FakeLLMServer, structured
from tests.integration.server_process import start_server, stop_server
from tests.jobs.support import poll_query

FAST_RECOVERY = {"FAULTMAVEN_JOB_LEASE_SECONDS": "2", "FAULTMAVEN_JOB_SWEEP_SECONDS": "0.3"}


async def kill_mid_query_then_restart(tmp_path, fake_llm: FakeLLMServer, extra_env: dict[str, str]) -> tuple:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    env = {
        **environ,
        **FAST_RECOVERY,
        **extra_env,
        "FAULTMAVEN_LLM_PROVIDERS": providers,
        "FAULTMAVEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'recovery.db'}",
    }
    first, url = start_server(env)
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            case_id = (await client.post("/api/v1/cases", json={})).json()["case"]["case_id"]
            accepted = await client.post(
                f"/api/v1/cases/{case_id}/queries",
                json={"query": "survive this"},
                headers={"Prefer": "respond-async"},
            )
            assert accepted.status_code == 202
            path = f"/api/v1/cases/{case_id}/queries/{accepted.json()['query_id']}"
            for _ in range(100):
                if fake_llm.model_requests:
                    break
                await asyncio.sleep(0.05)
            assert fake_llm.model_requests, "the query never reached the LLM"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
        stop_server(first)
    second, url = start_server(env)
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            final = await poll_query(client, path)
            messages = (await client.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    finally:
        stop_server(second)
    return final, [(m["role"], m["content"]) for m in messages]


async def test_killed_query_completes_after_restart(tmp_path) -> None:
    with FakeLLMServer() as fake_llm:
        fake_llm.script(structured({"content": "never delivered", "response_type": "ANSWER"}, delay=30))
        fake_llm.script(structured({"content": "answered after restart", "response_type": "ANSWER"}))
        final, messages = await kill_mid_query_then_restart(tmp_path, fake_llm, {})
    assert final["status"] == "completed"
    assert final["response"]["content"] == "answered after restart"
    assert messages == [("user", "survive this"), ("agent", "answered after restart")]


async def test_killed_query_fails_explicitly_when_attempts_run_out(tmp_path) -> None:
    with FakeLLMServer() as fake_llm:
        fake_llm.script(structured({"content": "never delivered", "response_type": "ANSWER"}, delay=30))
        final, messages = await kill_mid_query_then_restart(
            tmp_path, fake_llm, {"FAULTMAVEN_JOB_MAX_ATTEMPTS": "1"}
        )
    assert final["status"] == "failed" and final["error"]["code"] == "WORKER_LOST"
    assert [role for role, _ in messages] == ["user", "agent"]
    assert messages[0] == ("user", "survive this")
    assert "could not be answered" in messages[1][1]
