"""The digest built in a child process is the digest built in a thread; a failed child fails loudly."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from faultmaven.services.logs.worker import (
    PROCESS_FROM_BYTES,
    ProcessDigester,
    ThreadDigester,
    start_digester,
)
from tests.logs.test_log_digest import JAVA_LOG, PYTHON_LOG

LINES = [
    line
    for index in range(400)
    for line in (
        f"2024-05-01 12:{index // 60 % 60:02d}:{index % 60:02d},{index % 1000:03d} INFO [main] com.acme.App: "
        f"served request {index} in {index % 97} ms for 10.0.0.{index % 200}",
        *(JAVA_LOG.splitlines() if index % 50 == 0 else ()),
    )
] + PYTHON_LOG.splitlines() + ["caf\u00e9 \udcff line with a lone surrogate"]


async def _digest(digester: ThreadDigester | ProcessDigester, batch: int) -> dict:
    try:
        for start in range(0, len(LINES), batch):
            await digester.feed(LINES[start : start + batch])
        await digester.feed([])
        digest = await digester.finish()
    finally:
        digester.close()
    assert digest is not None
    return digest.model_dump()


async def test_the_child_process_digest_equals_the_thread_digest() -> None:
    in_thread = await _digest(ThreadDigester("app.log", 500), 300)
    in_child = await _digest(ProcessDigester("app.log", 500), 300)
    assert in_child == in_thread
    assert in_child["totals"]["lines"] == len(LINES)
    assert in_child["errors"], "the stack traces are in the error list"


async def test_nothing_fed_gives_no_digest() -> None:
    for digester in (ThreadDigester("empty.log", 500), ProcessDigester("empty.log", 500)):
        try:
            assert await digester.finish() is None
        finally:
            digester.close()


async def test_a_child_that_dies_fails_the_digest_instead_of_hanging() -> None:
    digester = ProcessDigester("app.log", 500)
    try:
        await digester.feed(LINES[:100])
        digester._process.kill()  # what an out-of-memory kill does
        with pytest.raises((BrokenPipeError, EOFError, ConnectionError)):
            for _ in range(20):  # the pipe buffers a little before the write fails
                await asyncio.wait_for(digester.feed(LINES), timeout=30)
            await asyncio.wait_for(digester.finish(), timeout=30)
    finally:
        digester.close()
    assert digester._process.poll() is not None


def test_only_large_uploads_get_a_child_process() -> None:
    small = start_digester("a.log", PROCESS_FROM_BYTES - 1, 500)
    large = start_digester("b.log", PROCESS_FROM_BYTES, 500)
    try:
        assert isinstance(small, ThreadDigester) and isinstance(large, ProcessDigester)
    finally:
        small.close()
        large.close()


def test_a_child_that_cannot_start_leaves_the_digest_to_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_processes(*args: object, **kwargs: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr(subprocess, "Popen", no_processes)
    digester = start_digester("big.log", PROCESS_FROM_BYTES, 500)
    assert isinstance(digester, ThreadDigester)
