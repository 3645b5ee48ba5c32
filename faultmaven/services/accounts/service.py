"""Password accounts: login with lockout, and what an administrator changes on a user.

Lockout is keyed by the submitted username, whether or not such a user exists: `login_max_failures`
failures in a row (none older than the lockout window) lock that name for `login_lockout_minutes`, and
a wrong name, a wrong password and a locked name answer the same way for every name. A success clears
the count; so do enabling a user and setting their password.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence import user_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import UserRow
from faultmaven.models.case import utcnow
from faultmaven.models.user import User
from faultmaven.services.accounts.auth import AuthService
from faultmaven.services.accounts.passwords import Passwords
from faultmaven.services.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooManyRequestsError,
    UnauthorizedError,
)


def _locked_out(until: datetime, now: datetime) -> TooManyRequestsError:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return TooManyRequestsError(
        f"Too many failed logins for this username: try again in {seconds} seconds",
        code="LOGIN_LOCKED",
        headers={"Retry-After": str(seconds)},
        retry_after=seconds,
    )


async def _user_row(session: AsyncSession, user_id: str) -> UserRow:
    row = await repo.get_user(session, user_id)
    if row is None:
        raise NotFoundError(f"User '{user_id}' not found", code="USER_NOT_FOUND")
    return row


class AccountService:
    def __init__(
        self,
        database: Database,
        auth: AuthService,
        passwords: Passwords,
        *,
        max_failures: int,
        lockout: timedelta,
    ):
        self._db = database
        self._auth = auth
        self._passwords = passwords
        self._max_failures = max_failures
        self._lockout = lockout

    async def login(self, username: str, password: str) -> User:
        """The user behind a correct username and password, or 401/429 that do not tell whether the
        name exists (an unknown name still costs one hash)."""
        now = utcnow()
        async with self._db.read() as session:
            locked_until = await repo.login_locked_until(session, username, now)
            row = await repo.get_user_by_name(session, username)
        if locked_until is not None:
            raise _locked_out(locked_until, now)
        verified = await self._passwords.verify(row.password_hash if row else None, password)
        if row is None or not verified:
            await self._fail(username)
        if row.disabled:
            raise ForbiddenError("This account is disabled", code="ACCOUNT_DISABLED")
        await self._succeed(row, password)
        return repo.user_from_row(row)

    async def _fail(self, username: str) -> NoReturn:
        now = utcnow()
        async with self._db.write() as session:
            locked_until = await repo.record_login_failure(
                session, username, now, self._lockout, self._max_failures
            )
        if locked_until is not None:
            raise _locked_out(locked_until, now)
        raise UnauthorizedError("Invalid username or password", code="INVALID_CREDENTIALS")

    async def _succeed(self, row: UserRow, password: str) -> None:
        """Forget past failures; re-hash a password stored with weaker parameters than today's."""
        new_hash = None
        if row.password_hash and self._passwords.needs_rehash(row.password_hash):
            new_hash = await self._passwords.hash(password)
        async with self._db.write() as session:
            await repo.clear_login_failures(session, row.username)
            if new_hash:
                stored = await repo.get_user(session, row.user_id)
                if stored is not None:
                    stored.password_hash = new_hash

    async def create_account(
        self,
        username: str,
        *,
        password: str | None = None,
        admin: bool = False,
        email: str | None = None,
        display_name: str | None = None,
    ) -> User:
        password_hash = await self._passwords.hash(password) if password is not None else None
        return await self._auth.create_user(
            username, admin=admin, email=email, display_name=display_name, password_hash=password_hash
        )

    async def get_user(self, user_id: str) -> User:
        async with self._db.read() as session:
            return repo.user_from_row(await _user_row(session, user_id))

    async def set_password(self, user_id: str, password: str) -> User:
        return await self.update_user(user_id, password=password)

    async def set_disabled(self, user_id: str, disabled: bool) -> User:
        return await self.update_user(user_id, disabled=disabled)

    async def set_admin(self, user_id: str, admin: bool) -> User:
        return await self.update_user(user_id, is_admin=admin)

    async def update_user(
        self,
        user_id: str,
        *,
        disabled: bool | None = None,
        is_admin: bool | None = None,
        password: str | None = None,
    ) -> User:
        """All changes in one transaction. Disabling revokes every token of the user (re-enabling does
        not revive them); enabling and setting a password lift a lockout of the user's name."""
        password_hash = await self._passwords.hash(password) if password is not None else None
        now = utcnow()
        async with self._db.write() as session:
            row = await _user_row(session, user_id)
            if password_hash is not None:
                row.password_hash = password_hash
            if is_admin is not None:
                row.is_admin = is_admin
            if disabled is not None:
                row.disabled = disabled
            if disabled:
                await repo.revoke_user_tokens(session, user_id, now)
            if password_hash is not None or disabled is False:
                await repo.clear_login_failures(session, row.username)
        return repo.user_from_row(row)

    async def update_by_admin(
        self,
        actor: User,
        user_id: str,
        *,
        disabled: bool | None = None,
        is_admin: bool | None = None,
        password: str | None = None,
    ) -> User:
        """An admin's change through the API; admins cannot disable or demote themselves, which could
        leave the site without an admin."""
        if actor.user_id == user_id and (disabled is True or is_admin is False):
            raise ConflictError("You cannot disable or demote yourself", code="CANNOT_CHANGE_SELF")
        return await self.update_user(user_id, disabled=disabled, is_admin=is_admin, password=password)
