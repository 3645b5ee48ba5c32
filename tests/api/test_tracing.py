"""Spans around the case query, context load, LLM call and persistence, with no prompt content in them."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from faultmaven.infrastructure.observability.tracing import OtelTracer
from tests.conftest import llm_environ
from tests.fakes.fake_llm import structured


async def test_case_query_spans(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    exporter = InMemorySpanExporter()

    def use_memory_tracer(container) -> None:
        container.__dict__["tracer"] = OtelTracer(span_processor=SimpleSpanProcessor(exporter))

    http, _ = await app_with(llm_providers=providers, environ=environ, prepare=use_memory_tracer)
    case_id = (await http.post("/api/v1/cases", json={"initial_message": "secret-ish words here"})).json()[
        "case"
    ]["case_id"]
    fake_llm.script(structured({"content": "answer text", "response_type": "ANSWER"}))
    assert (
        await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "my private question"})
    ).status_code == 201
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert {"process_case_query", "load_case_context", "llm_generate", "persist_case_message"} <= set(spans)
    llm = spans["llm_generate"].attributes
    assert llm["llm.provider"] == "primary" and llm["llm.model"] == "fake-openai-model"
    assert llm["llm.input_tokens"] > 0 and llm["llm.output_tokens"] > 0
    assert spans["llm_generate"].parent.span_id == spans["process_case_query"].context.span_id
    every_value = " ".join(str(value) for span in spans.values() for value in span.attributes.values())
    for text in ("my private question", "secret-ish", "answer text", case_id):
        assert text not in every_value
