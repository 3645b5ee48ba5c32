"""Teams: named groups of users, each member either a plain member or a team admin."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class TeamRole(StrEnum):
    MEMBER = "member"
    ADMIN = "admin"


class TeamMember(BaseModel):
    user_id: str
    username: str
    display_name: str | None = None
    role: TeamRole
    added_at: datetime


class Team(BaseModel):
    team_id: str
    name: str
    created_by: str | None = None
    created_at: datetime


class TeamMembership(BaseModel):
    """A team as one of its members sees it in a list: with that member's role."""

    team: Team
    role: TeamRole | None = None
