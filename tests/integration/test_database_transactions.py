"""`Database`'s ways into the database, on both engines: a session transaction keeps one snapshot (SQLite)
and commits or rolls back as a whole; the query path's bare connections (`read_connection`,
`write_statement`, `write_connection`) do what their names promise."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, insert, select, text

from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.migrations import upgrade_to_head
from faultmaven.infrastructure.persistence.tables import UserRow
from faultmaven.models.case import utcnow

USERS = UserRow.__table__
COUNT = select(func.count()).select_from(USERS)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


def _user(user_id: str) -> dict[str, object]:
    return {"user_id": user_id, "username": user_id, "created_at": utcnow(), "password_hash": None}


async def _add_user(database: Database, user_id: str) -> None:
    async with database.write_statement() as connection:
        await connection.execute(insert(USERS), _user(user_id))


async def test_a_snapshot_free_read_sees_each_commit_as_it_lands(database: Database):
    async with database.read_connection() as connection:
        before = (await connection.execute(COUNT)).scalar_one()
        await _add_user(database, "u_between")
        after = (await connection.execute(COUNT)).scalar_one()
    assert after == before + 1


async def test_a_session_read_on_sqlite_keeps_its_snapshot(database: Database):
    if not database.is_sqlite:
        pytest.skip("PostgreSQL's READ COMMITTED gives each statement a fresh snapshot by design")
    async with database.read() as session:
        before = (await session.execute(COUNT)).scalar_one()
        await _add_user(database, "u_between")
        assert (await session.execute(COUNT)).scalar_one() == before
    async with database.read_connection() as connection:
        assert (await connection.execute(COUNT)).scalar_one() == before + 1


async def test_a_write_connection_commits_as_a_whole_or_not_at_all(database: Database):
    with pytest.raises(RuntimeError):
        async with database.write_connection() as connection:
            await connection.execute(insert(USERS), _user("u_rolled_back"))
            raise RuntimeError("the closing failed half-way")
    async with database.write_connection() as connection:
        await connection.execute(insert(USERS), [_user("u_a"), _user("u_b")])
    async with database.read_connection() as connection:
        names = set((await connection.execute(select(USERS.c.user_id))).scalars())
    assert "u_rolled_back" not in names
    assert {"u_a", "u_b"} <= names


async def test_connections_go_back_to_the_pool_usable(database: Database):
    """A read that sent no BEGIN, and a write statement, leave their connections clean for the next user."""
    for round_number in range(3):
        async with database.read_connection() as connection:
            await connection.execute(text("SELECT 1"))
        await _add_user(database, f"u_round_{round_number}")
    async with database.write_connection() as connection:
        total = (await connection.execute(COUNT)).scalar_one()
    assert total >= 3
