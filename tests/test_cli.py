"""The `faultmaven` command line."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from faultmaven.cli import app, check_bind_allowed
from faultmaven.config.settings import Settings
from faultmaven.infrastructure.persistence.migrations import head_revision

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("FAULTMAVEN_DATABASE_URL", url)
    return url


def test_db_upgrade_users_and_purge(cli_env: str) -> None:
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and f"database at revision {head_revision()}" in upgraded.output
    created = runner.invoke(app, ["users", "create", "ops", "--admin"])
    assert created.exit_code == 0, created.output
    assert "created user ops" in created.output and "token (shown once" in created.output
    assert created.output.strip().splitlines()[-1].split(": ")[-1].startswith("fm_")
    assert runner.invoke(app, ["users", "create", "ops"]).exit_code != 0
    listed = runner.invoke(app, ["users", "list"])
    assert "ops" in listed.output and "admin" in listed.output
    token = runner.invoke(app, ["users", "token", "ops"])
    assert token.exit_code == 0 and "fm_" in token.output
    purged = runner.invoke(app, ["purge"])
    assert purged.exit_code == 0 and "0 cases" in purged.output


def test_logs_parse_and_digest(tmp_path: Path) -> None:
    lines = [f"2026-11-26 05:0{i}:00 ERROR db: connection refused to 10.0.0.{i}" for i in range(5)]
    parsed = runner.invoke(app, ["logs", "parse"], input="\n".join(lines) + "\n")
    assert parsed.exit_code == 0
    templates = parsed.output.strip().splitlines()
    assert len(templates) == 5 and len(set(templates)) == 1 and "<*>" in templates[0]
    log = tmp_path / "app.log"
    log.write_text("\n".join(lines) + "\n")
    digest = runner.invoke(app, ["logs", "digest", str(log)])
    assert digest.exit_code == 0 and "connection refused" in digest.output
    as_json = runner.invoke(app, ["logs", "digest", str(log), "--json"])
    assert as_json.exit_code == 0 and as_json.output.lstrip().startswith("{")


def test_local_mode_refuses_non_loopback() -> None:
    local = Settings(auth_mode="local")
    check_bind_allowed(local, "127.0.0.1", force=False)
    check_bind_allowed(local, "localhost", force=False)
    check_bind_allowed(local, "::1", force=False)
    with pytest.raises(typer.BadParameter, match="loopback"):
        check_bind_allowed(local, "0.0.0.0", force=False)
    check_bind_allowed(local, "0.0.0.0", force=True)
    check_bind_allowed(Settings(auth_mode="token"), "0.0.0.0", force=False)


def test_serve_refuses_before_starting(cli_env: str) -> None:
    result = runner.invoke(app, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code != 0 and "loopback" in result.output


def test_serve_passes_proxy_options_to_uvicorn(cli_env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app_path, **options: calls.append(options))
    assert runner.invoke(app, ["serve", "--port", "8123"]).exit_code == 0
    assert calls[-1]["proxy_headers"] is True and calls[-1]["forwarded_allow_ips"] is None
    assert calls[-1]["port"] == 8123
    args = ["serve", "--no-proxy-headers", "--forwarded-allow-ips", "10.0.0.5,10.0.0.6"]
    assert runner.invoke(app, args).exit_code == 0
    assert calls[-1]["proxy_headers"] is False
    assert calls[-1]["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"
