"""Users and bearer tokens: who is calling, in `local` and `token` mode.

Tokens are random 256-bit strings shown once; only their SHA-256 is stored (a slow hash buys nothing
against a brute force of 256 random bits, and every request checks one).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from faultmaven.infrastructure.persistence import user_repository as repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import ApiTokenRow, UserRow
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.user import ApiToken, IssuedToken, User
from faultmaven.services.errors import ConflictError, NotFoundError

TOKEN_PREFIX = "fm_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthService:
    def __init__(self, database: Database, token_ttl: timedelta, local_username: str = "local"):
        self._db = database
        self._token_ttl = token_ttl
        self._local_username = local_username
        self._local_user: User | None = None

    async def local_user(self) -> User:
        """The implicit single user of local mode, created on first use."""
        if self._local_user is None:
            self._local_user = await self.ensure_user(self._local_username, admin=True)
        return self._local_user

    async def ensure_user(
        self,
        username: str,
        *,
        admin: bool = False,
        email: str | None = None,
        display_name: str | None = None,
        dev: bool = False,
    ) -> User:
        """Get or create a user by name; safe when several processes race to create the same one."""
        async with self._db.read() as session:
            row = await repo.get_user_by_name(session, username)
        if row is not None:
            return repo.user_from_row(row)
        try:
            return await self.create_user(
                username, admin=admin, email=email, display_name=display_name, dev=dev
            )
        except ConflictError:
            async with self._db.read() as session:
                row = await repo.get_user_by_name(session, username)
            assert row is not None
            return repo.user_from_row(row)

    async def create_user(
        self,
        username: str,
        *,
        admin: bool = False,
        email: str | None = None,
        display_name: str | None = None,
        dev: bool = False,
        password_hash: str | None = None,
    ) -> User:
        row = UserRow(
            user_id=new_id("user"),
            username=username,
            email=email,
            display_name=display_name,
            is_admin=admin,
            is_dev_user=dev,
            disabled=False,
            created_at=utcnow(),
            password_hash=password_hash,
        )
        try:
            async with self._db.write() as session:
                session.add(row)
        except IntegrityError as error:
            raise ConflictError(f"User '{username}' already exists", code="USER_EXISTS") from error
        return repo.user_from_row(row)

    async def issue_token(self, user_id: str, name: str = "api", ttl: timedelta | None = None) -> str:
        return (await self.create_token(user_id, name, ttl)).token

    async def create_token(self, user_id: str, name: str, ttl: timedelta | None = None) -> IssuedToken:
        """A new bearer token for the user; its secret is in the result and nowhere else."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        row = ApiTokenRow(
            token_id=new_id("tok"),
            user_id=user_id,
            token_hash=hash_token(token),
            name=name,
            created_at=now,
            expires_at=now + (ttl or self._token_ttl),
        )
        async with self._db.write() as session:
            session.add(row)
        return IssuedToken(
            token_id=row.token_id, name=name, token=token, created_at=now, expires_at=row.expires_at
        )

    async def list_tokens(self, user_id: str) -> list[ApiToken]:
        """The user's tokens that still work (login sessions included), newest first."""
        async with self._db.read() as session:
            return await repo.list_active_tokens(session, user_id, utcnow())

    async def revoke_token_id(self, user_id: str, token_id: str) -> None:
        async with self._db.write() as session:
            found = await repo.revoke_token_by_id(session, user_id, token_id, utcnow())
        if not found:
            raise NotFoundError(f"Token '{token_id}' not found", code="TOKEN_NOT_FOUND")

    @property
    def token_ttl(self) -> timedelta:
        return self._token_ttl

    async def authenticate(self, token: str) -> User | None:
        async with self._db.read() as session:
            row = await repo.user_for_token(session, hash_token(token), utcnow())
        return repo.user_from_row(row) if row else None

    async def revoke(self, token: str) -> None:
        async with self._db.write() as session:
            await repo.revoke_token(session, hash_token(token), utcnow())

    async def list_users(self) -> list[User]:
        async with self._db.read() as session:
            return await repo.list_users(session)

    async def get_user(self, username: str) -> User:
        async with self._db.read() as session:
            row = await repo.get_user_by_name(session, username)
        if row is None:
            raise NotFoundError(f"User '{username}' not found", code="USER_NOT_FOUND")
        return repo.user_from_row(row)
