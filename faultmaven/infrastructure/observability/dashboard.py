"""The design document's "Observability Dashboard" figures, over a sliding window of recent minutes.

Prometheus counters only grow, so a figure over the last N seconds is the difference between the counters
now and a snapshot taken N seconds ago. Snapshots are kept in a small ring buffer: one every
`SAMPLE_INTERVAL_SECONDS` from the container's background task, and one on a dashboard call (at most one
per `MIN_SPACING_SECONDS`), for up to `MAX_WINDOW_SECONDS`.

The counters are read from `Metrics.render()`: per process, unless `PROMETHEUS_MULTIPROC_DIR` is set, in
which case the exposition aggregates every worker and so do these figures. For fleet-wide figures across
hosts, query Prometheus (`deploy/prometheus/faultmaven-rules.yml` uses the same definitions).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from faultmaven.infrastructure.observability.metrics import (
    INJECTION_OUTCOMES,
    MULTIPROC_ENV_VAR,
    QUERY_OUTCOMES,
    Metrics,
)

SAMPLE_INTERVAL_SECONDS = 15.0
MIN_SPACING_SECONDS = 5.0
MAX_WINDOW_SECONDS = 3600
# The routes whose 422 answers count as the dashboard's validation errors.
QUERY_ROUTES = frozenset(
    {"/api/v1/cases/{case_id}/queries", "/api/v1/agent/cases/{case_id}/query", "/api/v1/agent/query"}
)
# Each processed query writes two messages (the user's and the agent's) when case integration is on.
PERSISTENCE_WRITES_PER_QUERY = 2


def _counter_key(sample: Sample) -> str | None:
    """The snapshot key a Prometheus sample feeds, or None for samples the dashboard does not use."""
    name, labels = sample.name, sample.labels
    if name == "case_query_processing_time_count":
        return f"queries:{labels.get('outcome')}"
    if name == "case_query_processing_time_sum":
        return "query_seconds"
    if name == "case_agent_integration_failures_total":
        return f"failures:{labels.get('kind')}"
    if name == "case_context_injections_total":
        return f"injections:{labels.get('outcome')}"
    if name == "case_persistence_failures_total":
        return "persistence_failures"
    if name == "http_requests_total" and labels.get("status") == "422":
        return "validation_errors" if labels.get("route") in QUERY_ROUTES else None
    return None


def read_counters(exposition: str) -> dict[str, float]:
    """Sum the used samples of a Prometheus text exposition into snapshot keys."""
    counters: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            key = _counter_key(sample)
            if key is not None:
                counters[key] = counters.get(key, 0.0) + sample.value
    return counters


@dataclass(frozen=True)
class Snapshot:
    taken_at: float
    counters: dict[str, float]

    def since(self, earlier: Snapshot) -> dict[str, float]:
        """Growth per key; a counter that went down (a worker restarted) counts from zero, like `rate()`."""
        growth = {}
        for key, value in self.counters.items():
            before = earlier.counters.get(key, 0.0)
            growth[key] = value - before if value >= before else value
        return growth


def _percent(part: float, whole: float) -> float | None:
    """A percentage with one decimal, or None when there was nothing to measure."""
    return round(100.0 * part / whole, 1) if whole > 0 else None


def _total(growth: dict[str, float], prefix: str, names: Iterable[str]) -> float:
    return sum(growth.get(f"{prefix}:{name}", 0.0) for name in names)


def figures_from_growth(
    growth: dict[str, float], seconds: float, persistence_enabled: bool
) -> dict[str, Any]:
    """The design document's JSON from counter growth over `seconds`.

    Requests are the processed queries plus those refused as invalid (422); `success_rate` and the error
    breakdown are percentages of them. Rates without any request are null rather than a made-up 100.
    """
    processed = _total(growth, "queries", QUERY_OUTCOMES)
    requests = processed + growth.get("validation_errors", 0.0)
    injections = _total(growth, "injections", INJECTION_OUTCOMES)
    writes = PERSISTENCE_WRITES_PER_QUERY * processed if persistence_enabled else 0.0
    minutes = max(seconds, 60.0) / 60.0
    return {
        "case_agent_integration": {
            "requests_per_minute": round(requests / minutes, 2),
            "success_rate": _percent(growth.get("queries:success", 0.0), requests),
            "avg_response_time_ms": (
                round(1000.0 * growth.get("query_seconds", 0.0) / processed, 1) if processed else None
            ),
            "context_injection_rate": _percent(growth.get("injections:injected", 0.0), injections),
            "persistence_success_rate": _percent(writes - growth.get("persistence_failures", 0.0), writes),
        },
        "error_breakdown": {
            "llm_provider_errors": _percent(growth.get("failures:llm_provider", 0.0), requests),
            "case_service_errors": _percent(growth.get("failures:case_service", 0.0), requests),
            "validation_errors": _percent(growth.get("validation_errors", 0.0), requests),
            "unknown_errors": _percent(growth.get("failures:unknown", 0.0), requests),
        },
    }


class CaseAgentDashboard:
    """A ring buffer of counter snapshots and the figures over any window up to `MAX_WINDOW_SECONDS`."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        persistence_enabled: bool,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._metrics = metrics
        self._persistence_enabled = persistence_enabled
        self._clock = clock
        self._snapshots: deque[Snapshot] = deque()

    def sample(self) -> Snapshot:
        """Take a snapshot now and keep it, unless the last kept one is younger than `MIN_SPACING_SECONDS`."""
        snapshot = Snapshot(self._clock(), read_counters(self._metrics.render()[0].decode()))
        if not self._snapshots or snapshot.taken_at - self._snapshots[-1].taken_at >= MIN_SPACING_SECONDS:
            self._snapshots.append(snapshot)
            self._forget_older_than(snapshot.taken_at - MAX_WINDOW_SECONDS)
        return snapshot

    def _forget_older_than(self, horizon: float) -> None:
        """Drop snapshots before `horizon` but the newest of them: the baseline of the longest window."""
        while len(self._snapshots) > 1 and self._snapshots[1].taken_at <= horizon:
            self._snapshots.popleft()

    def _baseline(self, now: Snapshot, start: float) -> Snapshot:
        """The earlier snapshot taken nearest to `start` (the oldest one while the process is younger than
        the window), so the observed span is within a sampling interval of the window asked for."""
        earlier = [snapshot for snapshot in self._snapshots if snapshot.taken_at < now.taken_at]
        return min(earlier, key=lambda snapshot: abs(snapshot.taken_at - start), default=now)

    def figures(self, window_seconds: int = 300) -> dict[str, Any]:
        now = self.sample()
        baseline = self._baseline(now, now.taken_at - window_seconds)
        observed = now.taken_at - baseline.taken_at
        return {
            "window_seconds": window_seconds,
            "observed_seconds": round(observed, 1),
            "scope": "all_workers" if os.environ.get(MULTIPROC_ENV_VAR) else "process",
            "generated_at": datetime.now(UTC).isoformat(),
            **figures_from_growth(now.since(baseline), observed, self._persistence_enabled),
        }
