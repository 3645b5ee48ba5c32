"""Names a case: by the LLM when one is configured and answers, else from the users' own words."""

from __future__ import annotations

import re

import structlog
from pydantic import BaseModel, Field

from faultmaven.models.interfaces import ILLMProvider, ISanitizer, LLMCall, LLMProviderError
from faultmaven.services.cases.service import CaseService, fallback_title
from faultmaven.services.errors import UnprocessableError

_logger = structlog.get_logger(__name__)
_TITLE_INSTRUCTIONS = (
    "You name troubleshooting cases for an SRE team. Reply with a short, specific title (at most {max_words} "
    "words) naming the failing system and symptom, e.g. 'Checkout API 502s after deploy'. No quotes, no "
    "trailing period."
)


class CaseTitle(BaseModel):
    title: str = Field(description="The case title")


def _clean(title: str, max_words: int) -> str:
    words = re.sub(r"[\"'`*#]", "", title).strip().rstrip(".").split()
    return " ".join(words[:max_words])[:200]


class TitleService:
    def __init__(self, case_service: CaseService, llm: ILLMProvider, sanitizer: ISanitizer):
        self._cases = case_service
        self._llm = llm
        self._sanitizer = sanitizer

    async def title_for(
        self, owner_id: str, case_id: str, max_words: int, hint: str | None = None
    ) -> tuple[str, str]:
        """(title, source) where source is `existing`, `llm` or `fallback` (the `x-title-source` header)."""
        case, title_source, texts = await self._cases.naming_inputs(owner_id, case_id)
        if title_source == "user":
            return case.title, "existing"
        fallback = fallback_title(texts, max_words)
        if fallback is None:
            raise UnprocessableError(
                "The case has too little user text to name it; describe the problem or ask a question first",
                code="INSUFFICIENT_CONTEXT",
            )
        title, source = await self._llm_title(case_id, texts, hint, max_words), "llm"
        if not title:
            title, source = fallback, "fallback"
        await self._cases.set_generated_title(case_id, title)
        return title, source

    async def _llm_title(
        self, case_id: str, texts: list[str], hint: str | None, max_words: int
    ) -> str | None:
        if not self._llm.configured:
            return None
        prompt_parts = [text[:2000] for text in texts[:5]] + ([f"Hint: {hint}"] if hint else [])
        masked = await self._cases.mask_for_llm(case_id, prompt_parts, self._sanitizer)
        call = LLMCall(
            instructions=_TITLE_INSTRUCTIONS.format(max_words=max_words),
            prompt="\n\n".join(masked),
            output_type=CaseTitle,
            time_budget_seconds=30,
        )
        try:
            result = await self._llm.generate(call)
        except LLMProviderError as error:
            _logger.warning("title generation fell back", reason=str(error))
            return None
        raw = result.output.title if isinstance(result.output, CaseTitle) else str(result.output)
        mask_map = await self._cases.mask_map(case_id)
        return _clean(self._sanitizer.restore(raw, mask_map), max_words) or None
