"""`GET /api/v1/metrics/case-agent`: the design document's dashboard figures over a sliding window.

Admin only: the figures describe every user's traffic. The local user of local mode is an admin.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from faultmaven.api.dependencies import ContainerDep, PrincipalDep
from faultmaven.api.v1.responses import DashboardFigures, documented
from faultmaven.infrastructure.observability.dashboard import MAX_WINDOW_SECONDS
from faultmaven.services.errors import ForbiddenError

router = APIRouter(prefix="/api/v1/metrics", tags=["operations"])


@router.get("/case-agent", **documented(DashboardFigures))
async def case_agent_figures(
    container: ContainerDep,
    principal: PrincipalDep,
    window_seconds: Annotated[int, Query(ge=60, le=MAX_WINDOW_SECONDS)] = 300,
) -> dict[str, Any]:
    if not principal.user.is_admin:
        raise ForbiddenError("The case-agent dashboard is for administrators", code="ADMIN_REQUIRED")
    return container.dashboard.figures(window_seconds)
