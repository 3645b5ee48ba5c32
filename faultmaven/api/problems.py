"""problem+json (RFC 9457) for every error: a string `detail` the client can show, a stable `code`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from faultmaven.services.errors import ServiceError

PROBLEM_MEDIA_TYPE = "application/problem+json"
_logger = structlog.get_logger(__name__)

_CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    410: "GONE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}


def problem_body(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    request_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body = {
        "type": "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "code": code or _CODES_BY_STATUS.get(status, "ERROR"),
        "request_id": request_id,
    }
    body.update(extra)
    return body


def problem_response(
    status: int,
    detail: str,
    *,
    request_id: str | None = None,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, detail, request_id=request_id, **fields),
        status_code=status,
        headers=headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in item.get("loc", ())],
            "msg": str(item.get("msg", "")),
            "type": str(item.get("type", "")),
        }
        for item in error.errors()
    ]


def _describe(errors: list[dict[str, Any]]) -> str:
    first = errors[0]
    location = ".".join(part for part in first["loc"] if part not in ("body", "query", "path", "header"))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{location or 'request'}: {first['msg']}{more}"


async def _on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = _validation_errors(error) or [{"loc": [], "msg": "invalid request", "type": "value_error"}]
    if any(item["type"] == "json_invalid" for item in errors):
        return problem_response(
            400,
            "The request body is not valid JSON",
            code="INVALID_JSON",
            request_id=_request_id(request),
            errors=errors,
        )
    return problem_response(
        422, _describe(errors), code="VALIDATION_ERROR", request_id=_request_id(request), errors=errors
    )


async def _on_service_error(request: Request, error: ServiceError) -> JSONResponse:
    return problem_response(
        error.status,
        error.detail,
        code=error.code,
        title=error.title,
        request_id=_request_id(request),
        headers=error.headers,
        **error.extra,
    )


async def _on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return problem_response(
        error.status_code, detail, request_id=_request_id(request), headers=dict(error.headers or {})
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, _on_service_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _on_http_error)  # type: ignore[arg-type]
