"""Browser fixtures: a real headless Chromium (Debian's `chromium`) driven by Playwright's Python package.

Playwright's own browser download is never used (`executable_path` points at the system Chromium), so the
tests skip with the reason stated when either is missing rather than trying to fetch anything.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.console.console_support import CHROMIUM, CHROMIUM_ARGS
from tests.fakes.fake_llm import FakeLLMServer

NO_PLAYWRIGHT = "playwright is not installed: pip install playwright (never `playwright install`)"
NO_CHROMIUM = f"{CHROMIUM} is missing: apt-get install -y chromium"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real headless Chromium (chromium + playwright)")


@pytest.fixture(scope="module")
def fake_llm_server() -> Iterator[FakeLLMServer]:
    """One scripted LLM per console test module, shared by its server process."""
    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium per test module; sync Playwright runs its own loop, so console tests are sync."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip(NO_PLAYWRIGHT)
    if not Path(CHROMIUM).exists():
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage) at the desktop width. Fails the test on a script
    error, and on any request to a host other than the loopback server (no CDN, no web fonts)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    new_page = context.new_page()
    errors: list[str] = []
    foreign: list[str] = []
    new_page.on("pageerror", lambda error: errors.append(str(error)))
    new_page.on(
        "request",
        lambda request: None if _is_local(request.url) else foreign.append(request.url),
    )
    new_page.set_default_timeout(15_000)
    yield new_page
    context.close()
    assert not errors, f"JavaScript errors in the console: {errors}"
    assert not foreign, f"the console requested other hosts: {foreign}"


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname == "127.0.0.1"
