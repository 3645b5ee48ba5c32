"""Personal access tokens: shown once, listed without secrets, revoked or expired on the next request."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from faultmaven.infrastructure.persistence.tables import ApiTokenRow
from faultmaven.models.case import utcnow
from tests.accounts.support import bearer, make_user, token_app

TOKENS = "/api/v1/auth/tokens"


async def test_create_list_and_revoke_a_token(app_with) -> None:
    http, container = await token_app(app_with)
    _, headers = await make_user(container, "alice")
    created = await http.post(TOKENS, json={"name": "ci", "expires_in_days": 7}, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"token_id", "name", "token", "created_at", "expires_at"}
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"])
    assert body["name"] == "ci" and body["token"].startswith("fm_") and lifetime == timedelta(days=7)
    pat = bearer(body["token"])
    assert (await http.get("/api/v1/auth/me", headers=pat)).json()["username"] == "alice"
    listed = await http.get(TOKENS, headers=pat)
    assert listed.status_code == 200
    assert body["token_id"] in [token["token_id"] for token in listed.json()]
    assert body["token"] not in listed.text and all("token" not in token for token in listed.json())
    assert (await http.delete(f"{TOKENS}/{body['token_id']}", headers=headers)).status_code == 204
    assert (await http.get("/api/v1/auth/me", headers=pat)).status_code == 401
    assert body["token_id"] not in (await http.get(TOKENS, headers=headers)).text
    assert (await http.delete(f"{TOKENS}/{body['token_id']}", headers=headers)).status_code == 204


async def test_default_lifetime_and_bounds(app_with) -> None:
    http, container = await token_app(app_with, token_ttl_hours=48)
    _, headers = await make_user(container, "alice")
    body = (await http.post(TOKENS, json={"name": "default"}, headers=headers)).json()
    lifetime = datetime.fromisoformat(body["expires_at"]) - datetime.fromisoformat(body["created_at"])
    assert lifetime == timedelta(hours=48)
    for bad in ({"name": "x", "expires_in_days": 0}, {"name": "x", "expires_in_days": 366}, {"name": ""}, {}):
        response = await http.post(TOKENS, json=bad, headers=headers)
        assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR", bad


async def test_tokens_are_private_to_their_owner(app_with) -> None:
    http, container = await token_app(app_with)
    _, alice = await make_user(container, "alice")
    _, bob = await make_user(container, "bob")
    token_id = (await http.post(TOKENS, json={"name": "mine"}, headers=alice)).json()["token_id"]
    assert token_id not in (await http.get(TOKENS, headers=bob)).text
    missing = await http.delete(f"{TOKENS}/{token_id}", headers=bob)
    assert missing.status_code == 404 and missing.json()["code"] == "TOKEN_NOT_FOUND"
    assert token_id in (await http.get(TOKENS, headers=alice)).text
    assert (await http.post(TOKENS, json={"name": "x"})).status_code == 401


async def test_expired_token_stops_working_on_the_next_request(app_with) -> None:
    http, container = await token_app(app_with)
    user, headers = await make_user(container, "alice")
    issued = await container.auth_service.create_token(user.user_id, "short")
    assert (await http.get("/api/v1/auth/me", headers=bearer(issued.token))).status_code == 200
    async with container.database.write() as session:
        await session.execute(
            update(ApiTokenRow).where(ApiTokenRow.token_id == issued.token_id).values(expires_at=utcnow())
        )
    expired = await http.get("/api/v1/auth/me", headers=bearer(issued.token))
    assert expired.status_code == 401 and expired.json()["code"] == "INVALID_TOKEN"
    assert issued.token_id not in (await http.get(TOKENS, headers=headers)).text


async def test_tokens_in_local_mode_belong_to_the_local_user(app_with) -> None:
    http, _ = await app_with()
    body = (await http.post(TOKENS, json={"name": "script"})).json()
    me = await http.get("/api/v1/auth/me", headers=bearer(body["token"]))
    assert me.json()["username"] == "local"
    assert body["token_id"] in (await http.get(TOKENS)).text
