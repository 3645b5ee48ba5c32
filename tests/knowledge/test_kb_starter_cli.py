"""Starter runbooks load once (also with two processes at once); `faultmaven kb ingest` is idempotent."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from faultmaven.cli import app
from faultmaven.container import Container
from faultmaven.infrastructure.persistence.knowledge_tables import KnowledgeChunkRow, KnowledgeDocumentRow
from faultmaven.services.knowledge.sources import starter_documents

runner = CliRunner()


async def _counts(container: Container) -> tuple[int, int]:
    async with container.database.read() as session:
        documents = await session.scalar(select(func.count()).select_from(KnowledgeDocumentRow))
        chunks = await session.scalar(select(func.count()).select_from(KnowledgeChunkRow))
    return int(documents or 0), int(chunks or 0)


def test_at_least_twenty_starter_runbooks_with_metadata() -> None:
    documents = starter_documents()
    assert len(documents) >= 20
    for source in documents:
        assert source.source_key.startswith("starter:") and source.document.category
        assert source.document.tags and source.document.document_type.value in {
            "playbook",
            "troubleshooting_guide",
        }
        assert "## Quick checks" in source.document.content and "```" in source.document.content


async def test_starter_set_loads_once_across_restarts_and_concurrent_starts(make_settings, container) -> None:
    expected = len(starter_documents())
    first = await _counts(container)
    assert first[0] == expected and first[1] > expected * 4
    twins = [Container(make_settings()) for _ in range(2)]
    await asyncio.gather(*(twin.start() for twin in twins))
    assert await _counts(twins[0]) == first
    for twin in twins:
        await twin.stop()
    again = await container.knowledge_service.upsert_sources(starter_documents(), revive_deleted=False)
    assert len(again.unchanged) == expected and not again.created and not again.updated


async def test_concurrent_upserts_of_new_sources_do_not_duplicate(make_settings, container) -> None:
    sources = starter_documents()
    async with container.database.write() as session:
        await session.execute(KnowledgeDocumentRow.__table__.delete())
    twins = [Container(make_settings(kb_load_starter=False)) for _ in range(2)]
    reports = await asyncio.gather(
        *(twin.knowledge_service.upsert_sources(sources, revive_deleted=False) for twin in twins)
    )
    assert sum(len(report.created) for report in reports) == len(sources)
    assert (await _counts(container))[0] == len(sources)
    for twin in twins:
        await twin.stop()


async def test_deleted_starter_runbook_stays_deleted(client, container) -> None:
    listed = (await client.get("/api/v1/knowledge/documents", params={"limit": 100})).json()
    victim = next(d for d in listed["documents"] if d["title"].startswith("Disk full"))
    assert (await client.delete(f"/api/v1/knowledge/documents/{victim['document_id']}")).status_code == 204
    report = await container.knowledge_service.upsert_sources(starter_documents(), revive_deleted=False)
    assert report.skipped == ["starter:disk-full"]
    assert (await client.get(f"/api/v1/knowledge/documents/{victim['document_id']}")).status_code == 404
    remaining = (await client.get("/api/v1/knowledge/documents", params={"limit": 100})).json()["total_count"]
    assert remaining == listed["total_count"] - 1


async def test_starter_loading_can_be_switched_off(make_settings) -> None:
    container = Container(make_settings(kb_load_starter=False))
    await container.start()
    try:
        assert await _counts(container) == (0, 0)
    finally:
        await container.stop()


def test_kb_ingest_cli_is_idempotent_by_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FAULTMAVEN_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FAULTMAVEN_KB_LOAD_STARTER", "false")
    docs = tmp_path / "docs"
    (docs / "nested").mkdir(parents=True)
    (docs / ".hidden").mkdir()
    (docs / "a.md").write_text("# Alpha runbook\n\nRestart the alpha service.\n")
    (docs / "nested" / "b.markdown").write_text("---\ntitle: Beta\ntags: x, y\n---\nBeta body.\n")
    (docs / ".hidden" / "c.md").write_text("# hidden\n")
    (docs / "image.png").write_bytes(b"\x89PNG\x00\x00")
    first = runner.invoke(app, ["kb", "ingest", str(docs), "--type", "playbook"])
    assert first.exit_code == 0, first.output
    assert "2 created, 0 updated, 0 unchanged, 0 failed" in first.output
    second = runner.invoke(app, ["kb", "ingest", str(docs), "--type", "playbook"])
    assert "0 created, 0 updated, 2 unchanged" in second.output
    (docs / "a.md").write_text("# Alpha runbook\n\nRestart the alpha service twice.\n")
    third = runner.invoke(app, ["kb", "ingest", str(docs / "a.md"), "--type", "playbook"])
    assert "0 created, 1 updated" in third.output
    runner.invoke(app, ["users", "create", "carol"])
    personal = runner.invoke(app, ["kb", "ingest", str(docs / "a.md"), "--personal", "carol"])
    assert "1 created" in personal.output
    assert runner.invoke(app, ["kb", "ingest", str(docs), "--personal", "nobody"]).exit_code == 1
    assert runner.invoke(app, ["kb", "ingest", str(docs), "--type", "novel"]).exit_code == 1
    (docs / "bad.md").write_bytes(b"\x00binary")
    failed = runner.invoke(app, ["kb", "ingest", str(docs)])
    assert failed.exit_code == 1 and "failed" in failed.output and "bad.md" in failed.output
