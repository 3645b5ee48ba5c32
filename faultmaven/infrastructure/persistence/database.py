"""Engines and transactions for both back ends: a SQLite file (embedded default) or PostgreSQL.

SQLite needs care: a plain `BEGIN` is deferred, so two writers that both read first deadlock into
"database is locked". Writes therefore go through `BEGIN IMMEDIATE` on a dedicated one-connection
engine (writers queue in-process; other processes wait on the busy timeout), reads through a
separate pool in WAL mode so they never block on writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from faultmaven.infrastructure.persistence.sqlite_driver import one_trip_creator

SQLITE_BUSY_TIMEOUT_SECONDS = 60

Executor = AsyncSession | AsyncConnection
"""What a repository function runs its statements on: an ORM session, or a bare connection (the query
path's transactions, whose statements are all Core)."""


NO_SNAPSHOT = "faultmaven_no_snapshot"
"""Execution option of SQLite connections whose statements each run on their own (no `BEGIN`): reads that
need no snapshot across statements, which then save the trip that would end their transaction."""


def _ensure_sqlite_directory(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    """WAL, foreign keys, and driver autocommit so SQLAlchemy's BEGIN is the one we emit."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    begin_statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not connection.get_execution_options().get(NO_SNAPSHOT):
            connection.connection.driver_connection.defer_begin(begin_statement)


class Database:
    """Owns the engines. `read()` and `write()` yield an ORM session inside one transaction; the query
    path, whose statements are all Core, takes bare connections (`read_connection`, `write_statement`,
    `write_connection`)."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            _ensure_sqlite_directory(url)
            creator = one_trip_creator(url, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
            self.write_engine = create_async_engine(
                url, echo=echo, async_creator=creator, pool_size=1, max_overflow=0, pool_timeout=300
            )
            self.read_engine = create_async_engine(
                url, echo=echo, async_creator=creator, pool_size=5, max_overflow=10, pool_timeout=300
            )
            _configure_sqlite(self.write_engine, immediate=True)
            _configure_sqlite(self.read_engine, immediate=False)
        else:
            self.write_engine = create_async_engine(
                url, echo=echo, pool_size=10, max_overflow=20, pool_recycle=1800, pool_timeout=60
            )
            self.read_engine = self.write_engine
        self._autocommit = (
            None if self.is_sqlite else self.write_engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        """PostgreSQL connections that send no BEGIN and no COMMIT: for one write statement (its own
        transaction) or for reads that need no snapshot across statements."""
        self._snapshot_free_reads = self._autocommit or self.read_engine.execution_options(
            **{NO_SNAPSHOT: True}
        )
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed on success, rolled back on any error."""
        async with self._write_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction on a bare connection, for Core statements only: a session's unit-of-work
        bookkeeping (identity map, snapshots, state changes) costs more CPU than the query path's
        statements take to run."""
        async with self.write_engine.begin() as connection:
            yield connection

    @asynccontextmanager
    async def write_statement(self) -> AsyncIterator[AsyncConnection]:
        """A bare connection for one Core write statement, which is its own transaction. On PostgreSQL it
        runs in autocommit, saving a BEGIN and a COMMIT round trip; SQLite's writer begins as usual (its
        `BEGIN IMMEDIATE` travels with the statement)."""
        connecting = self.write_connection() if self._autocommit is None else self._autocommit.connect()
        async with connecting as connection:
            yield connection

    @asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        """Reads on a bare connection, for Core statements that need no snapshot across them (the query
        path's case, then its transcript). Each statement runs on its own and sees the latest commit: no
        BEGIN and no COMMIT round trip on PostgreSQL (autocommit), no trip to end the transaction on
        SQLite (`NO_SNAPSHOT`)."""
        async with self._snapshot_free_reads.connect() as connection:
            yield connection

    async def ping(self) -> bool:
        try:
            async with self.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def dispose(self) -> None:
        await self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            await self.read_engine.dispose()
