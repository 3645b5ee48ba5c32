"""Grounding end to end: a log with a specific failure and a matching runbook; the LLM is offered the
tools, their results carry the right lines and runbook, and the answer cites them. Without an LLM the
honest offline answer cites the same. A resolved case's report is found by a later case's search."""

from __future__ import annotations

import asyncio
import json

import httpx

from tests.conftest import llm_environ
from tests.evidence.support import FAILURE_LINE, FAILURE_TEXT, generated_log, upload_file
from tests.fakes.fake_llm import ToolCall, structured

RUNBOOK = """# Database connection pool exhausted

## Symptoms
Requests fail with `connection pool exhausted`; active connections at the pool maximum.

## Fix
Raise `maximumPoolSize` and find the slow queries holding connections (pg_stat_activity).
"""


FILLERS = {
    "DNS resolution failures": "# DNS\nResolvers time out; check /etc/resolv.conf and CoreDNS pods.",
    "Disk full": "# Disk full\nFind large files with du; rotate logs; extend the volume.",
    "Certificate expiry": "# Certificates\nCheck notAfter with openssl x509; renew with cert-manager.",
}


async def grounded_case(http: httpx.AsyncClient) -> tuple[str, str, str]:
    """A case with the failing log uploaded and the runbook in a small knowledge base (other runbooks
    beside it, so ranking has something to rank against)."""
    for title, content in FILLERS.items():
        await http.post("/api/v1/knowledge/documents", json={"title": title, "content": content,
                                                             "document_type": "playbook"})
    runbook = await http.post(
        "/api/v1/knowledge/documents",
        json={"title": "Connection pool exhausted runbook", "content": RUNBOOK, "document_type": "playbook"},
    )
    assert runbook.status_code == 201, runbook.text
    case_id = (await http.post("/api/v1/cases", json={"title": "Checkout 500s"})).json()["case"]["case_id"]
    uploaded = await upload_file(http, case_id, "checkout.log", generated_log(2000))
    assert uploaded.status_code == 201, uploaded.text
    return case_id, uploaded.json()["data_id"], runbook.json()["document_id"]


async def test_llm_uses_the_tools_and_cites_lines_and_runbook(app_with, fake_llm) -> None:
    providers, environ = llm_environ(primary=("openai", fake_llm))
    http, _ = await app_with(llm_providers=providers, environ=environ, kb_load_starter=False)
    case_id, data_id, document_id = await grounded_case(http)
    fake_llm.script(
        ToolCall("search_case_evidence", {"query": "pool exhausted"}),
        ToolCall("search_knowledge_base", {"query": "connection pool exhausted"}),
        structured(
            {
                "content": f"Line {FAILURE_LINE} shows the pool exhausted; raise maximumPoolSize.",
                "response_type": "SOLUTION_READY",
            }
        ),
    )
    body = (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "Why the 500s?"})).json()
    offered = {tool["function"]["name"] for tool in fake_llm.model_requests[0].body["tools"]}
    assert {"search_case_evidence", "search_knowledge_base", "get_evidence_digest"} <= offered
    evidence_result = json.dumps(fake_llm.model_requests[1].body["messages"][-1])
    assert (
        "connection pool exhausted after 30000 ms" in evidence_result and str(FAILURE_LINE) in evidence_result
    )
    kb_result = json.dumps(fake_llm.model_requests[2].body["messages"][-1])
    assert "maximumPoolSize" in kb_result
    log_sources = [s for s in body["sources"] if s["type"] == "log_file"]
    assert log_sources and log_sources[0]["metadata"]["evidence_id"] == data_id
    assert log_sources[0]["metadata"]["line_start"] == FAILURE_LINE == log_sources[0]["metadata"]["line_end"]
    assert FAILURE_TEXT in log_sources[0]["content"]
    kb_sources = [s for s in body["sources"] if s["type"] == "knowledge_base"]
    assert any(s["metadata"]["document_id"] == document_id for s in kb_sources)
    lines = await http.get(
        f"/api/v1/cases/{case_id}/data/{data_id}/lines", params={"start": FAILURE_LINE, "end": FAILURE_LINE}
    )
    assert FAILURE_TEXT in lines.text


async def test_offline_answer_cites_the_same(app_with) -> None:
    http, _ = await app_with(kb_load_starter=False)
    case_id, data_id, document_id = await grounded_case(http)
    body = (
        await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "connection pool exhausted"})
    ).json()
    assert body["metadata"]["degraded"] is True
    assert "connection pool exhausted" in body["content"]
    by_type = {s["type"]: s for s in body["sources"]}
    assert by_type["log_file"]["metadata"]["evidence_id"] == data_id
    assert by_type["log_file"]["metadata"]["line_start"] == FAILURE_LINE
    assert by_type["log_analysis"]["metadata"]["evidence_id"] == data_id
    assert any(
        s["metadata"].get("document_id") == document_id
        for s in body["sources"]
        if s["type"] == "knowledge_base"
    )


async def test_resolved_case_report_is_found_by_a_later_case(app_with) -> None:
    http, container = await app_with()
    case_id = (
        await http.post(
            "/api/v1/cases",
            json={
                "title": "Orders API OOMKilled",
                "initial_message": "orders-api pods OOMKilled every hour, contact oncall@example.com",
            },
        )
    ).json()["case"]["case_id"]
    await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "heap dump shows a cache leak?"})
    not_yet = await http.get(f"/api/v1/cases/{case_id}/report")
    assert not_yet.status_code == 409 and not_yet.json()["code"] == "REPORT_NOT_AVAILABLE"
    assert (await http.patch(f"/api/v1/cases/{case_id}", json={"status": "resolved"})).status_code == 200
    await container.report_service.drain()
    report = (await http.get(f"/api/v1/cases/{case_id}/report")).json()
    assert report["status"] == "resolved" and report["generated_by"] == "case_data"
    assert [entry["role"] for entry in report["timeline"]] == ["user", "user", "agent"]
    assert "oncall@example.com" in report["timeline"][0]["text"]
    markdown = await http.get(f"/api/v1/cases/{case_id}/report", params={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Case report: Orders API OOMKilled")
    document = (await http.get(f"/api/v1/knowledge/documents/{report['document_id']}")).json()
    assert document["document_type"] == "previous_case"
    assert "oncall@example.com" not in document["content"] and "<EMAIL_1>" in document["content"]
    later = (await http.post("/api/v1/cases", json={"title": "OOMKilled again"})).json()["case"]["case_id"]
    found = (await http.post("/api/v1/knowledge/search", json={"query": "orders-api OOMKilled"})).json()
    assert found["results"][0]["document_id"] == report["document_id"]
    offline = (
        await http.post(f"/api/v1/cases/{later}/queries", json={"query": "orders-api OOMKilled"})
    ).json()
    assert any(s["type"] == "previous_case" for s in offline["sources"])
    await asyncio.sleep(0)
