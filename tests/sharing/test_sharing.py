"""Sharing a case with users and teams: roles, listing, transfer, audit, the agent's view, and nothing
private leaking through the knowledge base or the agent's tools."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import select

from faultmaven.container import Container
from faultmaven.infrastructure.persistence.sharing_tables import AuditEventRow
from faultmaven.main import create_app
from tests.conftest import llm_environ
from tests.fakes.fake_llm import ToolCall, structured


@pytest.fixture
async def team_app(make_settings, fake_llm):
    providers, environ = llm_environ(primary=("openai", fake_llm))
    settings = make_settings(
        auth_mode="token",
        dev_login=True,
        rate_limit_enabled=False,
        kb_load_starter=False,
        llm_providers=providers,
    )
    container = Container(settings, environ=environ)
    await container.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container=container)), base_url="http://testserver"
    )
    yield http, container
    await http.aclose()
    await container.stop()


async def login(http: httpx.AsyncClient, name: str) -> tuple[dict[str, str], str]:
    body = (await http.post("/api/v1/auth/dev-login", json={"username": name})).json()
    return {"Authorization": f"Bearer {body['access_token']}"}, body["user"]["user_id"]


async def test_share_list_transfer_and_audit(team_app) -> None:
    http, container = team_app
    alice, alice_id = await login(http, "alice")
    bob, bob_id = await login(http, "bobby")
    carol, carol_id = await login(http, "carol")
    case_id = (await http.post("/api/v1/cases", json={"title": "shared incident"}, headers=alice)).json()[
        "case"
    ]["case_id"]
    await http.post("/api/v1/cases", json={"title": "bob's own"}, headers=bob)
    shared = await http.post(
        f"/api/v1/cases/{case_id}/share", json={"username": "bobby", "role": "collaborator"}, headers=alice
    )
    assert shared.status_code == 201 and shared.json()["role"] == "collaborator"
    titles = lambda response: sorted(c["title"] for c in response.json())  # noqa: E731
    assert titles(await http.get("/api/v1/cases", headers=bob)) == ["bob's own", "shared incident"]
    assert titles(await http.get("/api/v1/cases?scope=shared", headers=bob)) == ["shared incident"]
    assert titles(await http.get("/api/v1/cases?scope=owned", headers=bob)) == ["bob's own"]
    assert (
        await http.patch(f"/api/v1/cases/{case_id}", json={"status": "investigating"}, headers=bob)
    ).status_code == 200
    refused = await http.delete(f"/api/v1/cases/{case_id}", headers=bob)
    assert refused.status_code == 403 and refused.json()["code"] == "CASE_ROLE_REQUIRED"
    participants = (await http.get(f"/api/v1/cases/{case_id}/participants", headers=bob)).json()
    assert [(p["name"], p["role"], p["is_primary_owner"]) for p in participants] == [
        ("alice", "owner", True),
        ("bobby", "collaborator", False),
    ]
    transferred = await http.post(
        f"/api/v1/cases/{case_id}/transfer", json={"user_id": carol_id}, headers=alice
    )
    assert transferred.json()["owner_id"] == carol_id
    assert (await http.get(f"/api/v1/cases/{case_id}/audit", headers=alice)).status_code == 403
    assert (
        await http.delete(f"/api/v1/cases/{case_id}/share/user:{bob_id}", headers=carol)
    ).status_code == 204
    assert (await http.get(f"/api/v1/cases/{case_id}", headers=bob)).status_code == 404
    audit = (await http.get(f"/api/v1/cases/{case_id}/audit", headers=carol)).json()
    assert [event["action"] for event in audit] == ["share", "status_change", "transfer", "unshare"]
    assert audit[2]["details"] == {"previous_owner": alice_id, "new_owner": carol_id}
    assert (await http.delete(f"/api/v1/cases/{case_id}", headers=carol)).status_code == 204
    async with container.database.read() as session:
        kept = (
            await session.execute(select(AuditEventRow.action).where(AuditEventRow.case_id == case_id))
        ).all()
    assert [row.action for row in kept][-1] == "delete" and len(kept) == 5


async def test_team_members_get_the_team_role(team_app) -> None:
    http, _ = team_app
    alice, _ = await login(http, "alice")
    dave, dave_id = await login(http, "dave1")
    team = (await http.post("/api/v1/teams", json={"name": "sre"}, headers=alice)).json()
    await http.post(
        f"/api/v1/teams/{team['team_id']}/members", json={"user_id": dave_id, "role": "member"}, headers=alice
    )
    case_id = (await http.post("/api/v1/cases", json={"title": "team case"}, headers=alice)).json()["case"][
        "case_id"
    ]
    assert (await http.get(f"/api/v1/cases/{case_id}", headers=dave)).status_code == 404
    await http.post(
        f"/api/v1/cases/{case_id}/share", json={"team_id": team["team_id"], "role": "viewer"}, headers=alice
    )
    assert (await http.get(f"/api/v1/cases/{case_id}", headers=dave)).status_code == 200
    asked = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "x"}, headers=dave)
    assert asked.status_code == 403


async def test_agent_context_names_who_asked_and_tools_stay_in_scope(team_app, fake_llm) -> None:
    http, _ = team_app
    alice, _ = await login(http, "alice")
    bob, _ = await login(http, "bobby")
    private = await http.post(
        "/api/v1/knowledge/documents",
        headers=bob,
        json={
            "title": "Bob's private notes",
            "content": "# secret runbook\nbobs-private-marker pool exhausted fix",
            "document_type": "reference",
        },
    )
    assert private.status_code == 201 and private.json()["scope"] == "personal"
    other_case = (await http.post("/api/v1/cases", json={"title": "bob case"}, headers=bob)).json()["case"][
        "case_id"
    ]
    await http.post(
        f"/api/v1/cases/{other_case}/data", json={"content": "ERROR bobs-evidence-marker pool\n"}, headers=bob
    )
    case_id = (
        await http.post(
            "/api/v1/cases", json={"title": "alice case", "initial_message": "db is slow"}, headers=alice
        )
    ).json()["case"]["case_id"]
    await http.post(
        f"/api/v1/cases/{case_id}/share", json={"username": "bobby", "role": "collaborator"}, headers=alice
    )
    fake_llm.script(structured({"content": "first answer", "response_type": "ANSWER"}))
    await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "bob asks: pool?"}, headers=bob)
    fake_llm.script(
        ToolCall("search_knowledge_base", {"query": "pool exhausted"}),
        ToolCall("search_case_evidence", {"query": "pool"}),
        structured({"content": "second answer", "response_type": "ANSWER"}),
    )
    response = await http.post(
        f"/api/v1/cases/{case_id}/queries", json={"query": "alice asks"}, headers=alice
    )
    assert response.status_code == 201
    prompt = json.dumps(fake_llm.model_requests[1].body["messages"])
    assert "User (alice): db is slow" in prompt and "User (bobby): bob asks: pool?" in prompt
    sent = fake_llm.all_text()
    assert "bobs-private-marker" not in sent and "bobs-evidence-marker" not in sent
    assert all(
        s["metadata"].get("document_id") != private.json()["document_id"] for s in response.json()["sources"]
    )
    hits = (
        await http.post("/api/v1/knowledge/search", json={"query": "bobs-private-marker"}, headers=alice)
    ).json()
    assert hits["total_results"] == 0
