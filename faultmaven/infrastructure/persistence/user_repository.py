"""SQL for users, their API tokens and their client sessions."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.tables import (
    ApiTokenRow,
    LoginFailureRow,
    SessionRow,
    UserRow,
    UTCDateTime,
)
from faultmaven.models.user import ApiToken, ClientSession, SessionStatus, User


def user_from_row(row: UserRow) -> User:
    return User.model_validate(row).model_copy(update={"has_password": row.password_hash is not None})


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


async def list_active_tokens(session: AsyncSession, user_id: str, now: datetime) -> list[ApiToken]:
    statement = (
        select(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None), ApiTokenRow.expires_at > now)
        .order_by(ApiTokenRow.created_at.desc())
    )
    rows = (await session.execute(statement)).scalars()
    return [ApiToken.model_validate(row, from_attributes=True) for row in rows]


async def revoke_token_by_id(session: AsyncSession, user_id: str, token_id: str, now: datetime) -> bool:
    """False when the token is not the user's; revoking a revoked token again changes nothing."""
    row = await session.get(ApiTokenRow, token_id)
    if row is None or row.user_id != user_id:
        return False
    if row.revoked_at is None:
        row.revoked_at = now
    return True


async def revoke_user_tokens(session: AsyncSession, user_id: str, now: datetime) -> None:
    await session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.user_id == user_id, ApiTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def login_locked_until(session: AsyncSession, username: str, now: datetime) -> datetime | None:
    statement = select(LoginFailureRow.locked_until).where(
        LoginFailureRow.username == username, LoginFailureRow.locked_until > now
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def record_login_failure(
    session: AsyncSession, username: str, now: datetime, window: timedelta, max_failures: int
) -> datetime | None:
    """Count one more failure in a single upsert (atomic under concurrent attempts on both engines);
    the failure that reaches `max_failures` locks the name until `now + window`, which it returns.
    Failures older than the window are forgotten first, so only a run of recent failures locks."""
    await session.execute(delete(LoginFailureRow).where(LoginFailureRow.last_failed_at <= now - window))
    lock = literal(now + window, UTCDateTime())
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(LoginFailureRow).values(
        username=username,
        failed_logins=1,
        last_failed_at=now,
        locked_until=now + window if max_failures <= 1 else None,
    )
    statement = insert.on_conflict_do_update(
        index_elements=[LoginFailureRow.username],
        set_={
            "failed_logins": LoginFailureRow.failed_logins + 1,
            "last_failed_at": now,
            "locked_until": case((LoginFailureRow.failed_logins + 1 >= max_failures, lock), else_=None),
        },
    ).returning(LoginFailureRow.locked_until)
    return (await session.execute(statement)).scalar_one()


async def clear_login_failures(session: AsyncSession, username: str) -> None:
    await session.execute(delete(LoginFailureRow).where(LoginFailureRow.username == username))


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
