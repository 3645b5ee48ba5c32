"""A server that cannot start exits at once, non-zero, with one line saying what is wrong, which setting
and how to fix it; it never reports "startup complete" and then answers 500 (issue 11, item 6)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from tests.integration.server_process import free_port, running_server

SEMANTIC_INSTALLED = importlib.util.find_spec("onnxruntime") is not None


def serve(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "faultmaven.cli", "serve", "--port", str(free_port())]
    environ = {**os.environ, "FAULTMAVEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fm.db'}", **env}
    return subprocess.run(args, env=environ, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def the_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "FaultMaven cannot start" in line]
    assert len(lines) == 1, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    return lines[0]


def test_an_unreachable_database_stops_the_server(tmp_path) -> None:
    port = free_port()
    unreachable = f"postgresql+asyncpg://fm:s3cret-pw@127.0.0.1:{port}/fm"
    result = serve({"FAULTMAVEN_DATABASE_URL": unreachable}, tmp_path)
    assert result.returncode != 0
    line = the_line(result.stderr)
    assert "FAULTMAVEN_DATABASE_URL" in line and f"127.0.0.1:{port}" in line
    assert "s3cret-pw" not in result.stderr
    assert "startup complete" not in result.stderr.lower()


@pytest.mark.skipif(SEMANTIC_INSTALLED, reason="the semantic extra is installed here")
def test_semantic_ranking_without_its_extra_stops_the_server(tmp_path) -> None:
    result = serve({"FAULTMAVEN_KB_SEMANTIC": "true"}, tmp_path)
    assert result.returncode != 0
    line = the_line(result.stderr)
    assert "FAULTMAVEN_KB_SEMANTIC" in line and "faultmaven[semantic]" in line


def test_an_invalid_setting_stops_the_server(tmp_path) -> None:
    result = serve({"FAULTMAVEN_AUTH_MODE": "bogus"}, tmp_path)
    assert result.returncode != 0
    assert "FAULTMAVEN_AUTH_MODE" in the_line(result.stderr)


def test_a_good_start_runs_in_the_lifespan(tmp_path) -> None:
    import httpx

    env = {"FAULTMAVEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'ok.db'}"}
    with running_server(env) as base_url:
        assert httpx.get(f"{base_url}/health/ready", timeout=5).status_code == 200


def test_token_mode_without_an_encryption_key_stops_the_server(tmp_path) -> None:
    result = serve({"FAULTMAVEN_AUTH_MODE": "token", "FAULTMAVEN_ENCRYPTION_KEYS": ""}, tmp_path)
    assert result.returncode != 0
    line = the_line(result.stderr)
    assert "FAULTMAVEN_ENCRYPTION_KEYS" in line and "faultmaven keys generate" in line
