"""SQL for who may see a case (owner, shared users, shared teams) and for the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.database import Executor
from faultmaven.infrastructure.persistence.sharing_tables import AuditEventRow, CaseParticipantRow
from faultmaven.infrastructure.persistence.tables import CaseRow
from faultmaven.infrastructure.persistence.team_tables import TeamMemberRow
from faultmaven.models.sharing import CaseRole


def _teams_of(user_id: str) -> Select[tuple[str]]:
    return select(TeamMemberRow.team_id).where(TeamMemberRow.user_id == user_id)


def _grants_to(user_id: str):  # type: ignore[no-untyped-def]
    """Participant rows that apply to this user: shared with them, or with a team they are in."""
    return or_(
        and_(CaseParticipantRow.principal_type == "user", CaseParticipantRow.principal_id == user_id),
        and_(
            CaseParticipantRow.principal_type == "team",
            CaseParticipantRow.principal_id.in_(_teams_of(user_id)),
        ),
    )


def shared_case_ids(user_id: str) -> Select[tuple[str]]:
    return select(CaseParticipantRow.case_id).where(_grants_to(user_id))


def accessible_case_ids(user_id: str) -> Select[tuple[str]]:
    """Every case the user may at least view (for listings and knowledge-base scoping)."""
    owned = select(CaseRow.case_id).where(CaseRow.owner_id == user_id)
    return owned.union(shared_case_ids(user_id))  # type: ignore[return-value]


async def granted_roles(session: Executor, case_id: str, user_id: str) -> list[str]:
    rows = await session.execute(
        select(CaseParticipantRow.role).where(CaseParticipantRow.case_id == case_id, _grants_to(user_id))
    )
    return list(rows.scalars())


async def role_on(session: Executor, case: CaseRow | Row[Any], user_id: str) -> CaseRole | None:
    """The owner's role, else the highest role shared with the user or one of their teams."""
    if case.owner_id == user_id:
        return CaseRole.OWNER
    granted = [CaseRole(role) for role in await granted_roles(session, case.case_id, user_id)]
    return max(granted, key=lambda role: role.rank, default=None)


async def participants(session: AsyncSession, case_id: str) -> list[CaseParticipantRow]:
    rows = await session.execute(
        select(CaseParticipantRow)
        .where(CaseParticipantRow.case_id == case_id)
        .order_by(CaseParticipantRow.granted_at)
    )
    return list(rows.scalars())


async def upsert_participant(session: AsyncSession, row: CaseParticipantRow) -> None:
    existing = await session.get(CaseParticipantRow, (row.case_id, row.principal_type, row.principal_id))
    if existing is None:
        session.add(row)
    else:
        existing.role, existing.granted_by, existing.granted_at = row.role, row.granted_by, row.granted_at
    await session.flush()


async def remove_participant(
    session: AsyncSession, case_id: str, principal_type: str, principal_id: str
) -> bool:
    result = await session.execute(
        delete(CaseParticipantRow).where(
            CaseParticipantRow.case_id == case_id,
            CaseParticipantRow.principal_type == principal_type,
            CaseParticipantRow.principal_id == principal_id,
        )
    )
    return bool(result.rowcount)


async def add_audit(session: AsyncSession, row: AuditEventRow) -> None:
    session.add(row)
    await session.flush()


async def audit_events(session: AsyncSession, case_id: str, limit: int, offset: int) -> list[AuditEventRow]:
    rows = await session.execute(
        select(AuditEventRow)
        .where(AuditEventRow.case_id == case_id)
        .order_by(AuditEventRow.created_at, AuditEventRow.event_id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.scalars())


async def purge_audit(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(AuditEventRow).where(AuditEventRow.expires_at <= now))
    return result.rowcount or 0
