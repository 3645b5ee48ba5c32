"""Search: the chunks a reader may read, best first, by full text or (with the `semantic` extra) hybrid
ranking; `scoring.py` says what a score means."""

from __future__ import annotations

import asyncio
import heapq
from typing import Any

from faultmaven.infrastructure.persistence import knowledge_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.services.knowledge.embeddings import Embedder, cosines
from faultmaven.services.knowledge.models import SearchFilters, SearchHit
from faultmaven.services.knowledge.query_text import fts5_match, query_terms, websearch_text
from faultmaven.services.knowledge.scoring import chunk_score, hybrid_score, search_hit, semantic_score

MAX_SEARCH_LIMIT = 50
CANDIDATES_PER_RESULT = 3
HYBRID_CANDIDATES = 50


class KnowledgeSearch:
    """Ranks readable chunks for a query; hybrid when an embedder is given, full-text otherwise."""

    def __init__(self, database: Database, embedder: Embedder | None = None):
        self._db = database
        self._embedder = embedder

    async def search(
        self,
        reader_id: str | None,
        query: str,
        *,
        limit: int = 10,
        similarity_threshold: float | None = None,
        filters: SearchFilters | None = None,
    ) -> list[SearchHit]:
        """Readable chunks best first, scored 0..1 (`scoring.py`), at or above the threshold."""
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
            (search_hit(match, score) for match, score in scored), key=lambda hit: -hit.similarity_score
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
        return [(match, chunk_score(match, terms, dialect)) for match in matches]

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
