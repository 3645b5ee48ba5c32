"""Case evidence: store uploads sanitized and line-numbered, digest logs, and find lines for the agent.

Every chunk is masked with the case's own reversible table (`CaseService.mask_for_llm`), so the evidence,
the conversation and the LLM all use the same placeholders. Small uploads are processed before the
response; large ones by an in-process asyncio task whose progress shows in `processing_status` and
whose heartbeat tells a live ingestion from one a restart killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from itertools import islice
from typing import Any

import structlog

from faultmaven.infrastructure.background import DEFAULT_GRACE_SECONDS, BackgroundTasks
from faultmaven.infrastructure.persistence import evidence_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.evidence_tables import EvidenceChunkRow, EvidenceItemRow
from faultmaven.models.case import CaseMessage, MessageType, new_id, utcnow
from faultmaven.models.interfaces import ISanitizer
from faultmaven.models.sharing import CaseRole
from faultmaven.services.cases.service import CaseService
from faultmaven.services.errors import (
    NotFoundError,
    PayloadTooLargeError,
    UnprocessableError,
    UnsupportedMediaError,
)
from faultmaven.services.evidence.classify import LOG_LIKE, SAMPLE_LINES, Classification, classify
from faultmaven.services.evidence.models import (
    EvidenceItem,
    EvidenceLine,
    ProcessingStatus,
    StagedUpload,
)
from faultmaven.services.logs import LogDigest
from faultmaven.services.logs.text_reader import (
    BinaryContentError,
    LineChunk,
    TextFacts,
    chunk_lines,
    inspect_text,
    read_lines,
)
from faultmaven.services.logs.worker import start_digester

BACKGROUND_THRESHOLD_BYTES = 5 * 1024 * 1024
STALL_AFTER = timedelta(minutes=2)
MAX_RANGE_LINES = 2_000
MAX_SEARCH_TERMS = 10
MAX_SCANNED_CHUNKS = 400
LOAD_BATCH = 4
MASK_BATCH_CHARS = 4 * 1024 * 1024
HEADER_SAMPLE_LINES = 500
STORED_TEMPLATES = 100
STORED_ERRORS = 50
INTERRUPTED = "Processing was interrupted (the server stopped); upload the file again"
_TERM = re.compile(r'"([^"]+)"|(\S+)')
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_logger = structlog.get_logger(__name__)


def search_terms(query: str) -> list[str]:
    """Lowercased terms of a query; "quoted phrases" stay one term."""
    terms = [(quoted or bare).strip().lower() for quoted, bare in _TERM.findall(query.replace("\x00", ""))]
    return [term for term in terms if term][:MAX_SEARCH_TERMS]


def _status(row: EvidenceItemRow) -> tuple[ProcessingStatus, str | None]:
    """A pending or processing item whose heartbeat stopped is reported failed: its task died."""
    status = ProcessingStatus(row.processing_status)
    unfinished = status in (ProcessingStatus.PENDING, ProcessingStatus.PROCESSING)
    if unfinished and row.heartbeat_at < utcnow() - STALL_AFTER:
        return ProcessingStatus.FAILED, INTERRUPTED
    return status, row.error


def item_from_row(row: EvidenceItemRow) -> EvidenceItem:
    status, error = _status(row)
    return EvidenceItem(
        data_id=row.data_id,
        case_id=row.case_id,
        filename=row.filename,
        description=row.description,
        data_type=row.data_type,
        type_confidence=row.type_confidence,
        encoding=row.encoding,
        file_size=row.file_size,
        line_count=row.line_count,
        processing_status=status,
        uploaded_at=row.uploaded_at,
        completed_at=row.completed_at,
        summary=row.summary,
        error=error,
        digest=row.digest,
    )


def _kind(classification: Classification) -> str:
    detail = f" ({classification.detail})" if classification.detail else ""
    return f"{classification.data_type}{detail}"


def summarize(classification: Classification, line_count: int, digest: LogDigest | None) -> str:
    """One line a human (and the agent) can read, e.g. "log, 12,345 lines, 3 distinct errors, first
    error at line 88"."""
    parts = [_kind(classification), f"{line_count:,} lines"]
    if digest is not None:
        errors = digest.errors
        parts.append(f"{len(errors)} distinct error{'s' if len(errors) != 1 else ''}")
        if errors:
            parts.append(f"first error at line {min(error.first_line for error in errors)}")
    return ", ".join(parts)


def compact_digest(digest: LogDigest, file_size: int) -> dict[str, Any]:
    """The digest as stored: the most frequent templates and most severe errors, enough for any render."""
    digest.totals.bytes = file_size
    digest.templates = digest.templates[:STORED_TEMPLATES]
    digest.errors = digest.errors[:STORED_ERRORS]
    digest.first_errors = digest.first_errors[:STORED_ERRORS]
    return digest.model_dump(mode="json")


def _batches(chunks: Iterator[LineChunk]) -> Iterator[list[LineChunk]]:
    """Chunks grouped up to about MASK_BATCH_CHARS, so the case's mask table is locked, loaded and saved
    once per batch rather than once per chunk."""
    batch: list[LineChunk] = []
    chars = 0
    for chunk in chunks:
        batch.append(chunk)
        chars += sum(len(line) + 1 for line in chunk.lines)
        if chars >= MASK_BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _head(upload: StagedUpload, encoding: str) -> tuple[list[str], bool]:
    """The first lines for classification, and whether they are the whole file."""
    lines = list(islice(read_lines(upload.file, encoding), SAMPLE_LINES + 1))
    return lines[:SAMPLE_LINES], len(lines) <= SAMPLE_LINES


class EvidenceService:
    """Owner-checked operations for the API, and case-scoped reads for the agent's tools."""

    def __init__(
        self,
        database: Database,
        case_service: CaseService,
        sanitizer: ISanitizer,
        *,
        max_upload_bytes: int,
        background_threshold_bytes: int = BACKGROUND_THRESHOLD_BYTES,
        shutdown_grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ):
        self._db = database
        self._cases = case_service
        self._sanitizer = sanitizer
        self.max_upload_bytes = max_upload_bytes
        self.background_threshold_bytes = background_threshold_bytes
        self._ingestions = BackgroundTasks("evidence ingestions", shutdown_grace_seconds)

    # --- Upload and processing ---

    async def add_evidence(self, owner_id: str, case_id: str, upload: StagedUpload) -> EvidenceItem:
        """Validate, classify and store an upload; the service owns (and closes) `upload.file`."""
        handed_over = False
        try:
            await self._cases.authorize(owner_id, case_id, CaseRole.COLLABORATOR)
            facts = await self._inspect(upload)
            sample, complete = await asyncio.to_thread(_head, upload, facts.encoding)
            classification = classify(sample, upload.filename, complete=complete)
            upload.filename, upload.description = await self._cases.mask_for_llm(
                case_id, [upload.filename[:255], upload.description], self._sanitizer
            )
            row = await self._insert_item(owner_id, case_id, upload, facts, classification)
            await self._announce(owner_id, case_id, upload, row, classification)
            handed_over = True
            if facts.size > self.background_threshold_bytes:
                self._start_background(row, upload, facts, classification)
                return item_from_row(row)
            await self._process(row.data_id, case_id, upload, facts, classification)
            return await self._item(case_id, row.data_id)
        finally:
            if not handed_over:
                upload.file.close()

    async def _inspect(self, upload: StagedUpload) -> TextFacts:
        try:
            facts = await asyncio.to_thread(inspect_text, upload.file)
        except BinaryContentError as error:
            raise UnsupportedMediaError(str(error), code="BINARY_CONTENT") from error
        if facts.size > self.max_upload_bytes:
            raise PayloadTooLargeError(
                f"The file is {facts.size} bytes; the limit is {self.max_upload_bytes} bytes",
                limit_bytes=self.max_upload_bytes,
            )
        return facts

    async def _insert_item(
        self,
        owner_id: str,
        case_id: str,
        upload: StagedUpload,
        facts: TextFacts,
        classification: Classification,
    ) -> EvidenceItemRow:
        """The upload's name and description come masked: evidence is stored masked, names included."""
        now = utcnow()
        row = EvidenceItemRow(
            data_id=new_id("data"),
            case_id=case_id,
            uploaded_by=owner_id,
            filename=upload.filename,
            description=upload.description,
            data_type=classification.data_type,
            type_confidence=classification.confidence,
            encoding=facts.encoding,
            file_size=facts.size,
            line_count=0,
            processing_status=ProcessingStatus.PENDING.value,
            uploaded_at=now,
            completed_at=None,
            heartbeat_at=now,
            summary=f"{_kind(classification)}, {facts.size:,} bytes, processing",
            digest=None,
            error=None,
        )
        async with self._db.write() as session:
            await repo.insert_item(session, row)
        return row

    async def _announce(
        self,
        owner_id: str,
        case_id: str,
        upload: StagedUpload,
        row: EvidenceItemRow,
        classification: Classification,
    ) -> None:
        """A `data_upload` system message, so the conversation (and the agent) knows the evidence exists."""
        message = CaseMessage(
            case_id=case_id,
            session_id=upload.session_id,
            author_id=owner_id,
            message_type=MessageType.DATA_UPLOAD,
            content=f"Uploaded {row.filename} ({_kind(classification)}, {row.file_size:,} bytes) "
            f"as evidence {row.data_id}",
            metadata={"data_id": row.data_id, "filename": row.filename, "data_type": row.data_type},
        )
        await self._cases.add_message_to_case(case_id, message)

    def _start_background(
        self, row: EvidenceItemRow, upload: StagedUpload, facts: TextFacts, classification: Classification
    ) -> None:
        self._ingestions.spawn(
            self._process(row.data_id, row.case_id, upload, facts, classification), data_id=row.data_id
        )

    async def _process(
        self,
        data_id: str,
        case_id: str,
        upload: StagedUpload,
        facts: TextFacts,
        classification: Classification,
    ) -> None:
        """Ingest and digest, then record the outcome; never raises except on cancellation."""
        try:
            await self._update(data_id, processing_status=ProcessingStatus.PROCESSING.value)
            line_count, digest = await self._ingest(data_id, case_id, upload, facts, classification)
            await self._update(
                data_id,
                processing_status=ProcessingStatus.COMPLETED.value,
                completed_at=utcnow(),
                line_count=line_count,
                summary=summarize(classification, line_count, digest),
                digest=compact_digest(digest, facts.size) if digest else None,
            )
        except asyncio.CancelledError:
            await asyncio.shield(self._fail(data_id, INTERRUPTED))
            raise
        except Exception as error:
            _logger.exception("evidence processing failed", data_id=data_id)
            await self._fail(data_id, f"Processing failed: {type(error).__name__}")
        finally:
            upload.file.close()

    async def _ingest(
        self,
        data_id: str,
        case_id: str,
        upload: StagedUpload,
        facts: TextFacts,
        classification: Classification,
    ) -> tuple[int, LogDigest | None]:
        """Mask and store a batch of chunks at a time, feeding the digest as we go. The digest runs in a
        worker thread, or for a large upload in a child process that digests a batch while the next is
        masked (see `faultmaven.services.logs.worker`)."""
        digester = None
        if classification.data_type in LOG_LIKE:
            digester = start_digester(upload.filename, facts.size, HEADER_SAMPLE_LINES)
        line_count, chunk_no = 0, 0
        try:
            for batch in _batches(chunk_lines(read_lines(upload.file, facts.encoding))):
                masked = await self._mask_chunks(case_id, batch)
                await self._store_chunks(data_id, chunk_no, batch, masked)
                chunk_no, line_count = chunk_no + len(batch), batch[-1].line_end
                if digester is not None:
                    await digester.feed([line for chunk in masked for line in chunk])
            return line_count, await digester.finish() if digester is not None else None
        finally:
            if digester is not None:
                digester.close()

    async def _mask_chunks(self, case_id: str, batch: list[LineChunk]) -> list[list[str]]:
        """Mask a batch in one call (one lock of the case's table); a chunk in which a masked value
        spanned lines (a PEM block) is masked again line by line, so line numbers stay the original's."""
        texts = ["\n".join(chunk.lines) for chunk in batch]
        masked = await self._cases.mask_for_llm(case_id, texts, self._sanitizer)
        result = []
        for chunk, text in zip(batch, masked, strict=True):
            lines = text.split("\n")
            if len(lines) != len(chunk.lines):
                lines = await self._cases.mask_for_llm(case_id, chunk.lines, self._sanitizer)
            result.append(lines)
        return result

    async def _store_chunks(
        self, data_id: str, first_chunk_no: int, batch: list[LineChunk], masked: list[list[str]]
    ) -> None:
        rows = [
            EvidenceChunkRow(
                data_id=data_id,
                chunk_no=first_chunk_no + index,
                line_start=chunk.line_start,
                line_end=chunk.line_end,
                text="\n".join(lines),
            )
            for index, (chunk, lines) in enumerate(zip(batch, masked, strict=True))
        ]
        async with self._db.write() as session:
            await repo.insert_chunks(session, rows, utcnow())

    async def _update(self, data_id: str, **values: Any) -> None:
        async with self._db.write() as session:
            await repo.update_item(session, data_id, {"heartbeat_at": utcnow(), **values})

    async def _fail(self, data_id: str, error: str) -> None:
        with contextlib.suppress(Exception):
            await self._update(data_id, processing_status=ProcessingStatus.FAILED.value, error=error)

    async def stop(self) -> None:
        """Background ingestions get the grace period; those still running are cancelled and mark their
        item failed on the way out."""
        await self._ingestions.drain()

    async def wait_idle(self) -> None:
        """Wait for background ingestions to finish (tests and benchmarks)."""
        await self._ingestions.wait_idle()

    # --- Reads for the API ---

    async def _item(self, case_id: str, data_id: str) -> EvidenceItem:
        row = None
        if _ID.fullmatch(data_id):
            async with self._db.read() as session:
                row = await repo.get_item(session, case_id, data_id)
        if row is None:
            raise NotFoundError(f"Evidence {data_id} not found in case {case_id}", code="DATA_NOT_FOUND")
        return item_from_row(row)

    def _restored_item(self, item: EvidenceItem, mask_map: dict[str, str]) -> EvidenceItem:
        """Reads for the API are a case member's: their own originals come back (the LLM's never do)."""
        return item.model_copy(update={
            "filename": self._sanitizer.restore(item.filename, mask_map),
            "description": self._sanitizer.restore(item.description or "", mask_map),
            "digest": _restored_json(item.digest, lambda text: self._sanitizer.restore(text, mask_map)),
        })

    async def for_member(self, case_id: str, item: EvidenceItem) -> EvidenceItem:
        """A stored (masked) item as its case's members see it."""
        return self._restored_item(item, await self._cases.mask_map(case_id))

    async def get_evidence(self, owner_id: str, case_id: str, data_id: str) -> EvidenceItem:
        await self._cases.authorize(owner_id, case_id)
        return await self.for_member(case_id, await self._item(case_id, data_id))

    async def list_evidence(
        self, owner_id: str, case_id: str, limit: int, offset: int
    ) -> tuple[list[EvidenceItem], int]:
        await self._cases.authorize(owner_id, case_id)
        async with self._db.read() as session:
            rows, total = await repo.list_items(session, case_id, limit, offset)
        mask_map = await self._cases.mask_map(case_id)
        return [self._restored_item(item_from_row(row), mask_map) for row in rows], total

    async def get_lines(
        self, owner_id: str, case_id: str, data_id: str, start: int, end: int
    ) -> tuple[EvidenceItem, list[EvidenceLine]]:
        """Lines `start..end` (stored masked, returned restored for the case member), clipped to what the
        item holds."""
        if end < start or end - start + 1 > MAX_RANGE_LINES:
            raise UnprocessableError(
                f"end must be >= start and the range at most {MAX_RANGE_LINES} lines", code="INVALID_RANGE"
            )
        item = await self.get_evidence(owner_id, case_id, data_id)
        async with self._db.read() as session:
            chunks = await repo.chunks_in_range(session, data_id, start, end)
        mask_map = await self._cases.mask_map(case_id)
        return item, [
            replace(line, text=self._sanitizer.restore(line.text, mask_map))
            for chunk in chunks
            for line in _lines_of(chunk, start, end)
        ]

    async def delete_evidence(self, owner_id: str, case_id: str, data_id: str) -> None:
        """Idempotent: a missing item is already deleted."""
        await self._cases.authorize(owner_id, case_id, CaseRole.COLLABORATOR)
        if not _ID.fullmatch(data_id):
            return
        async with self._db.write() as session:
            if await repo.get_item(session, case_id, data_id) is not None:
                await repo.delete_item(session, data_id)

    # --- Case-scoped reads for the agent's tools (the case was authorized by the query route) ---

    async def case_items(self, case_id: str, data_id: str | None = None) -> list[EvidenceItem]:
        if data_id is not None and not _ID.fullmatch(data_id):
            return []
        async with self._db.read() as session:
            rows = await repo.case_items(session, case_id, data_id)
        return [item_from_row(row) for row in rows]

    async def search(
        self, case_id: str, terms: list[str], data_id: str | None, limit: int
    ) -> tuple[list[EvidenceLine], bool]:
        """Lines of the case's evidence containing every term (case-insensitive), in upload and line
        order; the flag says more matched than `limit`. Only prefiltered chunks are loaded, a few at once."""
        if data_id is not None and not _ID.fullmatch(data_id):
            return [], False
        async with self._db.read() as session:
            keys = await repo.matching_chunk_keys(session, case_id, terms, data_id, MAX_SCANNED_CHUNKS)
            found: list[EvidenceLine] = []
            for batch_start in range(0, len(keys), LOAD_BATCH):
                for chunk in await repo.load_chunks(session, keys[batch_start : batch_start + LOAD_BATCH]):
                    found.extend(_matching_lines(chunk, terms, limit + 1 - len(found)))
                    if len(found) > limit:
                        return found[:limit], True
        return found, False

    async def restore(self, case_id: str, texts: list[str]) -> list[str]:
        """Stored texts with the case's placeholders put back, for the tool layer to re-mask consistently."""
        mask_map = await self._cases.mask_map(case_id)
        return [self._sanitizer.restore(text, mask_map) for text in texts]


def _restored_json(value: Any, restore: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return restore(value)
    if isinstance(value, dict):
        return {key: _restored_json(item, restore) for key, item in value.items()}
    if isinstance(value, list):
        return [_restored_json(item, restore) for item in value]
    return value


def _lines_of(chunk: EvidenceChunkRow, start: int, end: int) -> list[EvidenceLine]:
    lines = chunk.text.split("\n")
    first = max(start, chunk.line_start)
    last = min(end, chunk.line_end)
    return [
        EvidenceLine(chunk.data_id, number, lines[number - chunk.line_start])
        for number in range(first, last + 1)
    ]


def _matching_lines(chunk: EvidenceChunkRow, terms: list[str], wanted: int) -> list[EvidenceLine]:
    found = []
    for offset, line in enumerate(chunk.text.split("\n")):
        lowered = line.lower()
        if all(term in lowered for term in terms):
            found.append(EvidenceLine(chunk.data_id, chunk.line_start + offset, line))
            if len(found) >= wanted:
                break
    return found
