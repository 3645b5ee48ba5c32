"""What the LLM is asked to return, the instructions that ask for it, the cleaning of its answer, and the
checks that flag an answer which only repeats what it was given."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

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

Values written as an uppercase kind and a number in angle brackets are placeholders for masked secrets
or personal data: copy them exactly as you read them, never guess what they hide, never make one up.

response_type is one of:
- ANSWER: you answer the question.
- PLAN_PROPOSAL: you propose a step-by-step plan (fill plan).
- CLARIFICATION_REQUEST: you need the engineer to clarify something before you can help.
- CONFIRMATION_REQUEST: you need the engineer to confirm before a risky step.
- SOLUTION_READY: you have identified the root cause and the fix.
- NEEDS_MORE_DATA: you need more evidence (fill evidence_requests).
- ESCALATION_REQUIRED: this needs a human expert or vendor now; say who and why.
"""


COMPACT_INSTRUCTIONS = """\
You are FaultMaven, helping an engineer during a production incident. Answer the question using the \
evidence and runbook excerpts given with it. Name the likely cause, quote the evidence line that shows it, \
and give the next step. If the excerpts do not show the cause, say which data to collect. Be brief; do not \
repeat the question.
"""
"""The compact profile's instructions, for small models: no tools, no schema, the evidence in the prompt."""

TRUNCATION_NOTICE = (
    "\n\n---\n*This answer was cut off: the model reached its output-token limit before finishing, so it "
    "may be incomplete. Ask a narrower question, or raise the provider's output limit "
    "(`FAULTMAVEN_LLM_<ALIAS>_MAX_OUTPUT_TOKENS`).*"
)


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


_ROLE_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:answer|faultmaven|assistant|response)(?:\*\*)?\s*:\s*", re.IGNORECASE
)
_TYPE_LINE = re.compile(
    r"^\s*(?:response[_ ]type\s*:\s*)?(" + "|".join(t.value for t in ResponseType) + r")\b[:.\s]*",
    re.IGNORECASE,
)


def answer_from_compact_text(text: str) -> AgentAnswer:
    """A compact-profile answer: prose, with a leading role label ("Answer:") dropped and a leading response
    type ("NEEDS_MORE_DATA: ...") read, when the model wrote one."""
    answer = answer_from_text(text)
    content = _ROLE_LABEL.sub("", answer.content, count=1)
    kind = _TYPE_LINE.match(content)
    if kind is None:
        return answer.model_copy(update={"content": content.strip()})
    return answer.model_copy(
        update={"content": content[kind.end():].strip(), "response_type": ResponseType(kind.group(1).upper())}
    )


ECHO_SHINGLE_WORDS = 5
"""Answers are compared with their inputs in runs of this many words: long enough that shared phrasing
("the root cause is") is not a repeat, short enough that a recited sentence is."""

ECHO_SHARE = 0.6
"""An answer with this share of its word runs found in one input mostly repeats that input."""

RECITAL_SHARE = 0.9
"""The compact profile's prompt carries the server's findings, which a good answer quotes: an answer is only
flagged for repeating the prompt with them when it is nearly all a copy."""

_ECHO_WORD = re.compile(r"[a-z0-9]+")

PROMPT_LABELS = re.compile(
    r"\b(previous conversation in this case|current query|what the server found in this case's evidence"
    r"(?: and runbooks)?)(?:\s+is)?\s*:",
    re.IGNORECASE,
)
"""The labels FaultMaven's own prompt is framed with (`agent_service`, the case transcript): an answer that
writes one is reciting the prompt, however short it is."""

REPETITION_MIN_WORDS = 30
REPETITION_DISTINCT_SHARE = 0.35
"""An answer of at least this many words whose word runs are this share or less distinct is going round in
a loop (a small model repeating a sentence or a token until its output cap)."""


def word_runs(text: str) -> set[tuple[str, ...]]:
    """The text's runs of `ECHO_SHINGLE_WORDS` consecutive words, lower-cased."""
    words = _ECHO_WORD.findall(text.lower())
    return {tuple(words[i : i + ECHO_SHINGLE_WORDS]) for i in range(len(words) - ECHO_SHINGLE_WORDS + 1)}


def echo_share(answer: str, source_runs: set[tuple[str, ...]]) -> float:
    """The share of the answer's word runs that also occur in the source (0 for a very short answer)."""
    runs = word_runs(answer)
    return len(runs & source_runs) / len(runs) if runs else 0.0


@dataclass(frozen=True)
class EchoSources:
    """What the model was given, as word runs: an answer mostly made of one of them is flagged."""

    instructions: set[tuple[str, ...]]
    tool_descriptions: set[tuple[str, ...]]

    @classmethod
    def of(cls, instructions: str, tool_texts: list[str]) -> EchoSources:
        return cls(word_runs(instructions), word_runs("\n".join(tool_texts)))


def quality_flags(
    answer: str, prompt: str, sources: EchoSources, *, truncated: bool, retrieved: str = ""
) -> list[str]:
    """The reasons not to trust an answer the model did give: `truncated` (cut off at the output cap),
    `echoes_prompt` (mostly a repeat of the prompt, or writing its framing labels), `echoes_instructions`,
    `echoes_tool_descriptions` (mostly a repeat of that input), `repetitive` (going round in a loop).
    `prompt` is the conversation and question; `retrieved`, the findings the server added to it."""
    flags = ["truncated"] if truncated else []
    recited = bool(retrieved) and echo_share(answer, word_runs(f"{prompt}\n{retrieved}")) >= RECITAL_SHARE
    if recited or PROMPT_LABELS.search(answer) or echo_share(answer, word_runs(prompt)) >= ECHO_SHARE:
        flags.append("echoes_prompt")
    checks = (
        ("echoes_instructions", sources.instructions),
        ("echoes_tool_descriptions", sources.tool_descriptions),
    )
    flags += [flag for flag, runs in checks if echo_share(answer, runs) >= ECHO_SHARE]
    if is_repetitive(answer):
        flags.append("repetitive")
    return flags


def is_repetitive(answer: str) -> bool:
    """The answer keeps repeating itself: few distinct word runs among many (see `REPETITION_*`)."""
    words = _ECHO_WORD.findall(answer.lower())
    if len(words) < REPETITION_MIN_WORDS:
        return False
    runs = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return len(set(runs)) / len(runs) <= REPETITION_DISTINCT_SHARE
