"""Retention: what is past its keeping time is deleted, by the server's loop or `faultmaven purge`."""

from __future__ import annotations

from faultmaven.infrastructure.persistence.idempotency_store import IdempotencyStore
from faultmaven.services.cases.audit import AuditLog
from faultmaven.services.cases.service import CaseService


class RetentionService:
    def __init__(self, case_service: CaseService, idempotency_store: IdempotencyStore, audit_log: AuditLog):
        self._cases = case_service
        self._idempotency = idempotency_store
        self._audit = audit_log

    async def purge_once(self) -> dict[str, int]:
        """Expired cases, idempotency records and audit events; the count of each deleted."""
        return {
            "cases": await self._cases.purge_expired(),
            "idempotency_records": await self._idempotency.purge_expired(),
            "audit_events": await self._audit.purge_expired(),
        }
