"""Liveness, readiness, detailed health and Prometheus metrics (contract "Operations")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from faultmaven.api.dependencies import ContainerDep
from faultmaven.api.v1.responses import (
    NOT_READY,
    PROMETHEUS_TEXT,
    DetailedHealth,
    HealthStatus,
    Readiness,
    documented,
)

router = APIRouter(tags=["operations"])


@router.get("/health", **documented(HealthStatus))
async def health() -> dict[str, str]:
    """Liveness: the process answers; checks no dependency."""
    return {"status": "healthy"}


@router.get("/health/ready", **documented(Readiness, responses=NOT_READY))
async def ready(container: ContainerDep) -> JSONResponse:
    report = await container.health_service.readiness()
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


@router.get("/health/detailed", **documented(DetailedHealth))
async def detailed(container: ContainerDep) -> dict[str, Any]:
    return await container.health_service.detailed_health()


@router.get("/metrics", response_class=PlainTextResponse, responses=PROMETHEUS_TEXT)
async def metrics(container: ContainerDep) -> Response:
    body, content_type = container.metrics.render()
    return Response(body, media_type=content_type)
