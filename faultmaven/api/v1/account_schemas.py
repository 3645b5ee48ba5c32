"""Request bodies of the account, token, user-admin and team routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from faultmaven.api.v1.schemas import Body
from faultmaven.models.team import TeamRole
from faultmaven.services.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

USERNAME_PATTERN = r"^[A-Za-z0-9._@-]+$"


class LoginBody(Body):
    """No pattern or minimum on either field: a malformed name is just a wrong one (401, counted)."""

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class TokenCreateBody(Body):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=365)


class UserCreateBody(Body):
    username: str = Field(min_length=3, max_length=50, pattern=USERNAME_PATTERN)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    email: str | None = Field(default=None, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)
    is_admin: bool = False


class UserUpdateBody(Body):
    disabled: bool | None = None
    is_admin: bool | None = None
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)


class TeamCreateBody(Body):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class TeamMemberBody(Body):
    """Exactly one of `user_id` and `username`."""

    user_id: str | None = Field(default=None, min_length=1, max_length=64)
    username: str | None = Field(default=None, min_length=1, max_length=64)
    role: TeamRole = TeamRole.MEMBER

    @model_validator(mode="after")
    def _one_reference(self) -> TeamMemberBody:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("give exactly one of user_id and username")
        return self
