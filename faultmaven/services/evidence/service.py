"""Case evidence as it is read: listed, fetched, line ranges, searched and restored for case members.

Owner-checked reads for the API and case-scoped reads for the agent's tools; the upload pipeline that
writes the evidence is `ingest.py`, to which `EvidenceService.add_evidence` delegates.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from faultmaven.infrastructure.background import DEFAULT_GRACE_SECONDS
from faultmaven.infrastructure.persistence import evidence_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.evidence_tables import EvidenceChunkRow, EvidenceItemRow
from faultmaven.models.case import utcnow
from faultmaven.models.interfaces import ISanitizer
from faultmaven.models.sharing import CaseRole
from faultmaven.services.cases.service import CaseService
from faultmaven.services.errors import NotFoundError, UnprocessableError
from faultmaven.services.evidence.ingest import BACKGROUND_THRESHOLD_BYTES, INTERRUPTED, EvidenceIngest
from faultmaven.services.evidence.models import EvidenceItem, EvidenceLine, ProcessingStatus, StagedUpload

STALL_AFTER = timedelta(minutes=2)
MAX_RANGE_LINES = 2_000
MAX_SEARCH_TERMS = 10
MAX_SCANNED_CHUNKS = 400
LOAD_BATCH = 4
_TERM = re.compile(r'"([^"]+)"|(\S+)')
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


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
        self._ingest = EvidenceIngest(database, case_service, sanitizer, shutdown_grace_seconds)

    # --- Upload and processing (the pipeline is `EvidenceIngest`) ---

    async def add_evidence(self, owner_id: str, case_id: str, upload: StagedUpload) -> EvidenceItem:
        """Validate, classify and store an upload; the service owns (and closes) `upload.file`. A large one
        comes back pending (a background task processes it), a small one as processing left it."""
        row, processed = await self._ingest.add(
            owner_id, case_id, upload, self.max_upload_bytes, self.background_threshold_bytes
        )
        return await self._item(case_id, row.data_id) if processed else item_from_row(row)

    async def stop(self) -> None:
        """On shutdown: drain the pipeline's background ingestions (`EvidenceIngest.stop`)."""
        await self._ingest.stop()

    async def wait_idle(self) -> None:
        """Until the pipeline's background ingestions are done (`EvidenceIngest.wait_idle`)."""
        await self._ingest.wait_idle()

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
