"""aiosqlite connections that make one trip to their thread per statement instead of four.

aiosqlite runs each call on the connection's own thread; SQLAlchemy's adapter makes four of those trips for
every statement (open a cursor, execute, fetch all rows, close), and each trip is a queue hand-off, a thread
wake-up and a wake-up of the event loop. Here a statement is executed, fully fetched and its cursor closed
in one trip; the cursor then serves the buffered rows. SQLAlchemy buffers every row of a non-streamed
result anyway, and FaultMaven streams nothing from SQLite, so nothing is held longer than before.

Transactions save two more trips: the `BEGIN` travels with the transaction's first statement, and a
commit or rollback makes a trip only when a `BEGIN` was sent since the last one: the rollback the pool
issues when a connection comes back after its commit is skipped, and so is the end of reads that never
began a transaction (`defer_begin` not called: each statement then runs on its own, in SQLite's
autocommit). "Sent", not "finished": a statement whose caller was cancelled may still be running on the
thread, so its transaction's rollback must still go there, queued behind it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

ITER_CHUNK_SIZE = 64
"""aiosqlite's default; unused by the buffered cursor but kept for the base class."""

_Description = tuple[tuple[Any, ...], ...] | None
_Outcome = tuple[_Description, int, int | None, list[Any]]


def _run_statement(
    connection: sqlite3.Connection, sql: str, parameters: Any, *, many: bool, begin: str | None
) -> _Outcome:
    """On the connection's thread: begin if asked, execute, fetch every row, close; return what the
    cursor must show."""
    cursor = connection.cursor()
    try:
        if begin is not None:
            cursor.execute(begin)
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class BufferedCursor:
    """The part of aiosqlite's cursor SQLAlchemy uses, answering fetches from rows read at execute time."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> BufferedCursor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> BufferedCursor:
        return await self._run(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> BufferedCursor:
        return await self._run(sql, parameters, many=True)

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> BufferedCursor:
        outcome = await self._connection.run_statement(sql, parameters, many=many)
        self.description, self.rowcount, self.lastrowid, self._rows = outcome
        return self

    async def fetchone(self) -> Any | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = self.arraysize if size is None else size
        taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    async def fetchall(self) -> Sequence[Any]:
        taken, self._rows = self._rows, []
        return taken

    async def close(self) -> None:
        self._rows = []


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are `BufferedCursor`s and whose `BEGIN` is deferred."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._pending_begin: str | None = None
        self._began_since_settled = False

    def cursor(self) -> BufferedCursor:  # type: ignore[override]
        return BufferedCursor(self)

    def defer_begin(self, statement: str) -> None:
        """Open the transaction with `statement` on the next statement's trip."""
        self._pending_begin = statement

    def run_statement(self, sql: str, parameters: Any, *, many: bool) -> Awaitable[_Outcome]:
        begin, self._pending_begin = self._pending_begin, None
        self._began_since_settled = self._began_since_settled or begin is not None
        return self._execute(_run_statement, self._conn, sql, parameters, many=many, begin=begin)

    async def commit(self) -> None:
        self._pending_begin = None
        if self._began_since_settled:
            await super().commit()
            self._began_since_settled = False

    async def rollback(self) -> None:
        self._pending_begin = None
        if self._began_since_settled:
            await super().rollback()
            self._began_since_settled = False


def one_trip_creator(url: str, *, timeout: float) -> Callable[[], Awaitable[OneTripConnection]]:
    """`create_async_engine(async_creator=...)` for a SQLite URL: its file, opened as `OneTripConnection`."""
    parsed = make_url(url)
    args, options = parsed.get_dialect()().create_connect_args(parsed)
    connector = partial(sqlite3.connect, *args, **{**options, "timeout": timeout})

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(connector, ITER_CHUNK_SIZE)
        connection._thread.daemon = True
        return await connection

    return connect
