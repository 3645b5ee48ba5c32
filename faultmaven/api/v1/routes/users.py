"""User administration, for site admins only (in local mode the implicit local user is one)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep, PageDep, PrincipalDep
from faultmaven.api.pagination import set_page_headers
from faultmaven.api.v1.account_schemas import UserCreateBody, UserUpdateBody
from faultmaven.api.v1.responses import AdminUserOut, documented
from faultmaven.api.v1.routes.auth import user_json
from faultmaven.models.user import Principal, User
from faultmaven.services.errors import ForbiddenError

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def require_admin(principal: Principal) -> None:
    if not principal.user.is_admin:
        raise ForbiddenError("This needs the admin role", code="ADMIN_REQUIRED")


def admin_user_json(user: User) -> dict[str, Any]:
    return {
        **user_json(user),
        "is_admin": user.is_admin,
        "disabled": user.disabled,
        "has_password": user.has_password,
    }


@router.get("", **documented(list[AdminUserOut]))
async def list_users(
    request: Request, response: Response, page: PageDep, principal: PrincipalDep, container: ContainerDep
) -> list[dict[str, Any]]:
    require_admin(principal)
    users = await container.auth_service.list_users()
    set_page_headers(request, response, total=len(users), limit=page.limit, offset=page.offset)
    return [admin_user_json(user) for user in users[page.offset : page.offset + page.limit]]


@router.post("", status_code=201, **documented(AdminUserOut, 201))
async def create_user(body: UserCreateBody, principal: PrincipalDep, container: ContainerDep) -> JSONResponse:
    require_admin(principal)
    user = await container.account_service.create_account(
        body.username,
        password=body.password,
        admin=body.is_admin,
        email=body.email,
        display_name=body.display_name,
    )
    return JSONResponse(
        admin_user_json(user), status_code=201, headers={"Location": f"/api/v1/users/{user.user_id}"}
    )


@router.patch("/{user_id}", **documented(AdminUserOut))
async def update_user(
    user_id: str, body: UserUpdateBody, principal: PrincipalDep, container: ContainerDep
) -> dict[str, Any]:
    require_admin(principal)
    user = await container.account_service.update_by_admin(
        principal.user, user_id, disabled=body.disabled, is_admin=body.is_admin, password=body.password
    )
    return admin_user_json(user)
