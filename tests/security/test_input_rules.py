"""Hostile input that once reached storage or crashed a route: NUL in knowledge documents, non-web
source URLs, and a transfer to a team (issue 11, items 3, 7 and 10)."""

from __future__ import annotations

import pytest

from tests.knowledge.kb_support import create_document, user_client

DOCS = "/api/v1/knowledge/documents"


@pytest.fixture
def settings(make_settings):
    """No starter runbooks, so counting documents counts only the test's own."""
    return make_settings(kb_load_starter=False)


@pytest.mark.parametrize(
    "body",
    [
        {"title": "Pool", "content": "# Pool\n\nbad\x00byte"},
        {"title": "Po\x00ol", "content": "# Pool\n\ntext"},
        {"title": "Pool", "content": "# Pool\n\ntext", "tags": ["a\x00b"]},
        {"title": "Pool", "content": "# Pool\n\ntext", "metadata": {"k": "v\x00"}},
    ],
)
async def test_nul_in_a_new_document_is_refused(client, body) -> None:
    response = await client.post(DOCS, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(DOCS)).json()["total_count"] == 0


async def test_nul_in_an_update_or_upload_is_refused_and_loses_nothing(client) -> None:
    document = await create_document(client)
    location = f"{DOCS}/{document['document_id']}"
    response = await client.put(location, json={"content": "# New\n\nnul\x00here"})
    assert response.status_code == 422, response.text
    assert (await client.get(location)).json()["content"] == document["content"]
    late_nul = ("# Big\n\n" + "x" * 9000 + "\x00").encode()
    uploaded = await client.post(DOCS, files={"file": ("big.md", late_nul, "text/markdown")})
    assert uploaded.status_code in (415, 422), uploaded.text
    assert (await client.get(DOCS)).json()["total_count"] == 1


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,<b>x</b>", "ftp://h/x", "https://"]
)
async def test_source_url_must_be_http(client, url) -> None:
    refused = await client.post(DOCS, json={"title": "t", "content": "# t\n\nc", "source_url": url})
    assert refused.status_code == 422, refused.text
    document = await create_document(client, source_url="https://wiki.example.com/pool")
    assert document["source_url"] == "https://wiki.example.com/pool"
    location = f"{DOCS}/{document['document_id']}"
    assert (await client.put(location, json={"source_url": url})).status_code == 422
    assert (await client.get(location)).json()["source_url"] == "https://wiki.example.com/pool"


async def test_transfer_to_a_team_is_a_client_error_and_strangers_learn_nothing(app_with) -> None:
    app, container = await app_with(auth_mode="token")
    owner, _ = await user_client(app, container, "owner")
    stranger, _ = await user_client(app, container, "stranger")
    case_id = (await owner.post("/api/v1/cases", json={"title": "t"})).json()["case"]["case_id"]
    team_id = (await owner.post("/api/v1/teams", json={"name": "sre"})).json()["team_id"]
    for body in ({"team_id": team_id}, {"team_id": "team_nope"}):
        response = await owner.post(f"/api/v1/cases/{case_id}/transfer", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "OWNER_MUST_BE_USER"
        for outsider, target in ((stranger, case_id), (owner, "case_unknown")):
            hidden = await outsider.post(f"/api/v1/cases/{target}/transfer", json=body)
            assert hidden.status_code == 404, hidden.text
    refused_both = await owner.post(
        f"/api/v1/cases/{case_id}/transfer", json={"team_id": team_id, "username": "stranger"}
    )
    assert refused_both.status_code == 422
    for client in (owner, stranger):
        await client.aclose()
