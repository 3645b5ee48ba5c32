"""The optional LLM judge: a separately configured provider grades each scenario's answers 1-5 against its
answer key (the design document's "AI response quality > 4.0/5"). It is reported beside the deterministic
score, never instead of it, and a judge that fails leaves its grade empty. What it reads is masked as any
text bound for an LLM is."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from pydantic import BaseModel, Field

from faultmaven.eval.scoring import ScenarioRun
from faultmaven.infrastructure.llm.config import parse_providers
from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.infrastructure.security.sanitizer import Sanitizer
from faultmaven.models.interfaces import LLMCall, LLMProviderError

logger = logging.getLogger(__name__)

RUBRIC = """\
You grade a troubleshooting assistant's answers to an incident against the answer key you are given.
5: names the root cause and its evidence and gives a correct, concrete next step.
4: root cause right, evidence or next step vague.
3: partly right, or right cause with unsupported claims.
2: mostly wrong or generic advice.
1: wrong, made up, or not an answer (repeats the question, empty, cut off).
Return the grade and one sentence of reason."""


class Verdict(BaseModel):
    """The judge's grade of one scenario."""

    grade: int = Field(ge=1, le=5)
    reason: str = ""


def judge_router(provider: str, environ: Mapping[str, str] | None = None) -> LLMRouter:
    """A router for the judge alone: `provider` is one `FAULTMAVEN_LLM_PROVIDERS` entry
    (`judge=openai:gpt-4.1`), its key and base URL from `FAULTMAVEN_LLM_<ALIAS>_*` as for any provider."""
    source = dict(os.environ if environ is None else environ)
    return LLMRouter(parse_providers({**source, "FAULTMAVEN_LLM_PROVIDERS": provider}), max_retries=1)


async def grade(router: LLMRouter, run: ScenarioRun) -> float | None:
    key = run.scenario
    facts = "; ".join(f"{fact.name}" for fact in key.root_cause) or "(the evidence does not show the cause)"
    steps = "; ".join(fact.name for fact in key.next_step) or "-"
    answers = "\n\n".join(f"Q: {turn.query}\nA: {turn.content}" for turn in run.turns)
    prompt = (
        f"Incident: {key.title}. {key.description}\nAnswer key: root cause: {facts}. Good next step: {steps}."
        f"{' The decisive evidence is absent: a good answer asks for it.' if key.evidence_absent else ''}"
        f"\n\nThe assistant's answers:\n{answers}"
    )
    masked = Sanitizer().sanitize(prompt, {})
    try:
        result = await router.generate(LLMCall(instructions=RUBRIC, prompt=masked, output_type=Verdict))
    except LLMProviderError as error:
        logger.warning("judge failed on %s: %s", key.id, error)
        return None
    return float(result.output.grade) if isinstance(result.output, Verdict) else None
