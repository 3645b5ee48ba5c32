"""The Prometheus alerting rules: valid, their promtool unit tests pass, and every metric they read exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from faultmaven.infrastructure.observability.metrics import Metrics

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "faultmaven-rules.yml"
RULE_TESTS = RULES_DIR / "faultmaven-rules.test.yml"
# A raw metric name in PromQL is followed by its label matchers or its range; recorded names contain ":".
_METRIC_REFERENCE = re.compile(r"\b([a-z][a-z0-9_]*)(?=\{|\[)")

needs_promtool = pytest.mark.skipif(
    shutil.which("promtool") is None,
    reason="promtool is not on PATH: install Debian's `prometheus` package (.ci/run does)",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60, check=False)


@needs_promtool
def test_rules_are_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_rule_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def exposed_names() -> set[str]:
    """Every sample name the server exposes once each metric has seen an event."""
    metrics = Metrics()
    metrics.observe_http_request("POST", "/api/v1/cases/{case_id}/queries", 201, 0.1)
    success = metrics.case_agent_integration_success
    success.labels(has_conversation_context="true", response_type="ANSWER").inc()
    metrics.case_persistence_failures_total.labels(operation="agent_response").inc()
    call = {"provider": "primary", "model": "m", "outcome": "success", "seconds": 1}
    metrics.on_llm_event("llm_call", call)
    metrics.on_llm_event("circuit_state", {"provider": "primary", "state": "open"})
    lines = metrics.render()[0].decode().splitlines()
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in lines if line and not line.startswith("#")}


def test_rules_read_only_metrics_the_server_exposes() -> None:
    text = RULES.read_text()
    referenced = set(_METRIC_REFERENCE.findall(text))
    assert {"case_query_processing_time_bucket", "case_persistence_failures_total"} <= referenced
    assert referenced <= exposed_names()
    # A bare name inside an aggregation, which the pattern above does not see.
    assert "(llm_circuit_state)" in text
    assert "llm_circuit_state" in exposed_names()
