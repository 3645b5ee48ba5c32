"""Revocation, expiry and disabling take effect on the very next request in another server process:
every request checks its token in the shared database (SQLite file, and PostgreSQL when given)."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import update

from faultmaven.container import Container
from faultmaven.infrastructure.persistence.tables import ApiTokenRow
from faultmaven.models.case import utcnow
from tests.accounts.support import PASSWORD, bearer
from tests.integration.server_process import running_server

ME = "/api/v1/auth/me"


async def test_revocation_expiry_and_disabling_reach_every_process(database_url: str, make_settings) -> None:
    env = {"FAULTMAVEN_DATABASE_URL": database_url, "FAULTMAVEN_AUTH_MODE": "token"}
    with running_server(env) as url_a, running_server(env) as url_b:
        container = Container(make_settings(auth_mode="token", migrate_on_start=False))
        try:
            root = await container.account_service.create_account("root", password=PASSWORD, admin=True)
            await container.account_service.create_account("bob", password=PASSWORD)
            async with AsyncClient(base_url=url_a) as a, AsyncClient(base_url=url_b) as b:
                admin = bearer(
                    (
                        await a.post("/api/v1/auth/login", json={"username": "root", "password": PASSWORD})
                    ).json()["access_token"]
                )
                created = (await a.post("/api/v1/auth/tokens", json={"name": "pat"}, headers=admin)).json()
                pat = bearer(created["token"])
                assert (await b.get(ME, headers=pat)).status_code == 200
                assert (
                    await a.delete(f"/api/v1/auth/tokens/{created['token_id']}", headers=admin)
                ).status_code == 204
                assert (await b.get(ME, headers=pat)).status_code == 401

                short = await container.auth_service.create_token(root.user_id, "short")
                assert (await b.get(ME, headers=bearer(short.token))).status_code == 200
                async with container.database.write() as session:
                    await session.execute(
                        update(ApiTokenRow)
                        .where(ApiTokenRow.token_id == short.token_id)
                        .values(expires_at=utcnow())
                    )
                assert (await b.get(ME, headers=bearer(short.token))).status_code == 401

                login = await b.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
                bob = login.json()
                assert (await a.get(ME, headers=bearer(bob["access_token"]))).status_code == 200
                disabled = await a.patch(
                    f"/api/v1/users/{bob['user']['user_id']}", json={"disabled": True}, headers=admin
                )
                assert disabled.status_code == 200
                assert (await b.get(ME, headers=bearer(bob["access_token"]))).status_code == 401
        finally:
            await container.stop()
