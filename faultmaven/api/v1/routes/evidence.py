"""Case evidence: upload, list, read, cite line ranges, delete (contract "Evidence (case data)")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.uploads import read_upload
from faultmaven.api.v1.responses import (
    EvidenceLines,
    EvidenceOut,
    UploadedEvidence,
    documented,
    text_fields,
    upload_body,
)
from faultmaven.models.agent import SCHEMA_VERSION
from faultmaven.models.sharing import CaseRole

router = APIRouter(prefix="/api/v1/cases/{case_id}/data", tags=["evidence"])

DEFAULT_RANGE_LINES = 100
_UPLOAD_BODY = upload_body(
    ("description", "session_id"),
    {
        "type": "object",
        "required": ["content"],
        "properties": text_fields(("content", "filename", "description", "session_id")),
    },
)


@router.post("", status_code=201, openapi_extra=_UPLOAD_BODY, **documented(UploadedEvidence, 201))
async def upload_evidence(
    case_id: str, request: Request, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    """Multipart `file` (streamed, spooled to disk) or JSON `{content}`; 413 above the limit, 415 binary."""
    await container.case_service.authorize(principal.user_id, case_id, CaseRole.COLLABORATOR)
    upload = await read_upload(request, container.settings.max_upload_bytes)
    upload.session_id = upload.session_id or principal.session_id
    item = await container.evidence_service.add_evidence(principal.user_id, case_id, upload)
    await container.audit_log.record(principal.user_id, case_id, "upload", data_id=item.data_id,
                                     filename=item.filename, file_size=item.file_size)
    shown = await container.evidence_service.for_member(case_id, item)
    return JSONResponse(
        {"schema_version": SCHEMA_VERSION, **shown.to_json()},
        status_code=201,
        headers={"Location": f"/api/v1/cases/{case_id}/data/{item.data_id}"},
    )


@router.get("", **documented(list[EvidenceOut]))
async def list_evidence(
    case_id: str,
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    page: PageDep,
) -> list[dict[str, Any]]:
    items, total = await container.evidence_service.list_evidence(
        principal.user_id, case_id, page.limit, page.offset
    )
    set_page_headers(request, response, total=total, limit=page.limit, offset=page.offset)
    return [item.to_json() for item in items]


@router.get("/{data_id}", **documented(EvidenceOut))
async def get_evidence(
    case_id: str, data_id: str, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    item = await container.evidence_service.get_evidence(principal.user_id, case_id, data_id)
    return item.to_json(with_digest=True)


@router.get("/{data_id}/lines", **documented(EvidenceLines))
async def get_evidence_lines(
    case_id: str,
    data_id: str,
    principal: PrincipalDep,
    container: ContainerDep,
    start: Annotated[int, Query(ge=1)] = 1,
    end: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    """The stored (sanitized) lines `start..end` (at most 2,000), for citations."""
    last = end if end is not None else start + DEFAULT_RANGE_LINES - 1
    item, lines = await container.evidence_service.get_lines(principal.user_id, case_id, data_id, start, last)
    return {
        "data_id": data_id,
        "case_id": case_id,
        "start": start,
        "end": last,
        "line_count": item.line_count,
        "processing_status": item.processing_status.value,
        "lines": [{"line_number": line.line_number, "text": line.text} for line in lines],
    }


@router.delete("/{data_id}", status_code=204)
async def delete_evidence(
    case_id: str, data_id: str, principal: PrincipalDep, container: ContainerDep
) -> Response:
    await container.evidence_service.delete_evidence(principal.user_id, case_id, data_id)
    return Response(status_code=204)
