"""Case reports: when a case is resolved or closed, what happened, why and how it was fixed, indexed into
the knowledge base as a `previous_case` document so the next similar case finds it.

Written by the LLM when one is configured and answers, from the case's own data otherwise. The indexed
document keeps the case's masks (`<EMAIL_1>`...); the case's own users read it restored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, Field

from faultmaven.infrastructure.background import DEFAULT_GRACE_SECONDS, BackgroundTasks
from faultmaven.models.case import Case, CaseMessage, CaseStatus, MessageType, utcnow
from faultmaven.models.interfaces import ILLMProvider, ISanitizer, LLMCall, LLMProviderError
from faultmaven.services.cases.service import CaseService
from faultmaven.services.errors import ConflictError
from faultmaven.services.knowledge.models import DocumentInput, DocumentScope, DocumentType
from faultmaven.services.knowledge.service import KnowledgeService, SourceDocument

_logger = structlog.get_logger(__name__)
REPORTABLE = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.ARCHIVED})
REPORT_INSTRUCTIONS = (
    "You write the post-incident report of a troubleshooting case for an SRE team, from its conversation. "
    "Be factual: use only what the conversation says. Keep placeholders such as <EMAIL_1> as they are. "
    "summary: 2-4 sentences. root_cause and fix: what was found and done, or 'Not established' when the "
    "conversation does not say."
)


class ReportDraft(BaseModel):
    summary: str
    root_cause: str = "Not established"
    fix: str = "Not established"


class TimelineEntry(BaseModel):
    at: datetime
    role: str
    text: str


class CitedEvidence(BaseModel):
    type: str
    title: str | None = None
    evidence_id: str | None = None
    document_id: str | None = None
    line_start: int | None = None
    line_end: int | None = None


class CaseReport(BaseModel):
    case_id: str
    title: str
    status: str
    opened_at: datetime
    reported_at: datetime
    summary: str
    root_cause: str
    fix: str
    timeline: list[TimelineEntry] = Field(default_factory=list)
    evidence_cited: list[CitedEvidence] = Field(default_factory=list)
    generated_by: str
    document_id: str | None = None
    markdown: str = ""


def _first_line(text: str, limit: int = 240) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _timeline(messages: list[CaseMessage]) -> list[TimelineEntry]:
    return [TimelineEntry(at=m.created_at, role=m.role, text=_first_line(m.content)) for m in messages]


def _resolution(messages: list[CaseMessage]) -> tuple[str, str]:
    """(root cause, fix) from the agent's answer that declared a solution, if any."""
    for message in reversed(messages):
        if message.message_type is MessageType.AGENT_RESPONSE and (
            message.metadata.get("response_type") == "SOLUTION_READY"
        ):
            return _first_line(message.content, 600), message.content[:2000]
    return "Not established", "Not established"


def _cited(responses: list[dict[str, Any]]) -> list[CitedEvidence]:
    seen: set[tuple[Any, ...]] = set()
    cited = []
    for response in responses:
        for source in response.get("sources") or []:
            meta = source.get("metadata") or {}
            entry = CitedEvidence(
                type=source.get("type", "unknown"),
                title=meta.get("title"),
                evidence_id=meta.get("evidence_id"),
                document_id=meta.get("document_id"),
                line_start=meta.get("line_start"),
                line_end=meta.get("line_end"),
            )
            key = tuple(entry.model_dump().values())
            if key not in seen:
                seen.add(key)
                cited.append(entry)
    return cited


def _summary_from_data(case: Case, messages: list[CaseMessage]) -> str:
    questions = sum(1 for m in messages if m.message_type is MessageType.USER_QUERY)
    opening = case.description or next((m.content for m in messages if m.role == "user"), "")
    return (
        f"{case.title}: {_first_line(opening, 400) or 'no description'}. "
        f"{questions} questions were asked over {len(messages)} messages; the case was {case.status.value}."
    )


def _source_key(case_id: str) -> str:
    return f"case-report:{case_id}"


def render_report_markdown(report: CaseReport) -> str:
    lines = [
        f"# Case report: {report.title}",
        "",
        f"- Status: {report.status}; opened {report.opened_at:%Y-%m-%d %H:%M} UTC, "
        f"reported {report.reported_at:%Y-%m-%d %H:%M} UTC ({report.generated_by})",
        "",
        "## Summary",
        report.summary,
        "",
        "## Root cause",
        report.root_cause,
        "",
        "## Fix",
        report.fix,
        "",
        "## Timeline",
    ]
    lines += [f"- {entry.at:%Y-%m-%d %H:%M} {entry.role}: {entry.text}" for entry in report.timeline[:60]]
    lines += ["", "## Evidence cited"]
    lines += [_cited_line(item) for item in report.evidence_cited] or ["- none"]
    return "\n".join(lines) + "\n"


def _cited_line(item: CitedEvidence) -> str:
    where = f" lines {item.line_start}-{item.line_end}" if item.line_start is not None else ""
    ref = item.evidence_id or item.document_id or ""
    return f"- {item.type}: {item.title or ref}{where}" + (f" ({ref})" if ref and item.title else "")


class ReportService:
    def __init__(
        self,
        case_service: CaseService,
        knowledge: KnowledgeService,
        llm: ILLMProvider,
        sanitizer: ISanitizer,
        *,
        shutdown_grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ):
        self._cases = case_service
        self._knowledge = knowledge
        self._llm = llm
        self._sanitizer = sanitizer
        self._pending = BackgroundTasks("case reports", shutdown_grace_seconds)

    def schedule(self, case: Case) -> None:
        """Write the report in the background after a case is resolved or closed (a failure is logged)."""
        if case.status not in REPORTABLE:
            return
        self._pending.spawn(self.generate(case.case_id), case_id=case.case_id)

    async def report_for(self, owner_id: str, case_id: str) -> CaseReport:
        """The case's report, restored for its user; written now if the background job has not yet."""
        case = await self._cases.authorize(owner_id, case_id)
        if case.status not in REPORTABLE:
            raise ConflictError(
                "A case has a report once it is resolved or closed",
                code="REPORT_NOT_AVAILABLE",
                case_status=case.status.value,
            )
        report = await self._stored(case) or await self.generate(case_id)
        mask_map = await self._cases.mask_map(case_id)
        restored = report.model_copy(
            update={
                field: self._sanitizer.restore(getattr(report, field), mask_map)
                for field in ("summary", "root_cause", "fix", "markdown")
            }
        )
        restored.timeline = [
            entry.model_copy(update={"text": self._sanitizer.restore(entry.text, mask_map)})
            for entry in report.timeline
        ]
        return restored

    async def _stored(self, case: Case) -> CaseReport | None:
        """The indexed report, if it is newer than the case's last activity."""
        document = await self._knowledge.source_document(_source_key(case.case_id))
        if document is None or "report" not in document.metadata:
            return None
        report = CaseReport.model_validate(
            {**document.metadata["report"], "document_id": document.document_id}
        )
        return report if report.reported_at >= case.last_activity_at else None

    async def generate(self, case_id: str) -> CaseReport:
        """Build the (masked) report from the case as it is and index it; idempotent by case."""
        case = await self._cases.get_case(case_id)
        if case is None:
            raise ConflictError(f"Case {case_id} no longer exists", code="CASE_NOT_FOUND")
        messages, responses = await self._cases.report_inputs(case_id)
        masked = await self._cases.mask_for_llm(case_id, [m.content for m in messages], self._sanitizer)
        masked_messages = [
            m.model_copy(update={"content": text}) for m, text in zip(messages, masked, strict=True)
        ]
        root_cause, fix = _resolution(masked_messages)
        draft, generated_by = await self._draft(case, masked_messages), "llm"
        if draft is None:
            draft = ReportDraft(
                summary=_summary_from_data(case, masked_messages), root_cause=root_cause, fix=fix
            )
            generated_by = "case_data"
        report = CaseReport(
            case_id=case_id,
            title=case.title,
            status=case.status.value,
            opened_at=case.created_at,
            reported_at=utcnow(),
            summary=draft.summary,
            root_cause=draft.root_cause,
            fix=draft.fix,
            timeline=_timeline(masked_messages),
            evidence_cited=_cited(responses),
            generated_by=generated_by,
        )
        report.markdown = render_report_markdown(report)
        report.document_id = await self._index(case, report)
        return report

    async def _draft(self, case: Case, messages: list[CaseMessage]) -> ReportDraft | None:
        if not self._llm.configured or not messages:
            return None
        transcript = "\n".join(f"{m.role}: {m.content[:1500]}" for m in messages[-40:])
        call = LLMCall(
            instructions=REPORT_INSTRUCTIONS,
            prompt=f"Case: {case.title}\n\n{transcript}",
            output_type=ReportDraft,
            time_budget_seconds=60,
        )
        try:
            result = await self._llm.generate(call)
        except LLMProviderError as error:
            _logger.warning("case report written without the LLM", reason=str(error))
            return None
        return result.output if isinstance(result.output, ReportDraft) else None

    async def _index(self, case: Case, report: CaseReport) -> str | None:
        """Upsert the `previous_case` document (case scope: its participants read it)."""
        content = report.markdown
        document = DocumentInput(
            title=f"Case report: {case.title}",
            content=content,
            document_type=DocumentType.PREVIOUS_CASE,
            scope=DocumentScope.CASE,
            case_id=case.case_id,
            tags=["case-report", case.priority.value],
            metadata={"case_id": case.case_id, "report": report.model_dump(mode="json")},
        )
        source = SourceDocument(
            source_key=_source_key(case.case_id),
            document=document,
            source_hash=hashlib.sha256(content.encode()).hexdigest(),
            scope=DocumentScope.CASE,
            owner_id=case.owner_id,
        )
        await self._knowledge.upsert_sources([source], revive_deleted=True)
        stored = await self._knowledge.source_document(source.source_key)
        return stored.document_id if stored is not None else None

    async def drain(self) -> None:
        """On shutdown: reports being written get the grace period, then are cancelled (the next read
        of a report writes it)."""
        await self._pending.drain()
