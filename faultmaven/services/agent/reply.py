"""The AgentResponse one question gets: the model's answer (cleaned, checked, flagged, restored) or the
offline answer; apart from AgentService, which decides which one a turn gets and records it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import structlog

from faultmaven.models.agent import AgentResponse, ResponseType, Source, ViewState
from faultmaven.models.case import Case
from faultmaven.models.interfaces import InvalidModelOutputError, LLMCall, LLMResult, ToolContext
from faultmaven.services.agent.masking import Masking
from faultmaven.services.agent.offline import OfflineFacts, build_offline_content, offline_sources
from faultmaven.services.agent.output import (
    TRUNCATION_NOTICE,
    AgentAnswer,
    EchoSources,
    answer_from_compact_text,
    answer_from_text,
    clean_answer,
    quality_flags,
)

_WORD = re.compile(r"\w")
"""An answer without a single letter or digit (a bare code fence, punctuation) is no answer."""

logger = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Ask:
    """One question as the answering code needs it, whichever entry point it came through."""

    prompt: str
    query: str
    session_id: str | None
    tool_context: ToolContext
    masking: Masking
    case: Case | None = None


def response_from_llm(
    ask: Ask,
    call: LLMCall,
    result: LLMResult,
    retrieved: list[Source],
    asked: tuple[str, str],
    echo_sources: dict[str, EchoSources],
) -> AgentResponse:
    """The model's answer as the user gets it: cleaned, refused when empty, flagged when it repeats its
    inputs (`asked`, see `quality_flags`), restored with this turn's placeholders, sources deduplicated."""
    compact = call.output_type is str
    if isinstance(result.output, AgentAnswer):
        answer = clean_answer(result.output)
    else:
        answer = (answer_from_compact_text if compact else answer_from_text)(str(result.output))
    if not _WORD.search(answer.content):
        why = "empty answer (cut off at the output-token limit)" if result.truncated else "empty answer"
        raise InvalidModelOutputError("the model returned an empty answer", {result.provider: why})
    flags = quality_flags(
        answer.content,
        asked[0],
        echo_sources["compact" if compact else "default"],
        truncated=result.truncated,
        retrieved=asked[1],
    )
    if flags:
        logger.warning("answer flagged", flags=flags, provider=result.provider, model=result.model)
    sources = _dedupe(
        [
            *retrieved,
            *(
                Source(
                    type=s.type,
                    content=s.content,
                    confidence=s.confidence,  # type: ignore[arg-type]
                    metadata=s.metadata,
                )
                for record in result.tool_calls
                for s in record.result.sources
            ),
        ]
    )
    return AgentResponse(
        content=ask.masking.restore(answer.content) + (TRUNCATION_NOTICE if result.truncated else ""),
        response_type=answer.response_type,
        session_id=ask.session_id,
        case_id=ask.tool_context.case_id,
        confidence_score=answer.confidence,
        sources=sources,
        plan=answer.plan,
        evidence_requests=answer.evidence_requests,
        suggested_actions=answer.suggested_actions,
        next_action_hint=answer.next_action_hint,
        view_state=ViewState(session_id=ask.session_id),
        metadata={
            "provider": result.provider,
            "model": result.model,
            "degraded": False,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "tool_calls": [record.name for record in result.tool_calls],
            "profile": "compact" if compact else "default",
            "truncated": result.truncated,
            "quality_flags": flags,
        },
    )


def offline_response(ask: Ask, facts: OfflineFacts, reason: str, details: dict[str, str]) -> AgentResponse:
    """The honest answer without the model, saying why (`reason`), from the server's own retrieval."""
    return AgentResponse(
        content=build_offline_content(facts, reason, details),
        response_type=ResponseType.ANSWER,
        session_id=ask.session_id,
        case_id=ask.tool_context.case_id,
        sources=offline_sources(facts),
        view_state=ViewState(session_id=ask.session_id),
        metadata={
            "degraded": True,
            "degraded_reason": reason,
            "provider": None,
            "model": None,
            **({"provider_errors": details} if details else {}),
        },
    )


def _dedupe(sources: list[Source]) -> list[Source]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for source in sources:
        key = (source.type, source.content, repr(sorted(source.metadata.items())))
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique
