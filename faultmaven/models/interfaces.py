"""The protocols the services depend on; concrete classes live in `infrastructure/` and `services/`.

Services receive these through the container, so tests can hand in any object of the right shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from faultmaven.models.case import Case, CaseMessage


class LLMProviderError(Exception):
    """Every configured provider failed (or none is configured); `reasons` says why, per provider."""

    def __init__(self, message: str, reasons: dict[str, str] | None = None):
        super().__init__(message)
        self.reasons = reasons or {}


class InvalidModelOutputError(LLMProviderError):
    """A provider answered, but its output could not be used (invalid tool calls or structured answer, an
    empty answer); `reasons` says, per provider, what was invalid."""


class CaseServiceError(Exception):
    """The case store could not answer (database down, timeout); not a missing case."""


@dataclass(frozen=True)
class ToolContext:
    """What a tool may see: the case it works for and who is asking."""

    case_id: str | None
    user_id: str | None


@dataclass
class ToolSource:
    """A citation a tool produced; becomes an AgentResponse source."""

    type: str
    content: str
    confidence: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ToolResult:
    """A tool's answer: `text` goes back to the model, `sources` to the user."""

    text: str
    sources: list[ToolSource] = field(default_factory=list)


ArgsT = TypeVar("ArgsT", bound=BaseModel)


@runtime_checkable
class BaseTool(Protocol[ArgsT]):
    """A capability the agent (LLM or not) may call. `args_model` is the single validation of a call's
    arguments (the tool loop validates with it; the offline answer builds it) and the JSON schema the LLM
    sees, so `execute` receives its arguments already typed."""

    name: str
    description: str
    args_model: type[ArgsT]

    async def execute(self, context: ToolContext, args: ArgsT) -> ToolResult: ...


@dataclass(frozen=True)
class StreamEvent:
    """Progress of a streamed turn: `text_delta` {"text"} appends to the answer being written;
    `reset` {"provider", "reason"} says the text streamed so far is void (a failover restarted the answer)."""

    kind: str
    data: dict[str, Any]


StreamHandler = Callable[[StreamEvent], Awaitable[None]]


@dataclass
class LLMCall:
    """One agent turn for the LLM: instructions, the user prompt, the tools and the expected output.

    With `on_stream`, the answer is streamed: the handler sees its text as it is generated."""

    instructions: str
    prompt: str
    output_type: type[BaseModel] | type[str]
    """A model for the structured answer (an output tool), or `str` for plain text only (no output tool)."""
    tools: Sequence[BaseTool[Any]] = ()
    tool_context: ToolContext = field(default_factory=lambda: ToolContext(None, None))
    time_budget_seconds: float = 60.0
    on_stream: StreamHandler | None = None


@dataclass
class ToolCallRecord:
    """A tool call the model made during a run and what it returned."""

    name: str
    args: dict[str, Any]
    result: ToolResult


@dataclass
class LLMResult:
    """The model's final output plus who produced it."""

    output: BaseModel | str
    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    truncated: bool = False
    """The model stopped at its output-token cap: the answer is cut off."""


@dataclass(frozen=True)
class ProviderHealth:
    alias: str
    kind: str
    model: str
    circuit_state: str


class ILLMProvider(Protocol):
    """Runs an agent turn on the configured providers, failing over between them."""

    @property
    def configured(self) -> bool: ...

    async def generate(self, call: LLMCall) -> LLMResult: ...

    def health(self) -> list[ProviderHealth]: ...


class ISanitizer(Protocol):
    """Masks secrets and PII reversibly; `mask_map` is the case's own table (mutated in place)."""

    def sanitize(self, text: str, mask_map: dict[str, str]) -> str: ...

    def restore(self, text: str, mask_map: dict[str, str]) -> str: ...


class ITracer(Protocol):
    """Spans around units of work; attributes never carry prompt or evidence text."""

    def trace(self, name: str, **attributes: Any) -> AbstractContextManager[Any]: ...


class ICaseService(Protocol):
    """What the agent needs from the case store."""

    async def get_case(self, case_id: str) -> Case | None: ...

    async def get_case_conversation_context(self, case_id: str, limit: int = 10) -> str: ...

    async def add_message_to_case(self, case_id: str, message: CaseMessage) -> CaseMessage: ...

    async def mask_for_llm(self, case_id: str, texts: list[str], sanitizer: ISanitizer) -> list[str]: ...

    async def mask_map(self, case_id: str) -> dict[str, str]: ...
