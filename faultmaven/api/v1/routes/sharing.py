"""Sharing a case: participants, roles, ownership transfer and the audit trail (issue: collaboration)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.v1.responses import documented
from faultmaven.api.v1.routes.cases import case_json
from faultmaven.api.v1.schemas import Body
from faultmaven.models.case import Case
from faultmaven.models.sharing import AuditEvent, CaseRole, Participant
from faultmaven.services.accounts.sharing import ShareTarget

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["sharing"])


class ShareBody(Body, ShareTarget):
    role: CaseRole = CaseRole.VIEWER


class TransferBody(Body, ShareTarget):
    pass


@router.post("/share", status_code=201, **documented(Participant, 201))
async def share_case(
    case_id: str, body: ShareBody, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    target = ShareTarget(user_id=body.user_id, username=body.username, team_id=body.team_id)
    participant = await container.sharing_service.share(principal.user_id, case_id, target, body.role)
    return JSONResponse(participant.model_dump(mode="json"), status_code=201)


@router.get("/participants", **documented(list[Participant]))
async def list_participants(
    case_id: str, principal: PrincipalDep, container: ContainerDep
) -> list[dict[str, Any]]:
    participants = await container.sharing_service.participants(principal.user_id, case_id)
    return [participant.model_dump(mode="json") for participant in participants]


@router.delete("/share/{principal_ref}", status_code=204)
async def unshare_case(
    case_id: str, principal_ref: str, principal: PrincipalDep, container: ContainerDep
) -> Response:
    """`principal_ref`: `user:ID`, `team:ID` or a bare id; a participant may remove themselves."""
    await container.sharing_service.unshare(principal.user_id, case_id, principal_ref)
    return Response(status_code=204)


@router.post("/transfer", **documented(Case, errors={409: "The new owner must be a user, not a team"}))
async def transfer_case(
    case_id: str, body: TransferBody, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    target = ShareTarget(user_id=body.user_id, username=body.username, team_id=body.team_id)
    await container.sharing_service.transfer(principal.user_id, case_id, target)
    return case_json(await container.case_service.authorize(principal.user_id, case_id))


@router.get("/audit", **documented(list[AuditEvent]))
async def case_audit(
    case_id: str, principal: PrincipalDep, container: ContainerDep, page: PageDep
) -> list[dict[str, Any]]:
    events = await container.sharing_service.audit_trail(principal.user_id, case_id, page.limit, page.offset)
    return [event.model_dump(mode="json") for event in events]
