"""The knowledge base: documents with access scopes, chunked for full-text search.

Scores are honest rather than rank-relative, so the top hit of a weak match stays low and a
`similarity_threshold` means the same thing for every query:

    score = coverage * r / (r + h)

- `r` is the engine's raw relevance: FTS5 `-bm25()` on SQLite, `ts_rank_cd()` on PostgreSQL;
- `h` is the relevance at which that engine's hit is "half convincing" (calibrated on the starter
  runbooks: 5.0 for bm25, 1.5 for ts_rank_cd), so `r / (r + h)` saturates towards 1 without reaching it;
- `coverage` is the share of the query's terms found in the chunk (its title, heading path and text,
  matched on a stem-like prefix), because OR-matching would otherwise let one rare word score high.

With the optional `semantic` extra and FAULTMAVEN_KB_SEMANTIC=true the ranking is hybrid. Candidates are
FTS's top `max(50, 3 * limit)` plus the same number of nearest readable chunks by cosine (a flat numpy
scan of every readable chunk's vector: fine up to about 10,000 chunks, an ANN index beyond), and

    score = 1 - (1 - fts) * (1 - semantic),   semantic = clamp((cos - 0.2) / (0.8 - 0.2), 0, 1)

- `fts` is the score above (0 for a chunk outside FTS's candidates), `cos` the chunk's cosine with the
  query (all-MiniLM-L6-v2, unit vectors);
- below a cosine of 0.2 this model's vectors are unrelated text (measured on the starter runbooks with
  off-topic queries), from 0.8 they are near-paraphrases, linear in between;
- the noisy-OR never scores a hit below either signal, so a threshold tuned on FTS-only scores keeps
  every hit it let through, a paraphrase sharing no word still scores its semantic value, and agreement
  of both raises the score towards 1 without reaching it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import re
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
from faultmaven.services.knowledge.embeddings import Embedder, cosines, to_bytes
from faultmaven.services.knowledge.models import (
    DocumentInput,
    DocumentScope,
    DocumentStatus,
    DocumentUpdate,
    KnowledgeDocument,
    SearchFilters,
    SearchHit,
)
from faultmaven.services.knowledge.query_text import fts5_match, query_terms, websearch_text

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_SEARCH_LIMIT = 50
_WORD = re.compile(r"\w+", re.UNICODE)
NULLABLE_FIELDS = frozenset({"category", "source_url", "description"})
HALF_SCORE_RELEVANCE = {"sqlite": 5.0, "postgresql": 1.5}
CANDIDATES_PER_RESULT = 3
HYBRID_CANDIDATES = 50
COSINE_UNRELATED = 0.2
COSINE_PARAPHRASE = 0.8
EMBED_BATCH_ROWS = 64
_logger = structlog.get_logger(__name__)


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def normalized_score(relevance: float, dialect: str, coverage: float = 1.0) -> float:
    """`coverage * r / (r + h)`: see the module docstring."""
    if relevance <= 0:
        return 0.0
    return round(coverage * relevance / (relevance + HALF_SCORE_RELEVANCE.get(dialect, 1.0)), 4)


def semantic_score(cosine: float) -> float:
    """`clamp((cos - 0.2) / (0.8 - 0.2), 0, 1)`: see the module docstring."""
    scaled = (cosine - COSINE_UNRELATED) / (COSINE_PARAPHRASE - COSINE_UNRELATED)
    return min(1.0, max(0.0, scaled))


def hybrid_score(fts: float, semantic: float) -> float:
    """`1 - (1 - fts) * (1 - semantic)`: see the module docstring."""
    return round(1 - (1 - fts) * (1 - semantic), 4)


def term_coverage(terms: list[str], text: str) -> float:
    """Share of `terms` present in `text`, a word counting when it starts with the term's first five
    letters (a cheap stand-in for the engines' stemming: "restarting" matches "restarts")."""
    if not terms:
        return 0.0
    words = set(_WORD.findall(text.lower()))
    prefixes = [term[:5] for term in terms]
    found = sum(1 for prefix in prefixes if any(word.startswith(prefix) for word in words))
    return found / len(terms)


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


class KnowledgeService:
    """Documents and search, always on behalf of a reader: nobody sees a document they may not read."""

    def __init__(self, database: Database, embedder: Embedder | None = None):
        self._db = database
        self._embedder = embedder
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

    async def search(
        self,
        reader_id: str | None,
        query: str,
        *,
        limit: int = 10,
        similarity_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[SearchHit]:
        """Readable chunks best first, scored 0..1 (see the module docstring), at or above the threshold."""
        filters = filters or SearchFilters()
        terms = query_terms(query)
        document_query = repo.DocumentQuery(
            reader_id,
            document_type=filters.document_type.value if filters.document_type else None,
            category=filters.category,
            tags=filters.tags,
        )
        candidates = max(1, min(limit, MAX_SEARCH_LIMIT)) * CANDIDATES_PER_RESULT
        if self._embedder is None:
            scored = await self._full_text(document_query, terms, candidates)
        else:
            scored = await self._hybrid(
                self._embedder, document_query, terms, query, max(HYBRID_CANDIDATES, candidates)
            )
        hits = sorted(
            (self._hit(match, score) for match, score in scored), key=lambda hit: -hit.similarity_score
        )
        threshold = similarity_threshold or 0.0
        return [hit for hit in hits if hit.similarity_score >= threshold and hit.similarity_score > 0][:limit]

    async def _full_text(
        self, document_query: repo.DocumentQuery, terms: list[str], candidates: int
    ) -> list[tuple[repo.ChunkMatch, float]]:
        async with self._db.read() as session:
            return await self._fts_scored(session, document_query, terms, candidates)

    async def _fts_scored(
        self, session: Any, document_query: repo.DocumentQuery, terms: list[str], candidates: int
    ) -> list[tuple[repo.ChunkMatch, float]]:
        dialect = repo.dialect_name(session)
        matches = await repo.search_chunks(
            session,
            document_query,
            fts5_match=fts5_match(terms),
            websearch=websearch_text(terms),
            limit=candidates,
        )
        return [(match, self._score(match, terms, dialect)) for match in matches]

    async def _hybrid(
        self,
        embedder: Embedder,
        document_query: repo.DocumentQuery,
        terms: list[str],
        query: str,
        candidates: int,
    ) -> list[tuple[repo.ChunkMatch, float]]:
        """FTS's candidates plus the nearest readable chunks by cosine, each scored by `hybrid_score`."""
        query_vector = (await asyncio.to_thread(embedder.embed, [query]))[0]
        async with self._db.read() as session:
            scored = await self._fts_scored(session, document_query, terms, candidates)
            by_row = {match.chunk.row_id: (match, score) for match, score in scored}
            similarity = cosines(await repo.readable_embeddings(session, document_query), query_vector)
            nearest = heapq.nlargest(candidates, similarity, key=similarity.__getitem__)
            unseen = [row_id for row_id in nearest if row_id not in by_row]
            for match in await repo.chunks_by_row_ids(session, document_query, unseen):
                by_row[match.chunk.row_id] = (match, 0.0)
        return [
            (match, hybrid_score(score, semantic_score(similarity.get(row_id, 0.0))))
            for row_id, (match, score) in by_row.items()
        ]

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

    @staticmethod
    def _score(match: repo.ChunkMatch, terms: list[str], dialect: str) -> float:
        text = f"{match.document.title} {match.chunk.heading_path} {match.chunk.content}"
        return normalized_score(match.relevance, dialect, term_coverage(terms, text))

    @staticmethod
    def _hit(match: repo.ChunkMatch, score: float) -> SearchHit:
        return SearchHit(
            document_id=match.document.document_id,
            chunk_id=match.chunk.chunk_id,
            content=match.chunk.content,
            heading_path=match.chunk.heading_path,
            title=match.document.title,
            document_type=match.document.document_type,
            category=match.document.category,
            tags=list(match.document.tags or []),
            similarity_score=score,
        )

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
