"""OpenTelemetry tracing behind `ITracer`, with a guard that keeps user text out of span attributes.

Each `OtelTracer` owns its `TracerProvider`, so tests and several apps in one process never touch the
global provider. The exporter is chosen by configuration: "none" still creates real spans (same code
path, nothing exported), "console" prints them, "otlp" ships them over OTLP/HTTP (optional extra `otlp`).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import Span, Status, StatusCode

ExporterName = Literal["none", "console", "otlp"]

DENIED_ATTRIBUTE_KEYS = frozenset({"prompt", "query", "content", "text", "evidence", "message"})
MAX_ATTRIBUTE_LENGTH = 256

_OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
_INSTRUMENTATION_NAME = "faultmaven"


class TracingConfigurationError(RuntimeError):
    """The requested exporter cannot be built (unknown name or missing optional dependency)."""


def _is_denied(key: str) -> bool:
    """Deny `prompt` as well as `Prompt` or `llm.prompt`: namespacing must not smuggle text through."""
    normalized = key.lower()
    return normalized in DENIED_ATTRIBUTE_KEYS or normalized.rsplit(".", 1)[-1] in DENIED_ATTRIBUTE_KEYS


def _truncate(value: str) -> str:
    return value[:MAX_ATTRIBUTE_LENGTH]


def sanitize_attributes(attributes: Mapping[str, Any]) -> dict[str, str | bool | int | float]:
    """Keep only primitive, non-denied attributes, strings cut to 256 chars.

    Non-primitives are dropped rather than stringified, because `str(obj)` could carry user text.
    Call it yourself before `span.set_attributes(...)` on a span yielded by `OtelTracer.trace`.
    """
    safe: dict[str, str | bool | int | float] = {}
    for key, value in attributes.items():
        if _is_denied(key):
            continue
        if isinstance(value, str):
            safe[key] = _truncate(value)
        elif isinstance(value, bool | int | float):
            safe[key] = value
    return safe


def _otlp_processor(endpoint: str | None) -> SpanProcessor:
    try:
        module = importlib.import_module(_OTLP_MODULE)
    except ImportError as exc:
        raise TracingConfigurationError(
            "tracing exporter 'otlp' needs opentelemetry-exporter-otlp-proto-http; "
            "install it with `pip install 'faultmaven[otlp]'`"
        ) from exc
    return BatchSpanProcessor(module.OTLPSpanExporter(endpoint=endpoint))


def _exporter_processor(exporter: str, endpoint: str | None) -> SpanProcessor | None:
    """The processor for the configured exporter; None for "none" (spans are created, never exported)."""
    if exporter == "none":
        return None
    if exporter == "console":
        # The exporter's default stream is bound at import; resolve it now so redirection is honoured.
        return SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stdout))
    if exporter == "otlp":
        return _otlp_processor(endpoint)
    raise TracingConfigurationError(f"unknown tracing exporter {exporter!r}; expected none, console or otlp")


def _record_failure(span: Span, exc: Exception) -> None:
    """Mark the span failed without copying the full exception text, which may quote user input."""
    span.record_exception(
        exc,
        attributes={
            "exception.message": _truncate(str(exc)),
            "exception.stacktrace": "".join(traceback.format_tb(exc.__traceback__)),
        },
    )
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


class OtelTracer:
    """`ITracer` on an instance-owned OpenTelemetry provider.

    `span_processor` lets tests attach `SimpleSpanProcessor(InMemorySpanExporter())` and read spans back.
    """

    def __init__(
        self,
        exporter: ExporterName = "none",
        *,
        endpoint: str | None = None,
        service_name: str = "faultmaven",
        span_processor: SpanProcessor | None = None,
    ) -> None:
        self._provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        for processor in (_exporter_processor(exporter, endpoint), span_processor):
            if processor is not None:
                self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer(_INSTRUMENTATION_NAME)

    @contextmanager
    def trace(self, name: str, **attributes: Any) -> Iterator[Span]:
        """Open a current span; an `Exception` escaping the block is recorded and sets ERROR status.

        `BaseException`s such as task cancellation pass through unrecorded: a client hanging up is not
        a server fault.
        """
        with self._tracer.start_as_current_span(
            name,
            attributes=sanitize_attributes(attributes),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except Exception as exc:
                _record_failure(span, exc)
                raise

    def shutdown(self) -> None:
        """Flush and stop the exporters; call it on application shutdown."""
        self._provider.shutdown()


def current_trace_id() -> str | None:
    """The active span's trace id as 32 hex chars, for log correlation; None outside any span."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
