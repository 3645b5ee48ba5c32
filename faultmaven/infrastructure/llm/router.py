"""`LLMRouter`: runs one agent turn on the configured providers, failing over between them.

`ToolLoop` (`tool_loop.py`) drives the turn (instructions, tools, structured output) over pydantic-ai's direct
model API. Its model is a `FallbackModel` over one `_GuardedModel` per provider, built once with the router,
so failover happens per model request: when provider
B takes over in the middle of a tool loop, the message history carries on and tools already executed are not
run again. `_GuardedModel` adds what pydantic-ai does not keep: a circuit breaker per provider that outlives
the turn, bounded retries honouring `Retry-After`, and the turn's time budget.

Failover policy: every provider error fails over to the next provider (an auth error on A may not exist
on B). Timeouts, connection errors, 429 and 5xx are retried (`max_retries`) and count against the breaker;
auth (401/403), unknown model (404), quota and unreadable responses are not retried but count; other 4xx
rejections (400, 422: probably our request, not the provider's health) are neither retried nor counted.
A provider that failed once in a turn is not asked again in that turn.

Streamed turns (`LLMCall.on_stream`) keep these guarantees: `_GuardedModel.request_stream` is guarded like
`request`, and the budget also cuts off every pull of the stream. `FallbackModel` can only fail over while a
stream is opening; when a provider dies mid-stream, the guarded model gives it up (`StreamBroken`) and the
loop asks the same step again of the next provider, with the history so far (tools already run stay run),
after telling the consumer to drop the partial answer (see `streaming.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic_ai.exceptions import (
    FallbackExceptionGroup,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelHTTPError,
    ModelNotFoundError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelRequestRejectedError,
    ModelRequestTimeout,
    ModelServerError,
    ModelTimeoutError,
    ModelUnavailableError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models._request_timeout import RequestDeadline
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.usage import RequestUsage

from faultmaven.infrastructure.llm.circuit_breaker import CircuitBreaker, CircuitState
from faultmaven.infrastructure.llm.config import ProviderSpec, parse_providers
from faultmaven.infrastructure.llm.errors import ProviderUnavailable, StreamBroken
from faultmaven.infrastructure.llm.providers import BuiltModel, build_model
from faultmaven.infrastructure.llm.streaming import AnswerStream
from faultmaven.infrastructure.llm.tool_loop import InvalidOutput, Toolbox, ToolLoop, TurnPlan
from faultmaven.models.interfaces import (
    InvalidModelOutputError,
    LLMCall,
    LLMProviderError,
    LLMResult,
    ProviderHealth,
)

logger = logging.getLogger(__name__)

EventHook = Callable[[str, dict[str, Any]], None]
_T = TypeVar("_T")

MAX_CACHED_PLANS = 32
"""Turn plans kept per router: one per kind of call (instructions, output, tools); the title's instructions
vary with its word limit, so a bound keeps a stray caller from growing the cache without end."""

BUDGET_GRACE_SECONDS = 0.25
"""The outer guard fires this long after the budget, so an in-flight request is cut off (and blamed on its
provider) by its own guard first; the outer one only catches time spent outside model requests (tools)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 1
    backoff_seconds: float = 0.5
    retry_after_cap_seconds: float = 10.0


@dataclass(frozen=True)
class Failure:
    """A classified failed attempt: `kind` is a bounded metric label, `reason` is human text (no prompts)."""

    kind: str
    reason: str
    retryable: bool
    counts_against_breaker: bool
    retry_after: float | None = None


def classify_failure(exc: BaseException) -> Failure:
    """Map an exception from one model request to our failover policy (see the module docstring)."""
    status = getattr(exc, "status_code", None)
    prefix = f"{status} " if status else ""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, TimeoutError):
        return Failure("timeout", "cut off at the time budget", retryable=False, counts_against_breaker=True)
    if isinstance(exc, ModelTimeoutError | ModelRequestTimeout):
        return Failure("timeout", "timed out", retryable=True, counts_against_breaker=True)
    if isinstance(exc, ModelConnectionError):
        return Failure("connection", "connection error", retryable=True, counts_against_breaker=True)
    if isinstance(exc, ModelRateLimitError):
        return Failure("rate_limited", f"{prefix}rate limited", True, True, retry_after)
    if isinstance(exc, ModelQuotaExceededError):
        return Failure("quota", f"{prefix}quota exceeded", retryable=False, counts_against_breaker=True)
    if isinstance(exc, ModelUnavailableError | ModelServerError) or (
        isinstance(exc, ModelHTTPError) and exc.status_code >= 500
    ):
        return Failure("server_error", f"{prefix}server error", True, True, retry_after)
    if isinstance(exc, ModelAuthenticationError):
        return Failure("auth", f"{prefix}authentication failed", retryable=False, counts_against_breaker=True)
    if isinstance(exc, ModelNotFoundError):
        return Failure("not_found", f"{prefix}model not found", retryable=False, counts_against_breaker=True)
    if isinstance(exc, ModelRequestRejectedError):
        return Failure("rejected", f"{prefix}request rejected", retryable=False, counts_against_breaker=False)
    if isinstance(exc, ModelAPIError):
        return Failure("error", f"{prefix}provider error", retryable=False, counts_against_breaker=True)
    return Failure("invalid_response", f"unusable response ({type(exc).__name__})", False, True)


@dataclass
class _Provider:
    spec: ProviderSpec
    model: Model
    breaker: CircuitBreaker


@dataclass
class _Turn:
    """Per-`generate` state shared by the guarded models of one turn."""

    deadline: float
    reasons: dict[str, str] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)
    handing_over: tuple[str, str] | None = None
    answered_by: _Provider | None = None
    streaming_from: str | None = None
    last_failure_kind: dict[str, str] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()


_CURRENT_TURN: ContextVar[_Turn] = ContextVar("faultmaven_llm_turn")
"""The turn being run in this task: the guarded models are built once and shared by every turn."""


class _GuardedModel(WrapperModel):
    """One provider with breaker admission, retries, the budget and events, for whichever turn is current."""

    def __init__(self, provider: _Provider, policy: RetryPolicy, emit: EventHook) -> None:
        super().__init__(provider.model)
        self._provider = provider
        self._policy = policy
        self._emit = emit

    @property
    def _turn(self) -> _Turn:
        return _CURRENT_TURN.get()

    @property
    def _alias(self) -> str:
        return self._provider.spec.alias

    def _capped_settings(self, model_settings: ModelSettings | None) -> ModelSettings | None:
        """The request's settings with this provider's output-token cap (`..._MAX_OUTPUT_TOKENS`)."""
        cap = self._provider.spec.max_output_tokens
        if cap is None:
            return model_settings
        return ModelSettings(**{**(model_settings or {}), "max_tokens": cap})  # type: ignore[typeddict-item]

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        model_settings = self._capped_settings(model_settings)
        started, response = await self._with_retries(
            lambda: self.wrapped.request(messages, model_settings, model_request_parameters)
        )
        self._record_success(started, response.usage)
        return response

    @contextlib.asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncIterator[StreamedResponse]:
        """Open the stream like `request` sends (admission, retries, budget); then guard its consumption.

        A provider failure after the stream was handed over gives the provider up and raises `StreamBroken`;
        an error of the stream's consumer (our stream handler) is not the provider's and passes unchanged.
        """
        model_settings = self._capped_settings(model_settings)
        async with contextlib.AsyncExitStack() as stack:
            stream = self.wrapped.request_stream
            started, response = await self._with_retries(
                lambda: stack.enter_async_context(
                    stream(messages, model_settings, model_request_parameters, run_context)
                )
            )
            self._turn.streaming_from = self._alias
            _cut_off_at(response, self._turn.deadline, self.model_name)
            try:
                yield response
            except (ModelAPIError, UnexpectedModelBehavior) as exc:
                failure = self._stream_failure(exc)
                self._record_attempt_failure(failure, started)
                self._mark_given_up(failure.kind, failure.reason)
                raise StreamBroken(self.model_name, self._alias, failure.reason) from exc
            except BaseException:
                self._provider.breaker.release()
                raise
        self._record_success(started, response.usage)

    async def _with_retries(self, send: Callable[[], Awaitable[_T]]) -> tuple[float, _T]:
        """Try `send` on this provider until an attempt succeeds; returns that attempt's start and result."""
        attempt = 0
        while True:
            self._admit()
            started = time.perf_counter()
            try:
                return started, await self._attempt(send, started)
            except _AttemptFailed as failed:
                failure, cause = failed.failure, failed.__cause__
            delay = self._retry_delay(failure, attempt)
            if delay is None:
                raise self._give_up(failure.kind, failure.reason) from cause
            await asyncio.sleep(delay)
            attempt += 1

    def _admit(self) -> None:
        """Refuse without a network call: provider already failed this turn, breaker open, or time is up."""
        if self._alias in self._turn.given_up:
            raise ProviderUnavailable(self.model_name, f"{self._alias} already failed in this turn")
        if self._turn.remaining() <= 0:
            self._turn.reasons.setdefault(self._alias, "time budget exhausted")
            raise ProviderUnavailable(self.model_name, "time budget exhausted")
        if not self._provider.breaker.try_acquire():
            raise self._give_up("circuit_open", "circuit open")
        self._announce_takeover()

    def _announce_takeover(self) -> None:
        if self._turn.handing_over is None:
            return
        from_alias, reason = self._turn.handing_over
        self._turn.handing_over = None
        self._emit("failover", {"from": from_alias, "to": self._alias, "reason": reason})

    async def _attempt(self, send: Callable[[], Awaitable[_T]], started: float) -> _T:
        try:
            async with asyncio.timeout(self._turn.remaining()):
                return await send()
        except asyncio.CancelledError:
            self._provider.breaker.release()
            raise
        except Exception as exc:
            failure = classify_failure(exc)
            self._record_attempt_failure(failure, started)
            raise _AttemptFailed(failure) from exc

    def _stream_failure(self, exc: ModelAPIError | UnexpectedModelBehavior) -> Failure:
        """A stream the budget deadline cut off is blamed like a request cut off by it."""
        if isinstance(exc, ModelRequestTimeout) and self._turn.remaining() <= 0:
            return classify_failure(TimeoutError())
        return classify_failure(exc)

    def _record_attempt_failure(self, failure: Failure, started: float) -> None:
        breaker = self._provider.breaker
        if failure.counts_against_breaker:
            breaker.record_failure()
        else:
            breaker.release()
        self._turn.last_failure_kind[self._alias] = failure.kind
        self._turn.reasons[self._alias] = failure.reason
        logger.warning("LLM provider %s failed: %s", self._alias, failure.reason)
        self._emit_call(started, failure.kind, 0, 0)

    def _record_success(self, started: float, usage: RequestUsage) -> None:
        self._provider.breaker.record_success()
        self._turn.answered_by = self._provider
        self._emit_call(started, "success", usage.input_tokens, usage.output_tokens)

    def _retry_delay(self, failure: Failure, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None to fail over now."""
        if not failure.retryable or attempt >= self._policy.max_retries:
            return None
        delay = failure.retry_after if failure.retry_after is not None else self._policy.backoff_seconds
        if delay > self._policy.retry_after_cap_seconds or delay >= self._turn.remaining():
            return None
        return delay

    def _give_up(self, kind: str, reason: str) -> ProviderUnavailable:
        """Hand the request to the next provider; the first real failure is the reason we report."""
        self._mark_given_up(kind, reason)
        return ProviderUnavailable(self.model_name, f"{self._alias}: {self._turn.reasons[self._alias]}")

    def _mark_given_up(self, kind: str, reason: str) -> None:
        self._turn.reasons.setdefault(self._alias, reason)
        self._turn.given_up.add(self._alias)
        if self._turn.handing_over is None:
            self._turn.handing_over = (self._alias, self._turn.last_failure_kind.get(self._alias, kind))

    def _emit_call(self, started: float, outcome: str, input_tokens: int, output_tokens: int) -> None:
        self._emit(
            "llm_call",
            {
                "provider": self._alias,
                "model": self._provider.spec.model,
                "seconds": time.perf_counter() - started,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "outcome": outcome,
            },
        )


def _cut_off_at(response: StreamedResponse, deadline: float, model_name: str) -> None:
    """Pull every event of `response` under the turn's deadline (on the loop's clock, as anyio's).

    pydantic-ai's own per-pull deadline (how `FallbackModel` enforces `request_timeout` on streams): no
    timeout scope is held across a `yield`, so it holds whichever task consumes the stream. It raises
    `ModelRequestTimeout` from the pull.
    """
    remaining = deadline - asyncio.get_running_loop().time()
    response._enforce_request_deadline(RequestDeadline(model_name, timeout=remaining, deadline=deadline))


class _AttemptFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _derive_request_parameters_once(model: Model) -> Model:
    """Have `model` derive its provider-specific request parameters (every tool's JSON schema, deep-copied
    and walked) once per plan, not on every request as pydantic-ai does: a plan's parameters are one
    long-lived object, so the derivation is kept by identity."""
    derive = model.customize_request_parameters
    derived: dict[int, tuple[ModelRequestParameters, ModelRequestParameters]] = {}

    def customize(parameters: ModelRequestParameters) -> ModelRequestParameters:
        known = derived.get(id(parameters))
        if known is not None and known[0] is parameters:
            return known[1]
        result = derive(parameters)
        if len(derived) < MAX_CACHED_PLANS:
            derived[id(parameters)] = (parameters, result)
        return result

    model.customize_request_parameters = customize  # type: ignore[method-assign]
    return model


class LLMRouter:
    """Implements `ILLMProvider` over the configured providers, in order, with circuit breakers.

    `LLMResult.output` is an instance of `call.output_type` when the model used the structured-output tool, or
    the plain text when it answered in prose (small local models often do); callers handle both.
    """

    def __init__(
        self,
        specs: Sequence[ProviderSpec],
        *,
        failure_threshold: int = 3,
        cooldown_seconds: float = 30.0,
        max_retries: int = 1,
        retry_backoff_seconds: float = 0.5,
        retry_after_cap_seconds: float = 10.0,
        request_limit: int = 8,
        on_event: EventHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        model_factory: Callable[[ProviderSpec], BuiltModel] = build_model,
    ) -> None:
        """Builds every provider's model now, so a missing key or package fails at startup (ValueError)."""
        if max_retries < 0 or request_limit < 1:
            raise ValueError("max_retries must be >= 0 and request_limit >= 1")
        self._on_event = on_event
        self._policy = RetryPolicy(max_retries, retry_backoff_seconds, retry_after_cap_seconds)
        self._request_limit = request_limit
        self._built = [model_factory(spec) for spec in specs]
        self._providers = [
            _Provider(
                built.spec,
                _derive_request_parameters_once(built.model),
                self._breaker(built.spec, failure_threshold, cooldown_seconds, clock),
            )
            for built in self._built
        ]
        self._model = (
            FallbackModel(*(_GuardedModel(p, self._policy, self._emit) for p in self._providers))
            if self._providers
            else None
        )
        self._plans: OrderedDict[Hashable, TurnPlan] = OrderedDict()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], **options: Any) -> LLMRouter:
        """`LLMRouter.from_environ(os.environ, failure_threshold=..., on_event=...)`."""
        return cls(parse_providers(environ), **options)

    @property
    def configured(self) -> bool:
        return bool(self._providers)

    @property
    def profile(self) -> str:
        """The shape of every turn: the first provider's profile (`default` or `compact`). A failover
        mid-turn keeps the turn's shape, so a chain should list its compact providers apart or last."""
        return self._providers[0].spec.profile if self._providers else "default"

    def health(self) -> list[ProviderHealth]:
        return [
            ProviderHealth(
                alias=p.spec.alias, kind=p.spec.kind, model=p.spec.model, circuit_state=p.breaker.state
            )
            for p in self._providers
        ]

    async def generate(self, call: LLMCall) -> LLMResult:
        if not self._providers:
            raise LLMProviderError("no LLM provider configured")
        turn = _Turn(deadline=asyncio.get_running_loop().time() + call.time_budget_seconds)
        toolbox = Toolbox(call.tools, call.tool_context)
        answer = None if call.on_stream is None else AnswerStream(call.on_stream, lambda: turn.streaming_from)
        assert self._model is not None
        loop = ToolLoop(self._model, self._plan_for(call), toolbox, self._request_limit, answer)
        current = _CURRENT_TURN.set(turn)
        try:
            with self._as_provider_error(turn, call.time_budget_seconds):
                async with asyncio.timeout(call.time_budget_seconds + BUDGET_GRACE_SECONDS):
                    result = await loop.run(call.prompt)
        finally:
            _CURRENT_TURN.reset(current)
        assert turn.answered_by is not None
        return LLMResult(
            output=result.output,
            provider=turn.answered_by.spec.alias,
            model=turn.answered_by.spec.model,
            input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            tool_calls=toolbox.records,
            truncated=result.truncated,
        )

    def _plan_for(self, call: LLMCall) -> TurnPlan:
        """The plan for this kind of call, built on first use and kept (a few kinds exist: the query turn,
        titles, reports), so no turn pays for building tool definitions and schemas."""
        key = TurnPlan.key(call)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = TurnPlan.for_call(call)
            if len(self._plans) > MAX_CACHED_PLANS:
                self._plans.popitem(last=False)
        self._plans.move_to_end(key)
        return plan

    async def aclose(self) -> None:
        """Close the HTTP clients the providers share; call once at shutdown."""
        for built in self._built:
            if built.http_client is not None:
                await built.http_client.aclose()

    @contextlib.contextmanager
    def _as_provider_error(self, turn: _Turn, budget: float):
        """Translate the ways a turn can fail into LLMProviderError with per-provider reasons."""
        try:
            yield
        except TimeoutError:
            raise LLMProviderError(f"time budget of {budget:g}s exhausted", reasons=turn.reasons) from None
        except (ModelAPIError, FallbackExceptionGroup) as exc:
            message = (
                f"time budget of {budget:g}s exhausted"
                if turn.remaining() <= 0
                else "every LLM provider failed"
            )
            raise LLMProviderError(message, reasons=turn.reasons) from exc
        except UsageLimitExceeded as exc:
            message = f"the model did not finish within {self._request_limit} requests"
            raise LLMProviderError(message, reasons=turn.reasons) from exc
        except UnexpectedModelBehavior as exc:
            alias = turn.answered_by.spec.alias if turn.answered_by is not None else "model"
            what = str(exc) if isinstance(exc, InvalidOutput) else f"unusable output: {exc}"
            raise InvalidModelOutputError(
                "the model's output could not be used", reasons={**turn.reasons, alias: what[:400]}
            ) from exc

    def _breaker(
        self, spec: ProviderSpec, threshold: int, cooldown: float, clock: Callable[[], float]
    ) -> CircuitBreaker:
        def publish(state: CircuitState) -> None:
            self._emit("circuit_state", {"provider": spec.alias, "state": state})

        return CircuitBreaker(threshold, cooldown, clock=clock, on_state_change=publish)

    def _emit(self, event: str, data: dict[str, Any]) -> None:
        """Call the metrics hook; a broken hook is logged, never allowed to fail an LLM call."""
        if self._on_event is None:
            return
        try:
            self._on_event(event, data)
        except Exception:
            logger.exception("LLM event hook failed for %s", event)
