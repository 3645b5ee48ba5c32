"""Core INSERTs of ORM rows: the query path's writes skip the ORM unit of work (identity map, flush
bookkeeping), which cost more CPU than the statements themselves."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert, inspect
from sqlalchemy.orm.attributes import instance_dict

from faultmaven.infrastructure.persistence.database import Executor
from faultmaven.infrastructure.persistence.tables import Base


def column_values(row: Base) -> dict[str, Any]:
    """The values set on the row, keyed by column name (an attribute may be named otherwise: `metadata_`);
    columns left unset get their defaults from the table."""
    values = instance_dict(row)
    return {column: values[key] for key, column in _columns_of(type(row)) if key in values}


@cache
def _columns_of(row_type: type[Base]) -> tuple[tuple[str, str], ...]:
    """(attribute, column name) of every mapped column, read off the mapper once per class."""
    return tuple((attribute.key, attribute.columns[0].name) for attribute in inspect(row_type).column_attrs)


async def insert_rows(session: Executor, rows: Sequence[Base]) -> None:
    """INSERT `rows` (all of one table) in one executemany; they stay plain objects, outside the session."""
    if rows:
        await insert_values(session, type(rows[0]).__table__, [column_values(row) for row in rows])


async def insert_values(session: Executor, table: Table, values: list[dict[str, Any]]) -> None:
    """INSERT rows given as column values, in one executemany: for rows nobody reads back as objects,
    where building an ORM instance only to read its values again costs more than the values."""
    if values:
        await session.execute(_insert_into(table), values)


@cache
def _insert_into(table: Table) -> Insert:
    """One INSERT statement per table, built once (its cache key too)."""
    return insert(table)
