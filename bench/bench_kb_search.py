"""Benchmark knowledge-base search latency at 10,000 chunks, on SQLite and (if reachable) PostgreSQL.

Builds a corpus of generated Markdown documents whose words come from the starter runbooks (so term
frequencies look like real runbooks), then times `KnowledgeService.search` for random 2-5 word queries
as a non-admin reader (the access-scoping filter is active). Baseline in the same run: a primary-key
lookup of one document through the same `Database.read()` session path.

PostgreSQL runs only with `--postgres-admin-url` pointing at a server where a throwaway database
`faultmaven_kb_bench` may be created and dropped (never the `test` database).

`--semantic` (needs the `semantic` extra) embeds every chunk while loading (FAULTMAVEN_KB_SEMANTIC=true)
and times hybrid search, then FTS-only search on the same corpus and queries in the same run.

Usage: .venv/bin/python bench/bench_kb_search.py [--chunks 10000] [--queries 300] [--semantic]
       [--postgres-admin-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from faultmaven.config.settings import Settings
from faultmaven.container import Container
from faultmaven.infrastructure.persistence.knowledge_tables import KnowledgeChunkRow, KnowledgeDocumentRow
from faultmaven.services.knowledge.models import DocumentInput, DocumentType
from faultmaven.services.knowledge.service import KnowledgeService, SourceDocument
from faultmaven.services.knowledge.sources import starter_documents

SECTIONS_PER_DOCUMENT = 10
BENCH_DATABASE = "faultmaven_kb_bench"


def vocabulary() -> list[str]:
    words = []
    for source in starter_documents():
        words += [w.lower() for w in re.findall(r"[A-Za-z][A-Za-z_]{2,}", source.document.content)]
    return words


def generated_document(rng: random.Random, words: list[str], index: int) -> SourceDocument:
    sections = []
    for section in range(SECTIONS_PER_DOCUMENT):
        sentences = [" ".join(rng.choices(words, k=rng.randint(8, 20))).capitalize() + "." for _ in range(6)]
        sections.append(f"## Section {section} {rng.choice(words)}\n\n" + " ".join(sentences))
    body = f"# Generated runbook {index}\n\n" + "\n\n".join(sections)
    document = DocumentInput(
        title=f"Generated runbook {index} {rng.choice(words)}",
        content=body,
        document_type=rng.choice(list(DocumentType)),
        tags=rng.sample(words, 3),
    )
    return SourceDocument(source_key=f"bench:{index}", document=document, source_hash=str(index))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def timed(action, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def run_engine(
    url: str, target_chunks: int, queries: int, seed: int, semantic: bool
) -> dict[str, object]:
    rng = random.Random(seed)
    words = vocabulary()
    settings = Settings(
        database_url=url, log_level="WARNING", purge_interval_seconds=3600, kb_semantic=semantic
    )
    container = Container(settings)
    await container.start()
    try:
        reader = await container.auth_service.create_user(f"bench{seed}")
        started = time.perf_counter()
        documents = target_chunks // SECTIONS_PER_DOCUMENT
        sources = [generated_document(rng, words, index) for index in range(documents)]
        for start in range(0, len(sources), 200):
            await container.knowledge_service.upsert_sources(
                sources[start : start + 200], revive_deleted=True
            )
        await container.knowledge_service.wait_for_embeddings()
        load_seconds = time.perf_counter() - started
        async with container.database.read() as session:
            chunk_count = await session.scalar(select(text("count(*)")).select_from(KnowledgeChunkRow))
            ids = list(await session.scalars(select(KnowledgeDocumentRow.document_id).limit(500)))
        query_texts = [" ".join(rng.sample(words, rng.randint(2, 5))) for _ in range(queries)]
        pending = iter(query_texts * 2)
        hits: list[int] = []
        service = container.knowledge_service

        async def search_once() -> None:
            hits.append(len(await service.search(reader.user_id, next(pending), limit=10)))

        async def lookup_once() -> None:
            async with container.database.read() as session:
                await session.get(KnowledgeDocumentRow, rng.choice(ids))

        await timed(search_once, 20)
        search_ms = await timed(search_once, queries)
        mean_hits = statistics.mean(hits)
        fts_ms: list[float] = []
        if semantic:
            pending = iter(query_texts * 2)
            service = KnowledgeService(container.database)
            await timed(search_once, 20)
            fts_ms = await timed(search_once, queries)
        lookup_ms = await timed(lookup_once, queries)
    finally:
        await container.stop()
    return {
        "chunks": chunk_count,
        "load_s": load_seconds,
        "search": search_ms,
        "fts": fts_ms,
        "lookup": lookup_ms,
        "mean_hits": mean_hits,
    }


async def postgres_url(admin_url: str) -> str | None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE}"))
            await connection.execute(text(f"CREATE DATABASE {BENCH_DATABASE}"))
    except Exception as error:
        print(f"PostgreSQL skipped: {error.__class__.__name__}: {error}", file=sys.stderr)
        return None
    finally:
        await engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"


async def drop_postgres(admin_url: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)"))
    await engine.dispose()


def table_rows(engine: str, result: dict[str, object]) -> list[str]:
    rows = []
    search_label = "hybrid search (top 10, scoped)" if result["fts"] else "search (top 10, scoped)"
    operations = (
        (search_label, "search"),
        ("FTS-only search, same corpus (top 10, scoped)", "fts"),
        ("baseline: primary-key lookup", "lookup"),
    )
    for label, key in operations:
        samples = result[key]
        assert isinstance(samples, list)
        if not samples:
            continue
        rows.append(
            f"| {engine} | {label} | {result['chunks']} | {statistics.median(samples):.2f} | "
            f"{percentile(samples, 0.95):.2f} | {len(samples)} |"
        )
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-admin-url", default=None)
    parser.add_argument("--semantic", action="store_true", help="hybrid vs FTS-only (needs the extra)")
    args = parser.parse_args()
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        results["SQLite (FTS5 bm25)"] = await run_engine(
            url, args.chunks, args.queries, args.seed, args.semantic
        )
    if args.postgres_admin_url and (pg_url := await postgres_url(args.postgres_admin_url)):
        try:
            results["PostgreSQL (tsvector + GIN)"] = await run_engine(
                pg_url, args.chunks, args.queries, args.seed, args.semantic
            )
        finally:
            await drop_postgres(args.postgres_admin_url)
    print("| engine | operation | chunks | p50 ms | p95 ms | runs |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for engine, result in results.items():
        print("\n".join(table_rows(engine, result)))
    for engine, result in results.items():
        load, hits = result["load_s"], result["mean_hits"]
        print(f"\n{engine}: corpus loaded in {load:.1f} s, mean hits per query {hits:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
