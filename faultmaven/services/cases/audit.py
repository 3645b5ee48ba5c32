"""The audit trail of a case: who shared, transferred or deleted what, kept for a retention after the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from faultmaven.infrastructure.persistence import sharing_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.sharing_tables import AuditEventRow
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.sharing import AuditEvent


class AuditLog:
    """Appends to the audit trail; rows outlive their case for `retention`."""

    def __init__(self, database: Database, retention: timedelta):
        self._db = database
        self._retention = retention

    async def record(self, actor_id: str | None, case_id: str, action: str, **details: Any) -> None:
        now = utcnow()
        async with self._db.write() as session:
            await repo.add_audit(
                session,
                AuditEventRow(
                    event_id=new_id("audit"),
                    case_id=case_id,
                    actor_id=actor_id,
                    action=action,
                    details=details,
                    created_at=now,
                    expires_at=now + self._retention,
                ),
            )

    async def events(self, case_id: str, limit: int, offset: int) -> list[AuditEvent]:
        async with self._db.read() as session:
            rows = await repo.audit_events(session, case_id, limit, offset)
        return [
            AuditEvent(
                event_id=r.event_id,
                case_id=r.case_id,
                actor_id=r.actor_id,
                action=r.action,
                details=r.details or {},
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def purge_expired(self) -> int:
        async with self._db.write() as session:
            return await repo.purge_audit(session, utcnow())
