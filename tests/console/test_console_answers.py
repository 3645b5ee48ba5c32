"""An answer's sources are the ones it cites (the rest is under a collapsed "also retrieved"), and the
console passes an accessibility audit (axe-core, served from the axe-playwright-python package)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.console_support import LOG_TEXT, ask, console_server, create_case, expect
from tests.fakes.fake_llm import FakeLLMServer, ToolCall, structured

pytestmark = pytest.mark.browser

CITING_ANSWER = "The **database pool times out** (app.log, line 4), so checkout answers 502."
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-answers"), fake_llm_server) as url:
        yield url


def _case_with_log(page: Any, base_url: str, title: str) -> str:
    case_id = create_case(page, base_url, title)
    log = {"content": LOG_TEXT, "filename": "app.log"}
    uploaded = httpx.post(f"{base_url}/api/v1/cases/{case_id}/data", json=log, timeout=30)
    assert uploaded.status_code == 201, uploaded.text
    return case_id


def test_sources_are_what_the_answer_cites(page: Any, base_url: str, fake_llm: FakeLLMServer) -> None:
    _case_with_log(page, base_url, "Checkout 502 and the pool")
    fake_llm.script(
        ToolCall("search_case_evidence", {"query": "timeout"}),
        ToolCall("search_knowledge_base", {"query": "502 bad gateway upstream"}),
        structured({"content": CITING_ANSWER, "response_type": "ANSWER"}),
    )
    page.reload()
    answer, _ = ask(page, "Why does checkout return 502?")
    sources = answer.locator(".sources")
    expect(sources.get_by_role("heading", name="Sources")).to_be_visible()
    cited = sources.locator("> ol.source-list .citation")
    expect(cited).to_have_count(1)
    expect(cited).to_contain_text("[1] app.log · line 4")
    also = sources.locator("details.also-retrieved")
    expect(also).to_have_count(1)
    expect(also).not_to_have_attribute("open", "")
    expect(also.locator(".citation").first).to_be_hidden()
    also.locator("summary").click()
    expect(also.locator(".citation").first).to_be_visible()
    expect(also.locator(".citation").first).to_contain_text("[2]")


def test_an_answer_that_cites_nothing_lists_no_source(
    page: Any, base_url: str, fake_llm: FakeLLMServer
) -> None:
    _case_with_log(page, base_url, "Nothing cited")
    fake_llm.script(
        ToolCall("search_knowledge_base", {"query": "502 bad gateway upstream"}),
        structured({"content": "Restart the service and watch it.", "response_type": "ANSWER"}),
    )
    page.reload()
    answer, _ = ask(page, "What now?")
    sources = answer.locator(".sources")
    expect(sources.get_by_role("heading", name="Sources")).to_have_count(0)
    expect(sources.locator("details.also-retrieved summary")).to_contain_text("Retrieved, not cited")


def _audit(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    if importlib.util.find_spec("axe_playwright_python") is None:
        pytest.skip("axe-playwright-python is not installed (the dev extra has it)")
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).parent / "axe.min.js"
    # Evaluated through the DevTools protocol: the console's policy rightly refuses injected <script>s.
    page.evaluate(script.read_text(encoding="utf-8"))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']}"
        for violation in result["violations"]
        if violation["impact"] in SERIOUS
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_accessibility_audit_has_no_serious_violation(
    page: Any, base_url: str, fake_llm: FakeLLMServer, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 844})
    case_id = _case_with_log(page, base_url, f"Audit at {width}px")
    fake_llm.script(structured({"content": CITING_ANSWER, "response_type": "ANSWER"}))
    page.reload()
    ask(page, "Why does checkout return 502?")
    violations = {"conversation": _audit(page)}
    for view in ("#/cases", f"#/cases/{case_id}/evidence", "#/knowledge", "#/settings"):
        page.goto(f"{base_url}/{view}")
        expect(page.locator("#main h1").first).to_be_visible()
        page.wait_for_timeout(300)
        violations[view] = _audit(page)
    assert not any(violations.values()), violations


def test_code_blocks_and_commands_have_copy_buttons(
    page: Any, base_url: str, fake_llm: FakeLLMServer
) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    create_case(page, base_url, "Copy the command")
    command = "kubectl -n shop rollout restart deploy/checkout"
    content = f"Restart it:\n\n```sh\n{command}\n```\n"
    fake_llm.script(structured({"content": content, "response_type": "ANSWER"}))
    answer, _ = ask(page, "How do I restart checkout?")
    copy = answer.get_by_role("button", name="Copy to the clipboard")
    expect(copy).to_have_count(1)
    copy.focus()
    page.keyboard.press("Enter")
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == command


def test_case_timeline_shows_questions_evidence_answers_and_status(
    page: Any, base_url: str, fake_llm: FakeLLMServer
) -> None:
    case_id = _case_with_log(page, base_url, "Timeline case")
    fake_llm.script(structured({"content": CITING_ANSWER, "response_type": "ANSWER"}))
    page.reload()
    ask(page, "Why does checkout return 502?")
    page.get_by_label("Status").select_option("investigating")
    expect(page.locator(".case-sub")).to_contain_text("investigating")
    page.get_by_role("link", name="Timeline").click()
    expect(page).to_have_url(f"{base_url}/#/cases/{case_id}/timeline")
    entries = page.locator(".timeline-entry")
    expect(entries).to_have_count(4)
    expect(entries.nth(0)).to_contain_text("Evidence")
    expect(entries.nth(0)).to_contain_text("app.log")
    expect(entries.nth(1)).to_contain_text("Question")
    expect(entries.nth(1)).to_contain_text("Why does checkout return 502?")
    expect(entries.nth(2)).to_contain_text("Answer")
    expect(entries.nth(3)).to_contain_text("Status changed to investigating")
