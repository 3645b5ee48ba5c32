"""Who may read and write what: global, personal and case documents, through routes and the tool."""

from __future__ import annotations

from faultmaven.models.interfaces import ToolContext
from faultmaven.tools.knowledge_search import KnowledgeSearchArgs, KnowledgeSearchTool
from tests.knowledge.kb_support import create_document, search, user_client

DOCS = "/api/v1/knowledge/documents"
SECRET = "# Zanzibar failover\n\n## Steps\n\nPromote the zanzibar replica in rack seven.\n"


async def found_ids(http, query: str) -> list[str]:
    return [result["document_id"] for result in (await search(http, query, limit=50))["results"]]


async def _three_users(app_with):
    app, container = await app_with(auth_mode="token")
    admin, _ = await user_client(app, container, "admin", admin=True)
    alice, alice_user = await user_client(app, container, "alice")
    bob, _ = await user_client(app, container, "bob")
    return container, admin, alice, bob, alice_user


async def test_personal_documents_stay_with_their_owner(app_with) -> None:
    container, admin, alice, bob, alice_user = await _three_users(app_with)
    private = await create_document(alice, title="Zanzibar failover", content=SECRET)
    assert private["scope"] == "personal" and private["owner_id"] == alice_user.user_id
    location = f"{DOCS}/{private['document_id']}"
    assert (await alice.get(location)).status_code == 200
    for outsider in (bob, admin):
        assert (await outsider.get(location)).status_code == 404
        assert (await outsider.put(location, json={"title": "mine now"})).status_code == 404
        assert (await outsider.delete(location)).status_code == 404
        assert private["document_id"] not in await found_ids(outsider, "zanzibar replica rack")
        listed = (await outsider.get(DOCS, params={"limit": 100})).json()["documents"]
        assert private["document_id"] not in {d["document_id"] for d in listed}
    assert (await found_ids(alice, "zanzibar replica rack"))[0] == private["document_id"]
    tool = KnowledgeSearchTool(container.knowledge_service)
    args = KnowledgeSearchArgs(query="zanzibar replica")
    as_bob = await tool.execute(ToolContext(case_id=None, user_id="nobody"), args)
    assert private["document_id"] not in {source.metadata["document_id"] for source in as_bob.sources}
    assert "rack seven" not in as_bob.text
    as_alice = await tool.execute(ToolContext(case_id=None, user_id=alice_user.user_id), args)
    assert as_alice.sources[0].metadata["document_id"] == private["document_id"]


async def test_only_admins_write_global_documents(app_with) -> None:
    _, admin, alice, bob, _ = await _three_users(app_with)
    shared = await create_document(admin, title="Shared", content="# Shared\n\nquasar beacon procedure")
    assert shared["scope"] == "global" and shared["owner_id"] is None
    own = await create_document(admin, title="Admin notes", content="# n\n\nquasar notes", scope="personal")
    assert own["scope"] == "personal"
    refused = await alice.post(DOCS, json={"title": "t", "content": "c", "scope": "global"})
    assert refused.status_code == 403 and refused.json()["code"] == "ADMIN_REQUIRED"
    location = f"{DOCS}/{shared['document_id']}"
    assert (await bob.get(location)).status_code == 200
    assert (await bob.put(location, json={"title": "defaced"})).status_code == 403
    assert (await bob.delete(location)).status_code == 403
    assert (await found_ids(bob, "quasar beacon"))[0] == shared["document_id"]
    assert (await admin.put(location, json={"status": "archived"})).json()["status"] == "archived"
    assert shared["document_id"] not in await found_ids(bob, "quasar beacon")


async def test_case_documents_follow_the_case_owner(app_with) -> None:
    container, _, alice, bob, alice_user = await _three_users(app_with)
    case_id = (await alice.post("/api/v1/cases", json={"title": "Billing outage"})).json()["case"]["case_id"]
    report = await create_document(
        alice,
        title="Billing outage report",
        content="# Report\n\nThe nebula cache was cold.",
        document_type="previous_case",
        case_id=case_id,
    )
    assert report["scope"] == "case" and report["case_id"] == case_id
    assert (await bob.post(DOCS, json={"title": "x", "content": "y", "case_id": case_id})).status_code == 404
    assert (await bob.get(f"{DOCS}/{report['document_id']}")).status_code == 404
    assert report["document_id"] not in await found_ids(bob, "nebula cache")
    assert (await found_ids(alice, "nebula cache"))[0] == report["document_id"]
    tool = KnowledgeSearchTool(container.knowledge_service)
    result = await tool.execute(
        ToolContext(case_id=case_id, user_id=alice_user.user_id), KnowledgeSearchArgs(query="nebula cache")
    )
    assert result.sources[0].type == "previous_case"
    assert (await alice.delete(f"/api/v1/cases/{case_id}")).status_code == 204
    assert (await alice.get(f"{DOCS}/{report['document_id']}")).status_code == 404
