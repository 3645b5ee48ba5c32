"""Answers without an LLM talk about this case: its evidence first, runbooks that share its words, and
excerpts that never swallow the rest of the answer into a code block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faultmaven.models.case import Case
from faultmaven.models.interfaces import ToolResult, ToolSource
from faultmaven.services.agent.offline import (
    OfflineFacts,
    build_offline_content,
    close_fences,
    offline_sources,
)

NOW = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)
MOD_JK_LINE = "[Fri Mar 14 14:00:04 2025] [error] mod_jk child workerEnv in error state 6"


def _case(title: str) -> Case:
    return Case(
        case_id="case_1", title=title, owner_id="user_1", created_at=NOW, updated_at=NOW,
        last_activity_at=NOW, expires_at=NOW + timedelta(days=30),
    )


def _runbook(title: str, content: str, score: float) -> ToolSource:
    return ToolSource(type="knowledge_base", content=content, confidence=score,
                      metadata={"title": title, "document_id": f"doc_{title[:4]}"})


def _facts(query: str, *, with_apache_runbook: bool) -> OfflineFacts:
    runbooks = [
        _runbook("Rate limiting (429)", "Check which client is over its budget.", 0.9),
        _runbook("DNS resolution failures", "Resolve the name from the pod: `dig`.", 0.8),
        _runbook("Database deadlocks", "Find the two transactions in the error log.", 0.7),
    ]
    if with_apache_runbook:
        runbooks.append(_runbook("Apache mod_jk workers", "A workerEnv in error state means the AJP "
                                 "backend (Tomcat) is down: check `ss -ltn` on 8009.", 0.2))
    evidence = ToolResult(
        text=f"Evidence data_1 (apache_error.log):\n{MOD_JK_LINE}",
        sources=[ToolSource(type="log_analysis", content=MOD_JK_LINE,
                            metadata={"evidence_id": "data_1", "line_start": 4, "line_end": 4})],
    )
    return OfflineFacts(
        query=query,
        case=_case("mod_jk workerEnv in error state"),
        tool_results=[ToolResult(text="Knowledge base results", sources=runbooks), evidence],
    )


def test_runbooks_are_ranked_by_the_cases_own_words() -> None:
    facts = _facts("what is wrong and how do I fix it?", with_apache_runbook=True)
    content = build_offline_content(facts, "no_llm_configured")
    assert content.index(MOD_JK_LINE) < content.index("**Apache mod_jk workers**")
    assert "check `ss -ltn` on 8009" in content
    for unrelated in ("Rate limiting (429)", "DNS resolution failures", "Database deadlocks"):
        assert unrelated not in content
    assert "3 other runbook(s) matched only general words" in content
    sources = offline_sources(facts)
    assert [source.type for source in sources[:2]] == ["log_analysis", "knowledge_base"]
    assert sources[1].metadata["title"] == "Apache mod_jk workers"


def test_no_runbook_of_this_case_is_said_plainly() -> None:
    facts = _facts("how do I fix it?", with_apache_runbook=False)
    content = build_offline_content(facts, "no_llm_configured")
    assert MOD_JK_LINE in content
    assert "**Rate limiting (429)**" not in content
    assert "probably not this case" in content


def test_an_excerpt_cut_inside_a_fence_is_closed() -> None:
    cut = "## Quick checks\n```promql\nsum by (status) (rate(http_requests_total[5m]))"
    assert close_fences(cut).endswith("\n```")
    assert close_fences("```\ncode\n```\ntext") == "```\ncode\n```\ntext"
    assert close_fences("~~~sh\nls").endswith("\n~~~")
    facts = OfflineFacts(
        query="http_requests_total spike",
        tool_results=[ToolResult(text="kb", sources=[_runbook("HTTP 5xx error spike", cut, 0.5)])],
    )
    content = build_offline_content(facts, "no_llm_configured")
    assert content.count("```") % 2 == 0
    assert content.rstrip().endswith("See docs/configuration.md.")
