"""The web console in a real headless Chromium against a real server process (local auth mode).

The server's only LLM is the scripted fake; each test queues the model replies it expects.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.console_support import (
    CITED_LINE,
    LOG_LINES,
    LOG_TEXT,
    ask,
    console_server,
    create_case,
    drop_file,
    expect,
    screenshot_both_widths,
    serves_evidence,
)
from tests.fakes.fake_llm import FakeLLMServer, ToolCall, structured

pytestmark = pytest.mark.browser

ANSWER = (
    "## Likely cause\n\nThe **database pool times out** at line 4, then checkout returns 502.\n\n"
    "- Raise `max_connections` on the pool\n- Check slow `orders.lookup` queries\n\n"
    '<img src=x onerror="window.__xss = 1"> <script>window.__xss = 2</script>'
)
BIG_LOG = 40_000
ACTION_REQUIRED = "Action required: more evidence needed"
MORE_DATA_COMMAND = "kubectl logs deploy/checkout --since=1h"
MORE_DATA = {
    "content": "I need the checkout pods' logs around 14:00 to confirm.",
    "response_type": "NEEDS_MORE_DATA",
    "evidence_requests": [
        {
            "request_id": "req-1",
            "label": "Checkout pod logs",
            "description": "Logs of every checkout pod from 13:55 to 14:10.",
            "category": "logs",
            "guidance": {"commands": [MORE_DATA_COMMAND]},
        }
    ],
}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console"), fake_llm_server) as url:
        yield url


def test_case_list_create_rename_status_search_delete(page: Any, base_url: str) -> None:
    create_case(page, base_url, "Payments latency")
    case_id = create_case(page, base_url, "Checkout 502s after deploy")

    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Case title").fill("Checkout 502s since 14:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1.case-heading")).to_have_text("Checkout 502s since 14:00")
    page.get_by_label("Status").select_option("investigating")
    expect(page.locator(".case-sub .badge")).to_have_text("investigating")

    page.get_by_role("link", name="← Cases").click()
    row = page.locator(f'.case-row[data-case-id="{case_id}"]')
    expect(row).to_contain_text("Checkout 502s since 14:00")
    expect(row).to_contain_text("investigating")
    expect(row.locator("time")).to_be_visible()
    screenshot_both_widths(page, "cases")

    page.get_by_label("Search cases").fill("payments")
    expect(page.locator(".case-row")).to_have_count(1)
    expect(page.locator(".case-row")).to_contain_text("Payments latency")
    page.get_by_label("Search cases").fill("")
    page.get_by_label("Status", exact=True).select_option("investigating")
    expect(page.locator(".case-row")).to_have_count(1)

    page.goto(f"{base_url}/#/cases/{case_id}")
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(page.locator("h1.case-heading")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete case").click()
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    expect(page.locator(f'.case-row[data-case-id="{case_id}"]')).to_have_count(0)


def test_evidence_question_streamed_answer_citation_and_reload(
    page: Any, base_url: str, fake_llm: FakeLLMServer
) -> None:
    case_id = create_case(page, base_url, "Checkout returns 502")
    has_evidence = serves_evidence(base_url, case_id)
    if has_evidence:
        upload_evidence(page)
    else:
        warnings.warn("the evidence API answered 404: upload and citation steps skipped", stacklevel=1)

    fake_llm.script(
        ToolCall("search_case_evidence", {"query": "timeout"}),
        structured({"content": ANSWER, "response_type": "ANSWER", "confidence": 0.8}, delay=0.3),
    )
    page.get_by_role("link", name="Conversation").click()
    answer, content_type = ask(page, "Why does checkout return 502?")
    streamed = content_type.startswith("text/event-stream")
    expect(answer).to_have_attribute("data-delivery", "stream" if streamed else "json")
    if streamed:
        assert int(answer.get_attribute("data-deltas")) > 0, "the answer was streamed but no text was shown"
    expect(answer.locator(".markdown h4")).to_have_text("Likely cause")
    expect(answer.locator(".markdown strong")).to_have_text("database pool times out")
    expect(answer).to_contain_text('<img src=x onerror="window.__xss = 1">')
    assert answer.locator("img, script").count() == 0
    assert page.evaluate("window.__xss") is None
    expect(answer).to_contain_text("primary · fake-openai-model")

    if has_evidence:
        open_citation(page, answer)
    screenshot_both_widths(page, "conversation")

    fake_llm.script(structured(MORE_DATA))
    needs_data, _ = ask(page, "Anything else you need?")
    expect(needs_data.locator(".message-head")).to_contain_text(ACTION_REQUIRED)
    expect(needs_data.locator(".evidence-requests")).to_contain_text(MORE_DATA_COMMAND)

    page.reload()
    expect(page.locator("article.message-user")).to_have_count(2)
    first_answer = page.locator("article.message-agent").first
    expect(first_answer).to_contain_text("database pool times out")
    expect(page.locator("article.message-agent").last).to_contain_text(ACTION_REQUIRED)
    if has_evidence:
        expect(first_answer.get_by_role("button", name=re.compile(r"\[1\] app\.log"))).to_be_visible()


def upload_evidence(page: Any) -> None:
    """Drop a small log, pick a large one (upload progress), paste text; then the digest view."""
    page.get_by_role("link", name="Evidence").click()
    expect(page.locator(".drop-zone")).to_be_visible()
    drop_file(page, "app.log", LOG_TEXT)
    big_log = "".join(
        f"2025-03-14T13:{n // 60 % 60:02d}:{n % 60:02d}Z INFO checkout-api request ok id={n}\n"
        for n in range(BIG_LOG)
    )
    page.locator("#evidence-file").set_input_files(
        files=[{"name": "big.log", "mimeType": "text/plain", "buffer": big_log.encode()}]
    )
    expect(page.locator(".upload-row.done")).to_have_count(2, timeout=30_000)
    expect(page.locator(".upload-row.done progress").first).to_have_js_property("value", 100)
    page.get_by_label("Pasted text").fill("panic: runtime error: nil pointer\ngoroutine 1 [running]:")
    page.get_by_label("Name it").fill("panic.txt")
    page.get_by_role("button", name="Add pasted text").click()
    for name in ("app.log", "big.log", "panic.txt"):
        row = page.locator(".evidence-row", has_text=name)
        expect(row).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.locator(".evidence-row", has_text="app.log")).to_contain_text("6 lines")
    screenshot_both_widths(page, "evidence")

    page.locator(".evidence-row", has_text="app.log").get_by_role("link", name="View").click()
    expect(page.get_by_role("heading", name="Log digest")).to_be_visible()
    expect(page.locator(".digest")).to_contain_text("Event templates")
    expect(page.locator(".lines-output")).to_contain_text(LOG_LINES[0])
    screenshot_both_widths(page, "evidence-digest")


def open_citation(page: Any, answer: Any) -> None:
    citation = answer.get_by_role("button", name=re.compile(r"\[1\] app\.log"))
    expect(citation).to_contain_text(f"line {CITED_LINE}")
    citation.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("tr.cited")).to_have_count(1)
    expect(dialog.locator("tr.cited")).to_contain_text("db pool timeout")
    expect(dialog.locator("tr")).to_have_count(len(LOG_LINES) + 1)
    screenshot_both_widths(page, "citation-lines")
    dialog.get_by_role("link", name="Open in the evidence viewer").click()
    expect(page.get_by_role("heading", name=f"Raw lines around line {CITED_LINE}")).to_be_visible()
    expect(page.locator(".lines-output tr.cited")).to_contain_text("db pool timeout")
    page.go_back()
    expect(page.locator("article.message-agent").first).to_contain_text("database pool times out")


def test_knowledge_base_add_search_open_delete(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/#/knowledge")
    expect(page.get_by_role("heading", name="Knowledge base")).to_be_visible()
    page.get_by_text("Add a document").click()
    page.get_by_label("Title").fill("Checkout pool runbook")
    page.get_by_label("Tags").fill("checkout, database")
    page.get_by_label("Content").fill(
        "# Checkout pool runbook\n\nWhen the **checkout pool** is exhausted, raise `max_connections`."
    )
    page.get_by_role("button", name="Add document").click()
    row = page.locator(".document-row", has_text="Checkout pool runbook")
    expect(row).to_be_visible()
    expect(row).to_contain_text("#checkout #database")

    page.get_by_label("Search the knowledge base").fill("checkout pool exhausted")
    page.get_by_role("button", name="Search").click()
    hit = page.locator(".search-hit").first
    expect(hit).to_contain_text("Checkout pool runbook")
    screenshot_both_widths(page, "knowledge")

    hit.get_by_role("button", name="Checkout pool runbook").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("strong")).to_have_text("checkout pool")
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    row.get_by_role("button", name="Delete Checkout pool runbook").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".document-row", has_text="Checkout pool runbook")).to_have_count(0)


def test_settings_show_providers_and_storage(page: Any, base_url: str) -> None:
    page.goto(f"{base_url}/#/settings")
    provider = page.locator('.provider[data-provider="primary"]')
    expect(provider).to_contain_text("openai · fake-openai-model")
    expect(provider).to_contain_text("circuit closed")
    expect(page.locator("main")).to_contain_text("sqlite")
    expect(page.locator("main")).to_contain_text("0.1.0")
    screenshot_both_widths(page, "settings")


def test_missing_backend_parts_degrade_clearly(page: Any, base_url: str) -> None:
    """A server without the evidence or knowledge API (404 for the route) gets a plain explanation."""
    missing = {"status": 404, "content_type": "application/problem+json",
               "body": '{"status": 404, "detail": "Not Found", "code": "NOT_FOUND"}'}
    page.route(re.compile(r".*/api/v1/cases/[^/]+/data.*"), lambda route: route.fulfill(**missing))
    page.route(re.compile(r".*/api/v1/knowledge/.*"), lambda route: route.fulfill(**missing))
    case_id = create_case(page, base_url, "Old server")
    page.goto(f"{base_url}/#/cases/{case_id}/evidence")
    expect(page.get_by_text("Evidence is not available on this server.")).to_be_visible()
    expect(page.locator(".drop-zone")).to_have_count(0)
    page.goto(f"{base_url}/#/knowledge")
    expect(page.get_by_text("The knowledge base is not available on this server.")).to_be_visible()


def test_keyboard_reaches_the_composer_and_sends(page: Any, base_url: str, fake_llm: FakeLLMServer) -> None:
    create_case(page, base_url, "Keyboard only")
    fake_llm.script(structured({"content": "Answered from the keyboard.", "response_type": "ANSWER"}))
    page.get_by_label("Your question").focus()
    page.keyboard.type("Does Ctrl+Enter send?")
    page.keyboard.press("Control+Enter")
    answer = page.locator("article.message-agent").last
    expect(answer).to_have_attribute("data-state", "complete", timeout=30_000)
    expect(answer).to_contain_text("Answered from the keyboard.")
    assert page.evaluate("document.activeElement.name") == "query", "focus returns to the composer"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Send"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid", "no focus ring"


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def test_streamed_events_render_progress_reset_and_the_final_answer(page: Any, base_url: str) -> None:
    """The console's side of streaming, against a scripted event stream (`reset` voids the partial text)."""
    case_id = create_case(page, base_url, "Streaming")
    final = {
        "content": "Final answer after failover.",
        "response_type": "CLARIFICATION_REQUEST",
        "sources": [],
        "metadata": {"provider": "backup", "model": "m", "degraded": False},
    }
    stream = "".join([
        ": keep-alive\n\n",
        sse("status", {"message": "Searching the evidence"}),
        sse("tool_call", {"name": "search_case_evidence"}),
        sse("tool_result", {"name": "search_case_evidence"}),
        sse("text_delta", {"text": "Partial answer from the "}),
        sse("text_delta", {"text": "failing provider"}),
        sse("reset", {"provider": "backup", "reason": "provider failed"}),
        sse("text_delta", {"text": "Final answer "}),
        sse("complete", final),
    ])
    page.route(
        f"{base_url}/api/v1/cases/{case_id}/queries",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=stream),
    )
    answer, content_type = ask(page, "Stream please")
    assert content_type.startswith("text/event-stream")
    expect(answer).to_have_attribute("data-delivery", "stream")
    assert answer.get_attribute("data-deltas") == "3"
    expect(answer.locator(".markdown")).to_have_text("Final answer after failover.")
    expect(answer).not_to_contain_text("failing provider")
    expect(answer.locator(".message-head")).to_contain_text("Action required: please clarify")


def test_a_stream_error_is_shown(page: Any, base_url: str) -> None:
    case_id = create_case(page, base_url, "Streaming error")
    stream = sse("text_delta", {"text": "Half an"}) + sse("error", {"detail": "Every provider failed"})
    page.route(
        f"{base_url}/api/v1/cases/{case_id}/queries",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=stream),
    )
    page.get_by_label("Your question").fill("Will this fail?")
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.message-agent").last
    expect(answer).to_have_attribute("data-state", "error")
    expect(answer.get_by_role("alert")).to_contain_text("Every provider failed")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()


def test_stop_cancels_a_streamed_query(page: Any, base_url: str, fake_llm: FakeLLMServer) -> None:
    create_case(page, base_url, "Stop me")
    fake_llm.script(structured({"content": "Too late."}, delay=5))
    page.get_by_label("Your question").fill("A slow question")
    page.get_by_role("button", name="Send").click()
    answer = page.locator("article.message-agent").last
    expect(answer.locator(".thinking-label")).to_have_text(re.compile("Thinking|Queued"))
    page.get_by_role("button", name="Stop").click()
    expect(answer).to_have_attribute("data-state", "cancelled")
    expect(answer).to_contain_text("stopped")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
