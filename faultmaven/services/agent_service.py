"""AgentService: answers a troubleshooting query with the LLM, grounded in the case, and records it.

Every text bound for an LLM passes through `_llm_call` (the prompt) and `_SanitizingTool` (tool output):
those are the only ways out, and both mask with the case's own reversible table.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from pydantic import BaseModel, ValidationError

from faultmaven.models.agent import AgentResponse, QueryRequest, ResponseType, Source, ViewState
from faultmaven.models.case import Case, CaseMessage, MessageType
from faultmaven.models.interfaces import (
    BaseTool,
    CaseServiceError,
    ICaseService,
    ILLMProvider,
    ISanitizer,
    ITracer,
    LLMCall,
    LLMProviderError,
    LLMResult,
    StreamEvent,
    ToolContext,
    ToolResult,
)
from faultmaven.services.agent_output import AGENT_INSTRUCTIONS, AgentAnswer, answer_from_text, clean_answer
from faultmaven.services.offline_answer import OfflineFacts, build_offline_content, offline_sources

DEFAULT_CONTEXT_MESSAGES = 10
SOURCE_TAG = "case_agent_integration"
_PLACEHOLDER_TAIL = re.compile(r"<[A-Z0-9_]{0,40}$")


class EventSink(Protocol):
    """Where a streamed query's progress goes (`services.query_events.QueryEventWriter`)."""

    async def emit(self, event: str, data: dict[str, Any]) -> None: ...


@dataclass
class _Masking:
    """Masks text for the LLM with one case's table (or a throwaway one) and restores the answer."""

    sanitizer: ISanitizer
    case_service: ICaseService | None
    case_id: str | None
    _known: dict[str, str] | None = None
    """The case's table as last read; masking (which may add entries) invalidates it, so streamed text
    is restored without a database read per chunk."""

    async def mask(self, texts: list[str]) -> list[str]:
        if self.case_service is not None and self.case_id:
            self._known = None
            return await self.case_service.mask_for_llm(self.case_id, texts, self.sanitizer)
        throwaway: dict[str, str] = {}
        return [self.sanitizer.sanitize(text, throwaway) for text in texts]

    async def restore(self, text: str) -> str:
        if self.case_service is None or not self.case_id:
            return text
        if self._known is None:
            self._known = await self.case_service.mask_map(self.case_id)
        return self.sanitizer.restore(text, self._known)


class _SanitizingTool:
    """A tool whose output is masked before the model reads it (or a stream shows it); sources stay
    unmasked for the user."""

    def __init__(self, tool: BaseTool, masking: _Masking, events: EventSink | None):
        self._tool = tool
        self._masking = masking
        self._events = events
        self.name = tool.name
        self.description = tool.description
        self.args_model = tool.args_model

    async def execute(self, context: ToolContext, args: BaseModel) -> ToolResult:
        if self._events is not None:
            await self._events.emit("tool_call", {"name": self.name, "args": args.model_dump(mode="json")})
        result = await self._tool.execute(context, args)
        (masked,) = await self._masking.mask([result.text])
        if self._events is not None:
            await self._events.emit(
                "tool_result", {"name": self.name, "text": masked[:2000], "sources": len(result.sources)}
            )
        return ToolResult(text=masked, sources=result.sources)


class _RestoringRelay:
    """Relays streamed answer text with masks restored for the case's user; a placeholder split across
    deltas is held back until it is complete."""

    def __init__(self, events: EventSink, masking: _Masking):
        self._events = events
        self._masking = masking
        self._held = ""

    async def __call__(self, event: StreamEvent) -> None:
        if event.kind == "reset":
            self._held = ""
            await self._events.emit("reset", event.data)
            return
        text = self._held + event.data.get("text", "")
        tail = _PLACEHOLDER_TAIL.search(text)
        self._held = tail.group(0) if tail else ""
        ready = text[: len(text) - len(self._held)]
        if ready:
            await self._events.emit("text_delta", {"text": await self._masking.restore(ready)})


class AgentService:
    def __init__(
        self,
        llm_provider: ILLMProvider,
        tools: Sequence[BaseTool],
        tracer: ITracer,
        sanitizer: ISanitizer,
        session_service: Any | None = None,
        settings: Any | None = None,
        case_service: ICaseService | None = None,
        metrics: Any | None = None,
    ):
        self._llm = llm_provider
        self._tools = list(tools)
        self._tracer = tracer
        self._sanitizer = sanitizer
        self._session_service = session_service
        self._settings = settings
        self._case_service = case_service
        self._metrics = metrics
        self.logger = structlog.get_logger(__name__)

    @property
    def _context_limit(self) -> int:
        return getattr(self._settings, "conversation_context_messages", DEFAULT_CONTEXT_MESSAGES)

    @property
    def _time_budget(self) -> float:
        return float(getattr(self._settings, "query_time_budget_seconds", 120))

    def health_check(self) -> dict[str, Any]:
        return {
            "llm_configured": bool(getattr(self._llm, "configured", False)),
            "tools": [tool.name for tool in self._tools],
            "case_integration": {
                "enabled": bool(self._case_service),
                "case_service_healthy": self._case_service is not None,
            },
        }

    async def process_query(self, request: QueryRequest, events: EventSink | None = None) -> AgentResponse:
        """One agent turn: the LLM when configured (raises LLMProviderError if none answers), else the
        honest offline answer. With `events`, tool calls and the answer text are streamed there."""
        case_id = request.context.get("case_id")
        masking = _Masking(self._sanitizer, self._case_service, case_id)
        tool_context = ToolContext(case_id=case_id, user_id=request.context.get("user_id"))
        if not self._llm.configured:
            return await self._offline_response(request, tool_context, "no_llm_configured", {})
        call = await self._llm_call(request, masking, tool_context, events)
        with self._tracer.trace("llm_generate", tools=len(call.tools)) as span:
            result = await self._llm.generate(call)
            span.set_attributes(
                {
                    "llm.provider": result.provider,
                    "llm.model": result.model,
                    "llm.input_tokens": result.input_tokens,
                    "llm.output_tokens": result.output_tokens,
                    "llm.tool_calls": len(result.tool_calls),
                }
            )
        return await self._response_from_llm(request, result, masking)

    async def _llm_call(
        self, request: QueryRequest, masking: _Masking, tool_context: ToolContext, events: EventSink | None
    ) -> LLMCall:
        (prompt,) = await masking.mask([request.query])
        tools = [_SanitizingTool(tool, masking, events) for tool in self._tools]
        return LLMCall(
            instructions=AGENT_INSTRUCTIONS,
            prompt=prompt,
            output_type=AgentAnswer,
            tools=tools,
            tool_context=tool_context,
            time_budget_seconds=self._time_budget,
            on_stream=_RestoringRelay(events, masking) if events is not None else None,
        )

    async def _response_from_llm(
        self, request: QueryRequest, result: LLMResult, masking: _Masking
    ) -> AgentResponse:
        answer = (
            clean_answer(result.output)
            if isinstance(result.output, AgentAnswer)
            else (answer_from_text(str(result.output)))
        )
        if not answer.content:
            raise LLMProviderError("the model returned an empty answer", {result.provider: "empty answer"})
        sources = _dedupe(
            [
                Source(
                    type=s.type,
                    content=s.content,
                    confidence=s.confidence,  # type: ignore[arg-type]
                    metadata=s.metadata,
                )
                for call in result.tool_calls
                for s in call.result.sources
            ]
        )
        return AgentResponse(
            content=await masking.restore(answer.content),
            response_type=answer.response_type,
            session_id=request.session_id,
            case_id=request.context.get("case_id"),
            confidence_score=answer.confidence,
            sources=sources,
            plan=answer.plan,
            evidence_requests=answer.evidence_requests,
            suggested_actions=answer.suggested_actions,
            next_action_hint=answer.next_action_hint,
            view_state=ViewState(session_id=request.session_id),
            metadata={
                "provider": result.provider,
                "model": result.model,
                "degraded": False,
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
                "tool_calls": [call.name for call in result.tool_calls],
            },
        )

    async def _offline_response(
        self,
        request: QueryRequest,
        tool_context: ToolContext,
        reason: str,
        details: dict[str, str],
        case: Case | None = None,
    ) -> AgentResponse:
        query = request.context.get("original_query", request.query)
        facts = OfflineFacts(
            query=query, case=case, tool_results=await self._search_tools(query, tool_context)
        )
        return AgentResponse(
            content=build_offline_content(facts, reason, details),
            response_type=ResponseType.ANSWER,
            session_id=request.session_id,
            case_id=tool_context.case_id,
            sources=offline_sources(facts),
            view_state=ViewState(session_id=request.session_id),
            metadata={
                "degraded": True,
                "degraded_reason": reason,
                "provider": None,
                "model": None,
                **({"provider_errors": details} if details else {}),
            },
        )

    async def _search_tools(self, query: str, context: ToolContext) -> list[ToolResult]:
        """Without an LLM to choose, run every tool that can run on the user's words alone (a `query`
        argument, or no required argument: the evidence digests)."""
        results = []
        for tool in self._tools:
            arguments = {"query": query[:500]} if "query" in tool.args_model.model_fields else {}
            try:
                args = tool.args_model(**arguments)
            except ValidationError:
                continue
            try:
                results.append(await tool.execute(context, args))
            except Exception:
                self.logger.warning("tool failed in offline answer", tool=tool.name)
        return results

    async def process_query_for_case(
        self, case_id: str, request: QueryRequest, events: EventSink | None = None
    ) -> AgentResponse:
        """Process a query in its case: conversation context in, both messages persisted, never a 500 for
        an LLM or case-store failure (a degraded, clearly marked answer instead)."""
        started = time.perf_counter()
        with self._tracer.trace("process_case_query", case_integration=bool(self._case_service)):
            case = await self._validated_case(case_id)
            conversation_context = await self._get_case_conversation_context(case_id)
            enhanced = self._create_enhanced_request(request, conversation_context, case_id)
            response, outcome = await self._answer(
                case_id, enhanced, case if isinstance(case, Case) else None, events
            )
            await self._persist_case_interaction(case_id, request, response)
            await self._attach_case(response, case_id, request)
        self._record_metrics(conversation_context, response, outcome, time.perf_counter() - started)
        return response

    async def _validated_case(self, case_id: str) -> Case | None:
        if not self._case_service:
            return None
        try:
            case = await self._case_service.get_case(case_id)
        except CaseServiceError as error:
            self.logger.warning("case service unavailable, answering without case context", error=str(error))
            self._count_failure("case_service")
            return None
        if not case:
            raise ValueError(f"Case {case_id} not found or not accessible")
        return case

    async def _answer(
        self, case_id: str, enhanced: QueryRequest, case: Case | None, events: EventSink | None
    ) -> tuple[AgentResponse, str]:
        context = ToolContext(case_id=case_id, user_id=enhanced.context.get("user_id"))
        if not self._llm.configured:
            return await self._offline_response(enhanced, context, "no_llm_configured", {}, case), "degraded"
        try:
            answer = await (
                self.process_query(enhanced, events) if events is not None else self.process_query(enhanced)
            )
            return answer, "success"
        except LLMProviderError as error:
            self.logger.error("LLM providers failed", reasons=error.reasons)
            self._count_failure("llm_provider")
            offline = await self._offline_response(enhanced, context, "llm_unavailable", error.reasons, case)
            return offline, "degraded"
        except Exception as error:
            self.logger.exception(
                "unexpected error in case query processing", error_type=type(error).__name__
            )
            self._count_failure("unknown")
            offline = await self._offline_response(
                enhanced, context, "internal_error", {"server": type(error).__name__}, case
            )
            return offline, "error"

    async def _get_case_conversation_context(self, case_id: str) -> str:
        if not self._case_service:
            return ""
        try:
            with self._tracer.trace("load_case_context", limit=self._context_limit):
                context = await self._case_service.get_case_conversation_context(
                    case_id, limit=self._context_limit
                )
        except Exception as error:
            self.logger.warning("failed to load conversation context", error_type=type(error).__name__)
            self._count_injection("failed")
            return ""
        self._count_injection("injected" if context else "empty")
        return context

    def _create_enhanced_request(self, request: QueryRequest, context: str, case_id: str) -> QueryRequest:
        extra: dict[str, Any] = {"case_id": case_id, "original_query": request.query}
        query = request.query
        if context:
            query = f"{context}\n\nCurrent query: {request.query}"
            extra["case_conversation_context"] = True
        return QueryRequest(
            query=query,
            session_id=request.session_id,
            context={**request.context, **extra},
            priority=request.priority,
        )

    async def _persist_message(
        self,
        case_id: str,
        request: QueryRequest,
        message_type: MessageType,
        content: str,
        metadata: dict[str, Any],
    ) -> None:
        if not self._case_service:
            return
        message = CaseMessage(
            case_id=case_id,
            session_id=request.session_id,
            message_type=message_type,
            content=content,
            author_id=request.context.get("user_id") if message_type is MessageType.USER_QUERY else None,
            query_id=request.context.get("query_id"),
            metadata={"source": SOURCE_TAG, **metadata},
        )
        try:
            with self._tracer.trace("persist_case_message", message_type=message_type.value):
                await self._case_service.add_message_to_case(case_id, message)
        except Exception as error:
            self.logger.error("failed to persist case message", error_type=type(error).__name__)
            if self._metrics is not None:
                self._metrics.case_persistence_failures_total.labels(operation=message_type.value).inc()

    async def _persist_case_interaction(
        self, case_id: str, request: QueryRequest, response: AgentResponse
    ) -> None:
        """Both halves of the exchange, user then agent. A query's messages are stored once (a re-run after
        a crash finds them), so this is safe to repeat."""
        await self._persist_message(case_id, request, MessageType.USER_QUERY, request.query, {})
        await self._persist_message(
            case_id,
            request,
            MessageType.AGENT_RESPONSE,
            response.content,
            {
                "response_type": response.response_type.value,
                "degraded": bool(response.metadata.get("degraded")),
            },
        )

    async def _attach_case(self, response: AgentResponse, case_id: str, request: QueryRequest) -> None:
        """The response's view state carries the case as it is after this exchange."""
        response.case_id = case_id
        response.query_id = request.context.get("query_id")
        if not self._case_service:
            return
        try:
            case = await self._case_service.get_case(case_id)
        except Exception:
            return
        if isinstance(case, Case):
            response.view_state = ViewState(
                session_id=request.session_id, active_case=case, user=request.context.get("user")
            )
            response.metadata.setdefault("case_title", case.title)

    def _record_metrics(self, context: str, response: AgentResponse, outcome: str, seconds: float) -> None:
        if self._metrics is None:
            return
        self._metrics.case_query_processing_time.labels(outcome=outcome).observe(seconds)
        if outcome == "success":
            self._metrics.case_agent_integration_success.labels(
                has_conversation_context=str(bool(context)).lower(),
                response_type=response.response_type.value,
            ).inc()

    def _count_failure(self, kind: str) -> None:
        if self._metrics is not None:
            self._metrics.case_agent_integration_failures_total.labels(kind=kind).inc()

    def _count_injection(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.case_context_injections_total.labels(outcome=outcome).inc()


def _dedupe(sources: list[Source]) -> list[Source]:
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for source in sources:
        key = (source.type, source.content, repr(sorted(source.metadata.items())))
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique
