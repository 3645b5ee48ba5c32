"""Two server processes on one database behave as one service (SQLite file, and PostgreSQL when given)."""

from __future__ import annotations

from httpx import AsyncClient

from tests.integration.server_process import running_server


async def test_case_lifecycle_and_idempotency_across_processes(database_url: str) -> None:
    env = {"FAULTMAVEN_DATABASE_URL": database_url}
    with running_server(env) as url_a, running_server(env) as url_b:
        async with AsyncClient(base_url=url_a) as a, AsyncClient(base_url=url_b) as b:
            headers = {"Idempotency-Key": "two-process-key-1"}
            created = await a.post(
                "/api/v1/cases", json={"title": "shared", "initial_message": "disk full"}, headers=headers
            )
            assert created.status_code == 201
            case_id = created.json()["case"]["case_id"]
            replayed = await b.post(
                "/api/v1/cases", json={"title": "shared", "initial_message": "disk full"}, headers=headers
            )
            assert replayed.status_code == 201 and replayed.content == created.content
            assert replayed.headers["x-idempotency-replayed"] == "true"
            listed = await b.get("/api/v1/cases")
            assert [c["case_id"] for c in listed.json()] == [case_id]
            updated = await b.patch(f"/api/v1/cases/{case_id}", json={"status": "investigating"})
            assert updated.json()["status"] == "investigating"
            assert (await a.get(f"/api/v1/cases/{case_id}")).json()["status"] == "investigating"
            queries = [
                (a if index % 2 else b).post(f"/api/v1/cases/{case_id}/queries", json={"query": f"q{index}"})
                for index in range(6)
            ]
            import asyncio

            assert {r.status_code for r in await asyncio.gather(*queries)} == {201}
            messages = (await a.get(f"/api/v1/cases/{case_id}/messages", params={"limit": 100})).json()
            assert messages["total_count"] == 13
            assert (await b.delete(f"/api/v1/cases/{case_id}")).status_code == 204
            assert (await a.get(f"/api/v1/cases/{case_id}")).status_code == 404
