"""Short-lived client sessions (default 24 h); cases outlive them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from faultmaven.infrastructure.persistence import user_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import SessionRow
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.user import ClientSession, SessionStatus
from faultmaven.services.errors import GoneError, NotFoundError


class SessionService:
    def __init__(self, database: Database, default_timeout_minutes: int):
        self._db = database
        self._default_timeout = default_timeout_minutes

    async def create_session(
        self,
        user_id: str,
        *,
        client_id: str | None = None,
        session_type: str = "troubleshooting",
        timeout_minutes: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[ClientSession, bool]:
        """A new session, or the caller's live session for the same `client_id` (resumed=True)."""
        now = utcnow()
        async with self._db.write() as session:
            if client_id:
                row = await repo.find_resumable_session(session, user_id, client_id, now)
                if row is not None:
                    row.last_activity = now
                    row.expires_at = now + timedelta(minutes=row.timeout_minutes)
                    await session.flush()
                    return repo.session_from_row(row, now), True
            timeout = timeout_minutes or self._default_timeout
            row = SessionRow(
                session_id=new_id("sess"),
                user_id=user_id,
                client_id=client_id,
                session_type=session_type,
                status=SessionStatus.ACTIVE.value,
                timeout_minutes=timeout,
                created_at=now,
                last_activity=now,
                expires_at=now + timedelta(minutes=timeout),
                metadata_=metadata or {},
            )
            session.add(row)
            await session.flush()
            return repo.session_from_row(row, now), False

    async def get_session(self, user_id: str, session_id: str) -> ClientSession:
        """The caller's session; 404 if unknown or someone else's, 410 if expired or terminated."""
        async with self._db.read() as session:
            row = await repo.get_session_row(session, session_id)
        return self._live(row, user_id, session_id)

    @staticmethod
    def _live(row: SessionRow | None, user_id: str, session_id: str) -> ClientSession:
        if row is None or row.user_id != user_id:
            raise NotFoundError(f"Session {session_id} not found", code="SESSION_NOT_FOUND")
        current = repo.session_from_row(row, utcnow())
        if current.status is not SessionStatus.ACTIVE:
            raise GoneError(f"Session {session_id} is {current.status.value}", code="SESSION_EXPIRED")
        return current

    async def heartbeat(self, user_id: str, session_id: str) -> ClientSession:
        now = utcnow()
        async with self._db.write() as session:
            row = await repo.get_session_row(session, session_id)
            self._live(row, user_id, session_id)
            assert row is not None
            row.last_activity = now
            row.expires_at = now + timedelta(minutes=row.timeout_minutes)
            await session.flush()
            return repo.session_from_row(row, now)

    async def terminate(self, user_id: str, session_id: str) -> None:
        """Idempotent for the owner; the session's cases are kept."""
        async with self._db.write() as session:
            row = await repo.get_session_row(session, session_id)
            if row is None or row.user_id != user_id:
                raise NotFoundError(f"Session {session_id} not found", code="SESSION_NOT_FOUND")
            row.status = SessionStatus.TERMINATED.value
