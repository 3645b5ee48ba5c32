"""Request bodies of the v1 API, with the contract's bounds (unknown fields are ignored, not refused)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from faultmaven.models.agent import QueryPriority
from faultmaven.models.case import CasePriority, CaseStatus
from faultmaven.models.validation import NulFreeModel

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_MESSAGE = 200_000


class Body(NulFreeModel):
    """A request body (NUL characters refused anywhere in it)."""


class CaseCreateBody(Body):
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    priority: CasePriority = CasePriority.MEDIUM
    session_id: str | None = Field(default=None, max_length=64)
    initial_message: str | None = Field(default=None, max_length=MAX_MESSAGE)
    metadata: dict[str, Any] = Field(default_factory=dict)


class CaseUpdateBody(Body):
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    status: CaseStatus | None = None
    priority: CasePriority | None = None


class TitleBody(Body):
    max_words: int = Field(default=8, ge=3, le=12)
    hint: str | None = Field(default=None, max_length=MAX_TITLE)


class SessionCreateBody(Body):
    client_id: str | None = Field(default=None, max_length=200)
    session_type: str = Field(default="troubleshooting", max_length=50)
    timeout_minutes: int | None = Field(default=None, ge=60, le=480)
    metadata: dict[str, Any] = Field(default_factory=dict)


class DevLoginBody(Body):
    username: str = Field(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9._@-]+$")
    email: str | None = Field(default=None, max_length=320)
    display_name: str | None = Field(default=None, max_length=200)


class QueryBody(Body):
    query: str = Field(min_length=1, max_length=MAX_MESSAGE)
    session_id: str | None = Field(default=None, max_length=64)
    context: dict[str, Any] = Field(default_factory=dict)
    priority: QueryPriority = "medium"
