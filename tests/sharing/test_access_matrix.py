"""The access matrix: every route of the API (walked from the app, so a new route is covered or the test
fails) by every kind of caller, in token mode, with the expected status for each cell.

Callers: owner, collaborator, viewer, team member (the team has collaborator), stranger, admin (a site
admin who does not take part in the case: cases are private to their participants), anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from faultmaven.container import Container
from faultmaven.main import create_app
from faultmaven.models.sharing import CaseRole

ROLES = ["owner", "collaborator", "viewer", "team_member", "stranger", "admin", "anonymous"]
PARTICIPANT_ROLE = {
    "owner": CaseRole.OWNER,
    "collaborator": CaseRole.COLLABORATOR,
    "viewer": CaseRole.VIEWER,
    "team_member": CaseRole.COLLABORATOR,
}
V, C, OWN = CaseRole.VIEWER, CaseRole.COLLABORATOR, CaseRole.OWNER

CASE_ROUTES: dict[tuple[str, str], CaseRole] = {
    ("GET", "/api/v1/cases/{case_id}"): V,
    ("PUT", "/api/v1/cases/{case_id}"): C,
    ("PATCH", "/api/v1/cases/{case_id}"): C,
    ("DELETE", "/api/v1/cases/{case_id}"): OWN,
    ("POST", "/api/v1/cases/{case_id}/title"): C,
    ("GET", "/api/v1/cases/{case_id}/messages"): V,
    ("GET", "/api/v1/cases/{case_id}/report"): V,
    ("POST", "/api/v1/cases/{case_id}/queries"): C,
    ("GET", "/api/v1/cases/{case_id}/queries"): V,
    ("GET", "/api/v1/cases/{case_id}/queries/{query_id}"): V,
    ("DELETE", "/api/v1/cases/{case_id}/queries/{query_id}"): C,
    ("GET", "/api/v1/cases/{case_id}/queries/{query_id}/events"): V,
    ("POST", "/api/v1/cases/{case_id}/data"): C,
    ("GET", "/api/v1/cases/{case_id}/data"): V,
    ("GET", "/api/v1/cases/{case_id}/data/{data_id}"): V,
    ("GET", "/api/v1/cases/{case_id}/data/{data_id}/lines"): V,
    ("DELETE", "/api/v1/cases/{case_id}/data/{data_id}"): C,
    ("POST", "/api/v1/cases/{case_id}/share"): OWN,
    ("GET", "/api/v1/cases/{case_id}/participants"): V,
    ("DELETE", "/api/v1/cases/{case_id}/share/{principal_ref}"): OWN,
    ("POST", "/api/v1/cases/{case_id}/transfer"): OWN,
    ("GET", "/api/v1/cases/{case_id}/audit"): OWN,
    ("POST", "/api/v1/agent/cases/{case_id}/query"): C,
}
PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/health/ready"),
    ("GET", "/health/detailed"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/dev-login"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/auth/methods"),
}
ADMIN_ROUTES = {
    ("GET", "/api/v1/metrics/case-agent"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("PATCH", "/api/v1/users/{user_id}"),
}
BODIES: dict[tuple[str, str], dict] = {
    ("PUT", "/api/v1/cases/{case_id}"): {"title": "renamed"},
    ("PATCH", "/api/v1/cases/{case_id}"): {"priority": "high"},
    ("POST", "/api/v1/cases/{case_id}/title"): {},
    ("POST", "/api/v1/cases/{case_id}/queries"): {"query": "what failed?"},
    ("POST", "/api/v1/cases/{case_id}/data"): {"content": "ERROR boom\n", "filename": "x.log"},
    ("POST", "/api/v1/cases/{case_id}/share"): {"username": "outsider", "role": "viewer"},
    ("POST", "/api/v1/cases/{case_id}/transfer"): {"username": "outsider"},
    ("POST", "/api/v1/agent/cases/{case_id}/query"): {"query": "legacy"},
    ("POST", "/api/v1/users"): {"username": "made-by-matrix"},
    ("PATCH", "/api/v1/users/{user_id}"): {"disabled": False},
}


@dataclass
class World:
    http: httpx.AsyncClient
    tokens: dict[str, dict[str, str]]
    user_ids: dict[str, str]


async def _login(http: httpx.AsyncClient, username: str) -> tuple[dict[str, str], str]:
    body = (await http.post("/api/v1/auth/dev-login", json={"username": username})).json()
    return {"Authorization": f"Bearer {body['access_token']}"}, body["user"]["user_id"]


@pytest.fixture
async def world(make_settings) -> World:
    container = Container(
        make_settings(auth_mode="token", dev_login=True, rate_limit_enabled=False, kb_load_starter=False)
    )
    await container.start()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(container=container)), base_url="http://testserver"
    )
    tokens, user_ids = {"anonymous": {}}, {}
    for role in [*ROLES[:-1], "outsider"]:
        tokens[role], user_ids[role] = await _login(
            http, f"user-{role}" if role != "outsider" else "outsider"
        )
    await _make_admin(container, user_ids["admin"])
    yield World(http, tokens, user_ids)
    await http.aclose()
    await container.stop()


async def _make_admin(container: Container, user_id: str) -> None:
    from sqlalchemy import update

    from faultmaven.infrastructure.persistence.tables import UserRow

    async with container.database.write() as session:
        await session.execute(update(UserRow).where(UserRow.user_id == user_id).values(is_admin=True))


async def shared_case(world: World) -> dict[str, str]:
    """A case of `owner`, shared with collaborator, viewer and a team; with a query and evidence."""
    http, owner = world.http, world.tokens["owner"]
    case_id = (
        await http.post(
            "/api/v1/cases", json={"title": "payments down", "initial_message": "502s"}, headers=owner
        )
    ).json()["case"]["case_id"]
    for role in ("collaborator", "viewer"):
        shared = await http.post(
            f"/api/v1/cases/{case_id}/share",
            headers=owner,
            json={"user_id": world.user_ids[role], "role": role},
        )
        assert shared.status_code == 201, shared.text
    team = await http.post(
        "/api/v1/teams", json={"name": f"sre-{case_id[-6:]}"}, headers=world.tokens["team_member"]
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["team_id"]
    assert (
        await http.post(
            f"/api/v1/cases/{case_id}/share", headers=owner, json={"team_id": team_id, "role": "collaborator"}
        )
    ).status_code == 201
    query = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why?"}, headers=owner)
    data = await http.post(f"/api/v1/cases/{case_id}/data", json={"content": "ERROR a\n"}, headers=owner)
    return {
        "case_id": case_id,
        "query_id": query.json()["query_id"],
        "data_id": data.json()["data_id"],
        "principal_ref": f"user:{world.user_ids['viewer']}",
    }


def api_routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its OpenAPI document (routers are nested objects)."""
    paths = create_app(container=Container()).openapi()["paths"]
    return sorted((method.upper(), path) for path, operations in paths.items() for method in operations)


def expected_case_status(role: str, method: str, path: str, needed: CaseRole) -> Callable[[int], bool]:
    if role == "anonymous":
        return lambda status: status == 401
    held = PARTICIPANT_ROLE.get(role)
    if held is None:
        if method == "DELETE" and path == "/api/v1/cases/{case_id}":
            return lambda status: status == 204
        return lambda status: status == 404
    self_removal = path.endswith("/share/{principal_ref}") and role == "viewer"
    if held.allows(needed) or self_removal:
        return lambda status: status not in (401, 403, 404) and status < 500
    return lambda status: status == 403


def test_every_case_route_is_classified() -> None:
    case_routes = {route for route in api_routes() if "{case_id}" in route[1]}
    assert case_routes == set(CASE_ROUTES), "classify new case routes in CASE_ROUTES"


@pytest.mark.parametrize(("method", "path"), sorted(CASE_ROUTES))
async def test_case_route_matrix(world: World, method: str, path: str) -> None:
    failures = []
    for role in ROLES:
        ids = await shared_case(world)
        url = path.format(**ids)
        body = BODIES.get((method, path))
        response = await world.http.request(method, url, json=body, headers=world.tokens[role])
        if not expected_case_status(role, method, path, CASE_ROUTES[(method, path)])(response.status_code):
            failures.append(f"{role}: {response.status_code} {response.text[:120]}")
        if response.status_code in (403, 404):
            assert "payments down" not in response.text and "502s" not in response.text
    assert not failures, f"{method} {path}\n" + "\n".join(failures)


@pytest.mark.parametrize(("method", "path"), [r for r in api_routes() if "{case_id}" not in r[1]])
async def test_other_route_matrix(world: World, method: str, path: str) -> None:
    url = path.format(
        session_id="sess_x", document_id="kb_x", team_id="team_x", user_id="user_x", token_id="tok_x"
    )
    for role in ("anonymous", "stranger", "admin"):
        body = BODIES.get((method, path), {} if method in ("POST", "PUT", "PATCH") else None)
        response = await world.http.request(method, url, json=body, headers=world.tokens[role])
        status = response.status_code
        assert status < 500, (role, method, path, response.text)
        if (method, path) in PUBLIC_ROUTES or path.startswith(("/docs", "/redoc", "/openapi")):
            assert status != 401, (role, method, path)
        elif role == "anonymous":
            assert status == 401, (role, method, path, status)
        elif (method, path) in ADMIN_ROUTES:
            assert (status == 403) == (role != "admin"), (role, method, path, status)
        else:
            assert status not in (401, 403), (role, method, path, status, response.text)


KNOWLEDGE_CASE_ROUTES: dict[tuple[str, str], CaseRole] = {
    ("POST", "/api/v1/knowledge/documents"): C,
    ("GET", "/api/v1/knowledge/documents/{document_id}"): V,
    ("PUT", "/api/v1/knowledge/documents/{document_id}"): C,
    ("DELETE", "/api/v1/knowledge/documents/{document_id}"): C,
}


async def case_document(world: World, case_id: str) -> str:
    created = await world.http.post(
        "/api/v1/knowledge/documents",
        headers=world.tokens["owner"],
        json={"title": "Case notes", "content": "# Notes\n\nrestart the pool", "case_id": case_id},
    )
    assert created.status_code == 201, created.text
    return created.json()["document_id"]


@pytest.mark.parametrize(("method", "path"), sorted(KNOWLEDGE_CASE_ROUTES))
async def test_case_knowledge_matrix(world: World, method: str, path: str) -> None:
    """Case documents (the case report among them) are written like evidence: collaborators and owners;
    viewers read them; anyone else learns nothing of them."""
    failures = []
    for role in ROLES:
        ids = await shared_case(world)
        document_id = await case_document(world, ids["case_id"])
        url = path.format(document_id=document_id)
        body = {"title": "Changed", "content": "# Changed\n\nnew text", "case_id": ids["case_id"]}
        response = await world.http.request(
            method, url, json=body if method in ("POST", "PUT") else None, headers=world.tokens[role]
        )
        needed = KNOWLEDGE_CASE_ROUTES[(method, path)]
        if not expected_case_status(role, method, path, needed)(response.status_code):
            failures.append(f"{role}: {response.status_code} {response.text[:120]}")
        if response.status_code in (403, 404):
            after = await world.http.get(
                f"/api/v1/knowledge/documents/{document_id}", headers=world.tokens["owner"]
            )
            assert after.json()["title"] == "Case notes", role
    assert not failures, f"{method} {path}\n" + "\n".join(failures)
