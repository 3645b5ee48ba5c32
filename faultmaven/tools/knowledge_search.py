"""The agent's `search_knowledge_base` tool: runbooks and past case reports the caller may read."""

from __future__ import annotations

from pydantic import BaseModel, Field

from faultmaven.models.interfaces import ToolContext, ToolResult, ToolSource
from faultmaven.services.knowledge.models import DocumentType, SearchHit
from faultmaven.services.knowledge.service import KnowledgeService

MAX_HITS = 5
MAX_SNIPPET_CHARS = 600
MIN_SCORE = 0.1


class KnowledgeSearchArgs(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=500,
        description="Keywords describing the problem: error messages, component names, symptoms.",
    )
    limit: int = Field(default=MAX_HITS, ge=1, le=20, description=f"How many results (at most {MAX_HITS}).")


def snippet(text: str, max_chars: int = MAX_SNIPPET_CHARS) -> str:
    """At most `max_chars`, cut at a word boundary, so the model's context stays within budget."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(maxsplit=1)[0]
    return f"{cut}…"


def _source(hit: SearchHit) -> ToolSource:
    kind = "previous_case" if hit.document_type is DocumentType.PREVIOUS_CASE else "knowledge_base"
    return ToolSource(
        type=kind,
        content=snippet(hit.content),
        confidence=hit.similarity_score,
        metadata={"title": hit.title, "document_id": hit.document_id, "chunk_id": hit.chunk_id},
    )


def _render(query: str, hits: list[SearchHit]) -> str:
    if not hits:
        return f"No knowledge base document matches {query!r}."
    lines = [f"Knowledge base results for {query!r}:"]
    for number, hit in enumerate(hits, start=1):
        where = f" > {hit.heading_path}" if hit.heading_path and hit.heading_path != hit.title else ""
        lines.append(f"[{number}] {hit.title}{where} (score {hit.similarity_score:.2f})")
        lines.append(snippet(hit.content))
    return "\n".join(lines)


class KnowledgeSearchTool:
    """Full-text search over the documents the asking user may read (global, their own, their cases')."""

    name = "search_knowledge_base"
    description = (
        "Search the team's knowledge base: runbooks, troubleshooting guides, reference pages and reports "
        "of previous cases. Use it when the user describes a symptom or error you want a known procedure "
        "for (commands to check, likely causes, fixes), before proposing your own steps. "
        "Query with specific keywords such as error messages and component names."
    )
    args_model = KnowledgeSearchArgs

    def __init__(self, knowledge_service: KnowledgeService):
        self._knowledge = knowledge_service

    async def execute(self, context: ToolContext, args: KnowledgeSearchArgs) -> ToolResult:
        hits = await self._knowledge.search(
            context.user_id,
            args.query,
            limit=min(args.limit, MAX_HITS),
            similarity_threshold=MIN_SCORE,
        )
        return ToolResult(text=_render(args.query, hits), sources=[_source(hit) for hit in hits])
