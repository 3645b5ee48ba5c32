"""Concurrent writes land exactly once; retention purges expired cases and keeps active ones."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select, update

from faultmaven.container import Container
from faultmaven.infrastructure.persistence.tables import CaseMessageRow, CaseRow
from faultmaven.models.case import CaseMessage, MessageType, utcnow


async def test_fifty_concurrent_case_creations(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(
        *[
            client.post(
                "/api/v1/cases", json={"title": f"case {index}", "initial_message": f"problem {index}"}
            )
            for index in range(50)
        ]
    )
    assert [r.status_code for r in responses] == [201] * 50
    listed = await client.get("/api/v1/cases", params={"limit": 100})
    assert listed.headers["x-total-count"] == "50"
    assert sorted(c["title"] for c in listed.json()) == sorted(f"case {index}" for index in range(50))
    assert {c["message_count"] for c in listed.json()} == {1}


async def test_two_hundred_concurrent_appends_to_one_case(
    client: httpx.AsyncClient, container: Container
) -> None:
    case_id = (await client.post("/api/v1/cases", json={"title": "busy"})).json()["case"]["case_id"]

    async def append(index: int) -> None:
        await container.case_service.add_message_to_case(
            case_id, CaseMessage(case_id=case_id, message_type=MessageType.USER_QUERY, content=f"m{index}")
        )

    await asyncio.gather(*[append(index) for index in range(200)])
    case = (await client.get(f"/api/v1/cases/{case_id}")).json()
    assert case["message_count"] == 200
    async with container.database.read() as session:
        rows = (
            await session.execute(
                select(CaseMessageRow.content, CaseMessageRow.seq).where(CaseMessageRow.case_id == case_id)
            )
        ).all()
    assert sorted(row.content for row in rows) == sorted(f"m{index}" for index in range(200))
    assert sorted(row.seq for row in rows) == list(range(1, 201))


async def _expire(container: Container, case_id: str) -> None:
    async with container.database.write() as session:
        await session.execute(
            update(CaseRow)
            .where(CaseRow.case_id == case_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_retention_purges_expired_case_with_its_messages(
    client: httpx.AsyncClient, container: Container
) -> None:
    old = (await client.post("/api/v1/cases", json={"initial_message": "old incident text here"})).json()[
        "case"
    ]
    active = (await client.post("/api/v1/cases", json={"initial_message": "new incident text"})).json()[
        "case"
    ]
    await _expire(container, old["case_id"])
    assert (await client.get(f"/api/v1/cases/{old['case_id']}")).status_code == 404
    purged = await container.retention.purge_once()
    assert purged["cases"] == 1
    async with container.database.read() as session:
        remaining = (
            await session.execute(
                select(func.count())
                .select_from(CaseMessageRow)
                .where(CaseMessageRow.case_id == old["case_id"])
            )
        ).scalar_one()
        cases = list((await session.execute(select(CaseRow.case_id))).scalars())
    assert remaining == 0
    assert cases == [active["case_id"]]


async def test_activity_extends_retention(client: httpx.AsyncClient, container: Container) -> None:
    case = (await client.post("/api/v1/cases", json={})).json()["case"]
    created_expiry = case["expires_at"]
    retention = datetime.fromisoformat(created_expiry) - datetime.fromisoformat(case["last_activity_at"])
    assert retention == timedelta(days=container.settings.case_retention_days)
    await asyncio.sleep(0.01)
    updated = (await client.patch(f"/api/v1/cases/{case['case_id']}", json={"title": "renamed"})).json()
    assert updated["expires_at"] > created_expiry
    assert updated["last_activity_at"] > case["last_activity_at"]


async def test_retention_days_setting_is_bounded(make_settings) -> None:
    import pytest
    from pydantic import ValidationError

    for days in (6, 31):
        with pytest.raises(ValidationError):
            make_settings(case_retention_days=days)
    assert make_settings(case_retention_days=7).case_retention_days == 7
