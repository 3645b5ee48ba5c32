"""Where an upload's log digest is built: in a worker thread, or for a large upload in a child process.

The evidence pipeline sanitizes and stores one batch of lines, then feeds it to the digest. Both steps
are pure Python, so in one process they take turns on one core. For a large upload the digest runs in a
child process instead, fed over a pipe, and digests a batch while the next one is being sanitized: the
two costliest steps of ingestion then use two cores. A batch crosses the pipe as one UTF-8 block (a list
of line objects costs more to pickle than the second core gains), and the pipe holds back the sender
while the child is busy, so at most about one batch is in flight and memory stays bounded.

The child is a fresh interpreter running this module (`python -m`), not a fork of the web server, so it
inherits none of its threads, locks or memory; it starts (~0.2 s) while the first batch is sanitized.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Protocol

import structlog

from faultmaven.services.logs.digest import DigestBuilder, LogDigest
from faultmaven.services.logs.header import detect_header

PROCESS_FROM_BYTES = 8 * 1024 * 1024
"""Uploads from this size get a child process; below it, starting one costs more than it saves."""
_BATCH, _END = b"B", b"E"
_STOP_SECONDS = 5.0
_logger = structlog.get_logger(__name__)


class Digester(Protocol):
    """Feed batches of (sanitized) lines in order, then `finish` (None if no line came); always `close`,
    also on failure."""

    async def feed(self, lines: list[str]) -> None: ...

    async def finish(self) -> LogDigest | None: ...

    def close(self) -> None: ...


def start_digester(source: str, size: int, header_lines: int) -> Digester:
    """A digester for an upload of `size` bytes; the header is inferred from the first `header_lines`
    lines of the first batch. If no child process can be started (process or file limits), the digest
    is built in a thread: slower, the same result."""
    if size >= PROCESS_FROM_BYTES:
        try:
            return ProcessDigester(source, header_lines)
        except OSError as error:
            _logger.warning("log digest child process not started; digesting in a thread", error=str(error))
    return ThreadDigester(source, header_lines)


class _Builder:
    """The digest of one upload, built batch by batch (in this process or in the child)."""

    def __init__(self, source: str, header_lines: int) -> None:
        self.source = source
        self.header_lines = header_lines
        self.builder: DigestBuilder | None = None

    def add(self, lines: list[str]) -> None:
        if not lines:
            return
        if self.builder is None:
            self.builder = DigestBuilder(detect_header(lines[: self.header_lines]), source=self.source)
        add_line = self.builder.add_line
        for line in lines:
            add_line(line)

    def finish(self) -> LogDigest | None:
        return self.builder.finish() if self.builder is not None else None


class ThreadDigester:
    """Builds the digest in a worker thread, so the event loop stays responsive meanwhile."""

    def __init__(self, source: str, header_lines: int) -> None:
        self._builder = _Builder(source, header_lines)

    async def feed(self, lines: list[str]) -> None:
        await asyncio.to_thread(self._builder.add, lines)

    async def finish(self) -> LogDigest | None:
        return await asyncio.to_thread(self._builder.finish)

    def close(self) -> None:
        """Nothing to release."""


class ProcessDigester:
    """Builds the digest in a child process; `feed` returns once the child has taken the batch."""

    def __init__(self, source: str, header_lines: int) -> None:
        child_reads, parent_writes = os.pipe()
        parent_reads, child_writes = os.pipe()
        self._sender = Connection(parent_writes, readable=False)
        self._receiver = Connection(parent_reads, writable=False)
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(child_reads), str(child_writes)],
                pass_fds=(child_reads, child_writes),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            self._sender.close()
            self._receiver.close()
            raise
        finally:  # the child's ends, closed here so that either side ending reads as end-of-file
            os.close(child_reads)
            os.close(child_writes)
        self._sender.send((source, header_lines))
        self._fed = self._finished = False

    async def feed(self, lines: list[str]) -> None:
        if not lines:
            return
        payload = _BATCH + "\n".join(lines).encode("utf-8", "surrogatepass")
        await asyncio.to_thread(self._sender.send_bytes, payload)
        self._fed = True

    async def finish(self) -> LogDigest | None:
        if not self._fed:
            return None
        await asyncio.to_thread(self._sender.send_bytes, _END)
        outcome = await asyncio.to_thread(self._receiver.recv)
        self._finished = True
        if outcome is None or isinstance(outcome, LogDigest):
            return outcome
        raise RuntimeError(f"The log digest failed in its worker process: {outcome}")

    def close(self) -> None:
        """Stop the child (at once unless it finished: a blocked `feed` then fails instead of hanging)."""
        if not self._finished:
            self._process.terminate()
        try:
            self._process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._sender.close()
        self._receiver.close()


def _serve(receiver: Connection, sender: Connection) -> None:
    """The child: digest each batch as it arrives; on the end marker send the digest (or the error)."""
    try:
        source, header_lines = receiver.recv()
        builder = _Builder(source, header_lines)
        while (message := receiver.recv_bytes()) != _END:
            builder.add(message[1:].decode("utf-8", "surrogatepass").split("\n"))
        outcome: LogDigest | str | None = builder.finish()
    except EOFError:
        return  # the parent went away
    except Exception as error:  # reported to the parent, which fails the upload with it
        outcome = f"{type(error).__name__}: {error}"
    with contextlib.suppress(BrokenPipeError, EOFError):
        sender.send(outcome)


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
