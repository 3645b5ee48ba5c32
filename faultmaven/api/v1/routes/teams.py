"""Teams and their members."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PrincipalDep
from faultmaven.api.v1.account_schemas import TeamCreateBody, TeamMemberBody
from faultmaven.api.v1.responses import MEMBER_UPDATED, TeamListItem, TeamOut, documented
from faultmaven.models.team import Team, TeamMember, TeamMembership

router = APIRouter(prefix="/api/v1/teams", tags=["teams"])


def team_json(team: Team, **extra: Any) -> dict[str, Any]:
    return {**team.model_dump(mode="json"), **extra}


def member_json(member: TeamMember) -> dict[str, Any]:
    return member.model_dump(mode="json")


def membership_json(membership: TeamMembership) -> dict[str, Any]:
    return team_json(membership.team, role=membership.role)


@router.post("", status_code=201, **documented(TeamOut, 201))
async def create_team(body: TeamCreateBody, principal: PrincipalDep, container: ContainerDep) -> JSONResponse:
    """The creator becomes the team's first admin."""
    team = await container.team_service.create_team(principal.user, body.name)
    _, members = await container.team_service.get_team(principal.user, team.team_id)
    return JSONResponse(
        team_json(team, members=[member_json(m) for m in members]),
        status_code=201,
        headers={"Location": f"/api/v1/teams/{team.team_id}"},
    )


@router.get("", **documented(list[TeamListItem]))
async def list_teams(principal: PrincipalDep, container: ContainerDep) -> list[dict[str, Any]]:
    """The caller's teams with the caller's role; a site admin sees every team (role null where not a
    member)."""
    return [membership_json(m) for m in await container.team_service.list_teams(principal.user)]


@router.get("/{team_id}", **documented(TeamOut))
async def get_team(team_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    team, members = await container.team_service.get_team(principal.user, team_id)
    return team_json(team, members=[member_json(m) for m in members])


@router.delete("/{team_id}", status_code=204)
async def delete_team(team_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.team_service.delete_team(principal.user, team_id)
    return Response(status_code=204)


@router.post("/{team_id}/members", status_code=201, **documented(TeamMember, 201, responses=MEMBER_UPDATED))
async def add_member(
    team_id: str, body: TeamMemberBody, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    """201 for a new member; 200 when the user was a member already and this sets their role."""
    by_name = body.username is not None
    member, created = await container.team_service.add_member(
        principal.user, team_id, body.username if by_name else body.user_id, body.role, by_name=by_name
    )
    return JSONResponse(member_json(member), status_code=201 if created else 200)


@router.delete("/{team_id}/members/{user_id}", status_code=204)
async def remove_member(
    team_id: str, user_id: str, principal: PrincipalDep, container: ContainerDep
) -> Response:
    """Team admins and site admins remove anyone; any member may leave. The last team admin cannot."""
    await container.team_service.remove_member(principal.user, team_id, user_id)
    return Response(status_code=204)
