"""Core INSERTs of ORM rows: the query path's writes skip the ORM unit of work (identity map, flush
bookkeeping), which cost more CPU than the statements themselves."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert, inspect

from faultmaven.infrastructure.persistence.database import Executor
from faultmaven.infrastructure.persistence.tables import Base


def column_values(row: Base) -> dict[str, Any]:
    """The values set on the row, keyed by column name (an attribute may be named otherwise: `metadata_`);
    columns left unset get their defaults from the table."""
    state = inspect(row)
    return {
        attr.columns[0].name: state.dict[attr.key]
        for attr in state.mapper.column_attrs
        if attr.key in state.dict
    }


async def insert_rows(session: Executor, rows: Sequence[Base]) -> None:
    """INSERT `rows` (all of one table) in one executemany; they stay plain objects, outside the session."""
    if rows:
        statement = _insert_into(type(rows[0]).__table__)
        await session.execute(statement, [column_values(row) for row in rows])


@cache
def _insert_into(table: Table) -> Insert:
    """One INSERT statement per table, built once (its cache key too)."""
    return insert(table)
