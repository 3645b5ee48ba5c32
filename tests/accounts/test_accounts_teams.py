"""Teams: lifecycle, who may see and change them, and the membership lookup for access control."""

from __future__ import annotations

from tests.accounts.support import make_user, token_app

TEAMS = "/api/v1/teams"


async def _team(http, headers, name: str = "sre") -> str:  # type: ignore[no-untyped-def]
    created = await http.post(TEAMS, json={"name": name}, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()["team_id"]


async def test_team_lifecycle(app_with) -> None:
    http, container = await token_app(app_with)
    alice, alice_h = await make_user(container, "alice")
    bob, bob_h = await make_user(container, "bob")
    created = await http.post(TEAMS, json={"name": "  sre  "}, headers=alice_h)
    assert created.status_code == 201 and created.json()["name"] == "sre"
    team_id = created.json()["team_id"]
    assert created.headers["location"] == f"{TEAMS}/{team_id}"
    assert [(m["username"], m["role"]) for m in created.json()["members"]] == [("alice", "admin")]
    duplicate = await http.post(TEAMS, json={"name": "sre"}, headers=bob_h)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "TEAM_EXISTS"
    added = await http.post(f"{TEAMS}/{team_id}/members", json={"username": "bob"}, headers=alice_h)
    assert added.status_code == 201 and added.json()["role"] == "member"
    detail = (await http.get(f"{TEAMS}/{team_id}", headers=bob_h)).json()
    assert [(m["username"], m["role"]) for m in detail["members"]] == [("alice", "admin"), ("bob", "member")]
    assert [(t["name"], t["role"]) for t in (await http.get(TEAMS, headers=bob_h)).json()] == [
        ("sre", "member")
    ]
    me = (await http.get("/api/v1/auth/me", headers=bob_h)).json()
    assert me["teams"] == [{"team_id": team_id, "name": "sre", "role": "member"}]
    assert await container.team_service.team_ids_of(bob.user_id) == [team_id]
    role = await http.post(
        f"{TEAMS}/{team_id}/members", json={"user_id": bob.user_id, "role": "admin"}, headers=alice_h
    )
    assert role.status_code == 200 and role.json()["role"] == "admin"
    assert (
        await http.delete(f"{TEAMS}/{team_id}/members/{alice.user_id}", headers=alice_h)
    ).status_code == 204
    assert (await http.get(f"{TEAMS}/{team_id}", headers=alice_h)).status_code == 404
    assert (await http.delete(f"{TEAMS}/{team_id}", headers=bob_h)).status_code == 204
    assert (await http.get(f"{TEAMS}/{team_id}", headers=bob_h)).status_code == 404
    assert await container.team_service.team_ids_of(bob.user_id) == []


async def test_non_members_see_nothing_and_members_change_nothing(app_with) -> None:
    http, container = await token_app(app_with)
    _, alice_h = await make_user(container, "alice")
    bob, bob_h = await make_user(container, "bob")
    carol, carol_h = await make_user(container, "carol")
    team_id = await _team(http, alice_h)
    for method, path, body in [
        ("GET", f"{TEAMS}/{team_id}", None),
        ("POST", f"{TEAMS}/{team_id}/members", {"username": "carol"}),
        ("DELETE", f"{TEAMS}/{team_id}", None),
        ("DELETE", f"{TEAMS}/{team_id}/members/{bob.user_id}", None),
    ]:
        response = await http.request(method, path, json=body, headers=carol_h)
        assert response.status_code == 404 and response.json()["code"] == "TEAM_NOT_FOUND", (method, path)
    assert (await http.get(TEAMS, headers=carol_h)).json() == []
    await http.post(f"{TEAMS}/{team_id}/members", json={"username": "bob"}, headers=alice_h)
    await http.post(f"{TEAMS}/{team_id}/members", json={"username": "carol"}, headers=alice_h)
    for method, path, body in [
        ("POST", f"{TEAMS}/{team_id}/members", {"username": "alice"}),
        ("DELETE", f"{TEAMS}/{team_id}", None),
        ("DELETE", f"{TEAMS}/{team_id}/members/{carol.user_id}", None),
    ]:
        response = await http.request(method, path, json=body, headers=bob_h)
        assert response.status_code == 403 and response.json()["code"] == "TEAM_ADMIN_REQUIRED", (
            method,
            path,
        )
    assert (await http.delete(f"{TEAMS}/{team_id}/members/{bob.user_id}", headers=bob_h)).status_code == 204
    assert await container.team_service.team_ids_of(bob.user_id) == []


async def test_a_team_keeps_its_last_admin(app_with) -> None:
    http, container = await token_app(app_with)
    alice, alice_h = await make_user(container, "alice")
    _, root_h = await make_user(container, "root", admin=True)
    team_id = await _team(http, alice_h)
    leave = await http.delete(f"{TEAMS}/{team_id}/members/{alice.user_id}", headers=alice_h)
    assert leave.status_code == 409 and leave.json()["code"] == "LAST_TEAM_ADMIN"
    demote = await http.post(
        f"{TEAMS}/{team_id}/members", json={"user_id": alice.user_id, "role": "member"}, headers=root_h
    )
    assert demote.status_code == 409 and demote.json()["code"] == "LAST_TEAM_ADMIN"
    removed = await http.delete(f"{TEAMS}/{team_id}/members/{alice.user_id}", headers=root_h)
    assert removed.status_code == 409


async def test_site_admins_see_and_manage_every_team(app_with) -> None:
    http, container = await token_app(app_with)
    _, alice_h = await make_user(container, "alice")
    bob, _ = await make_user(container, "bob")
    _, root_h = await make_user(container, "root", admin=True)
    team_id = await _team(http, alice_h)
    assert [(t["team_id"], t["role"]) for t in (await http.get(TEAMS, headers=root_h)).json()] == [
        (team_id, None)
    ]
    assert (await http.get(f"{TEAMS}/{team_id}", headers=root_h)).status_code == 200
    added = await http.post(f"{TEAMS}/{team_id}/members", json={"user_id": bob.user_id}, headers=root_h)
    assert added.status_code == 201
    assert (await http.delete(f"{TEAMS}/{team_id}/members/{bob.user_id}", headers=root_h)).status_code == 204
    assert (await http.delete(f"{TEAMS}/{team_id}", headers=root_h)).status_code == 204


async def test_bad_member_requests(app_with) -> None:
    http, container = await token_app(app_with)
    _, alice_h = await make_user(container, "alice")
    team_id = await _team(http, alice_h)
    members = f"{TEAMS}/{team_id}/members"
    for body in ({}, {"user_id": "u", "username": "alice"}, {"username": "alice", "role": "owner"}):
        assert (await http.post(members, json=body, headers=alice_h)).status_code == 422, body
    unknown = await http.post(members, json={"username": "ghost"}, headers=alice_h)
    assert unknown.status_code == 404 and unknown.json()["code"] == "USER_NOT_FOUND"
    missing = await http.delete(f"{members}/user_ghost", headers=alice_h)
    assert missing.status_code == 404 and missing.json()["code"] == "MEMBER_NOT_FOUND"
    assert (await http.post(TEAMS, json={"name": "   "}, headers=alice_h)).status_code == 422
    assert (await http.get(f"{TEAMS}/team_nope", headers=alice_h)).status_code == 404


async def test_teams_work_for_the_local_user(app_with) -> None:
    http, _ = await app_with()
    team_id = await _team(http, {})
    assert [t["team_id"] for t in (await http.get("/api/v1/auth/me")).json()["teams"]] == [team_id]
