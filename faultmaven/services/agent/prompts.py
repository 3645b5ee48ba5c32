"""The texts a turn builds for the model around the user's question (the conversation before it, the
compact profile's findings after it), and its tools as the echo checks read them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faultmaven.models.interfaces import BaseTool
from faultmaven.services.agent.output import AgentAnswer


def with_findings(prompt: str, findings: str) -> str:
    """The compact profile's prompt: the question with the server's own retrieval after it."""
    if not findings:
        return f"{prompt}\n\n(No evidence or runbook in this case matched the question.)"
    return f"{prompt}\n\nWhat the server found in this case's evidence and runbooks:\n{findings}"


def tool_texts(tools: Sequence[BaseTool[Any]]) -> list[str]:
    """What the default profile tells the model about its tools and answer, as an answer could recite it."""
    texts = [f"{tool.name} {tool.description} {tool.args_model.model_json_schema()}" for tool in tools]
    return [*texts, str(AgentAnswer.model_json_schema())]


def with_conversation(conversation: str, query: str) -> str:
    return f"{conversation}\n\nCurrent query: {query}" if conversation else query
