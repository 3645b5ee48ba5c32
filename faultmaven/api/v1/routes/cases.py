"""Cases: create, list, read, update, delete, title and messages (contract "Cases" and "Messages")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.responses import (
    REPORT_MARKDOWN,
    CaseEnvelope,
    MessagesPage,
    ReportOut,
    TitleOut,
    documented,
)
from faultmaven.api.v1.schemas import CaseCreateBody, CaseUpdateBody, TitleBody
from faultmaven.models.agent import SCHEMA_VERSION
from faultmaven.models.case import Case, CasePriority, CaseStatus
from faultmaven.services.cases.service import CaseCreate, CaseUpdate

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def case_json(case: Case) -> dict[str, Any]:
    return case.model_dump(mode="json")


@router.post("", status_code=201, **documented(CaseEnvelope, 201))
async def create_case(body: CaseCreateBody, principal: PrincipalDep, container: ContainerDep) -> JSONResponse:
    data = CaseCreate(
        title=body.title,
        description=body.description or "",
        priority=body.priority,
        session_id=body.session_id or principal.session_id,
        initial_message=body.initial_message,
        metadata=body.metadata,
    )
    case = await container.case_service.create_case(principal.user_id, data)
    return JSONResponse(
        {"schema_version": SCHEMA_VERSION, "case": case_json(case)},
        status_code=201,
        headers={"Location": f"/api/v1/cases/{case.case_id}"},
    )


@router.get("", **documented(list[Case]))
async def list_cases(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    page: PageDep,
    status: CaseStatus | None = None,
    priority: CasePriority | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    scope: Literal["all", "owned", "shared"] = "all",
) -> list[dict[str, Any]]:
    """The caller's cases: owned, shared with them or their teams (`scope`), newest activity first."""
    cases, total = await container.case_service.list_cases(
        principal.user_id,
        scope=scope,
        status=status.value if status else None,
        priority=priority.value if priority else None,
        text=q or None,
        limit=page.limit,
        offset=page.offset,
    )
    set_page_headers(request, response, total=total, limit=page.limit, offset=page.offset)
    return [case_json(case) for case in cases]


@router.get("/{case_id}", **documented(Case))
async def get_case(case_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return case_json(await container.case_service.authorize(principal.user_id, case_id))


async def _update(
    case_id: str, body: CaseUpdateBody, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    changes = CaseUpdate(**body.model_dump())
    case = await container.case_service.update_case(principal.user_id, case_id, changes)
    if changes.status is not None:
        await container.audit_log.record(principal.user_id, case_id, "status_change",
                                         status=case.status.value)
        container.report_service.schedule(case)
    return case_json(case)


router.put("/{case_id}", **documented(Case))(_update)
router.patch("/{case_id}", **documented(Case))(_update)


@router.delete("/{case_id}", status_code=204)
async def delete_case(case_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    if await container.case_service.delete_case(principal.user_id, case_id):
        await container.audit_log.record(principal.user_id, case_id, "delete")
    return Response(status_code=204)


@router.post("/{case_id}/title", **documented(TitleOut))
async def generate_title(
    case_id: str, principal: PrincipalDep, container: ContainerDep, body: TitleBody | None = None
) -> JSONResponse:
    options = body or TitleBody()
    title, source = await container.title_service.title_for(
        principal.user_id, case_id, options.max_words, options.hint
    )
    return JSONResponse(
        {"schema_version": SCHEMA_VERSION, "title": title}, headers={"x-title-source": source}
    )


@router.get("/{case_id}/messages", **documented(MessagesPage))
async def list_messages(
    case_id: str, principal: PrincipalDep, container: ContainerDep, page: PageDep
) -> dict[str, Any]:
    messages, total = await container.case_service.list_messages(
        principal.user_id, case_id, page.limit, page.offset
    )
    next_offset = page.offset + len(messages)
    return {
        "messages": [
            {
                "message_id": m.message_id,
                "role": m.role,
                "message_type": m.message_type.value,
                "content": m.content,
                "created_at": m.created_at.isoformat(),
                "query_id": m.query_id,
                "author_id": m.author_id,
                "metadata": m.metadata,
            }
            for m in messages
        ],
        "total_count": total,
        "retrieved_count": len(messages),
        "has_more": next_offset < total,
        "next_offset": next_offset if next_offset < total else None,
    }


@router.get("/{case_id}/report", **documented(ReportOut, responses=REPORT_MARKDOWN))
async def case_report(case_id: str, principal: PrincipalDep, container: ContainerDep,
                      format: Annotated[Literal["json", "markdown"] | None, Query()] = None,
                      accept: Annotated[str | None, Header()] = None) -> Response:
    """The resolved or closed case's report: JSON, or Markdown with `?format=markdown` or
    `Accept: text/markdown`."""
    report = await container.report_service.report_for(principal.user_id, case_id)
    await container.audit_log.record(principal.user_id, case_id, "export", format=format or "json")
    if format == "markdown" or (format is None and "text/markdown" in (accept or "")):
        return Response(report.markdown, media_type="text/markdown; charset=utf-8")
    return JSONResponse({"schema_version": SCHEMA_VERSION, **report.model_dump(mode="json")})
