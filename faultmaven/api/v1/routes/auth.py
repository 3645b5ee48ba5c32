"""Dev login, logout and the caller's identity (contract "Authentication")."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request, Response

from faultmaven.api.dependencies import ContainerDep, PrincipalDep, bearer_token
from faultmaven.api.v1.schemas import DevLoginBody
from faultmaven.models.user import User
from faultmaven.services.errors import NotFoundError

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


@router.post("/dev-login")
async def dev_login(body: DevLoginBody, container: ContainerDep) -> dict[str, Any]:
    """A token for a named user without a password: local mode always, token mode only when enabled."""
    settings = container.settings
    if settings.auth_mode == "token" and not settings.dev_login:
        raise NotFoundError("Dev login is disabled on this server", code="DEV_LOGIN_DISABLED")
    user = await container.auth_service.ensure_user(
        body.username, email=body.email, display_name=body.display_name, dev=True
    )
    token = await container.auth_service.issue_token(user.user_id, name="dev-login")
    session, _ = await container.session_service.create_session(user.user_id, session_type="dev-login")
    user_body = user_json(user)
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(container.auth_service.token_ttl.total_seconds()),
        "session_id": session.session_id,
        "user": user_body,
        "view_state": {"session_id": session.session_id, "user": user_body},
    }


@router.post("/logout", status_code=204)
async def logout(request: Request, principal: PrincipalDep, container: ContainerDep) -> Response:
    token = bearer_token(request.headers)
    if token:
        await container.auth_service.revoke(token)
    if principal.session_id:
        with contextlib.suppress(NotFoundError):
            await container.session_service.terminate(principal.user_id, principal.session_id)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: PrincipalDep, container: ContainerDep) -> dict[str, Any]:
    return {**user_json(principal.user), "auth_mode": container.settings.auth_mode}
