"""Every error of the `faultmaven` command is one clear line on stderr and a non-zero exit, never a
traceback (unless `--debug`): run as a real process, as a user types it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def faultmaven(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "FAULTMAVEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
        "FAULTMAVEN_KB_LOAD_STARTER": "false",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "faultmaven.cli", *args],
        env=environ, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("name", ["", "  ", "a", "has space", "x" * 51])
def test_users_create_refuses_a_bad_name(tmp_path: Path, name: str) -> None:
    line = one_error_line(faultmaven(tmp_path, "users", "create", name))
    assert "not a valid user name" in line
    assert "bob" not in faultmaven(tmp_path, "users", "list").stdout


def test_a_duplicate_user_is_one_line_every_time(tmp_path: Path) -> None:
    assert faultmaven(tmp_path, "users", "create", "bob").returncode == 0
    for _ in range(3):
        assert one_error_line(faultmaven(tmp_path, "users", "create", "bob")) == (
            "error: User 'bob' already exists"
        )


@pytest.mark.parametrize("budget", ["-5", "0", "499"])
def test_digest_refuses_a_budget_too_small(tmp_path: Path, budget: str) -> None:
    log = tmp_path / "app.log"
    log.write_text("2025-01-01T00:00:00Z ERROR boom\n")
    line = one_error_line(faultmaven(tmp_path, "logs", "digest", str(log), "--max-chars", budget))
    assert "--max-chars" in line and "500" in line


def test_digest_at_the_smallest_budget_ends_on_a_whole_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    lines = (f"2025-01-01T00:00:{i:02d}Z ERROR request {i} failed: timeout\n" for i in range(60))
    log.write_text("".join(lines))
    result = faultmaven(tmp_path, "logs", "digest", str(log), "--max-chars", "500")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.rstrip("\n")) <= 500
    produced = faultmaven(tmp_path, "logs", "digest", str(log)).stdout.splitlines()
    shown = [line for line in result.stdout.splitlines() if not line.startswith("- … ")]
    assert all(line in produced for line in shown), (shown, produced)


def test_kb_ingest_names_the_valid_types(tmp_path: Path) -> None:
    line = one_error_line(faultmaven(tmp_path, "kb", "ingest", str(tmp_path), "--type", "bogus"))
    for kind in ("playbook", "troubleshooting_guide", "reference", "how_to", "previous_case"):
        assert kind in line


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    unreachable = {"FAULTMAVEN_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none"}
    line = one_error_line(faultmaven(tmp_path, "users", "list", **unreachable))
    assert "--debug" in line
    debug = faultmaven(tmp_path, "--debug", "users", "list", **unreachable)
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_an_unknown_command_is_one_line(tmp_path: Path) -> None:
    line = one_error_line(faultmaven(tmp_path, "bogus"))
    assert "No such command" in line
