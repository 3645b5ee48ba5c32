"""Hybrid ranking (FTS + MiniLM embeddings) from the optional `semantic` extra, on the real packaged model.

The model tests are skipped, with the reason, where the extra is not installed (the base install's FTS
ranking is covered by the other knowledge tests); refusing to start without it is tested everywhere.
"""

from __future__ import annotations

import pytest

from faultmaven.config.startup import StartupError
from faultmaven.container import Container
from faultmaven.infrastructure.persistence import knowledge_repository
from faultmaven.services.knowledge import embeddings
from faultmaven.services.knowledge.scoring import hybrid_score, semantic_score
from faultmaven.services.knowledge.service import KnowledgeService
from tests.knowledge.kb_support import create_document, search, user_client

needs_extra = pytest.mark.skipif(
    not embeddings.available(), reason=f"hybrid ranking untested: {embeddings.unavailable_reason()}"
)

DISK_RUNBOOK = """# Disk full on the ingest hosts

## Symptoms

Writes fail with ENOSPC; `df -h` shows the data volume at 100%.

## Fix

Rotate and compress old logs, then grow the volume.
"""
CERT_RUNBOOK = """# TLS certificate expired

## Symptoms

Clients report handshake failures after the certificate's notAfter date.

## Fix

Renew the certificate and reload the proxy.
"""
PARAPHRASE = "the machine ran out of storage space"  # shares no word with DISK_RUNBOOK


async def _reader_with_runbooks(app_with, *, semantic: bool):
    app, container = await app_with(auth_mode="token", kb_semantic=semantic, kb_load_starter=False)
    admin, _ = await user_client(app, container, "admin", admin=True)
    disk = await create_document(admin, title="Disk full on the ingest hosts", content=DISK_RUNBOOK)
    await create_document(admin, title="TLS certificate expired", content=CERT_RUNBOOK)
    await container.knowledge_service.wait_for_embeddings()
    return app, container, admin, disk


def _document_ids(body: dict) -> list[str]:
    return [result["document_id"] for result in body["results"]]


@needs_extra
async def test_a_paraphrase_finds_its_runbook_only_in_hybrid_mode(app_with) -> None:
    _, container, admin, disk = await _reader_with_runbooks(app_with, semantic=True)
    assert await KnowledgeService(container.database).search(None, PARAPHRASE) == []
    body = await search(admin, PARAPHRASE)
    assert _document_ids(body)[0] == disk["document_id"]
    assert all(0.0 < result["similarity_score"] <= 1.0 for result in body["results"])


@needs_extra
async def test_hybrid_mode_never_returns_a_chunk_the_reader_may_not_read(app_with) -> None:
    app, container, _, _ = await _reader_with_runbooks(app_with, semantic=True)
    alice, _ = await user_client(app, container, "alice")
    bob, _ = await user_client(app, container, "bob")
    notes = "# Notes\n\nOur hosts ran out of disk."
    secret = await create_document(alice, title="Storage notes", content=notes)
    case_id = (await alice.post("/api/v1/cases", json={"title": "Ingest outage"})).json()["case"]["case_id"]
    report = await create_document(
        alice, title="Outage report", content="# Report\n\nThe volume filled up.", case_id=case_id
    )
    await container.knowledge_service.wait_for_embeddings()
    as_bob = _document_ids(await search(bob, PARAPHRASE, limit=50))
    assert secret["document_id"] not in as_bob and report["document_id"] not in as_bob
    as_alice = _document_ids(await search(alice, PARAPHRASE, limit=50))
    assert {secret["document_id"], report["document_id"]} <= set(as_alice)


@needs_extra
async def test_an_unrelated_query_finds_nothing_and_keyword_hits_keep_their_fts_score(app_with) -> None:
    _, container, admin, _ = await _reader_with_runbooks(app_with, semantic=True)
    assert (await search(admin, "sourdough bread recipe"))["results"] == []
    fts_only = (await KnowledgeService(container.database).search(None, "certificate handshake"))[0]
    hybrid = (await search(admin, "certificate handshake"))["results"][0]
    assert hybrid["chunk_id"] == fts_only.chunk_id
    assert fts_only.similarity_score <= hybrid["similarity_score"] <= 1.0


@needs_extra
async def test_chunks_written_before_the_extra_was_enabled_are_backfilled(app_with) -> None:
    _, container, _, _ = await _reader_with_runbooks(app_with, semantic=False)
    assert await KnowledgeService(container.database).search(None, PARAPHRASE) == []
    service = KnowledgeService(container.database, embeddings.MiniLMEmbedder())
    service.start_embedding()
    await service.wait_for_embeddings()
    async with container.database.read() as session:
        assert await knowledge_repository.chunks_without_embedding(session, 10) == []
    hits = await service.search(None, PARAPHRASE)
    assert hits and hits[0].title == "Disk full on the ingest hosts"


@needs_extra
def test_the_embedder_gives_unit_vectors_of_384_dimensions_in_input_order() -> None:
    texts = ["disk full", "a much longer sentence " * 5, "ok"]
    vectors = embeddings.MiniLMEmbedder(batch_size=2).embed(texts)
    assert vectors.shape == (3, embeddings.EMBEDDING_DIMENSIONS)
    assert abs(float((vectors**2).sum(axis=1).min()) - 1.0) < 1e-4
    alone = embeddings.MiniLMEmbedder().embed(["ok"])[0]
    assert float(alone @ vectors[2]) > 0.999


def test_scores_stay_within_zero_and_one() -> None:
    assert semantic_score(-1.0) == 0.0 and semantic_score(1.0) == 1.0
    assert hybrid_score(0.0, 0.0) == 0.0 and hybrid_score(1.0, 1.0) == 1.0
    assert hybrid_score(0.6, 0.0) == 0.6 and hybrid_score(0.0, 0.5) == 0.5


async def test_the_server_refuses_to_start_when_the_extra_is_missing(make_settings, monkeypatch) -> None:
    monkeypatch.setattr(embeddings, "REQUIRED_MODULES", ("faultmaven_no_such_module",))
    refusal = r"FAULTMAVEN_KB_SEMANTIC=true but the optional 'semantic' extra is not installed"
    with pytest.raises(StartupError, match=refusal):
        await Container(make_settings(kb_semantic=True)).start()
