"""FastAPI dependencies: routes get the container's services and the caller from here, never from globals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPBearer

from faultmaven.models.user import Principal
from faultmaven.services.errors import UnauthorizedError

if TYPE_CHECKING:
    from faultmaven.container import Container

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="faultmaven"'}
BEARER_SCHEME = HTTPBearer(
    scheme_name="bearer",
    description="A token from `POST /api/v1/auth/login` or a personal access token. Optional in local mode.",
    auto_error=False,
)
"""Declares the bearer scheme in the OpenAPI document; `get_principal` reads the header itself."""


async def get_container(request: Request) -> Container:
    """Async although it does not await: FastAPI runs a plain `def` dependency in its thread pool."""
    return request.app.state.container


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def resolve_principal(container: Container, headers: Mapping[str, str]) -> Principal:
    """The caller: a valid bearer token's user; in local mode, without one, the local user."""
    token = bearer_token(headers)
    session_id = headers.get("x-session-id") or None
    if token is not None:
        user = await container.auth_service.authenticate(token)
        if user is None:
            raise UnauthorizedError(
                "The bearer token is invalid, expired or revoked",
                code="INVALID_TOKEN",
                headers=BEARER_CHALLENGE,
            )
        return Principal(user=user, session_id=session_id)
    if container.settings.auth_mode == "local":
        return Principal(user=await container.auth_service.local_user(), session_id=session_id)
    raise UnauthorizedError(
        "Authentication required: send Authorization: Bearer <token>",
        code="AUTHENTICATION_REQUIRED",
        headers=BEARER_CHALLENGE,
    )


async def get_principal(request: Request, _: Annotated[object, Depends(BEARER_SCHEME)] = None) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = await resolve_principal(await get_container(request), request.headers)
    request.state.principal = principal
    return principal


ContainerDep = Annotated["Container", Depends(get_container)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]


class Page:
    """`limit` (1..100, default 50) and `offset` of a list route."""

    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ):
        self.limit = limit
        self.offset = offset


PageDep = Annotated[Page, Depends()]
