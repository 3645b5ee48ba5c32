"""Knowledge routes on both engines: documents, uploads, search, filters and error handling."""

from __future__ import annotations

import pytest

from faultmaven.services.errors import PayloadTooLargeError
from faultmaven.services.knowledge.models import DocumentInput
from faultmaven.services.knowledge.service import MAX_DOCUMENT_BYTES
from tests.knowledge.kb_support import POOL_RUNBOOK, create_document, search

DOCS = "/api/v1/knowledge/documents"


async def test_create_json_get_update_delete(client) -> None:
    created = await create_document(
        client, category="database", tags="Postgres, pool", source_url="https://x"
    )
    assert created["document_id"].startswith("kb_") and created["scope"] == "global"
    assert created["tags"] == ["postgres", "pool"] and created["status"] == "active"
    assert set(created) >= {
        "document_id",
        "title",
        "content",
        "document_type",
        "category",
        "tags",
        "source_url",
        "description",
        "status",
        "created_at",
        "updated_at",
        "metadata",
    }
    location = f"{DOCS}/{created['document_id']}"
    assert (await client.get(location)).json() == created
    updated = await client.put(location, json={"title": "Pool exhaustion (billing)", "category": None})
    assert updated.status_code == 200
    assert updated.json()["title"] == "Pool exhaustion (billing)" and updated.json()["category"] is None
    hits = await search(client, "billing pool exhaustion")
    assert hits["results"][0]["metadata"]["title"] == "Pool exhaustion (billing)"
    assert (await client.delete(location)).status_code == 204
    assert (await client.get(location)).status_code == 404
    assert (await client.delete(location)).status_code == 404
    assert all(
        r["document_id"] != created["document_id"] for r in (await search(client, "QueuePool"))["results"]
    )


async def test_multipart_upload_with_location(client) -> None:
    response = await client.post(
        DOCS,
        files={"file": ("pool.md", POOL_RUNBOOK.encode(), "text/markdown")},
        data={
            "title": "Uploaded",
            "document_type": "troubleshooting_guide",
            "tags": "a, b",
            "category": "db",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"{DOCS}/{body['document_id']}"
    assert body["title"] == "Uploaded" and body["tags"] == ["a", "b"] and body["content"] == POOL_RUNBOOK
    untitled = await client.post(DOCS, files={"file": ("notes.txt", b"plain words only", "text/plain")})
    assert untitled.status_code == 201 and untitled.json()["title"] == "notes.txt"
    assert untitled.json()["document_type"] == "reference"


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"files": {"file": ("x.bin", b"\x00\x01\x02binary", "application/octet-stream")}}, 415, None),
        ({"files": {"file": ("x.md", b"\xff\xfe\xfa not utf8", "text/markdown")}}, 415, None),
        (
            {"files": {"file": ("x.md", b"ok", "text/markdown")}, "data": {"document_type": "novel"}},
            422,
            None,
        ),
        ({"data": {"title": "no file"}, "files": {"other": ("x", b"y")}}, 422, None),
        ({"json": {"title": "t", "content": ""}}, 422, "VALIDATION_ERROR"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "INVALID_JSON"),
        ({"content": b"# md", "headers": {"content-type": "text/markdown"}}, 415, None),
    ],
)
async def test_bad_uploads_are_problems_not_500s(client, kwargs, status, code) -> None:
    response = await client.post(DOCS, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert isinstance(response.json()["detail"], str)
    if code:
        assert response.json()["code"] == code


async def test_oversized_document_is_413(client, container) -> None:
    big = "word " * (MAX_DOCUMENT_BYTES // 5 + 10)
    response = await client.post(DOCS, files={"file": ("big.md", big.encode(), "text/markdown")})
    assert response.status_code == 413 and response.json()["code"] == "PAYLOAD_TOO_LARGE"
    local = await container.auth_service.local_user()
    with pytest.raises(PayloadTooLargeError):
        await container.knowledge_service.create_document(local, DocumentInput(title="big", content=big))


async def test_list_filters_pagination_and_headers(client) -> None:
    for index in range(3):
        await create_document(client, title=f"Guide {index}", tags=["net"] if index else ["net", "dns"])
    await create_document(client, title="Reference", document_type="reference", tags=["net"])
    page = await client.get(DOCS, params={"document_type": "playbook", "limit": 2, "tags": "net"})
    body = page.json()
    assert page.status_code == 200 and body["limit"] == 2 and body["offset"] == 0
    playbooks = [d for d in body["documents"] if d["document_type"] == "playbook"]
    assert len(playbooks) == 2 and body["total_count"] >= 3
    assert page.headers["x-total-count"] == str(body["total_count"]) and 'rel="next"' in page.headers["link"]
    both_tags = (await client.get(DOCS, params={"tags": "net,DNS"})).json()
    assert [d["title"] for d in both_tags["documents"]] == ["Guide 0"]
    assert (await client.get(DOCS, params={"document_type": "novel"})).status_code == 422
    assert (await client.get(DOCS, params={"limit": 0})).status_code == 422


async def test_search_shape_ranking_filters_and_threshold(client) -> None:
    mine = await create_document(client, category="acme-db", tags=["billing"])
    await create_document(client, title="Unrelated", content="# Unrelated\n\nGardening tips for tomatoes.")
    body = await search(client, "QueuePool limit billing service", limit=3)
    assert body["query"] == "QueuePool limit billing service" and body["total_results"] == len(
        body["results"]
    )
    top = body["results"][0]
    assert top["document_id"] == mine["document_id"] and top["chunk_id"].startswith("chk_")
    assert "QueuePool" in top["content"]
    assert top["metadata"] == {
        "title": "Pool exhaustion at Acme",
        "document_type": "playbook",
        "category": "acme-db",
        "tags": ["billing"],
        "heading_path": "Pool exhaustion at Acme > Symptoms",
    }
    scores = [r["similarity_score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    filtered = await search(client, "pool exhaustion", filters={"category": "acme-db", "tags": ["billing"]})
    assert {r["document_id"] for r in filtered["results"]} == {mine["document_id"]}
    assert (await search(client, "pool exhaustion", filters={"document_type": "how_to"}))[
        "results"
    ] == [] or all(
        r["metadata"]["document_type"] == "how_to"
        for r in (await search(client, "pool exhaustion", filters={"document_type": "how_to"}))["results"]
    )
    assert (await search(client, "pool exhaustion", filters={"tags": ["billing", "nope"]}))["results"] == []
    assert (await search(client, "QueuePool", similarity_threshold=0.999))["results"] == []
    assert (await search(client, "tomatoes gardening"))["results"][0]["metadata"]["title"] == "Unrelated"


async def test_starter_runbooks_are_searchable(client) -> None:
    body = await search(client, "pod CrashLoopBackOff exit code 137", limit=5)
    assert body["results"][0]["metadata"]["title"] == "Kubernetes pod in CrashLoopBackOff"
    disk = await search(client, "No space left on device", filters={"category": "infrastructure"})
    assert disk["results"][0]["metadata"]["title"].startswith("Disk full")


@pytest.mark.parametrize(
    "query",
    [
        '"foo',
        "a OR",
        "NEAR(",
        "*",
        "col:val",
        "AND OR NOT",
        "'; DROP TABLE x; --",
        "^",
        "!!!",
        "(((",
        "x" * 2000,
        "\u0000",
        "ünïcödé ✓ 日本語",
        "-foo -bar",
        '"unbalanced "quotes" here',
    ],
)
async def test_fts_syntax_junk_never_fails(client, query) -> None:
    response = await client.post("/api/v1/knowledge/search", json={"query": query})
    assert response.status_code == 200, response.text
    assert response.json()["total_results"] == len(response.json()["results"])


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "limit": 0},
        {"query": "x", "limit": 1000},
        {"query": "x", "similarity_threshold": 2},
        {"query": "x", "filters": {"document_type": "novel"}},
    ],
)
async def test_invalid_search_bodies_are_422(client, body) -> None:
    response = await client.post("/api/v1/knowledge/search", json=body)
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"


async def test_routes_answer_with_and_without_trailing_slash(client) -> None:
    assert (await client.get(f"{DOCS}/")).status_code == 200
    assert (await client.post("/api/v1/knowledge/search/", json={"query": "dns"})).status_code == 200
