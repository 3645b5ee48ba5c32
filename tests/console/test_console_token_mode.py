"""The console on a token-mode server: only the login view until a token is accepted, then the same flow.

Tokens come from `faultmaven users create NAME` (run as a subprocess, as an operator would) or from dev
login, which this server enables.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.console.console_support import (
    ask,
    console_server,
    create_case,
    create_user_token,
    expect,
    screenshot_both_widths,
)
from tests.fakes.fake_llm import FakeLLMServer, structured

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def token_server(
    tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer
) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("console-token")
    with console_server(
        directory, fake_llm_server, FAULTMAVEN_AUTH_MODE="token", FAULTMAVEN_DEV_LOGIN="true"
    ) as url:
        yield url, directory


def test_nothing_but_the_login_view_without_a_session(page: Any, token_server: tuple[str, Path]) -> None:
    base_url, _ = token_server
    page.goto(f"{base_url}/#/cases")
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    expect(page.locator("#topbar")).to_be_hidden()
    expect(page.locator(".case-list")).to_have_count(0)
    screenshot_both_widths(page, "login")

    page.get_by_text("Use an API token instead").click()
    page.get_by_label("API token").fill("not-a-real-token")
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.get_by_role("alert")).to_contain_text("This token is invalid, expired or revoked")
    expect(page.locator("#topbar")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('faultmaven.token')") is None


def test_user_token_login_question_reload_and_sign_out(
    page: Any, token_server: tuple[str, Path], fake_llm_server: FakeLLMServer
) -> None:
    base_url, directory = token_server
    token = create_user_token(directory, "alice")
    page.goto(f"{base_url}/")
    page.get_by_text("Use an API token instead").click()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in with token").click()
    expect(page.locator("#whoami-name")).to_have_text("alice")

    fake_llm_server.reset()
    fake_llm_server.script(structured({"content": "Signed-in answer: check the **pool**."}))
    create_case(page, base_url, "Token mode case")
    answer, _ = ask(page, "Does the console send my token?")
    expect(answer).to_contain_text("Signed-in answer: check the pool.")

    page.reload()
    expect(page.locator("#whoami-name")).to_have_text("alice")
    expect(page.locator("article.message-agent")).to_contain_text("Signed-in answer")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Sign in to FaultMaven")).to_be_visible()
    expect(page.locator("article.message-agent")).to_have_count(0)


def test_dev_login(page: Any, token_server: tuple[str, Path]) -> None:
    base_url, _ = token_server
    page.goto(f"{base_url}/")
    page.get_by_label("Developer user name").fill("dev-bob")
    page.get_by_role("button", name="Sign in as this user").click()
    expect(page.locator("#whoami-name")).to_have_text("dev-bob")
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()


def test_dev_login_disabled_is_explained(page: Any, token_server: tuple[str, Path]) -> None:
    base_url, _ = token_server
    disabled = '{"status": 404, "detail": "Dev login is disabled", "code": "DEV_LOGIN_DISABLED"}'
    page.route(
        "**/api/v1/auth/dev-login",
        lambda route: route.fulfill(status=404, content_type="application/problem+json", body=disabled),
    )
    page.goto(f"{base_url}/")
    page.get_by_label("Developer user name").fill("dev-carol")
    page.get_by_role("button", name="Sign in as this user").click()
    expect(page.get_by_role("alert")).to_contain_text("Developer login is disabled on this server")
    expect(page.get_by_label("Developer user name")).to_be_hidden()
