"""Helpers shared by the account and team tests."""

from __future__ import annotations

from faultmaven.container import Container
from faultmaven.models.user import User

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_user(
    container: Container, username: str, *, password: str | None = PASSWORD, admin: bool = False
) -> tuple[User, dict[str, str]]:
    """A user with a password and the headers of a token of theirs."""
    user = await container.account_service.create_account(username, password=password, admin=admin)
    return user, bearer(await container.auth_service.issue_token(user.user_id))


async def token_app(app_with, **overrides: object):  # type: ignore[no-untyped-def]
    """A client and container in token mode (lockout: 3 failures, 1.2 seconds unless overridden)."""
    values: dict[str, object] = {"auth_mode": "token", "login_max_failures": 3, "login_lockout_minutes": 0.02}
    return await app_with(**{**values, **overrides})
