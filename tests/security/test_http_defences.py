"""Browser-facing defences: cross-site request refusal in local mode, security headers, request ids, and
query strings masked in the access log (issue 11, items 2, 8 and 10)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from faultmaven.infrastructure.observability.logging import configure_logging, set_redactor
from faultmaven.infrastructure.security.sanitizer import redact

DOCS = "/api/v1/knowledge/documents"


@pytest.fixture
def settings(make_settings):
    """No starter runbooks, so counting documents counts only the test's own."""
    return make_settings(kb_load_starter=False)
FORM = {"file": ("pwn.md", b"# Pwned\n\nattacker text", "text/markdown")}


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:9999"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_form_posts_are_refused_in_local_mode(client, headers) -> None:
    response = await client.post(DOCS, files=FORM, headers=headers)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "CROSS_SITE_REQUEST_REFUSED"
    case = await client.post("/api/v1/cases", json={"title": "mine"})
    evidence = await client.post(
        f"/api/v1/cases/{case.json()['case']['case_id']}/data",
        files={"file": ("x.log", b"ERROR injected\n", "text/plain")},
        headers=headers,
    )
    assert evidence.status_code == 403
    assert (await client.get(DOCS)).json()["total_count"] == 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://testserver"},
        {"Origin": "chrome-extension://abcdefghijklmnop"},
        {"Origin": "moz-extension://1234-5678"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
    ],
)
async def test_same_origin_extension_and_scripted_requests_pass(client, headers) -> None:
    response = await client.post(DOCS, files=FORM, headers=headers)
    assert response.status_code == 201, response.text


async def test_configured_origins_pass_and_reads_are_never_refused(app_with) -> None:
    http, _ = await app_with(cors_origins="https://console.example.com")
    allowed = await http.post(DOCS, files=FORM, headers={"Origin": "https://console.example.com"})
    assert allowed.status_code == 201, allowed.text
    read = await http.get(DOCS, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert read.status_code == 200


async def test_token_mode_leaves_cross_origin_to_the_bearer_token(app_with) -> None:
    http, _ = await app_with(auth_mode="token")
    response = await http.post(DOCS, files=FORM, headers={"Origin": "https://evil.example"})
    assert response.status_code == 401


async def test_every_response_says_nosniff_and_no_referrer(client) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/api/v1/cases"),
        await client.get("/api/v1/cases/case_missing"),
        await client.post(DOCS, json={"content": ""}),
        await client.get("/"),
        await client.get("/static/js/main.js"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers["referrer-policy"] == "no-referrer", response.request.url
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]


async def test_console_has_a_csp_without_inline_script(client) -> None:
    shell = await client.get("/")
    policy = shell.headers["content-security-policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and "unsafe-inline" not in policy
    assert "<script>" not in shell.text and " on" + "load=" not in shell.text


@pytest.mark.parametrize(
    "given",
    ["a" * 65, "id with spaces", "id\twith\ttab", "<script>alert(1)</script>", "ünïcode", "x;y=z"],
)
async def test_unsafe_request_ids_are_replaced(client, given) -> None:
    response = await client.get("/health", headers={"X-Request-ID": given.encode("utf-8")})
    returned = response.headers["x-request-id"]
    assert returned != given and len(returned) == 32


async def test_a_short_printable_request_id_is_kept(client) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "req-42.a:b_c"})
    assert response.headers["x-request-id"] == "req-42.a:b_c"


def test_access_log_masks_encoded_secrets_in_query_strings() -> None:
    stream = io.StringIO()
    logging.getLogger("uvicorn.access").propagate = True  # uvicorn run with its access log on
    configure_logging("INFO", json=True, stream=stream)
    set_redactor(redact)
    try:
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/v1/cases?password%3Dhunter2-Secret-99&token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "1.1",
            200,
        )
    finally:
        set_redactor(None)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert "hunter2-Secret-99" not in line["event"]
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in line["event"]
    assert '"GET /api/v1/cases?' in line["event"] and line["event"].endswith(" 200")


def test_an_access_log_uvicorn_was_told_not_to_write_stays_off() -> None:
    """`faultmaven serve` runs uvicorn with `access_log=False` (the middleware logs each request once);
    the app's logging setup, which runs after uvicorn's, must not turn the duplicate back on."""
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate = [], False  # what uvicorn's access_log=False leaves
    try:
        configure_logging("INFO", json=True, stream=io.StringIO())
        assert not access.hasHandlers()
    finally:
        access.propagate = True
