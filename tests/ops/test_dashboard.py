"""`GET /api/v1/metrics/case-agent`: the design document's figures, differenced over a sliding window."""

from __future__ import annotations

import httpx
import pytest

from faultmaven.infrastructure.observability.dashboard import (
    MAX_WINDOW_SECONDS,
    MIN_SPACING_SECONDS,
    CaseAgentDashboard,
    Snapshot,
)
from faultmaven.infrastructure.observability.metrics import Metrics
from tests.conftest import llm_environ
from tests.fakes.fake_llm import HTTPError, structured


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answer_turn(metrics: Metrics, outcome: str = "success", seconds: float = 2.0) -> None:
    """What the agent service records for one processed query."""
    metrics.case_query_processing_time.labels(outcome=outcome).observe(seconds)
    metrics.case_context_injections_total.labels(outcome="injected").inc()


async def open_case(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/v1/cases", json={"initial_message": "Checkout answers 502"})
    return response.json()["case"]["case_id"]


def test_figures_difference_counters_over_the_window_only() -> None:
    metrics, clock = Metrics(), Clock()
    dashboard = CaseAgentDashboard(metrics, persistence_enabled=True, clock=clock)
    dashboard.sample()
    for _ in range(4):
        answer_turn(metrics, seconds=10.0)
    clock.now += 600
    dashboard.sample()
    answer_turn(metrics, seconds=1.0)
    answer_turn(metrics, outcome="degraded", seconds=3.0)
    metrics.case_agent_integration_failures_total.labels(kind="llm_provider").inc()
    metrics.case_persistence_failures_total.labels(operation="agent_response").inc()
    metrics.observe_http_request("POST", "/api/v1/cases/{case_id}/queries", 422, 0.01)
    metrics.observe_http_request("POST", "/api/v1/cases", 422, 0.01)
    clock.now += 120
    figures = dashboard.figures(window_seconds=300)
    assert figures["window_seconds"] == 300 and figures["observed_seconds"] == 120.0
    assert figures["scope"] == "process"
    assert figures["case_agent_integration"] == {
        "requests_per_minute": 1.5,
        "success_rate": 33.3,
        "avg_response_time_ms": 2000.0,
        "context_injection_rate": 100.0,
        "persistence_success_rate": 75.0,
    }
    assert figures["error_breakdown"] == {
        "llm_provider_errors": 33.3,
        "case_service_errors": 0.0,
        "validation_errors": 33.3,
        "unknown_errors": 0.0,
    }
    whole = dashboard.figures(window_seconds=MAX_WINDOW_SECONDS)
    assert whole["observed_seconds"] == 720.0 and whole["case_agent_integration"]["success_rate"] == 71.4


def test_empty_window_has_null_rates_and_zero_traffic() -> None:
    dashboard = CaseAgentDashboard(Metrics(), persistence_enabled=False, clock=Clock())
    figures = dashboard.figures()
    assert figures["case_agent_integration"] == {
        "requests_per_minute": 0.0,
        "success_rate": None,
        "avg_response_time_ms": None,
        "context_injection_rate": None,
        "persistence_success_rate": None,
    }
    assert set(figures["error_breakdown"].values()) == {None}


def test_ring_buffer_is_bounded_and_keeps_a_baseline_for_the_longest_window() -> None:
    metrics, clock = Metrics(), Clock()
    dashboard = CaseAgentDashboard(metrics, persistence_enabled=True, clock=clock)
    for _ in range(3 * MAX_WINDOW_SECONDS // 15):
        dashboard.sample()
        dashboard.sample()
        clock.now += 15
    kept = dashboard._snapshots
    assert len(kept) <= MAX_WINDOW_SECONDS / MIN_SPACING_SECONDS + 2
    assert clock.now - kept[0].taken_at >= MAX_WINDOW_SECONDS
    gaps = [later.taken_at - earlier.taken_at for earlier, later in zip(kept, list(kept)[1:], strict=False)]
    assert min(gaps) >= MIN_SPACING_SECONDS


def test_a_counter_reset_counts_from_zero() -> None:
    before = Snapshot(0.0, {"queries:success": 5.0, "query_seconds": 10.0})
    after = Snapshot(60.0, {"queries:success": 1.0, "query_seconds": 12.5})
    assert after.since(before) == {"queries:success": 1.0, "query_seconds": 2.5}


async def test_dashboard_after_degraded_and_invalid_queries(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    queries = f"/api/v1/cases/{case_id}/queries"
    for _ in range(2):
        assert (await client.post(queries, json={"query": "why?"})).status_code == 201
    invalid = await client.post(queries, json={"query": ""})
    assert invalid.status_code == 422
    response = await client.get("/api/v1/metrics/case-agent")
    assert response.status_code == 200
    figures = response.json()
    integration, errors = figures["case_agent_integration"], figures["error_breakdown"]
    assert figures["window_seconds"] == 300
    assert integration["requests_per_minute"] == 3.0
    assert integration["success_rate"] == 0.0
    assert integration["avg_response_time_ms"] > 0
    assert integration["context_injection_rate"] == 100.0
    assert integration["persistence_success_rate"] == 100.0
    assert errors == {
        "llm_provider_errors": 0.0,
        "case_service_errors": 0.0,
        "validation_errors": 33.3,
        "unknown_errors": 0.0,
    }


async def test_dashboard_after_answered_and_failed_llm_turns(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, llm_max_retries=0)
    case_id = await open_case(http)
    fake_llm.script(structured({"content": "Pool exhausted.", "response_type": "ANSWER"}))
    assert (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why?"})).status_code == 201
    fake_llm.script(HTTPError(500))
    degraded = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "and now?"})
    assert degraded.json()["metadata"]["degraded"] is True
    figures = (await http.get("/api/v1/metrics/case-agent", params={"window_seconds": 60})).json()
    assert figures["window_seconds"] == 60
    assert figures["case_agent_integration"]["success_rate"] == 50.0
    assert figures["error_breakdown"]["llm_provider_errors"] == 50.0


@pytest.mark.parametrize("window", [59, MAX_WINDOW_SECONDS + 1])
async def test_window_outside_bounds_is_a_validation_error(client: httpx.AsyncClient, window: int) -> None:
    response = await client.get("/api/v1/metrics/case-agent", params={"window_seconds": window})
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"


async def test_dashboard_is_for_administrators(app_with) -> None:
    http, _ = await app_with(auth_mode="token", dev_login=True)
    assert (await http.get("/api/v1/metrics/case-agent")).status_code == 401
    token = (await http.post("/api/v1/auth/dev-login", json={"username": "dave"})).json()["access_token"]
    response = await http.get("/api/v1/metrics/case-agent", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.json()["code"] == "ADMIN_REQUIRED"
