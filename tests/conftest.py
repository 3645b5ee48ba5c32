"""Shared fixtures: an app per test on SQLite always, and on PostgreSQL when its URL is given.

`FAULTMAVEN_TEST_DATABASE_URL` (postgresql+asyncpg://...) and `FAULTMAVEN_TEST_REDIS_URL` enable the
scale-out engines; without them those parameters are skipped with the reason stated.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="faultmaven-tests-"))
os.environ["FAULTMAVEN_DATABASE_URL"] = f"sqlite+aiosqlite:///{_SESSION_DIR / 'default.db'}"
# A Fernet key for the originals stored at rest (token mode refuses to start without one).
os.environ["FAULTMAVEN_ENCRYPTION_KEYS"] = base64.urlsafe_b64encode(os.urandom(32)).decode()
for name in list(os.environ):
    if name.startswith("FAULTMAVEN_LLM_") or name in {"FAULTMAVEN_AUTH_MODE", "FAULTMAVEN_REDIS_URL"}:
        del os.environ[name]

import httpx  # noqa: E402
import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from faultmaven.config.settings import Settings  # noqa: E402
from faultmaven.container import Container  # noqa: E402
from faultmaven.infrastructure.persistence.schema import metadata  # noqa: E402
from faultmaven.main import create_app  # noqa: E402

POSTGRES_URL = os.environ.get("FAULTMAVEN_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("FAULTMAVEN_TEST_REDIS_URL")
NO_POSTGRES = "FAULTMAVEN_TEST_DATABASE_URL is not set: PostgreSQL tests need a server (CI sets it)"
NO_REDIS = "FAULTMAVEN_TEST_REDIS_URL is not set: Redis tests need a server (CI sets it)"
_postgres_schema_ready = False


async def _reset_postgres(url: str) -> None:
    """Fresh schema once per session (migrations included), then emptied tables per test."""
    global _postgres_schema_ready
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        if not _postgres_schema_ready:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        else:
            tables = ", ".join(table.name for table in metadata.sorted_tables)
            await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
    await engine.dispose()
    _postgres_schema_ready = True


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'faultmaven.db'}"
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    await _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def make_settings(database_url: str) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {"database_url": database_url, "purge_interval_seconds": 3600}
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    container = Container(settings)
    await container.start()
    yield container
    await container.stop()


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container=container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
def fake_llm_session():
    from tests.fakes.fake_llm import FakeLLMServer

    with FakeLLMServer() as server:
        yield server


@pytest.fixture(scope="session")
def fake_llm_backup_session():
    from tests.fakes.fake_llm import FakeLLMServer

    with FakeLLMServer() as server:
        yield server


@pytest.fixture
def fake_llm(fake_llm_session):
    """A scripted OpenAI-compatible server on loopback, emptied for each test."""
    fake_llm_session.reset()
    yield fake_llm_session
    fake_llm_session.reset()


@pytest.fixture
def fake_llm_backup(fake_llm_backup_session):
    fake_llm_backup_session.reset()
    yield fake_llm_backup_session
    fake_llm_backup_session.reset()


def llm_environ(**servers: tuple[str, object]) -> tuple[str, dict[str, str]]:
    """(`FAULTMAVEN_LLM_PROVIDERS`, per-alias env) for `alias=(kind, server)` pairs, in order."""
    entries, environ = [], {}
    for alias, (kind, server) in servers.items():
        entries.append(f"{alias}={kind}:fake-{kind}-model")
        environ[f"FAULTMAVEN_LLM_{alias.upper()}_BASE_URL"] = server.base_url  # type: ignore[attr-defined]
        environ[f"FAULTMAVEN_LLM_{alias.upper()}_API_KEY"] = "test-key"
        environ[f"FAULTMAVEN_LLM_{alias.upper()}_TIMEOUT"] = "2"
    return ",".join(entries), environ


@pytest.fixture
async def app_with(make_settings):
    """Build a started container + client with given settings overrides, LLM env and tools."""
    from faultmaven.container import Container

    opened: list[tuple[httpx.AsyncClient, Container]] = []

    async def build(
        *, environ: dict[str, str] | None = None, tools: list | None = None, prepare=None, **overrides: object
    ) -> tuple[httpx.AsyncClient, Container]:
        container = Container(make_settings(**overrides), environ=environ)
        if tools is not None:
            container.get_tools = lambda: tools  # type: ignore[method-assign]
        if prepare is not None:
            prepare(container)
        await container.start()
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(container=container)), base_url="http://testserver"
        )
        opened.append((http, container))
        return http, container

    yield build
    for http, container in opened:
        await http.aclose()
        await container.stop()
