"""A database outage answers 503 problem+json with Retry-After, logs one line per kind of failure (not a
traceback per request), and the server recovers by itself (issue 11, item 5). On SQLite the database
file becomes unopenable; on PostgreSQL the server goes away behind a TCP proxy."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url

from faultmaven.container import Container
from faultmaven.main import create_app

OUTAGE_REQUESTS = 40


class TcpProxy:
    """Forwards a loopback port to the database; `cut()` drops every connection and stops listening."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.AbstractServer | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()


class Outage:
    """Makes the database unreachable and brings it back, for one engine."""

    def __init__(self, url: str, proxy: TcpProxy | None):
        self.url, self.proxy = url, proxy

    async def begin(self, container: Container) -> None:
        if self.proxy is not None:
            await self.proxy.cut()
            return
        await container.database.dispose()
        _move_sqlite_files(Path(make_url(self.url).database or ""), away=True)

    async def end(self, container: Container) -> None:
        if self.proxy is not None:
            await self.proxy.open()
            return
        _move_sqlite_files(Path(make_url(self.url).database or ""), away=False)
        await container.database.dispose()


def _move_sqlite_files(path: Path, *, away: bool) -> None:
    """Away: the database and its WAL files are renamed and a directory takes the file's place, so no
    connection can open it. Back: the reverse."""
    if not away:
        shutil.rmtree(path)
    for suffix in ("", "-wal", "-shm"):
        here, there = Path(f"{path}{suffix}"), Path(f"{path}{suffix}.away")
        source, target = (here, there) if away else (there, here)
        if source.exists():
            source.rename(target)
    if away:
        path.mkdir()


@pytest.fixture
async def outage(database_url: str):
    if database_url.startswith("sqlite"):
        yield Outage(database_url, None)
        return
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    yield Outage(proxied, proxy)
    await proxy.cut()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_an_outage_answers_503_and_recovers(make_settings, outage: Outage) -> None:
    container = Container(make_settings(database_url=outage.url, kb_load_starter=False))
    await container.start()
    transport = httpx.ASGITransport(app=create_app(container=container))
    logged = Records()
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        created = await http.post("/api/v1/cases", json={"title": "before the outage"})
        assert created.status_code == 201, created.text
        await outage.begin(container)
        logging.getLogger().addHandler(logged)
        try:
            for index in range(OUTAGE_REQUESTS):
                response = await (
                    http.get("/api/v1/cases")
                    if index % 2
                    else http.post("/api/v1/cases", json={"title": "x"})
                )
                assert response.status_code == 503, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                assert int(response.headers["retry-after"]) > 0
                assert response.json()["code"] == "STORAGE_UNAVAILABLE"
        finally:
            logging.getLogger().removeHandler(logged)
        warnings = [r for r in logged.records if "storage unavailable" in r.getMessage()]
        assert 1 <= len(warnings) <= 4, [r.getMessage() for r in warnings]
        assert not [r for r in logged.records if "unhandled error" in r.getMessage()]
        await outage.end(container)
        listed = await http.get("/api/v1/cases")
        assert listed.status_code == 200, listed.text
        assert [case["title"] for case in listed.json()] == ["before the outage"]
    await container.stop()
