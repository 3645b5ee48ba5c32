"""Tracing, metrics and structured logging; wired together by the composition root."""

from faultmaven.infrastructure.observability.logging import (
    bind_request_context,
    clear_request_context,
    configure_logging,
    set_redactor,
)
from faultmaven.infrastructure.observability.metrics import Metrics
from faultmaven.infrastructure.observability.tracing import (
    OtelTracer,
    TracingConfigurationError,
    current_trace_id,
    sanitize_attributes,
)

__all__ = [
    "Metrics",
    "OtelTracer",
    "TracingConfigurationError",
    "bind_request_context",
    "clear_request_context",
    "configure_logging",
    "current_trace_id",
    "sanitize_attributes",
    "set_redactor",
]
