"""OtelTracer: spans and attributes reach the exporter, user text never does, failures are recorded."""

import sys

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from faultmaven.infrastructure.observability.tracing import (
    MAX_ATTRIBUTE_LENGTH,
    OtelTracer,
    TracingConfigurationError,
    current_trace_id,
    sanitize_attributes,
)

OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> OtelTracer:
    return OtelTracer(span_processor=SimpleSpanProcessor(exporter))


def test_span_is_exported_with_primitive_attributes(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.trace("agent.turn", provider="openai", attempt=2, degraded=False, seconds=1.5) as span:
        assert span.is_recording()

    (finished,) = exporter.get_finished_spans()
    assert finished.name == "agent.turn"
    expected = {"provider": "openai", "attempt": 2, "degraded": False, "seconds": 1.5}
    assert dict(finished.attributes) == expected


def test_denied_and_non_primitive_attributes_are_dropped(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    with tracer.trace(
        "agent.turn",
        prompt="p", query="q", content="c", text="t", evidence="e", message="m",
        Prompt="p", **{"llm.query": "q"}, payload={"query": "q"}, tools=["a"], case_status="open",
    ):
        pass

    (finished,) = exporter.get_finished_spans()
    assert dict(finished.attributes) == {"case_status": "open"}


def test_long_strings_are_truncated() -> None:
    assert sanitize_attributes({"provider": "x" * 1000}) == {"provider": "x" * MAX_ATTRIBUTE_LENGTH}


def test_exception_is_recorded_with_error_status(tracer: OtelTracer, exporter: InMemorySpanExporter) -> None:
    user_text = "secret query text " * 50
    with pytest.raises(ValueError, match="boom"), tracer.trace("agent.turn"):
        raise ValueError("boom " + user_text)

    (finished,) = exporter.get_finished_spans()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.status.description == "ValueError"
    (event,) = finished.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "ValueError"
    assert len(event.attributes["exception.message"]) == MAX_ATTRIBUTE_LENGTH
    assert "secret query text" not in event.attributes["exception.stacktrace"]


def test_nested_spans_share_a_trace(tracer: OtelTracer, exporter: InMemorySpanExporter) -> None:
    with tracer.trace("outer"), tracer.trace("inner"):
        pass

    inner, outer = exporter.get_finished_spans()
    assert inner.parent.span_id == outer.context.span_id
    assert inner.context.trace_id == outer.context.trace_id


def test_current_trace_id_is_hex_inside_a_span_and_none_outside(
    tracer: OtelTracer, exporter: InMemorySpanExporter
) -> None:
    assert current_trace_id() is None
    with tracer.trace("request"):
        trace_id = current_trace_id()

    (finished,) = exporter.get_finished_spans()
    assert trace_id == format(finished.context.trace_id, "032x")
    assert current_trace_id() is None


def test_default_exporter_creates_spans_without_touching_the_global_provider() -> None:
    global_provider = trace.get_tracer_provider()
    tracer = OtelTracer()

    with tracer.trace("request") as span:
        assert span.get_span_context().is_valid
    assert trace.get_tracer_provider() is global_provider


def test_console_exporter_prints_the_span(capsys: pytest.CaptureFixture[str]) -> None:
    tracer = OtelTracer("console")
    with tracer.trace("console.span", provider="openai"):
        pass
    tracer.shutdown()

    assert "console.span" in capsys.readouterr().out


def test_otlp_without_the_extra_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, OTLP_MODULE, None)

    with pytest.raises(TracingConfigurationError, match=r"faultmaven\[otlp\]"):
        OtelTracer("otlp", endpoint="http://collector:4318/v1/traces")


def test_otlp_passes_the_endpoint_to_the_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_module = type(sys)("fake_otlp")
    created: list[str | None] = []

    def exporter_factory(endpoint: str | None) -> InMemorySpanExporter:
        created.append(endpoint)
        return InMemorySpanExporter()

    fake_module.OTLPSpanExporter = exporter_factory
    monkeypatch.setitem(sys.modules, OTLP_MODULE, fake_module)

    tracer = OtelTracer("otlp", endpoint="http://collector:4318/v1/traces")
    tracer.shutdown()

    assert created == ["http://collector:4318/v1/traces"]


def test_unknown_exporter_is_rejected() -> None:
    with pytest.raises(TracingConfigurationError, match="jaeger"):
        OtelTracer("jaeger")  # type: ignore[arg-type]
