"""The one errors module: each problem type renders as problem+json with its status, title and code."""

import httpx
import pytest
from fastapi import FastAPI

from faultmaven.api.problems import install_problem_handlers
from faultmaven.services import errors

PROBLEM_TYPES = [
    (errors.ServiceError, 400, "BAD_REQUEST", "Bad request"),
    (errors.UnauthorizedError, 401, "UNAUTHORIZED", "Unauthorized"),
    (errors.ForbiddenError, 403, "FORBIDDEN", "Forbidden"),
    (errors.NotFoundError, 404, "NOT_FOUND", "Not found"),
    (errors.ConflictError, 409, "CONFLICT", "Conflict"),
    (errors.GoneError, 410, "GONE", "Gone"),
    (errors.PayloadTooLargeError, 413, "PAYLOAD_TOO_LARGE", "Content too large"),
    (errors.UnsupportedMediaError, 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
    (errors.UnprocessableError, 422, "UNPROCESSABLE", "Unprocessable content"),
    (errors.TooManyRequestsError, 429, "TOO_MANY_REQUESTS", "Too many requests"),
    (errors.ServiceUnavailableError, 503, "SERVICE_UNAVAILABLE", "Service unavailable"),
]


def _app_raising(error: errors.ServiceError) -> httpx.AsyncClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/fail")
    async def fail() -> None:
        raise error

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.parametrize(("kind", "status", "code", "title"), PROBLEM_TYPES)
async def test_each_problem_type_renders_its_status_title_and_code(kind, status, code, title) -> None:
    async with _app_raising(kind("what went wrong")) as client:
        response = await client.get("/fail")
    body = response.json()
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert (body["status"], body["code"], body["title"], body["detail"]) == (
        status, code, title, "what went wrong"
    )


async def test_code_headers_and_extra_members_reach_the_problem_body() -> None:
    error = errors.PayloadTooLargeError(
        "too big", code="FILE_TOO_LARGE", headers={"Retry-After": "5"}, limit_bytes=10
    )
    async with _app_raising(error) as client:
        response = await client.get("/fail")
    body = response.json()
    assert body["code"] == "FILE_TOO_LARGE" and body["limit_bytes"] == 10
    assert response.headers["retry-after"] == "5"


@pytest.mark.parametrize("field", ["type", "title", "status", "detail", "request_id"])
def test_an_extra_member_may_not_replace_a_standard_one(field: str) -> None:
    with pytest.raises(TypeError, match=field):
        errors.ConflictError("clash", **{field: "x"})
