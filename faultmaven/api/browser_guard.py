"""Refuses cross-site state-changing requests from browsers in local mode (CSRF).

In local mode the server trusts every request without credentials, so any web page the user visits could
POST a form to `http://127.0.0.1:8000`. Browsers say where a request comes from: `Origin` on every
non-GET request, and `Sec-Fetch-Site`. A state-changing request is refused when its `Origin` is neither
this server (the `Host` it was sent to) nor an allowed origin (the browser extension's, configured ones),
or when it carries `Sec-Fetch-Site: cross-site` without an `Origin`. Requests without these headers (curl,
scripts, the CLI) are not from a browser page and pass. Token mode needs no such check: its credential is
a bearer header that a foreign page cannot make the browser attach.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from faultmaven.api.problems import problem_response

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXTENSION_ORIGINS = r"(chrome-extension|moz-extension)://[A-Za-z0-9_.\-]+"


def allowed_origins_regex(configured: list[str]) -> str:
    """The browser extension's origins and the configured ones (also the CORS allow-list)."""
    return "^(" + "|".join([EXTENSION_ORIGINS, *(re.escape(origin) for origin in configured)]) + ")$"


def is_cross_site(headers: Headers, allowed: re.Pattern[str]) -> bool:
    origin = headers.get("origin")
    if origin is None:
        return headers.get("sec-fetch-site", "").lower() == "cross-site"
    if allowed.match(origin):
        return False
    host = headers.get("host", "").lower()
    return not host or urlsplit(origin).netloc.lower() != host


class CrossSiteRequestGuard:
    def __init__(self, app: ASGIApp, *, allowed_origins: list[str]):
        self.app = app
        self.allowed = re.compile(allowed_origins_regex(allowed_origins))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and is_cross_site(Headers(scope=scope), self.allowed)
        ):
            await problem_response(
                403,
                "Cross-site requests may not change anything on this server; add the page's origin to "
                "FAULTMAVEN_CORS_ORIGINS if it is yours",
                code="CROSS_SITE_REQUEST_REFUSED",
                request_id=scope.get("state", {}).get("request_id"),
            )(scope, receive, send)
            return
        await self.app(scope, receive, send)
