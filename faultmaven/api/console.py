"""The web console: a static HTML shell and ES modules, served by the API process at `console_path`.

The console is a client of `/api/v1` like any other; this module only serves files. Its routes are exact
(the shell at the prefix, assets under `<prefix>static/`) with no catch-all, so they never shadow `/api`,
`/health`, `/metrics`, `/docs` or `/openapi.json`; the console navigates with `#/...` fragments instead.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from faultmaven.config.settings import Settings

# The shell sits beside (not inside) the mounted assets, so it is only ever served with its base set.
WEB_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
STATIC_DIR = WEB_DIR / "assets"
SHELL_FILE = WEB_DIR / "index.html"
BASE_PLACEHOLDER = "__CONSOLE_BASE__"
RESERVED_PREFIXES = ("/api", "/health", "/metrics", "/docs", "/redoc", "/openapi.json")

# The console talks to this server only: no inline script, no other host, no framing.
SHELL_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def console_prefix(path: str) -> str:
    """`/` or `/name[/...]` without a trailing slash; refuses a prefix that would cover the API's paths."""
    prefix = "/" + path.strip().strip("/")
    if any(prefix == reserved or prefix.startswith(reserved + "/") for reserved in RESERVED_PREFIXES):
        raise ValueError(f"console_path {path!r} would shadow {prefix}: choose another prefix")
    return prefix


def render_shell(base: str) -> str:
    """The shell with its `<base href>` set, so its relative asset URLs work under any prefix."""
    return SHELL_FILE.read_text(encoding="utf-8").replace(BASE_PLACEHOLDER, html.escape(base, quote=True))


def mount_console(app: FastAPI, settings: Settings) -> None:
    if not settings.console_enabled:
        return
    prefix = console_prefix(settings.console_path)
    base = prefix.rstrip("/") + "/"
    shell = render_shell(base)

    async def console_shell() -> HTMLResponse:
        return HTMLResponse(shell, headers=SHELL_HEADERS)

    app.add_api_route(prefix, console_shell, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(base + "static", StaticFiles(directory=STATIC_DIR), name="console-static")
