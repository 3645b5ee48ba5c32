"""Shared helpers for the HTTP benchmarks: real server and fake LLM processes, throwaway databases, stats.

Every process is started in its own session (process group) and stopped by that group's id, so the
uvicorn supervisor and its workers go together; `BenchStack` undoes everything it did in reverse order,
on success, on error and on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
FAULTMAVEN = ROOT / ".venv" / "bin" / "faultmaven"
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL_TEMPLATE = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
BENCH_RATE_LIMIT = "1000000/minute"
PROTECTED_DATABASES = frozenset({"test", "postgres", "template0", "template1", "root"})


CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stats() -> list[tuple[int, str, int, float]]:
    """(pid, comm, process group, CPU seconds user+system) of every process we can read."""
    rows = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1 : raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2 :].split()
        cpu = (int(rest[11]) + int(rest[12])) / CLK_TCK
        rows.append((int(entry.name), comm, int(rest[2]), cpu))
    return rows


def group_cpu_seconds(process: Process) -> float:
    """CPU seconds used so far by `process` and everything in its process group (uvicorn's workers)."""
    return sum(cpu for _pid, _comm, group, cpu in proc_stats() if group == process.popen.pid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of samples in seconds; NaN for no samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Stats:
    """Latencies in milliseconds."""

    n: int
    p50: float
    p95: float
    mean: float

    @classmethod
    def of(cls, seconds: list[float]) -> Stats:
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), statistics.fmean(ms) if ms else 0.0)

    def as_dict(self) -> dict[str, float]:
        return {"n": self.n, "p50_ms": self.p50, "p95_ms": self.p95, "mean_ms": self.mean}


async def timed_sequential(
    call: Callable[[], Awaitable[httpx.Response]], count: int, warmup: int = 0, expect: int = 200
) -> list[float]:
    """Run `call` count times one after another (after `warmup` unmeasured calls); latencies in seconds."""
    for _ in range(warmup):
        check(await call(), expect)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        response = await call()
        samples.append(time.perf_counter() - started)
        check(response, expect)
    return samples


async def timed_round_robin(
    calls: dict[str, Callable[[], Awaitable[httpx.Response]]],
    count: int,
    warmup: int = 0,
    expect: int | None = 200,
) -> dict[str, list[float]]:
    """Each call in turn, `count` rounds, so drift (CPU frequency, other load) hits all of them alike.

    `expect=None` leaves checking the response to the calls themselves."""
    for _ in range(warmup):
        for call in calls.values():
            check(await call(), expect)
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(count):
        for name, call in calls.items():
            started = time.perf_counter()
            response = await call()
            samples[name].append(time.perf_counter() - started)
            check(response, expect)
    return samples


def check(response: httpx.Response, expect: int | None) -> httpx.Response:
    if expect is not None and response.status_code != expect:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered {response.status_code} "
            f"(expected {expect}): {response.text[:500]}"
        )
    return response


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if value != value else f"{value:.{digits}f}"  # NaN check


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- processes ----------------------------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    base_url: str

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group we created, SIGKILL it if it lingers."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """The caller's environment without any FAULTMAVEN_* setting, plus ours: runs are reproducible."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTMAVEN_")}
    env.update(extra)
    return env


def _spawn(
    name: str, argv: list[str], env: dict[str, str], cwd: Path, log_path: Path, base_url: str
) -> Process:
    log = log_path.open("wb")
    try:
        popen = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    finally:
        log.close()
    return Process(name, popen, log_path, base_url)


def _wait_ready(process: Process, url: str, timeout: float, ok: Callable[[httpx.Response], bool]) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited early:\n{process.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if ok(client.get(url)):
                    return
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} not ready after {timeout:.0f}s:\n{process.log_tail()}")


# -- databases ----------------------------------------------------------------------------------------------


async def _pg_admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def postgres_unavailable_reason() -> str | None:
    """None if the local PostgreSQL accepts us, else why not (for a printed skip)."""
    try:
        asyncio.run(_pg_admin("SELECT 1"))
    except Exception as error:
        return f"PostgreSQL at 127.0.0.1:5432 unreachable ({type(error).__name__}: {error})"
    return None


# -- the stack ------------------------------------------------------------


@dataclass
class BenchStack:
    """Owns a temp dir, processes and throwaway PG databases; `close()` releases all of them."""

    tmp: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fm_bench_")))
    _undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def sqlite_url(self, label: str) -> str:
        return f"sqlite+aiosqlite:///{self.tmp / label / 'fm.db'}"

    def postgres_url(self, label: str) -> str:
        name = f"fm_bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
        assert name not in PROTECTED_DATABASES
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        self._undo.append((f"drop database {name}", lambda: asyncio.run(_drop_pg(name))))
        return PG_URL_TEMPLATE.format(name=name)

    def start_fake_llm(self, latency_ms: int) -> Process:
        port = free_port()
        argv = [
            str(PYTHON),
            "-m",
            "tests.fakes.fake_llm",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
        ]
        base = f"http://127.0.0.1:{port}/v1"
        process = _spawn("fake LLM", argv, _clean_env({}), ROOT, self.tmp / f"fake_llm_{port}.log", base)
        self._undo.append(("stop fake LLM", process.stop))
        _wait_ready(process, f"{base}/models", 20, lambda r: r.status_code == 200)
        return process

    def start_server(
        self,
        database_url: str,
        *,
        llm_base_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
        checkout: Path = ROOT,
    ) -> Process:
        """`faultmaven serve` on a free port, ready when it returns; `env` adds FAULTMAVEN_* settings.
        `checkout` runs another checkout's installed `faultmaven` (its `.venv`), e.g. a baseline."""
        port = free_port()
        server_env = _server_env(database_url, llm_base_url, env)
        argv = [
            str(checkout / ".venv" / "bin" / "faultmaven"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        log_path = self.tmp / f"server_{port}.log"
        # cwd is the temp dir so a stray .env in the checkout cannot change the settings under test
        process = _spawn(
            "faultmaven server", argv, _clean_env(server_env), self.tmp, log_path, f"http://127.0.0.1:{port}"
        )
        self._undo.append(("stop server", process.stop))
        _wait_ready(process, f"{process.base_url}/health/ready", 60, _is_ready)
        return process

    def start_worker(
        self, database_url: str, *, llm_base_url: str | None = None, env: dict[str, str] | None = None
    ) -> Process:
        """`faultmaven worker` (needs FAULTMAVEN_QUEUE_URL in `env`). It has no HTTP endpoint: this only
        checks that it is still alive after a moment; send it a job to know it consumes."""
        worker_env = _server_env(database_url, llm_base_url, env)
        log_path = self.tmp / f"worker_{secrets.token_hex(3)}.log"
        argv = [str(FAULTMAVEN), "worker"]
        process = _spawn("faultmaven worker", argv, _clean_env(worker_env), self.tmp, log_path, "")
        self._undo.append(("stop worker", process.stop))
        time.sleep(1.0)
        if process.popen.poll() is not None:
            raise RuntimeError(f"faultmaven worker exited early:\n{process.log_tail()}")
        return process

    def on_close(self, label: str, undo: Callable[[], None]) -> None:
        """Run `undo` on close (in reverse order of registration, like everything the stack did)."""
        self._undo.append((label, undo))

    def stop(self, process: Process) -> None:
        process.stop()

    def close(self) -> None:
        while self._undo:
            label, undo = self._undo.pop()
            try:
                undo()
            except Exception as error:  # keep undoing the rest
                print(f"cleanup: {label} failed: {error}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> BenchStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _server_env(database_url: str, llm_base_url: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = {
        "FAULTMAVEN_DATABASE_URL": database_url,
        "FAULTMAVEN_AUTH_MODE": "local",
        # the rate limiter stays in the request path (its cost is measured) but never refuses
        "FAULTMAVEN_RATE_LIMIT_QUERIES": BENCH_RATE_LIMIT,
        "FAULTMAVEN_RATE_LIMIT_WRITES": BENCH_RATE_LIMIT,
    }
    if llm_base_url:
        env |= {
            "FAULTMAVEN_LLM_PROVIDERS": "primary=openai:fake-model",
            "FAULTMAVEN_LLM_PRIMARY_BASE_URL": llm_base_url,
            "FAULTMAVEN_LLM_PRIMARY_API_KEY": "x",
        }
    return env | (extra or {})


def _is_ready(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("status") == "ready"


async def _drop_pg(name: str) -> None:
    if name in PROTECTED_DATABASES or not name.startswith("fm_bench_"):
        raise RuntimeError(f"refusing to drop database {name!r}")
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def terminate_on_signals() -> Iterator[None]:
    """SIGTERM (and SIGHUP) raise SystemExit so `finally` blocks clean up, like Ctrl-C does."""

    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# -- seeding --------------------------------------------------------------


async def seed_messages(database_url: str, counts: dict[str, int], batch: int = 500) -> None:
    """Append messages (alternating user/agent, ~200 chars) to existing cases, `batch` per transaction."""
    sys.path.insert(0, str(ROOT))
    from faultmaven.config.settings import Settings
    from faultmaven.container import Container
    from faultmaven.infrastructure.persistence import case_repository
    from faultmaven.models.case import CaseMessage, MessageType, utcnow

    def message(case_id: str, index: int) -> CaseMessage:
        message_type = MessageType.USER_QUERY if index % 2 == 0 else MessageType.AGENT_RESPONSE
        content = (
            f"message {index}: pods in namespace payments restart with OOMKilled after the "
            "deploy of 14:02; memory limit 512Mi, heap grows linearly, GC pauses above 2s."
        )
        return CaseMessage(case_id=case_id, message_type=message_type, content=content)

    container = Container(Settings(database_url=database_url, migrate_on_start=False))
    retention = container.case_service.retention
    try:
        for case_id, count in counts.items():
            for start in range(0, count, batch):
                messages = [message(case_id, index) for index in range(start, min(count, start + batch))]
                async with container.database.write() as session:
                    await case_repository.append_messages(session, case_id, messages, utcnow(), retention)
    finally:
        await container.database.dispose()
