"""The admin role and the user-administration routes."""

from __future__ import annotations

from tests.accounts.support import PASSWORD, bearer, make_user, token_app

USERS = "/api/v1/users"


async def test_user_routes_need_the_admin_role(app_with) -> None:
    http, container = await token_app(app_with)
    user, headers = await make_user(container, "alice")
    attempts = [
        ("GET", USERS, None),
        ("POST", USERS, {"username": "mallory"}),
        ("PATCH", f"{USERS}/{user.user_id}", {"is_admin": True}),
    ]
    for method, path, body in attempts:
        response = await http.request(method, path, json=body, headers=headers)
        assert response.status_code == 403 and response.json()["code"] == "ADMIN_REQUIRED", (method, path)
    assert (await http.get(USERS)).status_code == 401


async def test_admin_creates_lists_and_updates_users(app_with) -> None:
    http, container = await token_app(app_with)
    _, admin = await make_user(container, "root", admin=True)
    created = await http.post(
        USERS,
        json={"username": "bob", "password": PASSWORD, "email": "bob@example.com", "display_name": "Bob"},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    bob = created.json()
    assert bob["has_password"] is True and bob["is_admin"] is False and bob["disabled"] is False
    assert created.headers["location"] == f"{USERS}/{bob['user_id']}"
    duplicate = await http.post(USERS, json={"username": "bob"}, headers=admin)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "USER_EXISTS"
    assert (await http.post(USERS, json={"username": "b"}, headers=admin)).status_code == 422
    weak = await http.post(USERS, json={"username": "carol", "password": "short"}, headers=admin)
    assert weak.status_code == 422
    listed = await http.get(USERS, headers=admin)
    assert [u["username"] for u in listed.json()] == ["bob", "root"] and listed.headers[
        "x-total-count"
    ] == "2"
    login = await http.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
    bob_headers = bearer(login.json()["access_token"])
    promoted = await http.patch(f"{USERS}/{bob['user_id']}", json={"is_admin": True}, headers=admin)
    assert promoted.json()["is_admin"] is True and promoted.json()["roles"] == ["admin", "user"]
    assert (await http.get(USERS, headers=bob_headers)).status_code == 200
    changed = await http.patch(
        f"{USERS}/{bob['user_id']}", json={"password": "another password"}, headers=admin
    )
    assert changed.status_code == 200
    relogin = await http.post("/api/v1/auth/login", json={"username": "bob", "password": "another password"})
    assert relogin.status_code == 200
    disabled = await http.patch(f"{USERS}/{bob['user_id']}", json={"disabled": True}, headers=admin)
    assert disabled.json()["disabled"] is True
    assert (await http.get("/api/v1/auth/me", headers=bob_headers)).status_code == 401
    assert (await http.patch(f"{USERS}/user_nope", json={"disabled": True}, headers=admin)).status_code == 404


async def test_admins_cannot_disable_or_demote_themselves(app_with) -> None:
    http, container = await token_app(app_with)
    root, admin = await make_user(container, "root", admin=True)
    for change in ({"disabled": True}, {"is_admin": False}):
        response = await http.patch(f"{USERS}/{root.user_id}", json=change, headers=admin)
        assert response.status_code == 409 and response.json()["code"] == "CANNOT_CHANGE_SELF"
    assert (await http.get("/api/v1/auth/me", headers=admin)).json()["is_admin"] is True


async def test_the_local_user_is_an_admin(app_with) -> None:
    http, _ = await app_with()
    me = (await http.get("/api/v1/auth/me")).json()
    assert me["is_admin"] is True and me["roles"] == ["admin", "user"]
    assert (await http.post(USERS, json={"username": "bob"})).status_code == 201
    assert [u["username"] for u in (await http.get(USERS)).json()] == ["bob", "local"]
