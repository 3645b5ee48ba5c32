"""Metrics: exact names and labels in the exposition, LLM router events, multi-process aggregation."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from faultmaven.infrastructure.observability.metrics import MULTIPROC_ENV_VAR, Metrics

EXPECTED_LABELS = {
    "http_requests": {"method", "route", "status"},
    "http_request_duration_seconds": {"method", "route"},
    "case_agent_integration_success": {"has_conversation_context", "response_type"},
    "case_query_processing_time": {"outcome"},
    "case_agent_integration_failures": {"kind"},
    "llm_provider_failovers": {"from_provider", "to_provider", "reason"},
    "llm_circuit_state": {"provider"},
    "llm_requests": {"provider", "model", "outcome"},
    "llm_request_duration_seconds": {"provider", "model"},
    "llm_tokens": {"provider", "model", "direction"},
    "case_context_injections": {"outcome"},
    "case_persistence_failures": {"operation"},
    "deprecated_route_requests": {"route"},
}


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Metrics:
    monkeypatch.delenv(MULTIPROC_ENV_VAR, raising=False)
    return Metrics()


def _exercise_every_metric(metrics: Metrics) -> None:
    metrics.observe_http_request("GET", "/api/v1/cases/{case_id}", 200, 0.05)
    success = metrics.case_agent_integration_success
    success.labels(has_conversation_context="true", response_type="ANSWER").inc()
    metrics.case_query_processing_time.labels(outcome="success").observe(3.2)
    metrics.case_agent_integration_failures_total.labels(kind="llm_provider").inc()
    metrics.case_context_injections_total.labels(outcome="injected").inc()
    metrics.case_persistence_failures_total.labels(operation="add_message").inc()
    metrics.deprecated_route_requests_total.labels(route="/api/v1/agent/query").inc()
    metrics.on_llm_event("failover", {"from": "openai", "to": "anthropic", "reason": "timeout"})
    metrics.on_llm_event("circuit_state", {"provider": "openai", "state": "open"})
    metrics.on_llm_event(
        "llm_call",
        {"provider": "anthropic", "model": "claude", "seconds": 2.0, "input_tokens": 120,
         "output_tokens": 30, "outcome": "success"},
    )


def _samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.render()[0].decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(metrics: Metrics, name: str, **labels: str) -> float:
    return _samples(metrics)[(name, frozenset(labels.items()))]


def test_render_returns_prometheus_text(metrics: Metrics) -> None:
    body, content_type = metrics.render()
    assert content_type == CONTENT_TYPE_LATEST
    assert b"# TYPE http_requests_total counter" in body


def test_every_metric_is_exposed_with_its_labels(metrics: Metrics) -> None:
    _exercise_every_metric(metrics)
    text = metrics.render()[0].decode()

    families = {family.name: family for family in text_string_to_metric_families(text)}
    for name, labels in EXPECTED_LABELS.items():
        sample_labels = {key for sample in families[name].samples for key in sample.labels} - {"le"}
        assert sample_labels == labels, name


def test_counters_are_exposed_with_the_total_suffix(metrics: Metrics) -> None:
    _exercise_every_metric(metrics)
    text = metrics.render()[0].decode()

    success_labels = 'has_conversation_context="true",response_type="ANSWER"'
    assert f"case_agent_integration_success_total{{{success_labels}}} 1.0" in text
    assert 'http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="200"} 1.0' in text


def test_closed_label_sets_are_exposed_before_any_event(metrics: Metrics) -> None:
    samples = _samples(metrics)
    for kind in ("llm_provider", "case_service", "validation", "persistence", "unknown"):
        assert samples[("case_agent_integration_failures_total", frozenset({("kind", kind)}))] == 0
    for outcome in ("success", "degraded", "error"):
        assert samples[("case_query_processing_time_count", frozenset({("outcome", outcome)}))] == 0


def test_query_histogram_buckets_span_ten_ms_to_two_minutes(metrics: Metrics) -> None:
    buckets = {
        dict(labels)["le"]
        for name, labels in _samples(metrics)
        if name == "case_query_processing_time_bucket"
    }
    assert {"0.01", "120.0", "+Inf"} <= buckets


def test_instances_do_not_share_a_registry() -> None:
    first, second = Metrics(), Metrics()
    first.llm_requests_total.labels(provider="openai", model="m", outcome="success").inc()

    assert b"llm_requests_total{" not in second.render()[0]


def test_failover_event_counts(metrics: Metrics) -> None:
    for _ in range(2):
        metrics.on_llm_event("failover", {"from": "openai", "to": "anthropic", "reason": "rate_limited"})

    value = _value(
        metrics, "llm_provider_failovers_total", from_provider="openai", to_provider="anthropic",
        reason="rate_limited",
    )
    assert value == 2


@pytest.mark.parametrize(("state", "expected"), [("closed", 0), ("half_open", 1), ("open", 2)])
def test_circuit_state_event_sets_the_gauge(metrics: Metrics, state: str, expected: int) -> None:
    metrics.on_llm_event("circuit_state", {"provider": "openai", "state": state})

    assert _value(metrics, "llm_circuit_state", provider="openai") == expected


def test_llm_call_event_updates_requests_duration_and_tokens(metrics: Metrics) -> None:
    metrics.on_llm_event(
        "llm_call",
        {"provider": "openai", "model": "gpt-4o", "seconds": 1.5, "input_tokens": 100,
         "output_tokens": 25, "outcome": "success"},
    )

    llm = {"provider": "openai", "model": "gpt-4o"}
    assert _value(metrics, "llm_requests_total", outcome="success", **llm) == 1
    assert _value(metrics, "llm_request_duration_seconds_sum", **llm) == 1.5
    assert _value(metrics, "llm_tokens_total", direction="input", **llm) == 100
    assert _value(metrics, "llm_tokens_total", direction="output", **llm) == 25


def test_failed_llm_call_without_tokens_counts_only_the_request(metrics: Metrics) -> None:
    metrics.on_llm_event(
        "llm_call", {"provider": "openai", "model": "gpt-4o", "seconds": 30.0, "outcome": "timeout"}
    )

    assert _value(metrics, "llm_requests_total", provider="openai", model="gpt-4o", outcome="timeout") == 1
    assert b"llm_tokens_total{" not in metrics.render()[0]


def test_unknown_or_malformed_events_never_raise(metrics: Metrics) -> None:
    metrics.on_llm_event("retry", {"provider": "openai"})
    metrics.on_llm_event("circuit_state", {"provider": "openai", "state": "melted"})
    metrics.on_llm_event("llm_call", {"provider": "openai", "input_tokens": "many"})

    assert b"llm_circuit_state{" not in metrics.render()[0]


def test_set_circuit_state_rejects_unknown_states(metrics: Metrics) -> None:
    with pytest.raises(ValueError, match="melted"):
        metrics.set_circuit_state("openai", "melted")  # type: ignore[arg-type]


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys
    from faultmaven.infrastructure.observability.metrics import Metrics

    metrics = Metrics()
    metrics.llm_requests_total.labels(provider="openai", model="m", outcome="success").inc(int(sys.argv[1]))
    if sys.argv[2] == "render":
        sys.stdout.write(metrics.render()[0].decode())
    """
)


def _run_worker(multiproc_dir: Path, increment: int, action: str) -> str:
    env = {**os.environ, MULTIPROC_ENV_VAR: str(multiproc_dir)}
    completed = subprocess.run(
        [sys.executable, "-c", WORKER_SCRIPT, str(increment), action],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )
    return completed.stdout


def test_render_aggregates_across_processes(tmp_path: Path) -> None:
    _run_worker(tmp_path, 2, "write")
    text = _run_worker(tmp_path, 3, "render")

    assert 'llm_requests_total{model="m",outcome="success",provider="openai"} 5.0' in text
