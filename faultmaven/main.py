"""The ASGI application: `faultmaven.main:app`, built by `create_app` from settings."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pydantic import ValidationError

from faultmaven import __version__
from faultmaven.api.browser_guard import CrossSiteRequestGuard, allowed_origins_regex
from faultmaven.api.console import mount_console
from faultmaven.api.docs_pages import install_docs
from faultmaven.api.idempotency import IdempotencyMiddleware
from faultmaven.api.lifespan import LifespanMiddleware, settings_error_line
from faultmaven.api.middleware import EnsureStartedMiddleware, RequestContextMiddleware
from faultmaven.api.openapi import install_openapi
from faultmaven.api.problems import install_problem_handlers
from faultmaven.api.rate_limit import RateLimitMiddleware
from faultmaven.api.uploads import MULTIPART_OVERHEAD_BYTES
from faultmaven.api.v1.routes import (
    agent,
    auth,
    cases,
    evidence,
    health,
    knowledge,
    metrics_dashboard,
    queries,
    sessions,
    sharing,
    teams,
    users,
)
from faultmaven.config.settings import Settings
from faultmaven.container import Container
from faultmaven.lifecycle import configure_logging

EXPOSED_HEADERS = [
    "Location",
    "X-Total-Count",
    "Link",
    "Retry-After",
    "X-Request-ID",
    "Deprecation",
    "Sunset",
    "X-Idempotency-Replayed",
    "x-title-source",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
]
EVIDENCE_UPLOAD_PATH = r"/api/v1/cases/[^/]+/data"
KNOWLEDGE_DOCUMENT_PATH = r"/api/v1/knowledge/documents(/[^/]+)?"
KNOWLEDGE_DOCUMENT_MAX_BYTES = 6_000_000
"""5 MiB of document text (the service's own cap) plus room for multipart headers and JSON escaping."""


def _install_routes(app: FastAPI) -> None:
    """Routers carry their full prefix, so a route's template is its path (metrics label by it).

    FastAPI tries routers in order and every route of a router before the next, so the query routes, the
    busiest, come first; no two routers' paths overlap, so the order changes nothing else."""
    for module in (
        queries, health, auth, users, teams, sessions, cases, sharing, evidence, agent, metrics_dashboard,
        knowledge,
    ):
        app.include_router(module.router)


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    container = container or Container(settings)
    configure_logging(container.settings)

    app = FastAPI(title="FaultMaven", version=__version__, redirect_slashes=False,
                  docs_url=None, redoc_url=None)
    app.state.container = container
    install_problem_handlers(app)
    install_openapi(app, container.settings)
    install_docs(app)
    _install_routes(app)
    mount_console(app, container.settings)

    app.add_middleware(IdempotencyMiddleware, container=container)
    app.add_middleware(RateLimitMiddleware, container=container)
    app.add_middleware(EnsureStartedMiddleware, start=container.start)
    app.add_middleware(
        CORSMiddleware,
        allow_origin_regex=allowed_origins_regex(container.settings.cors_origins),
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    if container.settings.auth_mode == "local":
        app.add_middleware(CrossSiteRequestGuard, allowed_origins=container.settings.cors_origins)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=container.metrics,
        max_body_bytes=container.settings.max_request_bytes,
        body_limits={
            EVIDENCE_UPLOAD_PATH: container.settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
            KNOWLEDGE_DOCUMENT_PATH: KNOWLEDGE_DOCUMENT_MAX_BYTES,
        },
    )
    app.add_middleware(LifespanMiddleware, start=container.start, stop=container.stop)
    return app


def _app_or_exit() -> FastAPI:
    """The served app; invalid settings stop the server with one line, not a traceback."""
    try:
        return create_app()
    except ValidationError as error:
        raise SystemExit(settings_error_line(error)) from None


app = _app_or_exit()
