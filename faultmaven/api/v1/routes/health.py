"""Liveness, readiness, detailed health and Prometheus metrics (contract "Operations")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from faultmaven.api.dependencies import ContainerDep

router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers; checks no dependency."""
    return {"status": "healthy"}


@router.get("/health/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    report = await container.readiness()
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


@router.get("/health/detailed")
async def detailed(container: ContainerDep) -> dict[str, Any]:
    return await container.detailed_health()


@router.get("/metrics")
async def metrics(container: ContainerDep) -> Response:
    body, content_type = container.metrics.render()
    return Response(body, media_type=content_type)
