"""`GuardedModel`: one provider's model behind its circuit breaker, bounded retries and the turn's budget.
Apart from `router.py` because it is the per-request policy; the router builds these once and fails over.

Failover policy: every provider error fails over to the next provider (an auth error on A may not exist
on B). Timeouts, connection errors, 429 and 5xx are retried (`max_retries`) and count against the breaker;
auth (401/403), unknown model (404), quota and unreadable responses are not retried but count; other 4xx
rejections (400, 422: probably our request, not the provider's health) are neither retried nor counted.
A provider that failed once in a turn is not asked again in that turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic_ai.exceptions import (
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
)
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models._request_timeout import RequestDeadline
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.usage import RequestUsage

from faultmaven.infrastructure.llm.circuit_breaker import CircuitBreaker
from faultmaven.infrastructure.llm.config import ProviderSpec
from faultmaven.infrastructure.llm.errors import ProviderUnavailable, StreamBroken

logger = logging.getLogger(__name__)

EventHook = Callable[[str, dict[str, Any]], None]
_T = TypeVar("_T")


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
class Provider:
    spec: ProviderSpec
    model: Model
    breaker: CircuitBreaker


@dataclass
class Turn:
    """Per-`generate` state shared by the guarded models of one turn."""

    deadline: float
    reasons: dict[str, str] = field(default_factory=dict)
    given_up: set[str] = field(default_factory=set)
    handing_over: tuple[str, str] | None = None
    answered_by: Provider | None = None
    streaming_from: str | None = None
    last_failure_kind: dict[str, str] = field(default_factory=dict)

    def remaining(self) -> float:
        return self.deadline - asyncio.get_running_loop().time()


CURRENT_TURN: ContextVar[Turn] = ContextVar("faultmaven_llm_turn")
"""The turn being run in this task: the guarded models are built once and shared by every turn."""


class GuardedModel(WrapperModel):
    """One provider with breaker admission, retries, the budget and events, for whichever turn is current."""

    def __init__(self, provider: Provider, policy: RetryPolicy, emit: EventHook) -> None:
        super().__init__(provider.model)
        self._provider = provider
        self._policy = policy
        self._emit = emit

    @property
    def _turn(self) -> Turn:
        return CURRENT_TURN.get()

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
