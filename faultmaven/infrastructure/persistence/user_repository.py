"""SQL for users, their API tokens and their client sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.tables import ApiTokenRow, SessionRow, UserRow
from faultmaven.models.user import ClientSession, SessionStatus, User


def user_from_row(row: UserRow) -> User:
    return User.model_validate(row)


def session_from_row(row: SessionRow, now: datetime) -> ClientSession:
    status = SessionStatus(row.status)
    if status is SessionStatus.ACTIVE and row.expires_at <= now:
        status = SessionStatus.EXPIRED
    return ClientSession(
        session_id=row.session_id,
        user_id=row.user_id,
        client_id=row.client_id,
        status=status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_activity=row.last_activity,
        session_type=row.session_type,
        timeout_minutes=row.timeout_minutes,
        metadata=row.metadata_ or {},
    )


async def get_user_by_name(session: AsyncSession, username: str) -> UserRow | None:
    return (await session.execute(select(UserRow).where(UserRow.username == username))).scalar_one_or_none()


async def get_user(session: AsyncSession, user_id: str) -> UserRow | None:
    return await session.get(UserRow, user_id)


async def list_users(session: AsyncSession) -> list[User]:
    rows = (await session.execute(select(UserRow).order_by(UserRow.username))).scalars()
    return [user_from_row(row) for row in rows]


async def user_for_token(session: AsyncSession, token_hash: str, now: datetime) -> UserRow | None:
    statement = (
        select(UserRow)
        .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.user_id)
        .where(
            ApiTokenRow.token_hash == token_hash,
            ApiTokenRow.revoked_at.is_(None),
            ApiTokenRow.expires_at > now,
            UserRow.disabled.is_(False),
        )
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_token(session: AsyncSession, token_hash: str, now: datetime) -> None:
    await session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def get_session_row(session: AsyncSession, session_id: str) -> SessionRow | None:
    return await session.get(SessionRow, session_id)


async def find_resumable_session(
    session: AsyncSession, user_id: str, client_id: str, now: datetime
) -> SessionRow | None:
    statement = (
        select(SessionRow)
        .where(
            SessionRow.user_id == user_id,
            SessionRow.client_id == client_id,
            SessionRow.status == SessionStatus.ACTIVE.value,
            SessionRow.expires_at > now,
        )
        .order_by(SessionRow.last_activity.desc())
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()
