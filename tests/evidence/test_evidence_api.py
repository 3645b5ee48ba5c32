"""Evidence routes on both engines: uploads of every shape, limits, reads, line ranges, deletion."""

from __future__ import annotations

import codecs
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from faultmaven.infrastructure.persistence.evidence_tables import EvidenceChunkRow, EvidenceItemRow
from faultmaven.models.case import utcnow
from tests.evidence.support import (
    FAILURE_LINE,
    FAILURE_TEXT,
    generated_log,
    multipart_body,
    open_case,
    upload_file,
)
from tests.evidence.test_evidence_classify import KUBECTL_GET, PROMETHEUS, PY_TRACE, PYTHON_SOURCE, YAML

JSON_LABEL = {"Content-Type": "application/json"}
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"


def data_url(case_id: str, *parts: str) -> str:
    return "/".join([f"/api/v1/cases/{case_id}/data", *parts])


async def test_multipart_log_upload_is_stored_sanitized_and_digested(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    response = await upload_file(client, case_id, "app.log", generated_log(3000), description="checkout pods")
    assert response.status_code == 201
    body = response.json()
    assert body["schema_version"] == "3.1.0" and body["case_id"] == case_id
    assert body["filename"] == "app.log" and body["data_type"] == "log"
    assert body["file_size"] == len(generated_log(3000)) and body["processing_status"] == "completed"
    assert body["uploaded_at"] and body["summary"].startswith("log, 3,000 lines, 1 distinct error")
    assert f"first error at line {FAILURE_LINE}" in body["summary"]
    assert response.headers["location"] == data_url(case_id, body["data_id"])
    item = (await client.get(response.headers["location"])).json()
    assert item["line_count"] == 3000 and item["description"] == "checkout pods"
    assert item["digest"]["totals"]["lines"] == 3000
    assert item["digest"]["errors"][0]["first_line"] == FAILURE_LINE


async def test_pasted_json_of_each_type(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    samples = {
        "config": (YAML, "deployment.yaml"),
        "metrics_dump": (PROMETHEUS, None),
        "cli_output": (KUBECTL_GET, None),
        "stack_trace": (PY_TRACE, None),
        "source_code": (PYTHON_SOURCE, "pool.py"),
        "plain_text": ("The checkout page was slow for EU customers after the deploy.\n", None),
        "log": (generated_log(50).decode(), None),
    }
    for data_type, (text, filename) in samples.items():
        body = {"content": text, "description": f"a {data_type}"}
        if filename:
            body["filename"] = filename
        response = await client.post(data_url(case_id), json=body)
        assert response.status_code == 201, response.text
        assert response.json()["data_type"] == data_type
        assert response.json()["filename"] == (filename or "pasted.txt")
    listed = await client.get(data_url(case_id), params={"limit": 3})
    assert listed.headers["x-total-count"] == str(len(samples))
    assert isinstance(listed.json(), list) and len(listed.json()) == 3
    assert 'rel="next"' in listed.headers["link"]
    assert "digest" not in listed.json()[0]


async def test_mislabelled_multipart_is_accepted(client: httpx.AsyncClient) -> None:
    """The browser extension sends multipart bodies as `Content-Type: application/json`."""
    case_id = await open_case(client)
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    body = multipart_body(boundary, "pods.txt", KUBECTL_GET.encode(), description="kubectl get pods")
    response = await client.post(data_url(case_id), content=body, headers=JSON_LABEL)
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "pods.txt" and response.json()["data_type"] == "cli_output"
    item = (await client.get(response.headers["location"])).json()
    assert item["description"] == "kubectl get pods" and item["line_count"] == 4


async def test_upload_adds_a_data_upload_system_message(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    data_id = (await upload_file(client, case_id, "app.log", generated_log(10))).json()["data_id"]
    messages = (await client.get(f"/api/v1/cases/{case_id}/messages")).json()["messages"]
    assert [(m["role"], m["message_type"]) for m in messages] == [("system", "data_upload")]
    assert data_id in messages[0]["content"] and messages[0]["metadata"]["data_id"] == data_id


async def test_over_the_limit_is_413(app_with) -> None:
    http, _ = await app_with(max_upload_bytes=4096)
    case_id = await open_case(http)
    response = await upload_file(http, case_id, "big.log", b"x" * 5000 + b"\n")
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE" and isinstance(response.json()["detail"], str)
    streamed = await upload_file(http, case_id, "huge.log", b"y" * 200_000)
    assert streamed.status_code == 413
    pasted = await http.post(data_url(case_id), json={"content": "z" * 5000})
    assert pasted.status_code == 413
    assert (await http.get(data_url(case_id))).json() == []


async def test_binary_content_is_415(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    response = await upload_file(client, case_id, "logo.png", PNG_HEAD + bytes(range(256)) * 10)
    assert response.status_code == 415 and response.json()["code"] == "BINARY_CONTENT"
    late_nul = generated_log(200) + b"\x00tail"
    assert (await upload_file(client, case_id, "app.log", late_nul)).status_code == 415
    controls = bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15]) * 100
    assert (await upload_file(client, case_id, "blob.bin", controls)).status_code == 415
    raw = await client.post(data_url(case_id), content=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
    assert raw.status_code == 415 and raw.json()["code"] == "UNSUPPORTED_UPLOAD_TYPE"
    assert (await client.get(data_url(case_id))).json() == []


async def test_text_encodings(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    latin = "2024-05-01 10:00:00 ERROR Zürich café: connexion refusée\n".encode("latin-1")
    utf16 = codecs.BOM_UTF16_LE + "2024-05-01 10:00:00 WARN disque presque plein\n".encode("utf-16-le")
    for name, data, encoding, text in [
        ("latin.log", latin, "latin-1", "Zürich café"),
        ("win.log", utf16, "utf-16", "disque presque plein"),
        ("bom.log", codecs.BOM_UTF8 + b"2024-05-01 10:00:00 INFO ok\n", "utf-8-sig", "INFO ok"),
    ]:
        response = await upload_file(client, case_id, name, data)
        assert response.status_code == 201 and response.json()["encoding"] == encoding
        lines = (await client.get(data_url(case_id, response.json()["data_id"], "lines"))).json()["lines"]
        assert text in lines[0]["text"] and lines[0]["text"][0] == "2"


async def _stored_chunk_text(container, data_id: str) -> str:
    async with container.database.read() as session:
        rows = await session.execute(select(EvidenceChunkRow.text).where(EvidenceChunkRow.data_id == data_id))
        return "\n".join(rows.scalars())


async def test_lines_route_returns_ranges_restored_for_members(client: httpx.AsyncClient, container) -> None:
    """Stored masked; the case's member reads their own log with the originals back."""
    case_id = await open_case(client)
    secret_line = "2024-05-01 10:00:00 ERROR login failed password=hunter2 for alice@example.com"
    content = generated_log(4500).decode().replace(f"{FAILURE_TEXT}\n", f"{FAILURE_TEXT}\n{secret_line}\n", 1)
    data_id = (await upload_file(client, case_id, "app.log", content.encode())).json()["data_id"]
    url = data_url(case_id, data_id, "lines")
    body = (await client.get(url, params={"start": FAILURE_LINE, "end": FAILURE_LINE + 1})).json()
    assert [line["line_number"] for line in body["lines"]] == [FAILURE_LINE, FAILURE_LINE + 1]
    assert body["lines"][0]["text"].endswith(FAILURE_TEXT)
    assert body["lines"][1]["text"] == secret_line and body["line_count"] == 4501
    stored = await _stored_chunk_text(container, data_id)
    assert "login failed" in stored and "hunter2" not in stored and "alice@example.com" not in stored
    across = (await client.get(url, params={"start": 1990, "end": 2010})).json()["lines"]
    assert [line["line_number"] for line in across] == list(range(1990, 2011))
    tail = (await client.get(url, params={"start": 4499, "end": 4600})).json()["lines"]
    assert [line["line_number"] for line in tail] == [4499, 4500, 4501]
    assert (await client.get(url, params={"start": 1, "end": 2001})).status_code == 422
    assert (await client.get(url, params={"start": 10, "end": 5})).status_code == 422
    assert (await client.get(url, params={"start": 0})).status_code == 422


async def test_multi_line_secret_keeps_line_numbers(client: httpx.AsyncClient, container) -> None:
    key_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
    pem = ["-----BEGIN PRIVATE KEY-----", *[key_body] * 5, "-----END PRIVATE KEY-----"]
    lines = ["2024-05-01 10:00:00 INFO loading key", *pem, "2024-05-01 10:00:01 ERROR after the key"]
    case_id = await open_case(client)
    data_id = (await upload_file(client, case_id, "key.log", "\n".join(lines).encode())).json()["data_id"]
    stored = (await client.get(data_url(case_id, data_id, "lines"))).json()["lines"]
    assert [line["text"] for line in stored] == lines
    assert key_body not in await _stored_chunk_text(container, data_id)


async def test_delete_is_idempotent_and_cascades_with_the_case(client: httpx.AsyncClient, container) -> None:
    case_id = await open_case(client)
    first = (await upload_file(client, case_id, "a.log", generated_log(2500))).json()["data_id"]
    second = (await upload_file(client, case_id, "b.log", generated_log(20))).json()["data_id"]
    assert (await client.delete(data_url(case_id, first))).status_code == 204
    assert (await client.delete(data_url(case_id, first))).status_code == 204
    assert (await client.get(data_url(case_id, first))).status_code == 404
    assert [item["data_id"] for item in (await client.get(data_url(case_id))).json()] == [second]
    assert await _chunk_count(container, first) == 0 and await _chunk_count(container, second) == 1
    assert (await client.delete(f"/api/v1/cases/{case_id}")).status_code == 204
    assert await _chunk_count(container, second) == 0
    async with container.database.read() as session:
        assert (await session.execute(select(func.count()).select_from(EvidenceItemRow))).scalar_one() == 0


async def _chunk_count(container, data_id: str) -> int:
    async with container.database.read() as session:
        statement = select(func.count()).where(EvidenceChunkRow.data_id == data_id)
        return (await session.execute(statement)).scalar_one()


async def test_unknown_case_or_item_is_404(client: httpx.AsyncClient) -> None:
    assert (await upload_file(client, "case_missing", "a.log", b"x\n")).status_code == 404
    assert (await client.get(data_url("case_missing"))).status_code == 404
    case_id = await open_case(client)
    missing = await client.get(data_url(case_id, "data_missing"))
    assert missing.status_code == 404 and missing.json()["code"] == "DATA_NOT_FOUND"
    assert (await client.get(data_url(case_id, "data_missing", "lines"))).status_code == 404
    assert (await client.get(data_url(case_id, "%00"))).status_code == 404
    assert (await client.delete(data_url(case_id, "%00"))).status_code == 204


async def test_invalid_bodies_are_problems_not_500(client: httpx.AsyncClient) -> None:
    case_id = await open_case(client)
    bad_json = await client.post(data_url(case_id), content=b"{not json", headers=JSON_LABEL)
    assert bad_json.status_code == 400 and bad_json.json()["code"] == "INVALID_JSON"
    empty = await client.post(data_url(case_id), json={"content": ""})
    assert empty.status_code == 422
    no_file = await client.post(data_url(case_id), data={"description": "x"}, files={"other": ("x", b"")})
    assert no_file.status_code == 422 and no_file.json()["code"] == "FILE_REQUIRED"
    broken = await client.post(
        data_url(case_id),
        content=b"--abc\r\nnonsense",
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert broken.status_code in (400, 422)


async def test_large_upload_is_processed_in_the_background(client: httpx.AsyncClient, container) -> None:
    container.evidence_service.background_threshold_bytes = 10_000
    case_id = await open_case(client)
    response = await upload_file(client, case_id, "app.log", generated_log(3000))
    assert response.status_code == 201 and response.json()["processing_status"] in ("pending", "processing")
    await container.evidence_service.wait_idle()
    item = (await client.get(response.headers["location"])).json()
    assert item["processing_status"] == "completed" and item["line_count"] == 3000 and item["digest"]


async def test_stalled_processing_is_reported_failed(client: httpx.AsyncClient, container) -> None:
    case_id = await open_case(client)
    data_id = (await upload_file(client, case_id, "a.log", generated_log(10))).json()["data_id"]
    async with container.database.write() as session:
        await session.execute(
            update(EvidenceItemRow)
            .where(EvidenceItemRow.data_id == data_id)
            .values(processing_status="processing", heartbeat_at=utcnow() - timedelta(minutes=10))
        )
    item = (await client.get(data_url(case_id, data_id))).json()
    assert item["processing_status"] == "failed" and "interrupted" in item["error"]


@pytest.mark.parametrize("trailing", ["", "/"])
async def test_routes_answer_with_and_without_trailing_slash(client: httpx.AsyncClient, trailing: str):
    case_id = await open_case(client)
    response = await client.post(data_url(case_id) + trailing, json={"content": "hello\n"})
    assert response.status_code == 201
    assert (await client.get(data_url(case_id) + trailing)).status_code == 200
