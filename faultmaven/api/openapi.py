"""The OpenAPI document: FastAPI's, completed with what the routes cannot say one by one.

Every operation gets the problem+json errors it can answer (from what it takes: a caller, path ids,
parameters, a body, a write budget), errors replace FastAPI's own 422 shape (the API never sends it), and
in local mode the bearer scheme is optional (`{}` in `security`), as it is at run time.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from faultmaven.api.problems import PROBLEM_MEDIA_TYPE
from faultmaven.api.v1.responses import Problem
from faultmaven.config.settings import Settings
from faultmaven.services.knowledge.models import DocumentInput

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
REFERENCED_MODELS = (Problem, DocumentInput)
"""Schemas that hand-written parts of the document refer to (problem responses, multipart bodies)."""
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
UNLIMITED_PREFIXES = ("/health", "/metrics")
DESCRIPTION = """FaultMaven: an AI troubleshooting copilot for SRE and DevOps engineers.

Every error is `application/problem+json` (RFC 9457) with a stable `code`. In token mode every
`/api/v1` route needs `Authorization: Bearer <token>` (from `POST /api/v1/auth/login` or a personal access
token); in local mode the token is optional and requests run as the local user. Writes accept an
`Idempotency-Key` header; list routes page with `limit`/`offset` and send `X-Total-Count` and `Link`."""

_PHRASES = {
    400: "The request body is not valid JSON, or the query string holds a NUL character",
    401: "No valid bearer token (token mode)",
    403: "The caller's role does not allow this",
    404: "No such resource, or not visible to the caller",
    409: "Conflicts with the current state (or an Idempotency-Key reused with another body)",
    413: "The request body is too large",
    415: "The body's media type is not accepted",
    422: "A parameter or the body is invalid",
    429: "Rate limited: retry after `Retry-After` seconds",
    503: "A dependency (database, Redis) is unavailable: retry after `Retry-After` seconds",
}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer, from what it takes."""
    statuses = {503}
    secured = bool(operation.get("security"))
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    if secured:
        statuses |= {401, 403}
    if any(parameter.get("in") == "path" for parameter in parameters):
        statuses.add(404)
    if parameters or has_body:
        statuses.add(422)
    if any(parameter.get("in") == "query" for parameter in parameters):
        statuses.add(400)
    if has_body:
        statuses |= {400, 413, 415}
    if method in WRITE_METHODS and not path.startswith(UNLIMITED_PREFIXES):
        statuses |= {409, 429}
    return statuses


def _problem_response(status: int) -> dict[str, Any]:
    return {"description": _PHRASES[status], "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}}


def complete(document: dict[str, Any], *, bearer_optional: bool) -> dict[str, Any]:
    """Problem responses on every operation, the Problem schema, and local mode's optional bearer."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in REFERENCED_MODELS:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                responses[str(status)] = _problem_response(status)
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}}
            if bearer_optional and operation.get("security"):
                operation["security"] = [*operation["security"], {}]
    return document


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace `app.openapi` with the completed document (built once, then cached like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=DESCRIPTION, routes=app.routes
            )
            app.openapi_schema = complete(document, bearer_optional=settings.auth_mode == "local")
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
