"""Password login: success, failures that do not disclose whether a name exists, lockout, disabled users."""

from __future__ import annotations

import asyncio

from tests.accounts.support import PASSWORD, bearer, make_user, token_app

LOGIN = "/api/v1/auth/login"


def _shape(response) -> tuple[int, str | None, str]:  # type: ignore[no-untyped-def]
    """What a client can tell apart: status, Retry-After presence and code (the detail is generic)."""
    return response.status_code, response.headers.get("retry-after") is not None, response.json()["code"]


async def test_login_returns_the_dev_login_body_and_a_working_token(app_with) -> None:
    http, container = await token_app(app_with)
    await make_user(container, "alice")
    response = await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "session_id", "user", "view_state"}
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert body["view_state"] == {"session_id": body["session_id"], "user": body["user"]}
    assert body["user"]["username"] == "alice" and body["user"]["is_dev_user"] is False
    me = await http.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice" and me.json()["is_admin"] is False
    assert me.json()["roles"] == ["user"] and me.json()["teams"] == []


async def test_wrong_password_and_unknown_name_answer_alike(app_with) -> None:
    http, container = await token_app(app_with)
    await make_user(container, "alice")
    await make_user(container, "tokenonly", password=None)
    answers = [
        await http.post(LOGIN, json={"username": name, "password": password})
        for name, password in [("alice", "wrong password"), ("nobody", PASSWORD), ("tokenonly", PASSWORD)]
    ]
    assert {_shape(response) for response in answers} == {(401, False, "INVALID_CREDENTIALS")}
    assert len({response.json()["detail"] for response in answers}) == 1
    assert (await http.post(LOGIN, json={"username": "alice"})).status_code == 422


async def test_lockout_after_consecutive_failures_for_known_and_unknown_names(app_with) -> None:
    http, container = await token_app(app_with, login_lockout_minutes=15)
    await make_user(container, "alice")
    for name in ("alice", "nobody"):
        shapes = [
            _shape(await http.post(LOGIN, json={"username": name, "password": "wrong password"}))
            for _ in range(4)
        ]
        assert shapes == [(401, False, "INVALID_CREDENTIALS")] * 2 + [(429, True, "LOGIN_LOCKED")] * 2, name
    locked = await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "LOGIN_LOCKED"
    assert 890 <= int(locked.headers["retry-after"]) <= 900
    assert locked.json()["retry_after"] == int(locked.headers["retry-after"])
    assert locked.headers["content-type"].startswith("application/problem+json")


async def test_lockout_lifts_after_the_window_and_success_resets_the_count(app_with) -> None:
    http, container = await token_app(app_with)
    await make_user(container, "alice")
    for _ in range(3):
        await http.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    assert (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).status_code == 429
    await asyncio.sleep(1.3)
    assert (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).status_code == 200
    for _ in range(2):
        await http.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    assert (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).status_code == 200
    again = await http.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    assert again.status_code == 401


async def test_failures_older_than_the_window_are_forgotten(app_with) -> None:
    http, container = await token_app(app_with, login_max_failures=2)
    await make_user(container, "alice")
    assert (await http.post(LOGIN, json={"username": "alice", "password": "nope nope"})).status_code == 401
    await asyncio.sleep(1.3)
    assert (await http.post(LOGIN, json={"username": "alice", "password": "nope nope"})).status_code == 401


async def test_password_reset_lifts_a_lockout(app_with) -> None:
    http, container = await token_app(app_with, login_lockout_minutes=15)
    user, _ = await make_user(container, "alice")
    for _ in range(3):
        await http.post(LOGIN, json={"username": "alice", "password": "wrong password"})
    assert (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).status_code == 429
    await container.account_service.set_password(user.user_id, "a brand new password")
    ok = await http.post(LOGIN, json={"username": "alice", "password": "a brand new password"})
    assert ok.status_code == 200


async def test_disabled_user_cannot_log_in_and_their_tokens_stop_working(app_with) -> None:
    http, container = await token_app(app_with)
    user, headers = await make_user(container, "alice")
    login = (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).json()
    await container.account_service.set_disabled(user.user_id, True)
    refused = await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert refused.status_code == 403 and refused.json()["code"] == "ACCOUNT_DISABLED"
    for token_headers in (headers, bearer(login["access_token"])):
        assert (await http.get("/api/v1/auth/me", headers=token_headers)).status_code == 401
    await container.account_service.set_disabled(user.user_id, False)
    assert (await http.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})).status_code == 200


async def test_login_works_in_local_mode(app_with) -> None:
    http, container = await app_with()
    await make_user(container, "alice")
    response = await http.post(LOGIN, json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 200
    me = await http.get("/api/v1/auth/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["username"] == "alice"
    local = (await http.get("/api/v1/auth/me")).json()
    assert local["username"] == "local" and local["is_admin"] is True
