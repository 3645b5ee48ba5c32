"""How a search hit is scored: 0..1, the same meaning for every query and engine.

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

import re

from faultmaven.infrastructure.persistence import knowledge_repository as repo
from faultmaven.services.knowledge.models import SearchHit

_WORD = re.compile(r"\w+", re.UNICODE)
HALF_SCORE_RELEVANCE = {"sqlite": 5.0, "postgresql": 1.5}
COSINE_UNRELATED = 0.2
COSINE_PARAPHRASE = 0.8


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


def chunk_score(match: repo.ChunkMatch, terms: list[str], dialect: str) -> float:
    """A full-text match's score: its relevance, weighed by the query terms its text covers."""
    text = f"{match.document.title} {match.chunk.heading_path} {match.chunk.content}"
    return normalized_score(match.relevance, dialect, term_coverage(terms, text))


def search_hit(match: repo.ChunkMatch, score: float) -> SearchHit:
    """A scored chunk as searchers see it: the chunk, its heading path and its document's labels."""
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
