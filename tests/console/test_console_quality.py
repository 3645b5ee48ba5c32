"""An answer cut off at the model's output limit, or one that only repeats its prompt, carries a visible
"check this answer" notice in the console (issue 15, finding 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.console_support import ask, console_server, create_case, expect
from tests.fakes.fake_llm import FakeLLMServer, Text, structured

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory, fake_llm_server: FakeLLMServer) -> Iterator[str]:
    with console_server(tmp_path_factory.mktemp("console-quality"), fake_llm_server) as url:
        yield url


def test_a_truncated_answer_shows_a_notice(page: Any, base_url: str, fake_llm: FakeLLMServer) -> None:
    create_case(page, base_url, "Checkout pool")
    fake_llm.script(Text("The pool is exhausted because the slow report query", truncated=True))
    answer, _ = ask(page, "Why does checkout time out?")
    expect(answer.locator(".notice.quality")).to_contain_text("cut off at the model's output limit")
    expect(answer.locator(".message-head .badge-warn")).to_contain_text("Cut off")


def test_an_echoed_prompt_shows_a_notice_and_a_good_answer_none(
    page: Any, base_url: str, fake_llm: FakeLLMServer
) -> None:
    create_case(page, base_url, "Checkout echo")
    question = "Why does checkout time out every evening after the nightly report job starts?"
    fake_llm.script(Text(f"Current query: {question}"))
    answer, _ = ask(page, question)
    expect(answer.locator(".notice.quality")).to_contain_text("repeats the question")
    expect(answer.locator(".message-head")).to_contain_text("Unreliable answer")
    fake_llm.script(structured({"content": "The nightly report holds the pool's connections."}))
    good, _ = ask(page, "And the fix?")
    expect(good.locator(".notice.quality")).to_have_count(0)
