"""The upload pipeline: validate, classify, mask in batches, store line-numbered chunks and digest logs.

Apart from the reads (`service.py`) because it is the one write path with its own lifecycle. Every chunk is
masked with the case's own reversible table (`CaseService.mask_for_llm`), so the evidence, the conversation
and the LLM all use the same placeholders. Small uploads are processed before the response; large ones by
an in-process asyncio task whose progress shows in `processing_status` and whose heartbeat tells a live
ingestion from one a restart killed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
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
from faultmaven.services.errors import PayloadTooLargeError, UnsupportedMediaError
from faultmaven.services.evidence.classify import LOG_LIKE, SAMPLE_LINES, Classification, classify
from faultmaven.services.evidence.models import ProcessingStatus, StagedUpload
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
MASK_BATCH_CHARS = 4 * 1024 * 1024
HEADER_SAMPLE_LINES = 500
STORED_TEMPLATES = 100
STORED_ERRORS = 50
INTERRUPTED = "Processing was interrupted (the server stopped); upload the file again"
_logger = structlog.get_logger(__name__)


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


class EvidenceIngest:
    """Runs uploads through the pipeline for `EvidenceService`, and owns the background ingestions."""

    def __init__(
        self,
        database: Database,
        case_service: CaseService,
        sanitizer: ISanitizer,
        shutdown_grace_seconds: float = DEFAULT_GRACE_SECONDS,
    ):
        self._db = database
        self._cases = case_service
        self._sanitizer = sanitizer
        self._ingestions = BackgroundTasks("evidence ingestions", shutdown_grace_seconds)

    async def add(
        self,
        owner_id: str,
        case_id: str,
        upload: StagedUpload,
        max_upload_bytes: int,
        background_threshold_bytes: int,
    ) -> tuple[EvidenceItemRow, bool]:
        """Validate, classify and store an upload; the pipeline owns (and closes) `upload.file`. The row as
        inserted comes back with whether it was processed already (False: a background task has it)."""
        handed_over = False
        try:
            await self._cases.authorize(owner_id, case_id, CaseRole.COLLABORATOR)
            facts = await self._inspect(upload, max_upload_bytes)
            sample, complete = await asyncio.to_thread(_head, upload, facts.encoding)
            classification = classify(sample, upload.filename, complete=complete)
            upload.filename, upload.description = await self._cases.mask_for_llm(
                case_id, [upload.filename[:255], upload.description], self._sanitizer
            )
            row = await self._insert_item(owner_id, case_id, upload, facts, classification)
            await self._announce(owner_id, case_id, upload, row, classification)
            handed_over = True
            if facts.size > background_threshold_bytes:
                self._start_background(row, upload, facts, classification)
                return row, False
            await self._process(row.data_id, case_id, upload, facts, classification)
            return row, True
        finally:
            if not handed_over:
                upload.file.close()

    async def _inspect(self, upload: StagedUpload, max_upload_bytes: int) -> TextFacts:
        try:
            facts = await asyncio.to_thread(inspect_text, upload.file)
        except BinaryContentError as error:
            raise UnsupportedMediaError(str(error), code="BINARY_CONTENT") from error
        if facts.size > max_upload_bytes:
            raise PayloadTooLargeError(
                f"The file is {facts.size} bytes; the limit is {max_upload_bytes} bytes",
                limit_bytes=max_upload_bytes,
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
