"""`AnswerStream`: turns the events of a streamed turn into `StreamEvent`s carrying only the answer.

The answer is either the text the model writes or the `content` field of the structured-output tool's
arguments, which arrive as growing partial JSON. Tool calls of other tools, their arguments, thinking parts
and a leading `<think>...</think>` block are never shown. `text_delta` events only ever append to what was
shown; when what was shown turns out not to be the answer (the model wrote a preamble, then called a tool; or
its provider died mid-stream and another one restarts the answer) a `reset` event voids it first, so the
text streamed after the last `reset` is the final answer's content.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Callable, Hashable
from typing import Any

from pydantic_ai.messages import (
    ModelResponsePart,
    ModelResponseStreamEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolCallPartDelta,
)
from pydantic_core import from_json

from faultmaven.models.interfaces import StreamEvent, StreamHandler

OUTPUT_TOOL_NAME = "final_result"
"""pydantic-ai's structured-output tool for one output model (`final_result_<Name>` for several)."""

ANSWER_FIELD = "content"
"""The field of the structured output that holds the answer text streamed to the user."""

_THINK_OPEN = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_THINK_TAGS = ("<think>", "<thinking>", "<reasoning>")
_JSON_HEAD = re.compile(r"\s*(?:```(?:json)?\s*)?\{")
_MAYBE_JSON_HEAD = re.compile(r"\s*(?:`{1,3}(?:j(?:s(?:on?)?)?)?\s*)?$")


def answer_field(arguments: str | dict[str, Any] | None) -> str:
    """The answer field of (possibly partial) JSON arguments; "" until its value has started."""
    if isinstance(arguments, dict):
        value = arguments.get(ANSWER_FIELD)
    else:
        try:
            parsed = from_json(arguments or "{}", allow_partial="trailing-strings")
        except ValueError:
            return ""
        value = parsed.get(ANSWER_FIELD) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else ""


def visible_text(raw: str) -> str | None:
    """The answer in a model's (partial) prose: `None` while it cannot be told yet what to show.

    A leading `<think>` block is hidden (the agent service drops it from the final answer too), and a JSON
    object printed as text shows only its answer field, as the agent service reads it.
    """
    think = _THINK_OPEN.match(raw)
    if think:
        closing = f"</{think.group(1)}>"
        end = raw.lower().find(closing.lower(), think.end())
        return None if end < 0 else visible_text(raw[end + len(closing) :].lstrip())
    stripped = raw.lstrip()
    if any(tag.startswith(stripped.lower()) for tag in _THINK_TAGS) or _MAYBE_JSON_HEAD.match(raw):
        return None
    head = _JSON_HEAD.match(raw)
    if head:
        return answer_field(raw[head.end() - 1 :])
    return raw


class _ResponseAnswer:
    """The answer candidates of one model response, rebuilt from its part events."""

    def __init__(self, number: int) -> None:
        self._number = number
        self._parts: dict[int, ModelResponsePart] = {}

    def apply(self, event: ModelResponseStreamEvent) -> tuple[Hashable, str | None] | None:
        """Update the part `event` is about; (source, answer so far) if that part can be the answer."""
        if isinstance(event, PartStartEvent):
            self._parts[event.index] = event.part
        elif isinstance(event, PartDeltaEvent) and event.index in self._parts:
            self._parts[event.index] = _applied(event.delta, self._parts[event.index])
        else:
            return None
        return self._answer_of(event.index)

    def _answer_of(self, index: int) -> tuple[Hashable, str | None] | None:
        part = self._parts.get(index)
        if isinstance(part, TextPart) and not any(map(_is_output_call, self._parts.values())):
            text = "".join(p.content for p in self._parts.values() if isinstance(p, TextPart))
            return (self._number, "text"), visible_text(text)
        if _is_output_call(part):
            assert isinstance(part, ToolCallPart)
            return (self._number, index), answer_field(part.args)
        return None


def _applied(delta: object, part: ModelResponsePart) -> ModelResponsePart:
    if isinstance(delta, TextPartDelta) and isinstance(part, TextPart):
        return delta.apply(part)
    if isinstance(delta, ToolCallPartDelta) and isinstance(part, ToolCallPart):
        return delta.apply(part)
    return part


def _is_output_call(part: ModelResponsePart | None) -> bool:
    """The output tool wins over text in the same response, as in pydantic-ai's choice of the output."""
    return isinstance(part, ToolCallPart) and part.tool_name.startswith(OUTPUT_TOOL_NAME)


class AnswerStream:
    """Relays the answer of a streamed turn to a `StreamHandler`; `consume` reads each response's stream."""

    def __init__(self, on_stream: StreamHandler, provider: Callable[[], str | None]) -> None:
        self._on_stream = on_stream
        self._provider = provider
        self._responses = 0
        self._source: Hashable | None = None
        self._shown = ""

    async def consume(self, events: AsyncIterable[ModelResponseStreamEvent]) -> None:
        """Relay one model response's stream (each call is the next response of the turn)."""
        self._responses += 1
        response = _ResponseAnswer(self._responses)
        async for event in events:
            update = response.apply(event)
            if update is not None and update[1]:
                await self._show(*update)

    async def reset(self, provider: str, reason: str) -> None:
        """Void what was shown: the consumer drops its partial answer."""
        self._source, self._shown = None, ""
        await self._on_stream(StreamEvent("reset", {"provider": provider, "reason": reason}))

    async def _show(self, source: Hashable, answer: str) -> None:
        """Append `answer`'s new suffix; an answer from another part first voids what was shown."""
        if source != self._source:
            if self._shown:
                await self.reset(self._provider() or "", "superseded")
            self._source = source
        if answer.startswith(self._shown) and len(answer) > len(self._shown):
            delta, self._shown = answer[len(self._shown) :], answer
            await self._on_stream(StreamEvent("text_delta", {"text": delta}))
