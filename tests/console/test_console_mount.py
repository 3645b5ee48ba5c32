"""How the console is served: the shell and its assets, at a configurable prefix, never over the API."""

from __future__ import annotations

import re

import pytest

from faultmaven.api.console import SHELL_FILE, STATIC_DIR, console_prefix


async def test_shell_and_assets_are_served_at_the_root(client) -> None:
    shell = await client.get("/")
    assert shell.status_code == 200
    assert shell.headers["content-type"].startswith("text/html")
    assert '<base href="/">' in shell.text
    assert "script-src 'self'" in shell.headers["content-security-policy"]
    assert "connect-src 'self'" in shell.headers["content-security-policy"]

    script = await client.get("/static/js/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert (await client.get("/static/css/console.css")).status_code == 200
    assert (await client.get("/static/index.html")).status_code == 404, "the shell needs its base set"


async def test_the_console_shadows_no_api_route(client) -> None:
    missing = await client.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await client.get("/health")).json() == {"status": "healthy"}
    assert (await client.get("/openapi.json")).status_code == 200
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/api/v1/cases")).status_code == 200
    assert "/" not in (await client.get("/openapi.json")).json()["paths"]


async def test_a_configured_prefix(app_with) -> None:
    http, _ = await app_with(console_path="/console/")
    shell = await http.get("/console")
    assert shell.status_code == 200
    assert '<base href="/console/">' in shell.text
    assert (await http.get("/console/")).status_code == 200
    assert (await http.get("/console/static/js/main.js")).status_code == 200
    assert (await http.get("/")).status_code == 404
    assert (await http.get("/static/js/main.js")).status_code == 404


async def test_the_console_can_be_turned_off(app_with) -> None:
    http, _ = await app_with(console_enabled=False)
    assert (await http.get("/")).status_code == 404
    assert (await http.get("/static/js/main.js")).status_code == 404
    assert (await http.get("/health")).status_code == 200


@pytest.mark.parametrize("path", ["/api", "/api/v1/console", "/health", "/docs", "/metrics", "openapi.json"])
def test_a_prefix_over_the_api_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="would shadow"):
        console_prefix(path)


def test_the_assets_stay_on_this_server() -> None:
    """No CDN, no web fonts: every URL in the shipped files is relative or this server's."""
    external = re.compile(
        r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|@import\s+url\(\s*["']?https?:|fetch\(\s*["']https?:"""
    )
    shipped = [path for path in STATIC_DIR.rglob("*") if path.suffix in {".js", ".css", ".html"}]
    shipped.append(SHELL_FILE)
    assert len(shipped) > 10
    for path in shipped:
        assert not external.search(path.read_text(encoding="utf-8")), path
