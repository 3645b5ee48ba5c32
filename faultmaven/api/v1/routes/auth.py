"""Login (password and dev), logout, personal access tokens and the caller's identity (contract
"Authentication")."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PrincipalDep, bearer_token
from faultmaven.api.v1.account_schemas import LoginBody, TokenCreateBody
from faultmaven.api.v1.responses import (
    LOGIN_ERRORS,
    AuthMethods,
    IssuedTokenOut,
    LoginOut,
    MeOut,
    TokenOut,
    documented,
)
from faultmaven.api.v1.schemas import DevLoginBody
from faultmaven.models.user import ApiToken, User
from faultmaven.services.errors import NotFoundError

if TYPE_CHECKING:
    from faultmaven.container import Container

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def user_json(user: User) -> dict[str, Any]:
    return {
        "user_id": user.user_id,
        "username": user.username,
        "email": user.email,
        "display_name": user.display_name or user.username,
        "created_at": user.created_at.isoformat(),
        "is_dev_user": user.is_dev_user,
        "roles": user.roles,
    }


def token_json(token: ApiToken) -> dict[str, Any]:
    return token.model_dump(mode="json")


async def _login_response(container: Container, user: User, kind: str) -> dict[str, Any]:
    """A new token and client session for the user: the body of both logins."""
    token = await container.auth_service.issue_token(user.user_id, name=kind)
    session, _ = await container.session_service.create_session(user.user_id, session_type=kind)
    user_body = user_json(user)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(container.auth_service.token_ttl.total_seconds()),
        "session_id": session.session_id,
        "user": user_body,
        "view_state": {"session_id": session.session_id, "user": user_body},
    }


@router.get("/methods", **documented(AuthMethods))
async def sign_in_methods(container: ContainerDep) -> dict[str, Any]:
    """How a person signs in here, asked before signing in: a client offers only these."""
    settings = container.settings
    token_mode = settings.auth_mode == "token"
    return AuthMethods(
        auth_mode=settings.auth_mode,
        password=token_mode,
        dev_login=settings.dev_login_enabled,
        api_token=True,
        sign_in_required=token_mode,
    ).model_dump()


@router.post("/dev-login", **documented(LoginOut, errors={404: "Dev login is disabled on this server"}))
async def dev_login(body: DevLoginBody, container: ContainerDep) -> dict[str, Any]:
    """A token for a named user without a password: local mode always, token mode only when enabled."""
    settings = container.settings
    if not settings.dev_login_enabled:
        raise NotFoundError("Dev login is disabled on this server", code="DEV_LOGIN_DISABLED")
    user = await container.auth_service.ensure_user(
        body.username, email=body.email, display_name=body.display_name, dev=True
    )
    return await _login_response(container, user, "dev-login")


@router.post("/login", **documented(LoginOut, errors=LOGIN_ERRORS))
async def login(body: LoginBody, container: ContainerDep) -> dict[str, Any]:
    """Username and password for a token; 401 for any wrong pair, 429 while the name is locked out."""
    user = await container.account_service.login(body.username, body.password)
    return await _login_response(container, user, "login")


@router.post("/logout", status_code=204)
async def logout(request: Request, principal: PrincipalDep, container: ContainerDep) -> Response:
    token = bearer_token(request.headers)
    if token:
        await container.auth_service.revoke(token)
    if principal.session_id:
        with contextlib.suppress(NotFoundError):
            await container.session_service.terminate(principal.user_id, principal.session_id)
    return Response(status_code=204)


@router.get("/me", **documented(MeOut))
async def me(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    memberships = await container.team_service.memberships(principal.user_id)
    return {
        **user_json(principal.user),
        "is_admin": principal.user.is_admin,
        "teams": [{"team_id": m.team.team_id, "name": m.team.name, "role": m.role} for m in memberships],
        "auth_mode": container.settings.auth_mode,
    }


@router.post("/tokens", status_code=201, **documented(IssuedTokenOut, 201))
async def create_token(
    body: TokenCreateBody, principal: PrincipalDep, container: ContainerDep
) -> JSONResponse:
    """A personal access token; its secret is in this response only."""
    ttl = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    issued = await container.auth_service.create_token(principal.user_id, body.name, ttl)
    return JSONResponse(issued.model_dump(mode="json"), status_code=201)


@router.get("/tokens", **documented(list[TokenOut]))
async def list_tokens(principal: PrincipalDep, container: ContainerDep) -> list[dict[str, Any]]:
    """The caller's working tokens (login sessions included), without their secrets."""
    return [token_json(token) for token in await container.auth_service.list_tokens(principal.user_id)]


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, principal: PrincipalDep, container: ContainerDep) -> Response:
    """Effective on the next request in every process: each request checks its token in the database."""
    await container.auth_service.revoke_token_id(principal.user_id, token_id)
    return Response(status_code=204)
