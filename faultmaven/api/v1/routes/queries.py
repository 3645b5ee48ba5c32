"""Queries on a case: the heart of the product (contract "Queries"): synchronous answers, 202 + polling,
server-sent events, cancellation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.responses import (
    QUERY_EVENTS,
    QUERY_RUNNING,
    SUBMIT_RESPONSES,
    QueryStatus,
    QuerySummary,
    documented,
)
from faultmaven.api.v1.schemas import QueryBody
from faultmaven.models.agent import AgentResponse
from faultmaven.models.query_event import QueryEvent
from faultmaven.services.queries.service import Accepted

router = APIRouter(prefix="/api/v1/cases/{case_id}/queries", tags=["queries"])
POLL_AFTER_SECONDS = "1"


def _wants_stream(accept: str | None) -> bool:
    return "text/event-stream" in (accept or "")


def _wants_async(prefer: str | None) -> bool:
    return any(part.strip().lower() == "respond-async" for part in (prefer or "").split(","))


def _accepted(request: Request, accepted: Accepted) -> JSONResponse:
    location = (
        str(request.base_url).rstrip("/") + f"/api/v1/cases/{accepted.case_id}/queries/{accepted.query_id}"
    )
    return JSONResponse(
        {"query_id": accepted.query_id, "status": "processing"},
        status_code=202,
        headers={
            "Location": location,
            "Retry-After": POLL_AFTER_SECONDS,
            "Preference-Applied": "respond-async",
        },
    )


def _sse(events: AsyncIterator[QueryEvent]) -> StreamingResponse:
    async def body() -> AsyncIterator[bytes]:
        async for item in events:
            yield f"id: {item.seq}\nevent: {item.event}\ndata: {json.dumps(item.data)}\n\n".encode()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("", status_code=201, **documented(AgentResponse, 201, responses=SUBMIT_RESPONSES))
async def submit_case_query(
    case_id: str,
    body: QueryBody,
    request: Request,
    principal: PrincipalDep,
    container: ContainerDep,
    accept: Annotated[str | None, Header()] = None,
    prefer: Annotated[str | None, Header()] = None,
) -> Response:
    service = container.query_service
    options = {"session_id": body.session_id, "context": body.context, "priority": body.priority}
    streamed = _wants_stream(accept)
    result = await service.submit(
        principal, case_id, body.query, respond_async=streamed or _wants_async(prefer), **options
    )
    if isinstance(result, Accepted):
        if streamed:
            return _sse(await service.events(principal.user_id, case_id, result.query_id))
        return _accepted(request, result)
    return Response(
        result.model_dump_json(),  # pydantic-core serializes in one pass: no dicts, no json.dumps
        status_code=201,
        media_type="application/json",
        headers={"Location": f"/api/v1/cases/{case_id}/queries/{result.query_id}"},
    )


@router.get("", **documented(list[QuerySummary]))
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


@router.get("/{query_id}", **documented(QueryStatus, description="Done", responses=QUERY_RUNNING))
async def get_case_query(
    case_id: str, query_id: str, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    body = await container.query_service.get(principal.user_id, case_id, query_id)
    running = body["status"] in ("pending", "processing")
    return JSONResponse(
        body,
        status_code=202 if running else 200,
        headers={"Retry-After": POLL_AFTER_SECONDS} if running else None,
    )


@router.delete("/{query_id}", status_code=204)
async def cancel_case_query(
    case_id: str, query_id: str, principal: PrincipalDep, container: ContainerDep
) -> Response:
    await container.query_service.cancel(principal.user_id, case_id, query_id)
    return Response(status_code=204)


@router.get("/{query_id}/events", response_class=StreamingResponse, responses=QUERY_EVENTS)
async def query_events(
    case_id: str,
    query_id: str,
    principal: PrincipalDep,
    container: ContainerDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Attach to a query's events; `Last-Event-ID` resumes after the last one seen."""
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return _sse(await container.query_service.events(principal.user_id, case_id, query_id, after))
