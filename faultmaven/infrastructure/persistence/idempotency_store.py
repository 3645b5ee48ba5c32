"""Stored first responses for `Idempotency-Key`, shared by every server process through the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import IdempotencyRow
from faultmaven.models.case import utcnow


class Outcome(StrEnum):
    STARTED = "started"
    REPLAY = "replay"
    IN_PROGRESS = "in_progress"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class StoredResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Claim:
    outcome: Outcome
    stored: StoredResponse | None = None


class IdempotencyStore:
    """`claim` a key before running the request, then `complete` or `release` it.

    A claim left in progress longer than `lease` belongs to a process that died; the next caller takes
    it over rather than waiting forever.
    """

    def __init__(
        self,
        database: Database,
        *,
        retention: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=10),
    ):
        self._db = database
        self._retention = retention
        self._lease = lease

    async def claim(self, record_key: str, request_hash: str) -> Claim:
        for _ in range(3):
            try:
                return await self._claim_once(record_key, request_hash)
            except IntegrityError:
                continue
        return Claim(Outcome.IN_PROGRESS)

    async def _claim_once(self, record_key: str, request_hash: str) -> Claim:
        now = utcnow()
        async with self._db.write() as session:
            row = (
                await session.execute(
                    select(IdempotencyRow).where(IdempotencyRow.record_key == record_key).with_for_update()
                )
            ).scalar_one_or_none()
            if row is None or row.expires_at <= now:
                if row is not None:
                    await session.delete(row)
                    await session.flush()
                session.add(
                    IdempotencyRow(
                        record_key=record_key,
                        request_hash=request_hash,
                        state="in_progress",
                        created_at=now,
                        expires_at=now + self._retention,
                    )
                )
                await session.flush()
                return Claim(Outcome.STARTED)
            if row.request_hash != request_hash:
                return Claim(Outcome.MISMATCH)
            if row.state == "completed":
                stored = StoredResponse(
                    row.response_status or 200,
                    [(name, value) for name, value in row.response_headers or []],
                    row.response_body or b"",
                )
                return Claim(Outcome.REPLAY, stored)
            if self._stale(row.created_at, now):
                row.created_at = now
                return Claim(Outcome.STARTED)
            return Claim(Outcome.IN_PROGRESS)

    def _stale(self, claimed_at: datetime, now: datetime) -> bool:
        return claimed_at + self._lease <= now

    async def complete(self, record_key: str, response: StoredResponse) -> None:
        async with self._db.write() as session:
            row = await session.get(IdempotencyRow, record_key)
            if row is not None:
                row.state = "completed"
                row.response_status = response.status
                row.response_headers = [list(header) for header in response.headers]
                row.response_body = response.body

    async def release(self, record_key: str) -> None:
        """Forget an in-progress claim whose request failed, so a retry runs it again."""
        async with self._db.write() as session:
            await session.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.record_key == record_key, IdempotencyRow.state == "in_progress"
                )
            )

    async def purge_expired(self) -> int:
        async with self._db.write() as session:
            result = await session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.expires_at <= utcnow())
            )
        return result.rowcount or 0
