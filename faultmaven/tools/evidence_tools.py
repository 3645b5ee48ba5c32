"""Agent tools over the case's own evidence: line search and log digests, with citable line ranges.

Both are scoped strictly by `ToolContext.case_id`. Stored evidence is masked; the tools hand the agent
service the restored text, which its sanitizing wrapper masks again with the same case table (so the
model sees the very placeholders it saw before, never placeholders of placeholders), and cite sources
in clear for the user, as every other source is.
"""

from __future__ import annotations

from dataclasses import replace

from pydantic import BaseModel, Field

from faultmaven.models.interfaces import ToolContext, ToolResult, ToolSource
from faultmaven.services.evidence import EvidenceItem, EvidenceLine, EvidenceService, search_terms
from faultmaven.services.logs import LogDigest, render_markdown

TEXT_BUDGET = 4_000
DIGEST_BUDGET = 6_000
LINE_CHARS = 300
SOURCE_CHARS = 1_000
MAX_SOURCES = 5
MAX_DIGESTS = 3
NO_CASE = "No case is attached to this conversation, so there is no evidence to read."


def _clip(text: str, size: int = LINE_CHARS) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


class SearchEvidenceArgs(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=500,
        description='Words every matching line must contain, case-insensitive; "quote" a phrase.',
    )
    data_id: str | None = Field(default=None, description="Only this evidence item (default: the whole case)")
    limit: int = Field(default=20, ge=1, le=50, description="Maximum lines to return")


class EvidenceDigestArgs(BaseModel):
    data_id: str | None = Field(
        default=None, description="The evidence item to digest (default: every log of the case)"
    )


def _groups(lines: list[EvidenceLine]) -> list[list[EvidenceLine]]:
    """Consecutive matched lines of one item grouped, so a multi-line event is one citation."""
    groups: list[list[EvidenceLine]] = []
    for line in lines:
        previous = groups[-1][-1] if groups else None
        if previous and previous.data_id == line.data_id and previous.line_number + 1 == line.line_number:
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _line_source(group: list[EvidenceLine], titles: dict[str, str]) -> ToolSource:
    data_id = group[0].data_id
    return ToolSource(
        type="log_file",
        content=_clip("\n".join(line.text for line in group), SOURCE_CHARS),
        metadata={
            "evidence_id": data_id,
            "title": titles.get(data_id, data_id),
            "line_start": group[0].line_number,
            "line_end": group[-1].line_number,
        },
    )


def _render_lines(query: str, lines: list[EvidenceLine], titles: dict[str, str], more: bool) -> str:
    data_ids = dict.fromkeys(line.data_id for line in lines)
    files = ", ".join(f"{data_id} = {titles.get(data_id, '?')}" for data_id in data_ids)
    out = f'{len(lines)}{"+" if more else ""} matching lines for "{_clip(query, 100)}" ({files}):'
    for line in lines:
        entry = f"\n[{line.data_id}:{line.line_number}] {_clip(line.text)}"
        if len(out) + len(entry) > TEXT_BUDGET:
            return out + "\n… more lines omitted; narrow the query or pass data_id"
        out += entry
    return out


class SearchCaseEvidenceTool:
    """`search_case_evidence`: the lines of the case's uploaded evidence that mention something."""

    name = "search_case_evidence"
    description = (
        "Search the files and logs the user uploaded to this case for lines containing all the given "
        "words. Returns matching lines as [data_id:line] text; cite those line numbers."
    )
    args_model = SearchEvidenceArgs

    def __init__(self, evidence: EvidenceService):
        self._evidence = evidence

    async def execute(self, context: ToolContext, args: SearchEvidenceArgs) -> ToolResult:
        if context.case_id is None:
            return ToolResult(text=NO_CASE)
        terms = search_terms(args.query)
        if not terms:
            return ToolResult(text="The query has no words to search for.")
        found, more = await self._evidence.search(context.case_id, terms, args.data_id, args.limit)
        if not found:
            return ToolResult(text=f"No line of this case's evidence contains: {', '.join(terms)}.")
        texts = await self._evidence.restore(context.case_id, [line.text for line in found])
        lines = [replace(hit, text=text) for hit, text in zip(found, texts, strict=True)]
        titles = {item.data_id: item.filename for item in await self._evidence.case_items(context.case_id)}
        return ToolResult(
            text=_render_lines(args.query, lines, titles, more),
            sources=[_line_source(group, titles) for group in _groups(lines)[:MAX_SOURCES]],
        )


def _top_error_source(item: EvidenceItem, digest: LogDigest) -> ToolSource:
    """Cite the most severe, most frequent error's first occurrence; a clean log cites the whole file."""
    if digest.errors:
        error = digest.errors[0]
        line_start, line_end = error.first_line, error.first_line + max(len(error.sample), 1) - 1
        content = "\n".join(sample.text for sample in error.sample) or error.signature
    else:
        line_start, line_end, content = 1, max(item.line_count, 1), item.summary
    return ToolSource(
        type="log_analysis",
        content=_clip(content, SOURCE_CHARS),
        metadata={
            "evidence_id": item.data_id,
            "title": item.filename,
            "line_start": line_start,
            "line_end": line_end,
        },
    )


class GetEvidenceDigestTool:
    """`get_evidence_digest`: the log digest (errors, bursts, first occurrences, templates) of evidence."""

    name = "get_evidence_digest"
    description = (
        "Get the digest of logs the user uploaded to this case: error signatures with counts and line "
        "ranges, error bursts, first occurrences and the most common templates. Start here for a large log."
    )
    args_model = EvidenceDigestArgs

    def __init__(self, evidence: EvidenceService):
        self._evidence = evidence

    async def execute(self, context: ToolContext, args: EvidenceDigestArgs) -> ToolResult:
        if context.case_id is None:
            return ToolResult(text=NO_CASE)
        items = await self._evidence.case_items(context.case_id, args.data_id)
        if not items:
            return ToolResult(text="No such evidence in this case." if args.data_id else "No evidence yet.")
        digested = [item for item in items if item.digest is not None][-MAX_DIGESTS:]
        budget = DIGEST_BUDGET // max(len(digested), 1)
        parts, sources = [], []
        for item in digested:
            digest = LogDigest.model_validate(item.digest)
            header = f"Evidence {item.data_id} ({item.filename}, {item.line_count:,} lines):"
            parts.append(f"{header}\n{render_markdown(digest, max_chars=budget)}")
            sources.append(_top_error_source(item, digest))
        parts += [
            f"- {item.data_id} {item.filename}: {item.summary} [{item.processing_status}], no digest"
            for item in items
            if item.digest is None
        ]
        contents = [source.content for source in sources]
        texts = await self._evidence.restore(context.case_id, ["\n\n".join(parts), *contents])
        for source, content in zip(sources, texts[1:], strict=True):
            source.content = content
        return ToolResult(text=texts[0], sources=sources)


def evidence_tools(evidence: EvidenceService) -> list[SearchCaseEvidenceTool | GetEvidenceDigestTool]:
    return [SearchCaseEvidenceTool(evidence), GetEvidenceDigestTool(evidence)]
