"""Case sharing: who takes part in a case with which role, and ownership transfer (both audited)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from faultmaven.infrastructure.persistence import sharing_repository as repo
from faultmaven.infrastructure.persistence import user_repository
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.sharing_tables import CaseParticipantRow
from faultmaven.infrastructure.persistence.tables import CaseRow, UserRow
from faultmaven.infrastructure.persistence.team_tables import TeamRow
from faultmaven.models.case import utcnow
from faultmaven.models.sharing import AuditEvent, CaseRole, Participant, PrincipalType
from faultmaven.services.cases.audit import AuditLog
from faultmaven.services.cases.service import CaseService
from faultmaven.services.errors import ConflictError, NotFoundError, UnprocessableError


class ShareTarget(BaseModel):
    """Exactly one of a user (by id or name) or a team."""

    user_id: str | None = Field(default=None, max_length=64)
    username: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _exactly_one(self) -> ShareTarget:
        if sum(value is not None for value in (self.user_id, self.username, self.team_id)) != 1:
            raise ValueError("give exactly one of user_id, username or team_id")
        return self


class SharingService:
    def __init__(self, database: Database, case_service: CaseService, audit: AuditLog):
        self._db = database
        self._cases = case_service
        self._audit = audit

    async def share(self, actor_id: str, case_id: str, target: ShareTarget, role: CaseRole) -> Participant:
        """Grant (or change) a user's or team's role; owners only."""
        case = await self._cases.authorize(actor_id, case_id, CaseRole.OWNER)
        async with self._db.write() as session:
            principal_type, principal_id, name = await _resolve(session, target)
            if principal_type is PrincipalType.USER and principal_id == case.owner_id:
                raise ConflictError("This user owns the case already", code="ALREADY_OWNER")
            row = CaseParticipantRow(
                case_id=case_id,
                principal_type=principal_type.value,
                principal_id=principal_id,
                role=role.value,
                granted_by=actor_id,
                granted_at=utcnow(),
            )
            await repo.upsert_participant(session, row)
        await self._audit.record(
            actor_id,
            case_id,
            "share",
            principal_type=principal_type.value,
            principal_id=principal_id,
            role=role.value,
        )
        return Participant(
            principal_type=principal_type,
            principal_id=principal_id,
            name=name,
            role=role,
            granted_by=actor_id,
            granted_at=row.granted_at,
        )

    async def unshare(self, actor_id: str, case_id: str, principal: str) -> None:
        """Owners remove anyone; any participant may remove themselves. Idempotent."""
        role = await self._cases.role_on(actor_id, case_id)
        principal_type, principal_id = _parse_principal(principal)
        leaving = principal_type is PrincipalType.USER and principal_id == actor_id
        if role is None or not (leaving or role.allows(CaseRole.OWNER)):
            await self._cases.authorize(actor_id, case_id, CaseRole.OWNER)
        async with self._db.write() as session:
            removed = await repo.remove_participant(session, case_id, principal_type.value, principal_id)
        if removed:
            await self._audit.record(
                actor_id, case_id, "unshare", principal_type=principal_type.value, principal_id=principal_id
            )

    async def participants(self, actor_id: str, case_id: str) -> list[Participant]:
        case = await self._cases.authorize(actor_id, case_id)
        async with self._db.read() as session:
            owner = await session.get(UserRow, case.owner_id)
            listed = [
                Participant(
                    principal_type=PrincipalType.USER,
                    principal_id=case.owner_id,
                    name=owner.username if owner else case.owner_id,
                    role=CaseRole.OWNER,
                    is_primary_owner=True,
                )
            ]
            for row in await repo.participants(session, case_id):
                listed.append(
                    Participant(
                        principal_type=PrincipalType(row.principal_type),
                        principal_id=row.principal_id,
                        name=await _name_of(session, row),
                        role=CaseRole(row.role),
                        granted_by=row.granted_by,
                        granted_at=row.granted_at,
                    )
                )
        return listed

    async def transfer(self, actor_id: str, case_id: str, target: ShareTarget) -> str:
        """Hand the case to another user; the previous owner stays on it as a collaborator. The caller's
        right to the case is checked first, so a stranger learns nothing from the target's validity."""
        case = await self._cases.authorize(actor_id, case_id, CaseRole.OWNER)
        if target.team_id is not None:
            raise UnprocessableError("A case is owned by a user, not a team: give user_id or username",
                                     code="OWNER_MUST_BE_USER")
        async with self._db.write() as session:
            _, new_owner, _ = await _resolve(session, target)
            if new_owner != case.owner_id:
                await repo.remove_participant(session, case_id, PrincipalType.USER.value, new_owner)
                await repo.upsert_participant(
                    session,
                    CaseParticipantRow(
                        case_id=case_id,
                        principal_type=PrincipalType.USER.value,
                        principal_id=case.owner_id,
                        role=CaseRole.COLLABORATOR.value,
                        granted_by=actor_id,
                        granted_at=utcnow(),
                    ),
                )
                row = await session.get(CaseRow, case_id)
                assert row is not None
                row.owner_id = new_owner
        await self._audit.record(
            actor_id, case_id, "transfer", previous_owner=case.owner_id, new_owner=new_owner
        )
        return new_owner

    async def audit_trail(self, actor_id: str, case_id: str, limit: int, offset: int) -> list[AuditEvent]:
        await self._cases.authorize(actor_id, case_id, CaseRole.OWNER)
        return await self._audit.events(case_id, limit, offset)


async def _resolve(session: Any, target: ShareTarget) -> tuple[PrincipalType, str, str]:
    if target.team_id is not None:
        team = await session.get(TeamRow, target.team_id)
        if team is None:
            raise NotFoundError(f"Team {target.team_id} not found", code="TEAM_NOT_FOUND")
        return PrincipalType.TEAM, team.team_id, team.name
    user = (
        await user_repository.get_user(session, target.user_id)
        if target.user_id
        else await user_repository.get_user_by_name(session, target.username or "")
    )
    if user is None or user.disabled:
        raise NotFoundError("User not found", code="USER_NOT_FOUND")
    return PrincipalType.USER, user.user_id, user.username


async def _name_of(session: Any, row: CaseParticipantRow) -> str:
    if row.principal_type == PrincipalType.TEAM.value:
        team = await session.get(TeamRow, row.principal_id)
        return team.name if team else row.principal_id
    user = await session.get(UserRow, row.principal_id)
    return user.username if user else row.principal_id


def _parse_principal(principal: str) -> tuple[PrincipalType, str]:
    """`user:ID`, `team:ID`, or a bare id (`team_...` ids are teams, anything else a user)."""
    kind, _, identifier = principal.partition(":")
    if identifier and kind in (PrincipalType.USER.value, PrincipalType.TEAM.value):
        return PrincipalType(kind), identifier
    return (PrincipalType.TEAM if principal.startswith("team_") else PrincipalType.USER), principal
