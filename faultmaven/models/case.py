"""Domain models of a troubleshooting case and its conversation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Opaque ids with a readable prefix; never `opt_`, which the browser extension reserves."""
    return f"{prefix}_{uuid.uuid4().hex}"


class CaseStatus(StrEnum):
    ACTIVE = "active"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ARCHIVED = "archived"


ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.ACTIVE: frozenset(
        {CaseStatus.INVESTIGATING, CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.ARCHIVED}
    ),
    CaseStatus.INVESTIGATING: frozenset(
        {CaseStatus.ACTIVE, CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.ARCHIVED}
    ),
    CaseStatus.RESOLVED: frozenset({CaseStatus.INVESTIGATING, CaseStatus.CLOSED, CaseStatus.ARCHIVED}),
    CaseStatus.CLOSED: frozenset({CaseStatus.ARCHIVED, CaseStatus.INVESTIGATING}),
    CaseStatus.ARCHIVED: frozenset(),
}
"""Lifecycle `active → investigating → resolved → closed`, plus `archived`; a resolved or closed case may
be reopened into `investigating` (incidents recur), an archived one is frozen."""


class CasePriority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class MessageType(StrEnum):
    USER_QUERY = "user_query"
    AGENT_RESPONSE = "agent_response"
    SYSTEM = "system"
    CASE_NOTE = "case_note"
    DATA_UPLOAD = "data_upload"


MESSAGE_ROLES: dict[MessageType, str] = {
    MessageType.USER_QUERY: "user",
    MessageType.CASE_NOTE: "user",
    MessageType.AGENT_RESPONSE: "agent",
    MessageType.SYSTEM: "system",
    MessageType.DATA_UPLOAD: "system",
}


class Case(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    case_id: str
    title: str
    description: str = ""
    status: CaseStatus = CaseStatus.ACTIVE
    priority: CasePriority = CasePriority.MEDIUM
    owner_id: str
    session_id: str | None = None
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime
    message_count: int = 0
    expires_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class CaseMessage(BaseModel):
    """One row of a case's conversation."""

    message_id: str = Field(default_factory=lambda: new_id("msg"))
    case_id: str
    session_id: str | None = None
    message_type: MessageType
    content: str
    author_id: str | None = None
    query_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def role(self) -> str:
        return MESSAGE_ROLES[self.message_type]
