"""Short-lived client sessions (contract "Sessions")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.responses import SESSION_RESUMED, SessionOut, documented
from faultmaven.api.v1.routes.cases import case_json
from faultmaven.api.v1.schemas import SessionCreateBody
from faultmaven.models.agent import SCHEMA_VERSION
from faultmaven.models.case import Case
from faultmaven.models.user import ClientSession

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])


def session_json(session: ClientSession, *, resumed: bool = False) -> dict[str, Any]:
    body = session.model_dump(mode="json", exclude={"timeout_minutes"})
    return {"schema_version": SCHEMA_VERSION, **body, "session_resumed": resumed}


@router.post("", status_code=201, **documented(SessionOut, 201, responses=SESSION_RESUMED))
async def create_session(
    principal: PrincipalDep, container: ContainerDep, body: SessionCreateBody | None = None
) -> JSONResponse:
    options = body or SessionCreateBody()
    session, resumed = await container.session_service.create_session(
        principal.user_id,
        client_id=options.client_id,
        session_type=options.session_type,
        timeout_minutes=options.timeout_minutes,
        metadata=options.metadata,
    )
    return JSONResponse(
        session_json(session, resumed=resumed),
        status_code=200 if resumed else 201,
        headers={"Location": f"/api/v1/sessions/{session.session_id}"},
    )


@router.get("/{session_id}", **documented(SessionOut))
async def get_session(session_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return session_json(await container.session_service.get_session(principal.user_id, session_id))


@router.delete("/{session_id}", status_code=204)
async def delete_session(session_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.session_service.terminate(principal.user_id, session_id)
    return Response(status_code=204)


@router.post("/{session_id}/heartbeat", **documented(SessionOut))
async def heartbeat(session_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return session_json(await container.session_service.heartbeat(principal.user_id, session_id))


@router.get("/{session_id}/cases", **documented(list[Case]))
async def session_cases(
    session_id: str,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    page: PageDep,
) -> list[dict[str, Any]]:
    await container.session_service.get_session(principal.user_id, session_id)
    cases, total = await container.case_service.list_cases(
        principal.user_id, session_id=session_id, limit=page.limit, offset=page.offset
    )
    set_page_headers(request, response, total=total, limit=page.limit, offset=page.offset)
    return [case_json(case) for case in cases]
