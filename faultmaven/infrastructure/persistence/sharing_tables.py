"""Case participants (users and teams with a role) and the audit trail, which outlives its case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from faultmaven.infrastructure.persistence.base import Base, JSONType, UTCDateTime


class CaseParticipantRow(Base):
    __tablename__ = "case_participants"
    __table_args__ = (Index("ix_case_participants_principal", "principal_type", "principal_id"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id", ondelete="CASCADE"), primary_key=True)
    principal_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    granted_by: Mapped[str | None] = mapped_column(String(64))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditEventRow(Base):
    """No foreign key to cases on purpose: the trail must survive the case's deletion."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_case_created", "case_id", "created_at"),)

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
