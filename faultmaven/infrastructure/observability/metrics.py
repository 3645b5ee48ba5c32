"""Prometheus metrics for FaultMaven on an instance-owned registry.

Each `Metrics` owns its `CollectorRegistry`, so several apps in one test process do not collide.
No label ever carries a case id, user id or raw path: HTTP metrics take the route template.

Counters are declared without the `_total` suffix where the name lacks it; prometheus_client always
exposes counters as `<name>_total` (e.g. `case_agent_integration_success_total`).

Multi-process (several uvicorn/gunicorn workers):
  1. Export `PROMETHEUS_MULTIPROC_DIR` to an empty, writable directory *before* the workers start
     (prometheus_client reads it at import time and then writes every value to mmap files there).
     Wipe the directory on each deployment start.
  2. `render()` sees the variable and aggregates all workers' files with `MultiProcessCollector`.
  3. Under gunicorn, call `prometheus_client.multiprocess.mark_process_dead(worker.pid)` in the
     `child_exit` hook so the `livemax` circuit gauge forgets dead workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)

MULTIPROC_ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"

CircuitState = Literal["closed", "half_open", "open"]
CIRCUIT_STATE_VALUES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}

QUERY_OUTCOMES = ("success", "degraded", "error")
FAILURE_KINDS = ("llm_provider", "case_service", "validation", "persistence", "unknown")
INJECTION_OUTCOMES = ("injected", "empty", "failed")

# Agent turns and LLM calls range from cache hits (~10 ms) to long tool-using runs (~2 min).
SLOW_OPERATION_BUCKETS = (
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0,
)
# Most routes answer in milliseconds, but the agent route holds the request for the whole turn.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def _label(value: Any) -> str:
    """A label value from event data; missing values become "unknown" rather than failing the caller."""
    return str(value) if value not in (None, "") else "unknown"


class Metrics:
    """Every FaultMaven metric, registered on `self.registry`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._declare_http_metrics()
        self._declare_case_metrics()
        self._declare_llm_metrics()
        self._initialize_known_series()

    def _declare_http_metrics(self) -> None:
        self.http_requests_total = Counter(
            "http_requests_total", "HTTP requests by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.http_request_duration_seconds = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route template.",
            ["method", "route"], buckets=HTTP_BUCKETS, registry=self.registry,
        )
        self.deprecated_route_requests_total = Counter(
            "deprecated_route_requests_total", "Requests still hitting deprecated routes.",
            ["route"], registry=self.registry,
        )

    def _declare_case_metrics(self) -> None:
        self.case_agent_integration_success = Counter(
            "case_agent_integration_success", "Agent turns answered for a case.",
            ["has_conversation_context", "response_type"], registry=self.registry,
        )
        self.case_query_processing_time = Histogram(
            "case_query_processing_time", "Seconds spent answering one case query.",
            ["outcome"], buckets=SLOW_OPERATION_BUCKETS, registry=self.registry,
        )
        self.case_agent_integration_failures_total = Counter(
            "case_agent_integration_failures_total", "Agent turns that failed, by failure kind.",
            ["kind"], registry=self.registry,
        )
        self.case_context_injections_total = Counter(
            "case_context_injections_total", "Attempts to inject conversation context into a turn.",
            ["outcome"], registry=self.registry,
        )
        self.case_persistence_failures_total = Counter(
            "case_persistence_failures_total", "Case store writes or reads that failed.",
            ["operation"], registry=self.registry,
        )

    def _declare_llm_metrics(self) -> None:
        self.llm_provider_failovers_total = Counter(
            "llm_provider_failovers_total", "Failovers from one LLM provider to the next.",
            ["from_provider", "to_provider", "reason"], registry=self.registry,
        )
        self.llm_circuit_state = Gauge(
            "llm_circuit_state", "Circuit breaker state per provider: 0=closed, 1=half_open, 2=open.",
            ["provider"], multiprocess_mode="livemax", registry=self.registry,
        )
        self.llm_requests_total = Counter(
            "llm_requests_total", "LLM calls by provider, model and outcome.",
            ["provider", "model", "outcome"], registry=self.registry,
        )
        self.llm_request_duration_seconds = Histogram(
            "llm_request_duration_seconds", "LLM call latency.",
            ["provider", "model"], buckets=SLOW_OPERATION_BUCKETS, registry=self.registry,
        )
        self.llm_tokens_total = Counter(
            "llm_tokens_total", "Tokens sent to and received from LLM providers.",
            ["provider", "model", "direction"], registry=self.registry,
        )

    def _initialize_known_series(self) -> None:
        """Expose zero-valued series for closed label sets, so `rate()` and alerts work before any event."""
        for outcome in QUERY_OUTCOMES:
            self.case_query_processing_time.labels(outcome=outcome)
        for kind in FAILURE_KINDS:
            self.case_agent_integration_failures_total.labels(kind=kind)
        for outcome in INJECTION_OUTCOMES:
            self.case_context_injections_total.labels(outcome=outcome)

    def observe_http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one request; `route` must be the template (`/api/v1/cases/{case_id}`), never the path."""
        self.http_requests_total.labels(method=method, route=route, status=str(status)).inc()
        self.http_request_duration_seconds.labels(method=method, route=route).observe(seconds)

    def set_circuit_state(self, provider: str, state: CircuitState) -> None:
        """Publish a provider's breaker state as 0/1/2; raises ValueError for an unknown state."""
        if state not in CIRCUIT_STATE_VALUES:
            raise ValueError(f"unknown circuit state {state!r}; expected {sorted(CIRCUIT_STATE_VALUES)}")
        self.llm_circuit_state.labels(provider=provider).set(CIRCUIT_STATE_VALUES[state])

    def on_llm_event(self, event: str, data: dict[str, Any]) -> None:
        """Listener for the LLM router's events. Never raises: a metrics problem must not fail an LLM call."""
        handler = self._llm_event_handlers().get(event)
        if handler is None:
            logger.warning("ignoring unknown llm event %r", event)
            return
        try:
            handler(data)
        except (TypeError, ValueError) as exc:
            logger.warning("dropping malformed llm event %r: %s", event, exc)

    def _llm_event_handlers(self) -> dict[str, Callable[[dict[str, Any]], None]]:
        return {
            "failover": self._on_failover,
            "circuit_state": self._on_circuit_state,
            "llm_call": self._on_llm_call,
        }

    def _on_failover(self, data: dict[str, Any]) -> None:
        self.llm_provider_failovers_total.labels(
            from_provider=_label(data.get("from")), to_provider=_label(data.get("to")),
            reason=_label(data.get("reason")),
        ).inc()

    def _on_circuit_state(self, data: dict[str, Any]) -> None:
        self.set_circuit_state(_label(data.get("provider")), data.get("state"))

    def _on_llm_call(self, data: dict[str, Any]) -> None:
        provider, model, outcome = (_label(data.get(key)) for key in ("provider", "model", "outcome"))
        self.llm_requests_total.labels(provider=provider, model=model, outcome=outcome).inc()
        if data.get("seconds") is not None:
            duration = self.llm_request_duration_seconds.labels(provider=provider, model=model)
            duration.observe(float(data["seconds"]))
        for direction in ("input", "output"):
            tokens = int(data.get(f"{direction}_tokens") or 0)
            if tokens > 0:
                self.llm_tokens_total.labels(provider=provider, model=model, direction=direction).inc(tokens)

    def render(self) -> tuple[bytes, str]:
        """Exposition text and content type for `GET /metrics`; in multi-process mode, all workers'."""
        return generate_latest(self._exposition_registry()), CONTENT_TYPE_LATEST

    def _exposition_registry(self) -> CollectorRegistry:
        if not os.environ.get(MULTIPROC_ENV_VAR):
            return self.registry
        aggregate = CollectorRegistry()
        MultiProcessCollector(aggregate)
        return aggregate
