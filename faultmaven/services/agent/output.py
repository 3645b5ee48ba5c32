"""What the LLM is asked to return, the instructions that ask for it, and the cleaning of its answer."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field, ValidationError

from faultmaven.models.agent import EvidenceRequest, PlanStep, ResponseType

AGENT_INSTRUCTIONS = """\
You are FaultMaven, a troubleshooting copilot for SRE and DevOps engineers working a production incident.
Be precise and practical: name the likely cause, the evidence for it, and the next concrete step
(commands to run, what to look for). Prefer short Markdown with headings or lists where they help.

Ground every claim in what you were given: the case conversation, the evidence and the knowledge base
you can search with your tools. Cite what you used. When you lack the evidence to answer, say so plainly,
choose response_type NEEDS_MORE_DATA and list evidence_requests (what to collect and the exact commands).
Never invent log lines, metrics or documents.

Values such as <EMAIL_1> or <IP_ADDRESS_2> are placeholders for masked secrets or personal data:
use them as they are, never guess what they hide.

response_type is one of:
- ANSWER: you answer the question.
- PLAN_PROPOSAL: you propose a step-by-step plan (fill plan).
- CLARIFICATION_REQUEST: you need the engineer to clarify something before you can help.
- CONFIRMATION_REQUEST: you need the engineer to confirm before a risky step.
- SOLUTION_READY: you have identified the root cause and the fix.
- NEEDS_MORE_DATA: you need more evidence (fill evidence_requests).
- ESCALATION_REQUIRED: this needs a human expert or vendor now; say who and why.
"""


class AgentAnswer(BaseModel):
    """The structured answer the model returns through the output tool."""

    content: str = Field(description="The answer for the engineer, in Markdown")
    response_type: ResponseType = Field(default=ResponseType.ANSWER)
    confidence: float | None = Field(default=None, ge=0, le=1, description="How sure you are, 0..1")
    plan: list[PlanStep] | None = Field(default=None, description="Steps, for PLAN_PROPOSAL")
    evidence_requests: list[EvidenceRequest] = Field(
        default_factory=list, description="What to collect, for NEEDS_MORE_DATA"
    )
    suggested_actions: list[str] | None = Field(default=None, description="Short next actions")
    next_action_hint: str | None = None


_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>\s*", re.DOTALL | re.IGNORECASE)
_UNCLOSED_REASONING = re.compile(r"^\s*<(think|thinking|reasoning)>.*", re.DOTALL | re.IGNORECASE)
_FENCED_JSON = re.compile(r"^```(?:json)?\s*(\{.*\})\s*```$", re.DOTALL)


def strip_reasoning(text: str) -> str:
    """Remove the chain-of-thought some models print before their answer (`<think>...</think>`)."""
    text = _REASONING.sub("", text)
    return _UNCLOSED_REASONING.sub("", text).strip()


def _json_object(text: str) -> dict | None:
    candidate = text.strip()
    fenced = _FENCED_JSON.match(candidate)
    if fenced:
        candidate = fenced.group(1)
    if not candidate.startswith("{"):
        return None
    try:
        value = json.loads(candidate)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def answer_from_text(text: str) -> AgentAnswer:
    """A prose answer (or a JSON one printed as text) turned into an AgentAnswer, with no raw JSON left."""
    cleaned = strip_reasoning(text)
    payload = _json_object(cleaned)
    if payload is not None:
        try:
            return clean_answer(AgentAnswer.model_validate(payload))
        except ValidationError:
            pass
    return AgentAnswer(content=cleaned)


def clean_answer(answer: AgentAnswer) -> AgentAnswer:
    """The content field itself may hold reasoning or a nested JSON answer: unwrap both."""
    content = strip_reasoning(answer.content)
    nested = _json_object(content)
    if nested is not None and isinstance(nested.get("content"), str):
        content = strip_reasoning(nested["content"])
    return answer.model_copy(update={"content": content})
