"""The knowledge base: documents with access scopes (create, read, update, delete), documents loaded from
sources (upserted by source key), and their chunks embedded in the background when the `semantic` extra
is on. Ranking is `search.py`'s (the base class), scoring `scoring.py`'s."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from dataclasses import dataclass, field
from typing import Any

import structlog

from faultmaven.infrastructure.persistence import knowledge_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.knowledge_tables import KnowledgeChunkRow, KnowledgeDocumentRow
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.sharing import CaseRole
from faultmaven.models.user import User
from faultmaven.services.errors import ForbiddenError, NotFoundError, PayloadTooLargeError, UnprocessableError
from faultmaven.services.knowledge.chunking import chunk_markdown
from faultmaven.services.knowledge.embeddings import Embedder, to_bytes
from faultmaven.services.knowledge.models import (
    DocumentInput,
    DocumentScope,
    DocumentStatus,
    DocumentUpdate,
    KnowledgeDocument,
)
from faultmaven.services.knowledge.search import KnowledgeSearch

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
NULLABLE_FIELDS = frozenset({"category", "source_url", "description"})
EMBED_BATCH_ROWS = 64
_logger = structlog.get_logger(__name__)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def document_from_row(row: KnowledgeDocumentRow) -> KnowledgeDocument:
    return KnowledgeDocument(
        document_id=row.document_id,
        title=row.title,
        content=row.content,
        document_type=row.document_type,
        category=row.category,
        tags=list(row.tags or []),
        source_url=row.source_url,
        description=row.description,
        status=row.status,
        scope=row.scope,
        owner_id=row.owner_id,
        case_id=row.case_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        metadata=row.metadata_ or {},
    )


def chunk_rows(document_id: str, content: str) -> list[KnowledgeChunkRow]:
    return [
        KnowledgeChunkRow(
            chunk_id=new_id("chk"),
            document_id=document_id,
            ordinal=chunk.ordinal,
            heading_path=chunk.heading_path,
            content=chunk.content,
        )
        for chunk in chunk_markdown(content)
    ]


def check_size(content: str) -> None:
    size = len(content.encode())
    if size > MAX_DOCUMENT_BYTES:
        raise PayloadTooLargeError(
            f"The document is {size} bytes; the knowledge base accepts at most {MAX_DOCUMENT_BYTES}",
            max_bytes=MAX_DOCUMENT_BYTES,
        )


@dataclass(frozen=True)
class SourceDocument:
    """A document loaded from a file or the starter set, identified by a stable `source_key`."""

    source_key: str
    document: DocumentInput
    source_hash: str
    scope: DocumentScope = DocumentScope.GLOBAL
    owner_id: str | None = None


@dataclass
class UpsertReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _new_row(
    data: DocumentInput, scope: DocumentScope, owner_id: str | None, **extra: Any
) -> KnowledgeDocumentRow:
    now = utcnow()
    return KnowledgeDocumentRow(
        document_id=new_id("kb"),
        title=data.title.strip(),
        content=data.content,
        document_type=data.document_type.value,
        category=data.category,
        tags=data.tags,
        source_url=data.source_url,
        description=data.description,
        status=DocumentStatus.ACTIVE.value,
        scope=scope.value,
        owner_id=owner_id,
        case_id=data.case_id if scope is DocumentScope.CASE else None,
        content_hash=content_hash(data.content),
        created_at=now,
        updated_at=now,
        metadata_=data.metadata,
        **extra,
    )


async def _require_case_writer(session: Any, case_id: str, user: User) -> None:
    """Case documents (the case report among them) are written as evidence is: collaborators and owners.
    A stranger learns nothing (404); a viewer, who may read them, is told the role it takes (403)."""
    role = await repo.case_role(session, case_id, user.user_id)
    if role is None:
        raise NotFoundError(f"Case {case_id} not found", code="CASE_NOT_FOUND")
    if not role.allows(CaseRole.COLLABORATOR):
        raise ForbiddenError(
            f"Your role on this case ({role.value}) does not allow changing its documents; it takes "
            f"{CaseRole.COLLABORATOR.value}",
            code="CASE_ROLE_REQUIRED", role=role.value, required_role=CaseRole.COLLABORATOR.value,
        )


class KnowledgeService(KnowledgeSearch):
    """Documents and search (`search` comes from `KnowledgeSearch`), always on behalf of a reader: nobody
    sees a document they may not read."""

    def __init__(self, database: Database, embedder: Embedder | None = None):
        super().__init__(database, embedder)
        self._embedding_wanted = False
        self._embedding_task: asyncio.Task[None] | None = None

    async def create_document(self, author: User, data: DocumentInput) -> KnowledgeDocument:
        check_size(data.content)
        scope = self._scope_for(author, data)
        owner_id = None if scope is DocumentScope.GLOBAL else author.user_id
        row = _new_row(data, scope, owner_id)
        async with self._db.write() as session:
            if scope is DocumentScope.CASE:
                await _require_case_writer(session, data.case_id or "", author)
            await repo.insert_document(session, row)
            await repo.replace_chunks(session, row.document_id, chunk_rows(row.document_id, row.content))
        self.start_embedding()
        return document_from_row(row)

    @staticmethod
    def _scope_for(author: User, data: DocumentInput) -> DocumentScope:
        """Admins publish globally unless they ask otherwise; everyone else writes personal documents."""
        if data.case_id:
            return DocumentScope.CASE
        if data.scope is DocumentScope.CASE:
            raise UnprocessableError("scope 'case' needs a case_id", code="CASE_ID_REQUIRED")
        if data.scope is DocumentScope.GLOBAL and not author.is_admin:
            raise ForbiddenError("Only administrators may publish global documents", code="ADMIN_REQUIRED")
        if data.scope is None:
            return DocumentScope.GLOBAL if author.is_admin else DocumentScope.PERSONAL
        return data.scope

    async def get_document(self, reader: User, document_id: str) -> KnowledgeDocument:
        async with self._db.read() as session:
            row = await self._readable_row(session, reader, document_id)
        return document_from_row(row)

    async def list_documents(
        self,
        reader: User,
        *,
        document_type: str | None = None,
        tags: list[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[KnowledgeDocument], int]:
        query = repo.DocumentQuery(reader.user_id, document_type=document_type, tags=tags or ())
        async with self._db.read() as session:
            rows, total = await repo.list_documents(session, query, limit, offset)
        return [document_from_row(row) for row in rows], total

    async def update_document(
        self, editor: User, document_id: str, changes: DocumentUpdate
    ) -> KnowledgeDocument:
        fields = {
            name: value
            for name, value in changes.model_dump(exclude_unset=True).items()
            if value is not None or name in NULLABLE_FIELDS
        }
        if "content" in fields:
            check_size(fields["content"])
        async with self._db.write() as session:
            row = await self._writable_row(session, editor, document_id)
            rechunk = "content" in fields or "title" in fields
            self._apply(row, fields)
            await session.flush()
            if rechunk:
                await repo.replace_chunks(session, row.document_id, chunk_rows(row.document_id, row.content))
        if rechunk:
            self.start_embedding()
        return document_from_row(row)

    @staticmethod
    def _apply(row: KnowledgeDocumentRow, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            setattr(row, "metadata_" if name == "metadata" else name, getattr(value, "value", value))
        if "content" in fields:
            row.content_hash = content_hash(row.content)
        row.updated_at = utcnow()

    async def delete_document(self, editor: User, document_id: str) -> None:
        """A document loaded from a source leaves a tombstone, so the starter set does not bring it back."""
        async with self._db.write() as session:
            row = await self._writable_row(session, editor, document_id)
            if row.source_key is None:
                await repo.delete_document(session, document_id)
                return
            await repo.replace_chunks(session, document_id, [])
            row.status, row.content, row.updated_at = repo.DELETED, "", utcnow()

    async def _readable_row(self, session: Any, reader: User, document_id: str) -> KnowledgeDocumentRow:
        row = await repo.get_document(session, document_id)
        if row is None or not await self._may_read(session, reader, row):
            raise NotFoundError(f"Knowledge document {document_id} not found", code="DOCUMENT_NOT_FOUND")
        return row

    async def _writable_row(self, session: Any, editor: User, document_id: str) -> KnowledgeDocumentRow:
        row = await self._readable_row(session, editor, document_id)
        if row.scope == DocumentScope.GLOBAL.value and not editor.is_admin:
            raise ForbiddenError("Only administrators may change global documents", code="ADMIN_REQUIRED")
        if row.scope == DocumentScope.CASE.value:
            await _require_case_writer(session, row.case_id or "", editor)
        return row

    @staticmethod
    async def _may_read(session: Any, reader: User, row: KnowledgeDocumentRow) -> bool:
        if row.scope == DocumentScope.GLOBAL.value:
            return True
        if row.scope == DocumentScope.PERSONAL.value:
            return row.owner_id == reader.user_id
        return await repo.takes_part_in(session, row.case_id or "", reader.user_id)

    def start_embedding(self) -> None:
        """Embed chunks that have no vector, in the background: a 5 MB document takes minutes on a CPU and
        must not hold its write request, and FTS finds its chunks meanwhile. Called after every write and
        on start (the backfill); a call while a pass runs makes that pass look again when it is done."""
        if self._embedder is None:
            return
        self._embedding_wanted = True
        if self._embedding_task is None or self._embedding_task.done():
            self._embedding_task = asyncio.create_task(self._embed_while_wanted(self._embedder))

    async def wait_for_embeddings(self) -> None:
        """Until the background embedding is done (benchmarks, tests)."""
        if self._embedding_task is not None:
            await asyncio.shield(self._embedding_task)

    async def stop_embedding(self) -> None:
        """Cancel the background pass; what it left is picked up by the next start's backfill."""
        if self._embedding_task is not None:
            self._embedding_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._embedding_task

    async def _embed_while_wanted(self, embedder: Embedder) -> None:
        while self._embedding_wanted:
            self._embedding_wanted = False
            try:
                embedded = await self._embed_pending(embedder)
            except Exception:
                _logger.exception("embedding knowledge chunks failed; FTS still finds them")
                return
            if embedded:
                _logger.info("knowledge chunks embedded", chunks=embedded)

    async def _embed_pending(self, embedder: Embedder) -> int:
        """Batches of chunks without a vector: read, embed off the event loop and outside any transaction
        (no write lock held while the model runs), then store."""
        embedded = 0
        while True:
            async with self._db.read() as session:
                pending = await repo.chunks_without_embedding(session, EMBED_BATCH_ROWS)
            if not pending:
                return embedded
            vectors = await asyncio.to_thread(embedder.embed, [text for _, text in pending])
            blobs = {row_id: to_bytes(vector) for (row_id, _), vector in zip(pending, vectors, strict=True)}
            async with self._db.write() as session:
                await repo.set_embeddings(session, blobs)
            embedded += len(pending)

    async def source_document(self, source_key: str) -> KnowledgeDocument | None:
        """A document by its source key, for a caller that has already checked who may read it."""
        async with self._db.read() as session:
            row = await repo.find_by_source_key(session, source_key)
        return document_from_row(row) if row is not None else None

    async def upsert_sources(self, sources: list[SourceDocument], *, revive_deleted: bool) -> UpsertReport:
        """Create or refresh documents by `source_key`: a no-op when the source is unchanged, safe when
        two processes load the same sources at once (conflicting inserts yield to the first writer)."""
        report = UpsertReport()
        pending = await self._changed_sources(sources, revive_deleted, report)
        if not pending:
            return report
        async with self._db.write() as session:
            for source in sorted(pending, key=lambda item: item.source_key):
                outcome = await self._upsert_one(session, source, revive_deleted)
                getattr(report, outcome).append(source.source_key)
        if report.created or report.updated:
            self.start_embedding()
        return report

    async def _changed_sources(
        self, sources: list[SourceDocument], revive_deleted: bool, report: UpsertReport
    ) -> list[SourceDocument]:
        """A read-only pass first, so a restart with nothing new opens no write transaction."""
        async with self._db.read() as session:
            known: dict[str, tuple[str, str]] = {}
            for prefix in {source.source_key.split(":", 1)[0] + ":" for source in sources}:
                known.update(await repo.source_hashes(session, prefix))
        pending = []
        for source in sources:
            stored_hash, status = known.get(source.source_key, ("", ""))
            if status == repo.DELETED and not revive_deleted:
                report.skipped.append(source.source_key)
            elif stored_hash == source.source_hash and status != repo.DELETED:
                report.unchanged.append(source.source_key)
            else:
                pending.append(source)
        return pending

    async def _upsert_one(self, session: Any, source: SourceDocument, revive_deleted: bool) -> str:
        check_size(source.document.content)
        data = source.document.model_copy(
            update={"metadata": {**source.document.metadata, "source_hash": source.source_hash}}
        )
        row = await repo.get_by_source_key(session, source.source_key)
        if row is None:
            fresh = _new_row(data, source.scope, source.owner_id, source_key=source.source_key)
            if await repo.insert_document_if_absent(session, fresh):
                await repo.replace_chunks(
                    session, fresh.document_id, chunk_rows(fresh.document_id, data.content)
                )
                return "created"
            row = await repo.get_by_source_key(session, source.source_key)
        if row is None:
            raise RuntimeError(f"{source.source_key} vanished while being loaded")
        if row.status == repo.DELETED and not revive_deleted:
            return "skipped"
        if (row.metadata_ or {}).get("source_hash") == source.source_hash and row.status != repo.DELETED:
            return "unchanged"
        self._refresh(row, data)
        await session.flush()
        await repo.replace_chunks(session, row.document_id, chunk_rows(row.document_id, row.content))
        return "updated"

    @staticmethod
    def _refresh(row: KnowledgeDocumentRow, data: DocumentInput) -> None:
        row.title, row.content, row.document_type = data.title, data.content, data.document_type.value
        row.category, row.tags, row.description = data.category, data.tags, data.description
        row.source_url, row.metadata_ = data.source_url, data.metadata
        row.content_hash, row.updated_at = content_hash(data.content), utcnow()
        if row.status == repo.DELETED:
            row.status = DocumentStatus.ACTIVE.value
