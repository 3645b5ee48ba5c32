"""Deprecated agent routes: the same processing as the case route, with RFC 9745/8594 headers.

`FAULTMAVEN_DEPRECATED_ROUTES_RETIRED=true` retires them: 410 naming the successor.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from faultmaven.api.dependencies import ContainerDep, PrincipalDep
from faultmaven.api.v1.responses import RETIRED, documented
from faultmaven.api.v1.schemas import QueryBody
from faultmaven.models.agent import AgentResponse
from faultmaven.services.cases.service import CaseCreate
from faultmaven.services.errors import GoneError

router = APIRouter(prefix="/api/v1/agent", tags=["deprecated"], deprecated=True)

DEPRECATION = "@1735689600"
SUNSET = "Mon, 30 Jun 2025 23:59:59 GMT"


class SessionQueryBody(QueryBody):
    case_id: str | None = Field(default=None, max_length=64)


def _deprecation_headers(case_id: str | None) -> dict[str, str]:
    successor = f"/api/v1/cases/{case_id}/queries" if case_id else "/api/v1/cases/{case_id}/queries"
    return {"Deprecation": DEPRECATION, "Sunset": SUNSET, "Link": f'<{successor}>; rel="successor-version"'}


def _check_retired(container: ContainerDep, request: Request, case_id: str | None) -> None:
    container.metrics.deprecated_route_requests_total.labels(route=request.scope["route"].path).inc()
    if container.settings.deprecated_routes_retired:
        successor = _deprecation_headers(case_id)["Link"]
        raise GoneError(
            "This deprecated route is retired; use POST /api/v1/cases/{case_id}/queries",
            code="ROUTE_RETIRED",
            successor="/api/v1/cases/{case_id}/queries",
            headers={"Link": successor},
        )


@router.post("/cases/{case_id}/query", **documented(AgentResponse, errors=RETIRED))
async def case_query(
    case_id: str, body: QueryBody, request: Request, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    _check_retired(container, request, case_id)
    response = await container.query_service.submit(
        principal,
        case_id,
        body.query,
        session_id=body.session_id,
        context=body.context,
        priority=body.priority,
    )
    return JSONResponse(response.model_dump(mode="json"), headers=_deprecation_headers(case_id))


@router.post("/query", **documented(AgentResponse, errors={**RETIRED, 404: "The named case does not exist"}))
async def session_query(
    body: SessionQueryBody, request: Request, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    """The oldest route: a query in a session; it opens a case for it unless one is named."""
    case_id = body.case_id or body.context.get("case_id")
    _check_retired(container, request, case_id)
    if not case_id:
        session_id = body.session_id or principal.session_id
        case = await container.case_service.create_case(principal.user_id, CaseCreate(session_id=session_id))
        case_id = case.case_id
    response = await container.query_service.submit(
        principal,
        str(case_id),
        body.query,
        session_id=body.session_id,
        context=body.context,
        priority=body.priority,
    )
    return JSONResponse(response.model_dump(mode="json"), headers=_deprecation_headers(str(case_id)))
