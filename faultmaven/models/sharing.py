"""Who may do what with a case: roles, participants and the audit trail."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class CaseRole(StrEnum):
    """viewer reads; collaborator also asks, uploads and changes status; owner also shares, deletes and
    transfers."""

    VIEWER = "viewer"
    COLLABORATOR = "collaborator"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]

    def allows(self, needed: CaseRole) -> bool:
        return self.rank >= needed.rank


ROLE_RANK = {CaseRole.VIEWER: 1, CaseRole.COLLABORATOR: 2, CaseRole.OWNER: 3}


class PrincipalType(StrEnum):
    USER = "user"
    TEAM = "team"


class Participant(BaseModel):
    principal_type: PrincipalType
    principal_id: str
    name: str
    role: CaseRole
    is_primary_owner: bool = False
    granted_by: str | None = None
    granted_at: datetime | None = None


class AuditEvent(BaseModel):
    event_id: str
    case_id: str
    actor_id: str | None
    action: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
