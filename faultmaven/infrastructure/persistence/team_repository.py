"""SQL for teams and their members."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence.tables import UserRow
from faultmaven.infrastructure.persistence.team_tables import TeamMemberRow, TeamRow
from faultmaven.models.team import Team, TeamMember, TeamMembership, TeamRole


def team_from_row(row: TeamRow) -> Team:
    return Team.model_validate(row, from_attributes=True)


async def get_team(session: AsyncSession, team_id: str, *, for_update: bool = False) -> TeamRow | None:
    """`for_update` locks the team row on PostgreSQL so that concurrent membership changes of one team
    (two admins leaving at once) run one after the other; SQLite writers are serialised anyway."""
    statement = select(TeamRow).where(TeamRow.team_id == team_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def get_member(session: AsyncSession, team_id: str, user_id: str) -> TeamMemberRow | None:
    return await session.get(TeamMemberRow, (team_id, user_id))


async def list_members(session: AsyncSession, team_id: str) -> list[TeamMember]:
    statement = (
        select(TeamMemberRow, UserRow.username, UserRow.display_name)
        .join(UserRow, UserRow.user_id == TeamMemberRow.user_id)
        .where(TeamMemberRow.team_id == team_id)
        .order_by(UserRow.username)
    )
    return [
        TeamMember(
            user_id=member.user_id,
            username=username,
            display_name=display_name,
            role=TeamRole(member.role),
            added_at=member.added_at,
        )
        for member, username, display_name in (await session.execute(statement)).all()
    ]


async def count_admins(session: AsyncSession, team_id: str) -> int:
    statement = select(func.count()).where(
        TeamMemberRow.team_id == team_id, TeamMemberRow.role == TeamRole.ADMIN.value
    )
    return (await session.execute(statement)).scalar_one()


async def memberships(session: AsyncSession, user_id: str, *, all_teams: bool) -> list[TeamMembership]:
    """The user's teams with their role; with `all_teams`, every team (role None where not a member)."""
    on_member = and_(TeamMemberRow.team_id == TeamRow.team_id, TeamMemberRow.user_id == user_id)
    statement = select(TeamRow, TeamMemberRow.role).order_by(TeamRow.name)
    statement = statement.outerjoin(TeamMemberRow, on_member) if all_teams else statement.join(
        TeamMemberRow, on_member
    )
    return [
        TeamMembership(team=team_from_row(team), role=TeamRole(role) if role else None)
        for team, role in (await session.execute(statement)).all()
    ]


async def team_ids_of(session: AsyncSession, user_id: str) -> list[str]:
    statement = select(TeamMemberRow.team_id).where(TeamMemberRow.user_id == user_id)
    return list((await session.execute(statement)).scalars())


async def delete_member(session: AsyncSession, team_id: str, user_id: str) -> None:
    await session.execute(
        delete(TeamMemberRow).where(TeamMemberRow.team_id == team_id, TeamMemberRow.user_id == user_id)
    )
