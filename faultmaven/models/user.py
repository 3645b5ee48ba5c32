"""Users, the authenticated principal and short-lived client sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    username: str
    email: str | None = None
    display_name: str | None = None
    created_at: datetime
    is_dev_user: bool = False
    is_admin: bool = False
    disabled: bool = False
    has_password: bool = False

    @property
    def roles(self) -> list[str]:
        return ["admin", "user"] if self.is_admin else ["user"]


class ApiToken(BaseModel):
    """A bearer token as its owner may see it: never the secret."""

    token_id: str
    name: str
    created_at: datetime
    expires_at: datetime


class IssuedToken(ApiToken):
    """A token at creation, the only time its secret is known."""

    token: str


class Principal(BaseModel):
    """Who is calling: the user and, if the client sent one, its session."""

    user: User
    session_id: str | None = None

    @property
    def user_id(self) -> str:
        return self.user.user_id


class SessionStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class ClientSession(BaseModel):
    session_id: str
    user_id: str
    client_id: str | None = None
    status: SessionStatus
    created_at: datetime
    expires_at: datetime
    last_activity: datetime
    session_type: str = "troubleshooting"
    timeout_minutes: int
    metadata: dict[str, Any] = Field(default_factory=dict)
