"""Signing in to a token-mode console as a new user does: with a password, told what to do when it fails,
shown only the methods the server offers, sent back to sign-in when the session ends; and the API docs
pages working with no internet."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.console_support import console_server, create_user_token, expect
from tests.fakes.fake_llm import FakeLLMServer

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def password_server(
    tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer
) -> Iterator[tuple[str, str]]:
    """A token-mode server without dev login, with an admin (token) who created password users."""
    directory: Path = tmp_path_factory.mktemp("console-sign-in")
    admin = create_user_token(directory, "admin", "--admin")
    with console_server(
        directory, fake_llm_server, FAULTMAVEN_AUTH_MODE="token", FAULTMAVEN_LOGIN_MAX_FAILURES="3"
    ) as url:
        yield url, admin


def _make_user(base_url: str, admin_token: str, name: str) -> None:
    response = httpx.post(
        f"{base_url}/api/v1/users",
        json={"username": name, "password": PASSWORD},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def _sign_in(page: Any, base_url: str, name: str, password: str) -> None:
    page.goto(f"{base_url}/")
    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_password_sign_in_and_sign_out(page: Any, password_server: tuple[str, str]) -> None:
    base_url, admin = password_server
    _make_user(base_url, admin, "erin")
    _sign_in(page, base_url, "erin", PASSWORD)
    expect(page.locator("#whoami-name")).to_have_text("erin")
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('faultmaven.token')") is None


def test_wrong_password_says_what_to_do_then_lockout(page: Any, password_server: tuple[str, str]) -> None:
    base_url, admin = password_server
    _make_user(base_url, admin, "frank")
    _sign_in(page, base_url, "frank", "not the password")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Wrong user name or password")
    expect(alert).to_contain_text("faultmaven users reset-password")
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    for _ in range(3):
        page.get_by_label("Password", exact=True).fill("still wrong")
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_timeout(300)
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    expect(page.locator("#topbar")).to_be_hidden()


def test_only_the_methods_the_server_offers(page: Any, password_server: tuple[str, str]) -> None:
    base_url, _ = password_server
    page.goto(f"{base_url}/")
    expect(page.get_by_label("Password", exact=True)).to_be_visible()
    expect(page.get_by_text("Use an API token instead")).to_be_visible()
    expect(page.get_by_role("heading", name="Developer login")).to_have_count(0)
    expect(page.get_by_label("Developer user name")).to_have_count(0)


def test_an_ended_session_returns_to_sign_in(page: Any, password_server: tuple[str, str]) -> None:
    base_url, admin = password_server
    _make_user(base_url, admin, "gina")
    _sign_in(page, base_url, "gina", PASSWORD)
    expect(page.locator("#whoami-name")).to_have_text("gina")
    token = page.evaluate("sessionStorage.getItem('faultmaven.token')")
    revoked = httpx.post(
        f"{base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert revoked.status_code == 204
    page.evaluate("location.hash = '#/knowledge'")
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    expect(page.get_by_text("Your session has ended. Sign in again.")).to_be_visible()


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_api_docs_work_without_internet(
    browser: Any, password_server: tuple[str, str], path: str, ready: str
) -> None:
    """The network beyond the server is cut (as on an air-gapped host) and the page still renders the API
    from /openapi.json. Nothing tries another host, except ReDoc's footer logo, which the page's own
    Content-Security-Policy stops inside the browser (so it would not leave the machine either)."""
    base_url, _ = password_server
    context = browser.new_context()
    context.route("**/*", lambda route: (
        route.continue_() if route.request.url.startswith(base_url) else route.abort()
    ))
    page = context.new_page()
    errors: list[str] = []
    foreign: dict[str, str | None] = {}
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: None if request.url.startswith(base_url) else foreign.setdefault(
        request.url, None))
    page.on("requestfailed", lambda request: foreign.__setitem__(request.url, request.failure)
            if request.url in foreign else None)
    try:
        page.goto(f"{base_url}{path}")
        expect(page.locator(ready).first).to_contain_text("FaultMaven", timeout=45_000)
        expect(page.get_by_text("/api/v1/cases/{case_id}/queries").first).to_be_attached()
    finally:
        context.close()
    assert not errors, errors
    assert all(reason == "csp" for reason in foreign.values()), foreign
