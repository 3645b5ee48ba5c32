"""Queries on a case: the heart of the product (contract "Queries")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.schemas import QueryBody

router = APIRouter(prefix="/api/v1/cases/{case_id}/queries", tags=["queries"])


@router.post("", status_code=201)
async def submit_case_query(
    case_id: str, body: QueryBody, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    response = await container.query_service.submit(
        principal,
        case_id,
        body.query,
        session_id=body.session_id,
        context=body.context,
        priority=body.priority,
    )
    return JSONResponse(
        response.model_dump(mode="json"),
        status_code=201,
        headers={"Location": f"/api/v1/cases/{case_id}/queries/{response.query_id}"},
    )


@router.get("")
async def list_case_queries(
    case_id: str,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    page: PageDep,
) -> list[dict[str, Any]]:
    queries, total = await container.query_service.list(principal.user_id, case_id, page.limit, page.offset)
    set_page_headers(request, response, total=total, limit=page.limit, offset=page.offset)
    return queries


@router.get("/{query_id}")
async def get_case_query(
    case_id: str, query_id: str, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    body = await container.query_service.get(principal.user_id, case_id, query_id)
    return JSONResponse(body, status_code=202 if body["status"] in ("pending", "processing") else 200)
