"""The honest answer when no LLM can be used: what the server itself knows, and how to get real AI.

Nothing here pretends to be an AI answer: it says plainly why there is no LLM, then gives the facts
the server holds (the case, what the engineer said, what the tools found) with their sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faultmaven.models.agent import Source
from faultmaven.models.case import Case
from faultmaven.models.interfaces import ToolResult

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


def _reason_text(reason: str, details: dict[str, str]) -> str:
    if reason == "no_llm_configured":
        return "**No LLM provider is configured on this server**, so this answer was built without AI."
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


def _findings_section(facts: OfflineFacts) -> list[str]:
    found = [result for result in facts.tool_results if result.text.strip()]
    if not found:
        return [
            "### Evidence and runbooks\nNothing in this case's evidence or the knowledge base matched "
            "your question. Attach logs or configuration to the case so they can be searched."
        ]
    return ["### What matched your question", *[result.text.strip() for result in found]]


def build_offline_content(facts: OfflineFacts, reason: str, details: dict[str, str] | None = None) -> str:
    parts = [_reason_text(reason, details or {}), *_case_section(facts), *_findings_section(facts)]
    if reason == "no_llm_configured":
        parts.append(CONFIGURE_HINT)
    return "\n\n".join(parts)


def offline_sources(facts: OfflineFacts) -> list[Source]:
    return [
        Source(
            type=source.type,
            content=source.content,
            confidence=source.confidence,  # type: ignore[arg-type]
            metadata=source.metadata,
        )
        for result in facts.tool_results
        for source in result.sources
    ]
