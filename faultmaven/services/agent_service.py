"""AgentService: answers a troubleshooting query with the LLM, grounded in the case.

`answer(turn)` is the query pipeline's way in: it reads the conversation, answers (the LLM, or an honest
offline answer), and stores nothing; the query runner stores the exchange. `process_query_for_case` is the
design document's method for callers outside that pipeline: it also persists both messages itself.

Every text bound for an LLM passes through `Masking.mask` (services/agent/masking.py: the prompt, the
server's retrieval in the compact profile, and tool output through `SanitizingTool`), with the turn's copy of
the case's reversible table.
An answer is restored with only the placeholders this turn actually sent: one the model invents or copies from
elsewhere stays as it is, so it can never be turned into a real value the model never saw.

Two profiles (the first provider's `FAULTMAVEN_LLM_<ALIAS>_PROFILE`): `default` gives the model the tools
and the structured answer; `compact`, for small local models, sends short instructions and no tools: the
server runs its own retrieval (as the offline answer does) and puts the top findings in the prompt, and the
model answers in plain text. Either way an answer that stopped at the output-token cap is marked
`truncated`, and one that mostly repeats its inputs gets `quality_flags`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog

from faultmaven.models.agent import AgentResponse, QueryRequest, Source, ViewState
from faultmaven.models.case import Case, CaseMessage, MessageType
from faultmaven.models.interfaces import (
    BaseTool,
    CaseServiceError,
    ICaseService,
    ILLMProvider,
    InvalidModelOutputError,
    ISanitizer,
    ITracer,
    LLMCall,
    LLMProviderError,
    ToolContext,
)
from faultmaven.models.turn import Turn
from faultmaven.services.agent.masking import EventSink, Masking, RestoringRelay, SanitizingTool
from faultmaven.services.agent.offline import OfflineFacts, findings_excerpt, offline_sources, search_tools
from faultmaven.services.agent.output import (
    AGENT_INSTRUCTIONS,
    COMPACT_INSTRUCTIONS,
    AgentAnswer,
    EchoSources,
)
from faultmaven.services.agent.prompts import tool_texts, with_conversation, with_findings
from faultmaven.services.agent.reply import Ask, offline_response, response_from_llm

DEFAULT_CONTEXT_MESSAGES = 10
SOURCE_TAG = "case_agent_integration"

COMPACT_EXCERPT_CHARS = 2400
"""How much of the server's own retrieval the compact profile puts in the prompt: about 600 tokens at four
characters a token, more for log lines (timestamps and ids split into many tokens)."""


class AgentService:
    def __init__(
        self,
        llm_provider: ILLMProvider,
        tools: Sequence[BaseTool[Any]],
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
        self._echo_sources = {
            "default": EchoSources.of(AGENT_INSTRUCTIONS, tool_texts(self._tools)),
            "compact": EchoSources.of(COMPACT_INSTRUCTIONS, []),
        }

    @property
    def _profile(self) -> str:
        return getattr(self._llm, "profile", "default")

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

    async def answer(
        self, turn: Turn, events: EventSink | None = None, *, stream: bool = False
    ) -> AgentResponse:
        """Answer one turn of the query pipeline: its conversation as context, the LLM or the offline answer,
        never an exception for an LLM failure. Stores nothing. Tool calls go to `events`; with `stream`, the
        answer text too, as it is written."""
        started = time.perf_counter()
        with self._tracer.trace("process_case_query", case_integration=True):
            conversation = await self._get_case_conversation_context(turn.case_id)
            ask = Ask(
                prompt=with_conversation(conversation, turn.query),
                query=turn.query,
                session_id=turn.session_id,
                tool_context=ToolContext(case_id=turn.case_id, user_id=turn.caller.user_id),
                masking=Masking(self._sanitizer, turn.mask_map),
                case=turn.case,
            )
            response, outcome = await self._respond(ask, lambda: self._llm_answer(ask, events, stream))
        response.case_id, response.query_id = turn.case_id, turn.query_id
        response.view_state = ViewState(
            session_id=turn.session_id, active_case=turn.case, user=turn.caller.as_dict()
        )
        response.metadata.setdefault("case_title", turn.case.title)
        self._record_metrics(conversation, response, outcome, time.perf_counter() - started)
        return response

    async def process_query(self, request: QueryRequest, events: EventSink | None = None) -> AgentResponse:
        """The design document's standard turn: the LLM when configured (raises LLMProviderError if none
        answers), else the honest offline answer. With `events`, tool calls and the answer text are streamed
        there."""
        case_id = request.context.get("case_id")
        table = await self._case_service.mask_map(case_id) if self._case_service and case_id else {}
        ask = self._ask_for(request, None, table)
        if not self._llm.configured:
            return await self._offline_response(ask, "no_llm_configured", {})
        return await self._llm_answer(ask, events, stream=events is not None)

    def _ask_for(self, request: QueryRequest, case: Case | None, table: dict[str, str]) -> Ask:
        case_id = request.context.get("case_id")
        return Ask(
            prompt=request.query,
            query=request.context.get("original_query", request.query),
            session_id=request.session_id,
            tool_context=ToolContext(case_id=case_id, user_id=request.context.get("user_id")),
            masking=Masking(self._sanitizer, table),
            case=case,
        )

    async def _respond(
        self, ask: Ask, llm_answer: Callable[[], Awaitable[AgentResponse]]
    ) -> tuple[AgentResponse, str]:
        """The answer and its outcome label: the LLM's, or the offline answer saying why not."""
        if not self._llm.configured:
            return await self._offline_response(ask, "no_llm_configured", {}), "degraded"
        try:
            return await llm_answer(), "success"
        except InvalidModelOutputError as error:
            self.logger.warning("LLM output invalid, answering without it", invalid=error.reasons)
            self._count_failure("invalid_model_output")
            return await self._offline_response(ask, "invalid_model_output", error.reasons), "degraded"
        except LLMProviderError as error:
            self.logger.error("LLM providers failed", reasons=error.reasons)
            self._count_failure("llm_provider")
            return await self._offline_response(ask, "llm_unavailable", error.reasons), "degraded"
        except Exception as error:
            self.logger.exception(
                "unexpected error in case query processing", error_type=type(error).__name__
            )
            self._count_failure("unknown")
            details = {"server": type(error).__name__}
            return await self._offline_response(ask, "internal_error", details), "error"

    async def _llm_answer(self, ask: Ask, events: EventSink | None, stream: bool) -> AgentResponse:
        on_stream = RestoringRelay(events, ask.masking) if events is not None and stream else None
        if self._profile == "compact":
            return await self._compact_answer(ask, on_stream)
        call = LLMCall(
            instructions=AGENT_INSTRUCTIONS,
            prompt=ask.masking.mask(ask.prompt),
            output_type=AgentAnswer,
            tools=[SanitizingTool(tool, ask.masking, events) for tool in self._tools],
            tool_context=ask.tool_context,
            time_budget_seconds=self._time_budget,
            on_stream=on_stream,
        )
        return await self._generate(ask, call, [])

    async def _compact_answer(self, ask: Ask, on_stream: RestoringRelay | None) -> AgentResponse:
        """The compact profile's turn: the server retrieves (as for the offline answer), the model reads the
        top findings in its prompt and answers in plain text, with no tool to call."""
        results = await search_tools(self._tools, ask.query, ask.tool_context)
        facts = OfflineFacts(query=ask.query, case=ask.case, tool_results=results)
        question = ask.masking.mask(ask.prompt)
        findings = ask.masking.mask(findings_excerpt(facts, COMPACT_EXCERPT_CHARS))
        call = LLMCall(
            instructions=COMPACT_INSTRUCTIONS,
            prompt=with_findings(question, findings),
            output_type=str,
            tool_context=ask.tool_context,
            time_budget_seconds=self._time_budget,
            on_stream=on_stream,
        )
        return await self._generate(ask, call, offline_sources(facts), (question, findings))

    async def _generate(
        self, ask: Ask, call: LLMCall, retrieved: list[Source], asked: tuple[str, str] | None = None
    ) -> AgentResponse:
        """Ask the model; `asked` is the prompt as (conversation and question, server findings), when the
        server added findings to it."""
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
        asked = asked or (call.prompt, "")
        return response_from_llm(ask, call, result, retrieved, asked, self._echo_sources)


    async def _offline_response(self, ask: Ask, reason: str, details: dict[str, str]) -> AgentResponse:
        results = await search_tools(self._tools, ask.query, ask.tool_context)
        facts = OfflineFacts(query=ask.query, case=ask.case, tool_results=results)
        return offline_response(ask, facts, reason, details)

    async def process_query_for_case(
        self, case_id: str, request: QueryRequest, events: EventSink | None = None
    ) -> AgentResponse:
        """The design document's method: a query in its case, conversation context in, both messages
        persisted through the case service, never a 500 for an LLM or case-store failure (a degraded, clearly
        marked answer instead). The query pipeline uses `answer` and stores the exchange itself."""
        started = time.perf_counter()
        with self._tracer.trace("process_case_query", case_integration=bool(self._case_service)):
            case = await self._validated_case(case_id)
            conversation_context = await self._get_case_conversation_context(case_id)
            enhanced = self._create_enhanced_request(request, conversation_context, case_id)
            response, outcome = await self._answer(enhanced, case if isinstance(case, Case) else None, events)
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
        self, enhanced: QueryRequest, case: Case | None, events: EventSink | None
    ) -> tuple[AgentResponse, str]:
        """The design document's turn: `process_query`, with failures turned into the offline answer."""
        ask = self._ask_for(enhanced, case, {})
        return await self._respond(
            ask,
            lambda: self.process_query(enhanced) if events is None else self.process_query(enhanced, events),
        )

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
        query = with_conversation(context, request.query)
        if context:
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

