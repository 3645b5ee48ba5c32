"""The honest answer when no LLM can be used: what the server itself knows, and how to get real AI.

Nothing here pretends to be an AI answer: it says plainly why there is no LLM, then gives the facts
the server holds (the case, what the engineer said, what the tools found) with their sources.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from pydantic import ValidationError

from faultmaven.models.agent import Source
from faultmaven.models.case import Case
from faultmaven.models.interfaces import BaseTool, ToolContext, ToolResult, ToolSource

logger = structlog.get_logger(__name__)

CONFIGURE_HINT = (
    "To get AI answers, set `FAULTMAVEN_LLM_PROVIDERS` and restart the server, for example:\n"
    "- a local model with Ollama: `FAULTMAVEN_LLM_PROVIDERS=ollama:llama3.1`\n"
    "- OpenAI: `FAULTMAVEN_LLM_PROVIDERS=openai:gpt-4.1-mini` and `FAULTMAVEN_LLM_OPENAI_API_KEY=...`\n"
    "- any OpenAI-compatible server: `FAULTMAVEN_LLM_PROVIDERS=local=openai:MODEL` and "
    "`FAULTMAVEN_LLM_LOCAL_BASE_URL=http://host:port/v1`\n"
    "See docs/configuration.md."
)


@dataclass
class OfflineFacts:
    """What the server knows about the question without an LLM."""

    query: str
    case: Case | None = None
    tool_results: list[ToolResult] = field(default_factory=list)


async def search_tools(tools: Sequence[BaseTool[Any]], query: str, context: ToolContext) -> list[ToolResult]:
    """Without an LLM to choose, run every tool that can run on the user's words alone (a `query`
    argument, or no required argument: the evidence digests)."""
    results = []
    for tool in tools:
        arguments = {"query": query[:500]} if "query" in tool.args_model.model_fields else {}
        try:
            args = tool.args_model(**arguments)
        except ValidationError:
            continue
        try:
            results.append(await tool.execute(context, args))
        except Exception:
            logger.warning("tool failed in offline answer", tool=tool.name)
    return results


def _reason_text(reason: str, details: dict[str, str]) -> str:
    if reason == "no_llm_configured":
        return "**No LLM provider is configured on this server**, so this answer was built without AI."
    if reason == "invalid_model_output":
        what = "; ".join(f"{alias}: {why}" for alias, why in details.items()) or "invalid output"
        return (
            f"**The AI model answered, but its output could not be used** ({what}). This answer was built "
            "without AI from what the server found. Asking again may help; if this keeps happening, the "
            "model is probably too small for tool calling (see the `compact` profile in "
            "docs/choosing-a-model.md)."
        )
    failures = "; ".join(f"{alias}: {why}" for alias, why in details.items()) or "no provider answered"
    return (
        f"**The AI is unavailable right now** (every configured LLM provider failed: {failures}). "
        "This answer was built without AI; your question is saved with the case, so ask again in a moment."
    )


def _case_section(facts: OfflineFacts) -> list[str]:
    if facts.case is None:
        return []
    case = facts.case
    lines = [
        f"### This case\n- **{case.title}** ({case.status.value}, priority {case.priority.value}), "
        f"{case.message_count} messages so far"
    ]
    if case.description:
        lines.append(f"- Description: {case.description[:500]}")
    return lines


EVIDENCE_TYPES = frozenset({"log_file", "log_analysis", "user_provided"})
KNOWLEDGE_TYPES = frozenset({"knowledge_base", "previous_case", "documentation"})
WORD = re.compile(r"[a-z][a-z0-9_]*(?:[.-][a-z0-9_]+)*")
GENERAL_WORDS = frozenset(
    "a about after again all an and any are as at be been before but by can check could did do does "
    "error errors fail failed failing failure first for from get got has have help how in info is issue "
    "it its log logs me my no not of on or our problem should since so state status that the then there "
    "this to up warn warning was we what when where which why with wrong you".split()
)
"""Words too common in logs and questions to tie a runbook to this case."""


def _words(text: str) -> set[str]:
    return {word for word in WORD.findall(text.lower()) if len(word) > 2 and word not in GENERAL_WORDS}


def close_fences(text: str) -> str:
    """An excerpt cut inside a Markdown code fence would turn the rest of the answer into code: close it."""
    fences = [line.lstrip()[:3] for line in text.splitlines() if line.lstrip().startswith(("```", "~~~"))]
    return f"{text.rstrip()}\n{fences[-1]}" if len(fences) % 2 else text


def _case_words(facts: OfflineFacts) -> set[str]:
    """This case's own words: its title and description, the question, and its evidence's error lines
    (the digest's error signatures and the matched lines come back as evidence sources)."""
    texts = [facts.query]
    if facts.case is not None:
        texts += [facts.case.title, facts.case.description]
    texts += [
        source.content
        for result in facts.tool_results
        for source in result.sources
        if source.type in EVIDENCE_TYPES
    ]
    return _words(" ".join(texts))


def _knowledge_hits(facts: OfflineFacts, case_words: set[str]) -> list[tuple[int, ToolSource]]:
    """Knowledge sources with how many of the case's own words they share, most shared first."""
    hits = [
        (len(case_words & _words(f"{source.metadata.get('title', '')} {source.content}")), source)
        for result in facts.tool_results
        for source in result.sources
        if source.type in KNOWLEDGE_TYPES
    ]
    return sorted(hits, key=lambda hit: (-hit[0], -(hit[1].confidence or 0.0)))


def _is_evidence(result: ToolResult) -> bool:
    """A tool result that found something in the case's own evidence."""
    return bool(result.sources) and all(source.type in EVIDENCE_TYPES for source in result.sources)


def _findings_section(facts: OfflineFacts) -> list[str]:
    """The case's own evidence first, then the runbooks that share the case's words; runbooks that only
    matched general words are counted, not quoted, so they cannot pass for an answer about this case."""
    evidence = [close_fences(result.text.strip()) for result in facts.tool_results if _is_evidence(result)]
    hits = _knowledge_hits(facts, _case_words(facts))
    related = [
        f"**{source.metadata.get('title', 'Knowledge base')}**\n{close_fences(source.content.strip())}"
        for shared, source in hits
        if shared
    ]
    unrelated = [source for shared, source in hits if not shared]
    if not evidence and not related:
        lines = [
            "### Evidence and runbooks\nNothing in this case's evidence or the knowledge base matched "
            "this case's own words. Attach logs or configuration to the case so they can be searched."
        ]
    else:
        lines = ["### What matched this case", *evidence, *related]
    if unrelated:
        lines.append(
            f"{len(unrelated)} other runbook(s) matched only general words of the question, probably not "
            "this case; they are listed with the sources as retrieved but not cited."
        )
    return lines


def findings_excerpt(facts: OfflineFacts, max_chars: int) -> str:
    """The case's own evidence findings (two thirds of `max_chars` when runbooks match), then the two
    runbooks sharing most of the case's words: what the compact profile puts in the model's prompt in place
    of tool calls."""
    evidence = [result.text.strip() for result in facts.tool_results if _is_evidence(result)]
    related = [
        f"Runbook {source.metadata.get('title', 'Knowledge base')}:\n{source.content.strip()}"
        for shared, source in _knowledge_hits(facts, _case_words(facts))
        if shared
    ]
    evidence_text = _clipped("\n\n".join(evidence), max_chars * 2 // 3 if related else max_chars)
    related_text = _clipped("\n\n".join(related[:2]), max_chars - len(evidence_text))
    return "\n\n".join(part for part in (evidence_text, related_text) if part)


def _clipped(text: str, max_chars: int) -> str:
    return close_fences(text[:max_chars]) if len(text) > max_chars else text


def build_offline_content(facts: OfflineFacts, reason: str, details: dict[str, str] | None = None) -> str:
    parts = [_reason_text(reason, details or {}), *_case_section(facts), *_findings_section(facts)]
    if reason == "no_llm_configured":
        parts.append(CONFIGURE_HINT)
    return "\n\n".join(parts)


def offline_sources(facts: OfflineFacts) -> list[Source]:
    """The evidence first, then knowledge sources in the order the answer discusses them."""
    case_words = _case_words(facts)
    evidence = [
        source
        for result in facts.tool_results
        for source in result.sources
        if source.type not in KNOWLEDGE_TYPES
    ]
    ordered = [*evidence, *(source for _, source in _knowledge_hits(facts, case_words))]
    return [
        Source(
            type=source.type,  # type: ignore[arg-type]
            content=source.content,
            confidence=source.confidence,
            metadata=source.metadata,
        )
        for source in ordered
    ]
