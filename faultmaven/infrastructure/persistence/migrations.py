"""Schema migrations with Alembic, run on start and by `faultmaven db upgrade`.

Several server processes may start at once: PostgreSQL serialises them with an advisory lock, SQLite
with the write engine's `BEGIN IMMEDIATE`; the loser finds the schema already at head.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from faultmaven.infrastructure.persistence.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
ADVISORY_LOCK_ID = 0x46_4D_44_42  # "FMDB"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_to_head(database: Database) -> None:
    async with database.write_engine.begin() as connection:
        await _lock_schema(connection)
        await connection.run_sync(_upgrade)


async def _lock_schema(connection: AsyncConnection) -> None:
    """Serialise upgrades before Alembic installs its process-global context (two upgrades interleaved in
    one process would tear it down under each other): PostgreSQL's advisory lock; on SQLite the first
    statement carries the write engine's `BEGIN IMMEDIATE`."""
    if connection.dialect.name == "postgresql":
        lock = text("SELECT pg_advisory_xact_lock(:lock_id)")
        await connection.execute(lock, {"lock_id": ADVISORY_LOCK_ID})
    else:
        await connection.execute(text("SELECT 1"))


async def current_revision(database: Database) -> str | None:
    async with database.read_engine.connect() as connection:
        return await connection.run_sync(_current_revision)
