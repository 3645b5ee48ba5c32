"""`faultmaven users`: passwords prompted twice, disable/enable, reset-password, make-admin."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faultmaven.cli import app
from faultmaven.config.settings import Settings
from faultmaven.container import Container

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FAULTMAVEN_DATABASE_URL", url)
    monkeypatch.setenv("FAULTMAVEN_KB_LOAD_STARTER", "false")
    return url


def _login(url: str, username: str, password: str) -> str:
    """How the service answers a login: "ok" or the error code."""

    async def attempt() -> str:
        container = Container(Settings(database_url=url, auth_mode="token"))
        try:
            await container.account_service.login(username, password)
            return "ok"
        except Exception as error:
            return getattr(error, "code", repr(error))
        finally:
            await container.database.dispose()

    return asyncio.run(attempt())


def _users(output: str) -> dict[str, list[str]]:
    return {fields[0]: fields[2:] for fields in (line.split("\t") for line in output.strip().splitlines())}


def test_create_with_password_and_manage(cli_env: str) -> None:
    created = runner.invoke(
        app, ["users", "create", "ops", "--admin", "--password"], input="s3cret-pass\n" * 2
    )
    assert created.exit_code == 0, created.output
    assert "created user ops" in created.output and "fm_" in created.output.splitlines()[-1]
    assert "s3cret-pass" not in created.output
    assert _login(cli_env, "ops", "s3cret-pass") == "ok"
    assert runner.invoke(app, ["users", "create", "dev"]).exit_code == 0
    assert _users(runner.invoke(app, ["users", "list"]).output) == {
        "dev": ["user"],
        "ops": ["admin,user", "password"],
    }
    assert runner.invoke(app, ["users", "disable", "ops"]).exit_code == 0
    assert _users(runner.invoke(app, ["users", "list"]).output)["ops"] == [
        "admin,user",
        "password",
        "disabled",
    ]
    assert _login(cli_env, "ops", "s3cret-pass") == "ACCOUNT_DISABLED"
    assert runner.invoke(app, ["users", "enable", "ops"]).exit_code == 0
    assert _login(cli_env, "ops", "s3cret-pass") == "ok"
    reset = runner.invoke(app, ["users", "reset-password", "ops"], input="new-password-1\nnew-password-1\n")
    assert reset.exit_code == 0, reset.output
    assert _login(cli_env, "ops", "new-password-1") == "ok"
    assert runner.invoke(app, ["users", "make-admin", "dev"]).exit_code == 0
    assert runner.invoke(app, ["users", "make-admin", "ops", "--revoke"]).exit_code == 0
    assert _users(runner.invoke(app, ["users", "list"]).output) == {
        "dev": ["admin,user"],
        "ops": ["user", "password"],
    }


def test_refusals_are_one_line_and_exit_1(cli_env: str) -> None:
    for args in (["disable", "ghost"], ["enable", "ghost"], ["make-admin", "ghost"], ["token", "ghost"]):
        result = runner.invoke(app, ["users", *args])
        assert result.exit_code == 1 and "User 'ghost' not found" in result.output, args
        assert "Traceback" not in result.output
    mismatch = runner.invoke(app, ["users", "create", "ops", "--password"], input="first-pass\nother-pass\n")
    assert mismatch.exit_code != 0
    short = runner.invoke(app, ["users", "create", "ops", "--password"], input="short\nshort\n")
    assert short.exit_code != 0 and "8 to 1024 characters" in short.output
    assert "ops" not in runner.invoke(app, ["users", "list"]).output
