"""Start real `faultmaven serve` processes for end-to-end tests, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    env: dict[str, str], *, workers: int = 1, command: str = "serve"
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `faultmaven serve` (or `worker`) and, for a server, wait until it is ready."""
    port = free_port()
    args = [sys.executable, "-m", "faultmaven.cli", command]
    if command == "serve":
        args += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop_server)
    process = subprocess.Popen(args, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log)
    process.log = log  # type: ignore[attr-defined]
    base_url = f"http://127.0.0.1:{port}"
    if command == "serve":
        try:
            _wait_ready(base_url, process)
        except BaseException:
            stop_server(process)
            raise
    return process, base_url


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop the process (SIGTERM, then SIGKILL) and close its log; safe on an already dead process."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()  # type: ignore[attr-defined]


@contextmanager
def running_server(env: dict[str, str], *, workers: int = 1, command: str = "serve") -> Iterator[str]:
    """Yield the base URL of a server process; it is terminated (and waited for) on exit."""
    process, base_url = start_server(env, workers=workers, command=command)
    try:
        yield base_url
    finally:
        stop_server(process)


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            process.log.seek(0)  # type: ignore[attr-defined]
            stderr = process.log.read().decode(errors="replace")  # type: ignore[attr-defined]
            raise RuntimeError(f"server exited with {process.returncode}: {stderr[-2000:]}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not become ready")
