"""Cross-cutting HTTP behaviour: problems, request ids, CORS, slashes, idempotency, health, metrics."""

from __future__ import annotations

import asyncio

import httpx
import pytest

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        (
            "POST",
            "/api/v1/cases",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "INVALID_JSON",
        ),
        ("POST", "/api/v1/cases", {"json": {"priority": "urgent"}}, 422, "VALIDATION_ERROR"),
        ("POST", "/api/v1/cases", {"json": {"title": 5}}, 422, "VALIDATION_ERROR"),
        ("POST", "/api/v1/cases", {"json": {"title": "x" * 201}}, 422, "VALIDATION_ERROR"),
        ("POST", "/api/v1/cases", {"json": ["a list"]}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/cases?limit=0", {}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/cases?limit=101", {}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/cases?offset=-1", {}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/cases?status=bogus", {}, 422, "VALIDATION_ERROR"),
        ("GET", "/api/v1/nowhere", {}, 404, "NOT_FOUND"),
        ("DELETE", "/api/v1/cases", {}, 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/api/v1/cases/%00", {}, 404, "NOT_FOUND"),
        ("GET", "/api/v1/cases?q=a%00b", {}, 400, "INVALID_CHARACTERS"),
        ("POST", "/api/v1/cases", {"json": {"title": "nul\u0000"}}, 422, "VALIDATION_ERROR"),
        ("POST", "/api/v1/cases", {"json": {"metadata": {"k": ["\u0000"]}}}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_bad_input_is_a_problem_never_a_500(
    client: httpx.AsyncClient, method: str, path: str, kwargs: dict, status: int, code: str
) -> None:
    response = await client.request(method, path, **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == code and body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 422:
        assert all({"loc", "msg", "type"} <= set(error) for error in body["errors"])


async def test_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/cases", json={"description": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health", headers={"X-Request-ID": "abc-123"})).headers[
        "x-request-id"
    ] == "abc-123"
    generated = (await client.get("/health")).headers["x-request-id"]
    assert len(generated) == 32


async def test_trailing_slash_routes_without_redirect(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/cases/", json={"title": "slash"})
    assert created.status_code == 201
    case_id = created.json()["case"]["case_id"]
    assert (await client.get(f"/api/v1/cases/{case_id}/")).status_code == 200
    assert (await client.get("/api/v1/cases/")).status_code == 200


async def test_cors_allows_extension_origins_and_exposes_headers(client: httpx.AsyncClient) -> None:
    origin = "chrome-extension://abcdefghijklmnop"
    preflight = await client.options(
        "/api/v1/cases",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    response = await client.get("/api/v1/cases", headers={"Origin": "moz-extension://1234-5678"})
    exposed = response.headers["access-control-expose-headers"].lower()
    for header in (
        "location",
        "x-total-count",
        "link",
        "x-request-id",
        "x-idempotency-replayed",
        "x-title-source",
        "retry-after",
        "deprecation",
        "sunset",
    ):
        assert header in exposed
    evil = await client.get("/api/v1/cases", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in evil.headers


async def test_idempotent_post_replays_byte_for_byte(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-case-0001"}
    first = await client.post("/api/v1/cases", json={"title": "once"}, headers=headers)
    again = await client.post("/api/v1/cases/", json={"title": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["x-idempotency-replayed"] == "true"
    assert "x-idempotency-replayed" not in first.headers
    assert (await client.get("/api/v1/cases")).headers["x-total-count"] == "1"


async def test_idempotency_key_reused_with_other_body(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "create-case-0002"}
    await client.post("/api/v1/cases", json={"title": "one"}, headers=headers)
    response = await client.post("/api/v1/cases", json={"title": "two"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_idempotency_key_format(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/cases", json={}, headers={"Idempotency-Key": "short"})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_IDEMPOTENCY_KEY"


async def test_idempotency_in_progress_is_409(client: httpx.AsyncClient, container) -> None:
    from faultmaven.api.idempotency import _record_key

    user = await container.auth_service.local_user()
    import hashlib

    body = b'{"title":"slow"}'
    key = _record_key(user.user_id, "POST", "/api/v1/cases", "in-flight-0001")
    await container.idempotency_store.claim(key, hashlib.sha256(body).hexdigest())
    response = await client.post(
        "/api/v1/cases",
        content=body,
        headers={"Idempotency-Key": "in-flight-0001", "content-type": "application/json"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert response.headers["retry-after"] == "1"


async def test_concurrent_idempotent_posts_create_once(client: httpx.AsyncClient) -> None:
    headers = {"Idempotency-Key": "concurrent-0001"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/cases", json={"title": "race"}, headers=headers) for _ in range(10)]
    )
    assert {r.status_code for r in responses} <= {201, 409}
    assert (await client.get("/api/v1/cases")).headers["x-total-count"] == "1"


async def test_health_ready_detailed_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "healthy"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["database"]["at_head"] is True
    assert ready.json()["llm"]["configured"] is False
    detailed = (await client.get("/health/detailed")).json()
    assert detailed["case_integration"] == {"enabled": True, "case_service_healthy": True}
    assert detailed["queue"]["kind"] == "in_process" and detailed["queue"]["pending"] == 0
    assert detailed["dev_login"] is True
    await client.get("/api/v1/cases")
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert 'http_requests_total{method="GET",route="/api/v1/cases",status="200"}' in metrics.text
    assert "http_request_duration_seconds_bucket" in metrics.text
