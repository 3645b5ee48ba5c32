"""Teams: who may see and change them, and the membership lookup that access control builds on.

A non-member who is not a site admin gets 404 for a team (its existence is not disclosed); a member
who is not a team admin gets 403 for changes. Every team keeps at least one team admin.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence import team_repository as repo
from faultmaven.infrastructure.persistence import user_repository
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.team_tables import TeamMemberRow, TeamRow
from faultmaven.models.case import new_id, utcnow
from faultmaven.models.team import Team, TeamMember, TeamMembership, TeamRole
from faultmaven.models.user import User
from faultmaven.services.errors import ConflictError, ForbiddenError, NotFoundError


def _team_not_found(team_id: str) -> NotFoundError:
    return NotFoundError(f"Team '{team_id}' not found", code="TEAM_NOT_FOUND")


def _last_admin() -> ConflictError:
    return ConflictError(
        "A team needs at least one team admin: make another member admin first, or delete the team",
        code="LAST_TEAM_ADMIN",
    )


class TeamService:
    def __init__(self, database: Database):
        self._db = database

    async def team_ids_of(self, user_id: str) -> list[str]:
        """The teams the user belongs to: one query on the `team_members.user_id` index."""
        async with self._db.read() as session:
            return await repo.team_ids_of(session, user_id)

    async def memberships(self, user_id: str) -> list[TeamMembership]:
        async with self._db.read() as session:
            return await repo.memberships(session, user_id, all_teams=False)

    async def list_teams(self, actor: User) -> list[TeamMembership]:
        """The actor's teams; a site admin sees every team."""
        async with self._db.read() as session:
            return await repo.memberships(session, actor.user_id, all_teams=actor.is_admin)

    async def create_team(self, actor: User, name: str) -> Team:
        now = utcnow()
        team = TeamRow(team_id=new_id("team"), name=name, created_by=actor.user_id, created_at=now)
        try:
            async with self._db.write() as session:
                session.add(team)
                await session.flush()
                session.add(
                    TeamMemberRow(
                        team_id=team.team_id, user_id=actor.user_id, role=TeamRole.ADMIN.value, added_at=now
                    )
                )
        except IntegrityError as error:
            raise ConflictError(f"A team named '{name}' already exists", code="TEAM_EXISTS") from error
        return repo.team_from_row(team)

    async def get_team(self, actor: User, team_id: str) -> tuple[Team, list[TeamMember]]:
        async with self._db.read() as session:
            team = await self._visible_team(session, actor, team_id)
            return repo.team_from_row(team), await repo.list_members(session, team_id)

    async def add_member(
        self, actor: User, team_id: str, user_ref: str, role: TeamRole, *, by_name: bool
    ) -> tuple[TeamMember, bool]:
        """Add a user, or change the role of a member; True when the user was not a member before."""
        async with self._db.write() as session:
            await self._managed_team(session, actor, team_id)
            user = await self._user(session, user_ref, by_name=by_name)
            member = await repo.get_member(session, team_id, user.user_id)
            created = member is None
            if member is None:
                member = TeamMemberRow(
                    team_id=team_id, user_id=user.user_id, role=role.value, added_at=utcnow()
                )
                session.add(member)
            elif member.role != role.value:
                await self._keep_an_admin(session, member)
                member.role = role.value
        return self._member(member, user), created

    async def remove_member(self, actor: User, team_id: str, user_id: str) -> None:
        """Team admins and site admins remove anyone; a member may remove themselves (leave)."""
        async with self._db.write() as session:
            if actor.user_id == user_id:
                await self._visible_team(session, actor, team_id, for_update=True)
            else:
                await self._managed_team(session, actor, team_id)
            member = await repo.get_member(session, team_id, user_id)
            if member is None:
                raise NotFoundError(f"User '{user_id}' is not a member of this team", code="MEMBER_NOT_FOUND")
            await self._keep_an_admin(session, member)
            await repo.delete_member(session, team_id, user_id)

    async def delete_team(self, actor: User, team_id: str) -> None:
        async with self._db.write() as session:
            team = await self._managed_team(session, actor, team_id)
            await session.delete(team)

    async def _visible_team(
        self, session: AsyncSession, actor: User, team_id: str, *, for_update: bool = False
    ) -> TeamRow:
        team = await repo.get_team(session, team_id, for_update=for_update)
        if team is None:
            raise _team_not_found(team_id)
        if not actor.is_admin and await repo.get_member(session, team_id, actor.user_id) is None:
            raise _team_not_found(team_id)
        return team

    async def _managed_team(self, session: AsyncSession, actor: User, team_id: str) -> TeamRow:
        """The team, locked for the change, if the actor is a team admin or a site admin."""
        team = await self._visible_team(session, actor, team_id, for_update=True)
        if actor.is_admin:
            return team
        member = await repo.get_member(session, team_id, actor.user_id)
        if member is None or member.role != TeamRole.ADMIN.value:
            raise ForbiddenError("Only a team admin can change this team", code="TEAM_ADMIN_REQUIRED")
        return team

    async def _keep_an_admin(self, session: AsyncSession, member: TeamMemberRow) -> None:
        if member.role == TeamRole.ADMIN.value and await repo.count_admins(session, member.team_id) <= 1:
            raise _last_admin()

    async def _user(self, session: AsyncSession, user_ref: str, *, by_name: bool) -> User:
        row = await (
            user_repository.get_user_by_name(session, user_ref)
            if by_name
            else user_repository.get_user(session, user_ref)
        )
        if row is None:
            raise NotFoundError(f"User '{user_ref}' not found", code="USER_NOT_FOUND")
        return user_repository.user_from_row(row)

    @staticmethod
    def _member(row: TeamMemberRow, user: User) -> TeamMember:
        return TeamMember(
            user_id=user.user_id,
            username=user.username,
            display_name=user.display_name,
            role=TeamRole(row.role),
            added_at=row.added_at,
        )
