"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served from files on this machine, so they work on an
air-gapped server: the UI bundles come from the `fastapi-offline` package (MIT), the start-up scripts from
`faultmaven/web/docs`. The pages run no inline script and their policy allows no other host."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH = "/docs/assets"
BUNDLE_DIR = Path(str(files("fastapi_offline") / "static"))
INIT_DIR = Path(__file__).resolve().parent.parent / "web" / "docs"
# Swagger UI and ReDoc set inline styles and ReDoc searches in a blob: worker; nothing may leave the host.
DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str, styles: list[str], scripts: list[str], openapi_url: str) -> str:
    url = html.escape(openapi_url, quote=True)
    links = "".join(f'<link rel="stylesheet" href="{ASSETS_PATH}/{name}">' for name in styles)
    tags = "".join(
        f'<script src="{ASSETS_PATH}/{name}" data-openapi-url="{url}"></script>' for name in scripts
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{ASSETS_PATH}/favicon.png">{links}</head>'
        f"<body>{body}{tags}</body></html>"
    )


def install_docs(app: FastAPI) -> None:
    """Serve the two documentation pages and their assets; the app must be built with `docs_url=None`
    and `redoc_url=None` so that FastAPI's CDN-based pages are not there as well."""
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = _page(
        f"{app.title} API", '<div id="swagger-ui"></div>', ["swagger-ui.css"],
        ["swagger-ui-bundle.js", "swagger-init.js"], openapi_url,
    )
    redoc = _page(
        f"{app.title} API reference", '<div id="redoc"></div>', [],
        ["redoc.standalone.js", "redoc-init.js"], openapi_url,
    )

    async def swagger_page() -> HTMLResponse:
        return HTMLResponse(swagger, headers=DOCS_HEADERS)

    async def redoc_page() -> HTMLResponse:
        return HTMLResponse(redoc, headers=DOCS_HEADERS)

    app.add_api_route("/docs", swagger_page, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route("/redoc", redoc_page, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(ASSETS_PATH, _Assets(), name="docs-assets")


class _Assets(StaticFiles):
    """The UI bundles and the start-up scripts under one path."""

    def __init__(self) -> None:
        super().__init__(directory=BUNDLE_DIR)
        self.all_directories = [*self.all_directories, INIT_DIR]
