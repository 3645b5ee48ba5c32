"""Helpers for the console's browser tests: the Chromium command line, a server process wired to the fake
LLM, screenshots at both widths, and the log the tests upload."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import llm_environ
from tests.fakes.fake_llm import FakeLLMServer
from tests.integration.server_process import running_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
WIDTHS = {1280: 800, 390: 844}

CITED_LINE = 4
LOG_LINES = [
    "2025-03-14T14:00:01Z INFO  checkout-api request ok route=/checkout status=200 ms=41",
    "2025-03-14T14:00:02Z INFO  checkout-api request ok route=/checkout status=200 ms=38",
    "2025-03-14T14:00:03Z WARN  checkout-api slow query orders.lookup ms=2900",
    "2025-03-14T14:00:04Z ERROR checkout-api db pool timeout after 30000 ms waiting for a connection",
    "2025-03-14T14:00:05Z ERROR checkout-api upstream returned 502 route=/checkout",
    "2025-03-14T14:00:06Z INFO  checkout-api request ok route=/cart status=200 ms=12",
]
LOG_TEXT = "\n".join(LOG_LINES) + "\n"


@contextmanager
def console_server(tmp_path: Path, fake_llm: FakeLLMServer, **env: str) -> Iterator[str]:
    """A real `faultmaven serve` process on a temp SQLite DB whose only LLM is the scripted fake.

    Logs at WARNING: `running_server` pipes stderr without reading it, and a browser's many requests
    would fill that pipe with INFO request logs until the server blocks on a log write.
    """
    providers, environ = llm_environ(primary=("openai", fake_llm))
    full_env = {
        **environ,
        "FAULTMAVEN_LLM_PROVIDERS": providers,
        "FAULTMAVEN_DATABASE_URL": database_url(tmp_path),
        "FAULTMAVEN_LOG_LEVEL": "WARNING",
        **env,
    }
    with running_server(full_env) as base_url:
        yield base_url


def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'console.db'}"


def create_user_token(tmp_path: Path, name: str, *options: str) -> str:
    """`faultmaven users create NAME [--admin]`, as an operator would run it; returns the printed token."""
    result = subprocess.run(
        [sys.executable, "-m", "faultmaven.cli", "users", "create", name, *options],
        env={
            **os.environ,
            "FAULTMAVEN_DATABASE_URL": database_url(tmp_path),
            "FAULTMAVEN_AUTH_MODE": "token",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    marker = "token (shown once, store it now):"
    line = next(line for line in result.stdout.splitlines() if line.startswith(marker))
    return line.removeprefix(marker).strip()


def serves_evidence(base_url: str, case_id: str, headers: dict[str, str] | None = None) -> bool:
    """Whether this server has the evidence API (it answers 404 for the route itself when not)."""
    response = httpx.get(f"{base_url}/api/v1/cases/{case_id}/data", headers=headers or {}, timeout=10)
    return response.status_code != 404


def screenshot_both_widths(page: Any, name: str) -> None:
    """`test-output/screenshots/NAME-1280.png` and `NAME-390.png`; neither width may scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(150)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def drop_file(page: Any, name: str, text: str) -> None:
    """Drag-and-drop a file onto the evidence drop zone, as a user dropping it from the desktop would."""
    page.evaluate(
        """([name, text]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], name, { type: 'text/plain' }));
            const zone = document.querySelector('.drop-zone');
            for (const type of ['dragenter', 'dragover', 'drop']) {
              const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
              zone.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [name, text],
    )


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def create_case(page: Any, base_url: str, title: str) -> str:
    page.goto(f"{base_url}/")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_role("button", name="Create case").click()
    expect(page.locator("h1.case-heading")).to_have_text(title)
    return page.evaluate("location.hash").split("/")[2]


def ask(page: Any, question: str) -> tuple[Any, str]:
    """Send a question; returns the agent message once complete and the content type the server used."""
    page.get_by_label("Your question").fill(question)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/queries")) as info:
        page.get_by_role("button", name="Send").click()
    answer = page.locator("article.message-agent").last
    expect(answer).to_have_attribute("data-state", "complete", timeout=30_000)
    return answer, info.value.headers.get("content-type", "")
