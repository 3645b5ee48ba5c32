"""The turn's masking, apart from the answering: one table masks every text bound for the LLM (prompt,
tool output, a stream's tool events) and restores only the placeholders this turn sent (answer or stream)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from faultmaven.infrastructure.security.sanitizer import PLACEHOLDER_PATTERN
from faultmaven.models.interfaces import BaseTool, ISanitizer, StreamEvent, ToolContext, ToolResult

_PLACEHOLDER_TAIL = re.compile(r"<[A-Z0-9_]{0,40}$")


class EventSink(Protocol):
    """Where a streamed query's progress goes (`services.queries.events.QueryEventWriter`)."""

    async def emit(self, event: str, data: dict[str, Any]) -> None: ...


@dataclass
class Masking:
    """Masks text for the LLM with one table (the turn's copy of the case's, or a throwaway one) and
    restores the answer with the part of it this turn sent: `sent` holds every placeholder that left in a
    masked text."""

    sanitizer: ISanitizer
    table: dict[str, str] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)

    def mask(self, text: str) -> str:
        masked = self.sanitizer.sanitize(text, self.table)
        if "<" in masked:
            for match in PLACEHOLDER_PATTERN.finditer(masked):
                if match[0] in self.table:
                    self.sent[match[0]] = self.table[match[0]]
        return masked

    def restore(self, text: str) -> str:
        return self.sanitizer.restore(text, self.sent)



class SanitizingTool:
    """A tool whose output is masked before the model reads it (or a stream shows it); sources stay
    unmasked for the user."""

    def __init__(self, tool: BaseTool[Any], masking: Masking, events: EventSink | None):
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
        masked = self._masking.mask(result.text)
        if self._events is not None:
            await self._events.emit(
                "tool_result", {"name": self.name, "text": masked[:2000], "sources": len(result.sources)}
            )
        return ToolResult(text=masked, sources=result.sources)


class RestoringRelay:
    """Relays streamed answer text with masks restored for the case's user; a placeholder split across
    deltas is held back until it is complete."""

    def __init__(self, events: EventSink, masking: Masking):
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
            await self._events.emit("text_delta", {"text": self._masking.restore(ready)})

