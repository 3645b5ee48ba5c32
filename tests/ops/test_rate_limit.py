"""Rate limiting: 429 problem+json with Retry-After and X-RateLimit-*, separate budgets for queries and
other writes, per user and per IP, counted across processes through Redis."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from faultmaven.container import Container
from faultmaven.main import create_app
from tests.conftest import NO_REDIS, REDIS_URL


def client_at(container: Container, ip: str) -> httpx.AsyncClient:
    """Another client of the same container, calling from `ip`."""
    transport = httpx.ASGITransport(app=create_app(container=container), client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def open_case(http: httpx.AsyncClient, **headers: str) -> httpx.Response:
    return await http.post("/api/v1/cases", json={"initial_message": "Disk full on db-1"}, headers=headers)


async def ask(http: httpx.AsyncClient, case_id: str, **headers: str) -> httpx.Response:
    return await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why?"}, headers=headers)


async def login(container: Container, username: str) -> dict[str, str]:
    """A bearer token, logged in from an address of its own so the login spends no tested IP budget."""
    async with client_at(container, f"192.0.2.{len(username)}") as http:
        response = await http.post("/api/v1/auth/dev-login", json={"username": username})
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_query_budget_answers_429_problem_with_headers(app_with) -> None:
    http, _ = await app_with(rate_limit_queries="2/minute")
    case_id = (await open_case(http)).json()["case"]["case_id"]
    first, second = await ask(http, case_id), await ask(http, case_id)
    assert [first.status_code, second.status_code] == [201, 201]
    assert first.headers["x-ratelimit-limit"] == "2"
    assert [first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]] == ["1", "0"]
    reset = int(second.headers["x-ratelimit-reset"])
    assert time.time() < reset <= time.time() + 61
    refused = await ask(http, case_id, **{"X-Request-ID": "req-429"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "RATE_LIMITED" and body["status"] == 429 and body["request_id"] == "req-429"
    assert "2 per 1 minute" in body["detail"] and body["budget"] == "queries"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60 and body["retry_after"] == retry_after
    assert refused.headers["x-ratelimit-remaining"] == "0" and refused.headers["x-ratelimit-limit"] == "2"
    assert refused.headers["x-request-id"] == "req-429"


async def test_queries_and_other_writes_have_separate_budgets(app_with) -> None:
    http, _ = await app_with(rate_limit_queries="1/minute", rate_limit_writes="2/minute")
    case_id = (await open_case(http)).json()["case"]["case_id"]
    assert (await ask(http, case_id)).status_code == 201
    assert (await ask(http, case_id)).status_code == 429
    created = await open_case(http)
    assert created.status_code == 201 and created.headers["x-ratelimit-limit"] == "2"
    assert created.headers["x-ratelimit-remaining"] == "0"
    assert (await open_case(http)).json()["code"] == "RATE_LIMITED"
    agent = await http.post(f"/api/v1/agent/cases/{case_id}/query", json={"query": "still?"})
    assert agent.status_code == 429 and agent.json()["budget"] == "queries"


async def test_reads_health_and_metrics_are_never_limited(app_with) -> None:
    http, _ = await app_with(rate_limit_queries="1/minute", rate_limit_writes="1/minute")
    case_id = (await open_case(http)).json()["case"]["case_id"]
    assert (await open_case(http)).status_code == 429
    for path in ("/api/v1/cases", f"/api/v1/cases/{case_id}", "/health", "/health/ready", "/metrics"):
        for _ in range(3):
            response = await http.get(path)
            assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers


async def test_disabled_rate_limiting_adds_nothing(app_with) -> None:
    http, _ = await app_with(rate_limit_enabled=False, rate_limit_writes="1/minute")
    for _ in range(3):
        response = await open_case(http)
        assert response.status_code == 201 and "x-ratelimit-limit" not in response.headers


async def test_a_user_is_limited_across_addresses(app_with) -> None:
    _, container = await app_with(auth_mode="token", dev_login=True, rate_limit_writes="2/minute")
    alice, bob = await login(container, "alice"), await login(container, "bobby")
    async with (
        client_at(container, "10.0.0.1") as first,
        client_at(container, "10.0.0.2") as second,
        client_at(container, "10.0.0.3") as third,
    ):
        assert (await open_case(first, **alice)).status_code == 201
        assert (await open_case(second, **alice)).status_code == 201
        assert (await open_case(third, **alice)).status_code == 429
        assert (await open_case(third, **bob)).status_code == 201


async def test_an_address_is_limited_across_users(app_with) -> None:
    _, container = await app_with(auth_mode="token", dev_login=True, rate_limit_writes="2/minute")
    alice, bob = await login(container, "alice"), await login(container, "bobby")
    async with client_at(container, "10.0.0.9") as shared, client_at(container, "10.0.0.10") as other:
        assert (await open_case(shared, **alice)).status_code == 201
        assert (await open_case(shared, **alice)).status_code == 201
        refused = await open_case(shared, **bob)
        assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
        assert (await open_case(other, **bob)).status_code == 201


async def test_unauthenticated_writes_are_limited_by_address(app_with) -> None:
    _, container = await app_with(auth_mode="token", rate_limit_writes="2/minute")
    async with client_at(container, "10.0.0.20") as anonymous:
        assert [(await open_case(anonymous)).status_code for _ in range(3)] == [401, 401, 429]


async def test_health_reports_memory_storage_and_no_redis(app_with) -> None:
    http, _ = await app_with()
    detailed = (await http.get("/health/detailed")).json()
    assert detailed["redis"] == {"configured": False}
    assert detailed["rate_limit"] == {
        "enabled": True, "storage": "memory", "queries": "30/minute", "writes": "120/minute"
    }


async def test_unreachable_redis_fails_open_and_shows_in_health(app_with) -> None:
    http, _ = await app_with(redis_url="redis://127.0.0.1:1/0", rate_limit_writes="1/minute")
    for _ in range(2):
        response = await open_case(http)
        assert response.status_code == 201 and "x-ratelimit-limit" not in response.headers
    ready = (await http.get("/health/ready")).json()
    assert ready["redis"] == {"configured": True, "reachable": False}
    assert ready["rate_limit"]["storage"] == "redis" and ready["status"] == "ready"


@pytest.fixture
async def redis_prefix() -> object:
    """A key prefix of this test's own, its keys deleted afterwards."""
    if not REDIS_URL:
        pytest.skip(NO_REDIS)
    from redis.asyncio import Redis

    prefix = f"fm-test-{uuid.uuid4().hex}"
    yield prefix
    client = Redis.from_url(REDIS_URL)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_counts_across_two_apps(app_with, redis_prefix) -> None:
    shared = {"redis_url": REDIS_URL, "rate_limit_key_prefix": redis_prefix, "rate_limit_queries": "3/minute"}
    first, _ = await app_with(**shared)
    second, _ = await app_with(**shared)
    case_id = (await open_case(first)).json()["case"]["case_id"]
    assert [(await ask(first, case_id)).status_code for _ in range(2)] == [201, 201]
    allowed = await ask(second, case_id)
    assert allowed.status_code == 201 and allowed.headers["x-ratelimit-remaining"] == "0"
    refused = await ask(second, case_id)
    assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
    assert (await ask(first, case_id)).status_code == 429
    detailed = (await second.get("/health/detailed")).json()
    assert detailed["redis"] == {"configured": True, "reachable": True}
    assert detailed["rate_limit"]["storage"] == "redis"
