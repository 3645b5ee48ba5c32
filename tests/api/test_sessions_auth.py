"""Sessions, dev login and token mode, including isolation between users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from faultmaven.container import Container
from faultmaven.main import create_app


async def test_session_lifecycle(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/sessions", json={"client_id": "ext-1", "timeout_minutes": 60})
    assert created.status_code == 201
    session = created.json()
    assert session["schema_version"] == "3.1.0" and session["status"] == "active"
    assert session["session_resumed"] is False
    assert created.headers["location"] == f"/api/v1/sessions/{session['session_id']}"
    resumed = await client.post("/api/v1/sessions", json={"client_id": "ext-1"})
    assert resumed.status_code == 200
    assert resumed.json()["session_id"] == session["session_id"] and resumed.json()["session_resumed"] is True
    url = f"/api/v1/sessions/{session['session_id']}"
    assert (await client.get(url)).json()["session_id"] == session["session_id"]
    assert (await client.post(f"{url}/heartbeat")).status_code == 200
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 410
    assert (await client.get("/api/v1/sessions/sess_unknown")).status_code == 404


async def test_session_timeout_bounds(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/sessions", json={"timeout_minutes": 59})).status_code == 422
    assert (await client.post("/api/v1/sessions", json={"timeout_minutes": 481})).status_code == 422


async def test_case_outlives_its_session(client: httpx.AsyncClient) -> None:
    session = (await client.post("/api/v1/sessions", json={})).json()
    case = (await client.post("/api/v1/cases", json={"session_id": session["session_id"]})).json()["case"]
    await client.delete(f"/api/v1/sessions/{session['session_id']}")
    assert (await client.get(f"/api/v1/cases/{case['case_id']}")).status_code == 200


async def test_dev_login_in_local_mode(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/dev-login", json={"username": "alice", "email": "a@example.com"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["session_id"] and body["view_state"]["session_id"] == body["session_id"]
    assert body["user"]["username"] == "alice" and body["user"]["is_dev_user"] is True
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "alice"
    assert (await client.get("/api/v1/auth/me")).json()["username"] == "local"
    assert (await client.post("/api/v1/auth/dev-login", json={"username": "al"})).status_code == 422


@pytest.fixture
async def token_app(make_settings) -> AsyncIterator[tuple[httpx.AsyncClient, Container]]:
    container = Container(make_settings(auth_mode="token", dev_login=True))
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http, container
    await container.stop()


async def _login(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    token = (await http.post("/api/v1/auth/dev-login", json={"username": username})).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def test_token_mode_requires_a_bearer_token(token_app) -> None:
    http, _ = token_app
    response = await http.get("/api/v1/cases")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "AUTHENTICATION_REQUIRED"
    assert (await http.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})).status_code == 401
    assert (await http.get("/health")).status_code == 200
    assert (await http.get("/openapi.json")).status_code == 200


async def test_logout_revokes_the_token(token_app) -> None:
    http, _ = token_app
    headers = await _login(http, "carol")
    assert (await http.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await http.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await http.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_dev_login_disabled_in_token_mode_by_default(make_settings) -> None:
    container = Container(make_settings(auth_mode="token"))
    transport = httpx.ASGITransport(app=create_app(container=container))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/api/v1/auth/dev-login", json={"username": "mallory"})
    await container.stop()
    assert response.status_code == 404
    assert response.json()["code"] == "DEV_LOGIN_DISABLED"


async def test_cli_style_user_token_works(token_app) -> None:
    http, container = token_app
    user = await container.auth_service.create_user("ops", admin=True)
    token = await container.auth_service.issue_token(user.user_id)
    me = await http.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["roles"] == ["admin", "user"]


async def test_user_b_gets_404_on_every_route_for_user_a_case(token_app) -> None:
    http, _ = token_app
    alice, bob = await _login(http, "alice"), await _login(http, "bob")
    case = (
        await http.post(
            "/api/v1/cases",
            json={"title": "alice's", "initial_message": "db errors on node 3"},
            headers=alice,
        )
    ).json()["case"]
    url = f"/api/v1/cases/{case['case_id']}"
    attempts = [
        ("GET", url, None),
        ("PUT", url, {"title": "x"}),
        ("PATCH", url, {"status": "closed"}),
        ("GET", f"{url}/messages", None),
        ("POST", f"{url}/title", {}),
        ("POST", f"{url}/queries", {"query": "what failed?"}),
        ("GET", f"{url}/queries", None),
        ("GET", f"{url}/queries/q_1", None),
    ]
    for method, path, body in attempts:
        response = await http.request(method, path, json=body, headers=bob)
        assert response.status_code == 404, (method, path, response.status_code)
        assert "alice" not in response.text
    assert (await http.delete(url, headers=bob)).status_code == 204
    assert (await http.get("/api/v1/cases", headers=bob)).json() == []
    after = await http.get(url, headers=alice)
    assert after.status_code == 200 and after.json()["title"] == "alice's"
    assert after.json()["message_count"] == 1
