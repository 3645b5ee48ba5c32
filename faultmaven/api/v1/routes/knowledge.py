"""Knowledge base: documents (multipart upload or JSON) and full-text search (contract "Knowledge base")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import UploadFile

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.responses import DOCUMENT_BODY, DocumentsPage, SearchOut, documented
from faultmaven.services.errors import PayloadTooLargeError, UnsupportedMediaError
from faultmaven.services.knowledge.models import (
    DocumentInput,
    DocumentType,
    DocumentUpdate,
    KnowledgeDocument,
    SearchFilters,
    SearchHit,
    normalize_tags,
)
from faultmaven.services.knowledge.search import MAX_SEARCH_LIMIT
from faultmaven.services.knowledge.service import MAX_DOCUMENT_BYTES
from faultmaven.services.knowledge.sources import decode_text, first_heading

router = APIRouter(prefix="/api/v1/knowledge", tags=["knowledge"])
FORM_FIELDS = ("title", "document_type", "category", "tags", "source_url", "description", "scope", "case_id")


class SearchBody(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    limit: int = Field(default=10, ge=1, le=MAX_SEARCH_LIMIT)
    similarity_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    filters: SearchFilters | None = None


def document_json(document: KnowledgeDocument) -> dict[str, Any]:
    return document.model_dump(mode="json")


def hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "document_id": hit.document_id,
        "chunk_id": hit.chunk_id,
        "content": hit.content,
        "metadata": {
            "title": hit.title,
            "document_type": hit.document_type.value,
            "category": hit.category,
            "tags": hit.tags,
            "heading_path": hit.heading_path,
        },
        "similarity_score": hit.similarity_score,
    }


def _validated(model: type[BaseModel], values: Any) -> Any:
    """Pydantic errors as the API's 422 (or 400 for broken JSON), never a 500."""
    try:
        return (
            model.model_validate_json(values) if isinstance(values, bytes) else model.model_validate(values)
        )
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from error


async def _uploaded_text(upload: UploadFile) -> str:
    data = await upload.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise PayloadTooLargeError(
            f"The file exceeds the knowledge base's limit of {MAX_DOCUMENT_BYTES} bytes"
        )
    return decode_text(data)


async def _multipart_input(request: Request) -> DocumentInput:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise RequestValidationError(
            [{"loc": ("body", "file"), "msg": "a file part is required", "type": "missing"}]
        )
    content = await _uploaded_text(upload)
    values: dict[str, Any] = {name: form[name] for name in FORM_FIELDS if isinstance(form.get(name), str)}
    values = {name: value for name, value in values.items() if value.strip()}
    values.setdefault("title", first_heading(content) or (upload.filename or "Untitled document"))
    return _validated(DocumentInput, {**values, "content": content})


async def document_input(request: Request) -> DocumentInput:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        return await _multipart_input(request)
    if media_type in ("application/json", ""):
        return _validated(DocumentInput, await request.body())
    raise UnsupportedMediaError("Send the document as multipart/form-data (file) or as JSON (content)")


@router.post("/documents", status_code=201, openapi_extra=DOCUMENT_BODY,
              **documented(KnowledgeDocument, 201, errors={404: "The named case does not exist"}))
async def create_document(request: Request, principal: PrincipalDep, container: ContainerDep) -> JSONResponse:
    document = await container.knowledge_service.create_document(
        principal.user, await document_input(request)
    )
    return JSONResponse(
        document_json(document),
        status_code=201,
        headers={"Location": f"/api/v1/knowledge/documents/{document.document_id}"},
    )


@router.get("/documents", **documented(DocumentsPage))
async def list_documents(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    container: ContainerDep,
    page: PageDep,
    document_type: DocumentType | None = None,
    tags: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    documents, total = await container.knowledge_service.list_documents(
        principal.user,
        document_type=document_type.value if document_type else None,
        tags=normalize_tags(tags or ""),
        limit=page.limit,
        offset=page.offset,
    )
    set_page_headers(request, response, total=total, limit=page.limit, offset=page.offset)
    return {
        "documents": [document_json(document) for document in documents],
        "total_count": total,
        "limit": page.limit,
        "offset": page.offset,
    }


@router.get("/documents/{document_id}", **documented(KnowledgeDocument))
async def get_document(document_id: str, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return document_json(await container.knowledge_service.get_document(principal.user, document_id))


@router.put("/documents/{document_id}", **documented(KnowledgeDocument))
async def update_document(
    document_id: str, changes: DocumentUpdate, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    return document_json(
        await container.knowledge_service.update_document(principal.user, document_id, changes)
    )


@router.delete("/documents/{document_id}", status_code=204)
async def delete_document(document_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    await container.knowledge_service.delete_document(principal.user, document_id)
    return Response(status_code=204)


@router.post("/search", **documented(SearchOut))
async def search(body: SearchBody, principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    hits = await container.knowledge_service.search(
        principal.user_id,
        body.query,
        limit=body.limit,
        similarity_threshold=body.similarity_threshold,
        filters=body.filters,
    )
    return {"query": body.query, "total_results": len(hits), "results": [hit_json(hit) for hit in hits]}
