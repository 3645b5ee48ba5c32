"""`LLMRouter`: runs one agent turn on the configured providers, failing over between them.

`ToolLoop` (`tool_loop.py`) drives the turn (instructions, tools, structured output) over pydantic-ai's direct
model API. Its model is a `FallbackModel` over one `GuardedModel` per provider (with one provider, that
model alone), built once with the router, so failover happens per model request: when provider
B takes over in the middle of a tool loop, the message history carries on and tools already executed are not
run again. `GuardedModel` (`guarded_model.py`, with the failover policy) adds what pydantic-ai does not keep:
a circuit breaker per provider that outlives the turn, bounded retries honouring `Retry-After`, and the
turn's time budget.

Streamed turns (`LLMCall.on_stream`) keep these guarantees: `GuardedModel.request_stream` is guarded like
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
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from pydantic_ai.exceptions import (
    FallbackExceptionGroup,
    ModelAPIError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.fallback import FallbackModel

from faultmaven.infrastructure.llm.circuit_breaker import CircuitBreaker, CircuitState
from faultmaven.infrastructure.llm.config import ProviderSpec, parse_providers
from faultmaven.infrastructure.llm.guarded_model import (
    CURRENT_TURN,
    EventHook,
    GuardedModel,
    Provider,
    RetryPolicy,
    Turn,
)
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

MAX_CACHED_PLANS = 32
"""Turn plans kept per router: one per kind of call (instructions, output, tools); the title's instructions
vary with its word limit, so a bound keeps a stray caller from growing the cache without end."""

BUDGET_GRACE_SECONDS = 0.25
"""The outer guard fires this long after the budget, so an in-flight request is cut off (and blamed on its
provider) by its own guard first; the outer one only catches time spent outside model requests (tools)."""


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


def _failover_chain(models: list[GuardedModel]) -> Model | None:
    """A `FallbackModel` over the guarded models; a chain of one is its model (nothing to fail over to,
    and `FallbackModel`'s per-request bookkeeping is a cost every turn would pay)."""
    if len(models) > 1:
        return FallbackModel(*models)
    return models[0] if models else None


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
            Provider(
                built.spec,
                _derive_request_parameters_once(built.model),
                self._breaker(built.spec, failure_threshold, cooldown_seconds, clock),
            )
            for built in self._built
        ]
        self._model = _failover_chain([GuardedModel(p, self._policy, self._emit) for p in self._providers])
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
        turn = Turn(deadline=asyncio.get_running_loop().time() + call.time_budget_seconds)
        toolbox = Toolbox(call.tools, call.tool_context)
        answer = None if call.on_stream is None else AnswerStream(call.on_stream, lambda: turn.streaming_from)
        assert self._model is not None
        loop = ToolLoop(self._model, self._plan_for(call), toolbox, self._request_limit, answer)
        current = CURRENT_TURN.set(turn)
        try:
            with self._as_provider_error(turn, call.time_budget_seconds):
                async with asyncio.timeout(call.time_budget_seconds + BUDGET_GRACE_SECONDS):
                    result = await loop.run(call.prompt)
        finally:
            CURRENT_TURN.reset(current)
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
    def _as_provider_error(self, turn: Turn, budget: float):
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
