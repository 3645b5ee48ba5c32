"""Benchmark `POST /api/v1/cases/{id}/queries` on real `faultmaven serve` processes against a fake LLM.

The fake LLM (tests/fakes/fake_llm.py, a separate process) answers every chat completion after a fixed
latency. With `--baseline PATH` (another checkout with its own `.venv`, e.g. the previous main), a second
server runs that code on its own database beside this one, and both are measured in the same run, their
calls interleaved, so drift and other load hit both alike; the table then gives ratios current/baseline.

Measures, per backend (SQLite; PostgreSQL when reachable) and fake-LLM latency:
- sequential p50/p95 on cases of ~10 messages and on one case of `--big-case` messages (alternating, so
  the flatness ratio shares every drift), beside the LLM's own round trip and `GET /health`;
- concurrency 10 (asyncio + httpx, one case per client): p50/p95 and throughput; at a latency above 0,
  throughput as a fraction of the ideal (10 / latency: every client always waiting on the LLM alone);
- the server's CPU per query (user + system of its whole process group, from /proc), and for PostgreSQL
  the database's own backends' CPU per query;
- SQL statements and transactions per synchronous query (counted in process by bench/_count_statements.py).

Usage: .venv/bin/python bench/bench_queries.py [--queries 100] [--concurrent-queries 200]
       [--latencies 0,500] [--backends sqlite,postgres] [--big-case 10000] [--baseline PATH] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    ROOT,
    BenchStack,
    Process,
    Stats,
    check,
    fmt,
    group_cpu_seconds,
    markdown_table,
    postgres_unavailable_reason,
    proc_stats,
    seed_messages,
    terminate_on_signals,
    timed_round_robin,
)

SMALL = 10
SMALL_CASES = 20
CONCURRENCY = 10
QUERY = "Checkout p99 latency jumped from 200 ms to 4 s after the 14:02 deploy; where do I start?"
LLM_BODY = {
    "model": "fake-model",
    "messages": [
        {"role": "system", "content": "You are FaultMaven, a troubleshooting copilot. " * 20},
        {"role": "user", "content": QUERY},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "final_result",
                "description": "The final response",
                "parameters": {
                    "type": "object",
                    "properties": {"content": {"type": "string"}, "response_type": {"type": "string"}},
                    "required": ["content"],
                },
            },
        }
    ],
}


@dataclass
class Target:
    """One server under test: which code it runs, and its cases."""

    label: str
    server: Process
    database_url: str
    http: httpx.AsyncClient
    small: list[str]
    big: str = ""
    workers: list[str] | None = None

    async def query(self, case_id: str) -> httpx.Response:
        response = check(await self.http.post(f"/api/v1/cases/{case_id}/queries", json={"query": QUERY}), 201)
        metadata = response.json().get("metadata", {})
        if metadata.get("degraded") or metadata.get("provider") != "primary":
            raise RuntimeError(f"the fake LLM did not answer the query (degraded answer): {metadata}")
        return response

    async def create_case(self, title: str) -> str:
        response = check(await self.http.post("/api/v1/cases", json={"title": title}), 201)
        return response.json()["case"]["case_id"]


def postgres_cpu_seconds() -> float:
    return sum(cpu for _pid, comm, _group, cpu in proc_stats() if comm.startswith("postgres"))


async def concurrent(work: list[Any], total: int) -> tuple[list[float], float]:
    """`total` calls spread over len(work) workers, each calling its own zero-arg coroutine function;
    per-call latencies in seconds and the wall time."""
    per_worker = [total // len(work) + (i < total % len(work)) for i in range(len(work))]
    samples: list[float] = []

    async def worker(call: Any, count: int) -> None:
        for _ in range(count):
            started = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for call, count in zip(work, per_worker, strict=True):
            group.create_task(worker(call, count))
    return samples, time.perf_counter() - started


async def prepare(target: Target, big_case: int) -> None:
    target.small = [await target.create_case(f"bench small {i}") for i in range(SMALL_CASES)]
    target.big = await target.create_case("bench big")
    target.workers = [await target.create_case(f"bench concurrent {i}") for i in range(CONCURRENCY)]
    await seed_messages(
        target.database_url, {**dict.fromkeys(target.small + target.workers, SMALL), target.big: big_case}
    )


async def measure(
    targets: list[Target], llm_url: str, latency_ms: int, engine: str, args: argparse.Namespace
) -> dict[str, Any]:
    llm = httpx.AsyncClient(base_url=llm_url, timeout=60)
    try:
        for target in targets:
            await prepare(target, args.big_case)
            for _ in range(args.warmup):
                await target.query(target.small[0])

        async def llm_direct() -> httpx.Response:
            response = await llm.post("/chat/completions", json=LLM_BODY, headers={"authorization": "x"})
            return check(response, 200)

        calls: dict[str, Any] = {"llm_direct": llm_direct}
        first = targets[0]
        calls["health"] = lambda: first.http.get("/health")
        for target in targets:
            rotation = iter(range(10**9))
            calls[f"{target.label}:small"] = (
                lambda t=target, r=rotation: t.query(t.small[next(r) % SMALL_CASES])
            )
            calls[f"{target.label}:big"] = lambda t=target: t.query(t.big)
        cpu_before = {t.label: group_cpu_seconds(t.server) for t in targets}
        sequential = await timed_round_robin(calls, args.queries, expect=None)
        sequential_cpu = {
            t.label: (group_cpu_seconds(t.server) - cpu_before[t.label]) / (2 * args.queries) for t in targets
        }

        results: dict[str, Any] = {"llm_direct": Stats.of(sequential["llm_direct"]).as_dict()}
        for target in targets:
            assert target.workers is not None
            cpu, pg_cpu = group_cpu_seconds(target.server), postgres_cpu_seconds()
            work = [lambda t=target, c=case_id: t.query(c) for case_id in target.workers]
            samples, wall = await concurrent(work, args.concurrent_queries)
            cpu = group_cpu_seconds(target.server) - cpu
            pg_cpu = postgres_cpu_seconds() - pg_cpu
            throughput = len(samples) / wall
            small = Stats.of(sequential[f"{target.label}:small"])
            big = Stats.of(sequential[f"{target.label}:big"])
            ideal = CONCURRENCY / (latency_ms / 1000) if latency_ms else None
            results[target.label] = {
                "sequential_small": small.as_dict(),
                "sequential_big": big.as_dict(),
                "flatness_p50": big.p50 / small.p50,
                "server_cpu_ms_per_query_sequential": sequential_cpu[target.label] * 1000,
                "concurrent": {**Stats.of(samples).as_dict(), "throughput_qps": throughput},
                "server_cpu_ms_per_query_concurrent": cpu / len(samples) * 1000,
                "postgres_cpu_ms_per_query": pg_cpu / len(samples) * 1000 if engine == "postgres" else None,
                "fraction_of_ideal": throughput / ideal if ideal else None,
            }
        return results
    finally:
        await llm.aclose()
        for target in targets:
            await target.http.aclose()


def count_statements(checkout: Path, database_url: str) -> dict[str, float] | None:
    """Statements per query, counted by the checkout's own code; None if the checkout cannot run the
    counter (it needs the fake LLM of this checkout's tests only)."""
    python = checkout / ".venv" / "bin" / "python"
    script = Path(__file__).resolve().parent / "_count_statements.py"
    done = subprocess.run(
        [str(python), str(script), "--database-url", database_url],
        cwd=checkout, capture_output=True, text=True, timeout=300, check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"statements_per_query"')]
    return json.loads(lines[-1]) if lines else None


def render(results: dict[str, Any], labels: list[str]) -> str:
    headers = ["backend", "LLM ms", "code", "seq p50", "seq p95", "overhead p95", "c10 p95", "c10 q/s",
               "x ideal", "CPU ms/q seq", "CPU ms/q c10", "PG CPU ms/q", "big/small p50", "stmts/q",
               "txns/q", "write txns/q"]
    rows = []
    for key, r in results.items():
        backend, latency = key.split("@")
        llm = r["llm_direct"]
        for label in labels:
            t = r[label]
            counts = r.get("statements", {}).get(label) or {}
            rows.append([
                backend, latency, label,
                fmt(t["sequential_small"]["p50_ms"]), fmt(t["sequential_small"]["p95_ms"]),
                fmt(t["sequential_small"]["p95_ms"] - llm["p95_ms"]),
                fmt(t["concurrent"]["p95_ms"]), fmt(t["concurrent"]["throughput_qps"], 1),
                fmt(t["fraction_of_ideal"], 3) if t["fraction_of_ideal"] is not None else "-",
                fmt(t["server_cpu_ms_per_query_sequential"]), fmt(t["server_cpu_ms_per_query_concurrent"]),
                fmt(t["postgres_cpu_ms_per_query"]) if t["postgres_cpu_ms_per_query"] is not None else "-",
                fmt(t["flatness_p50"]),
                fmt(counts.get("statements_per_query", float("nan")), 1),
                fmt(counts.get("transactions_per_query", float("nan")), 1),
                fmt(counts.get("write_transactions_per_query", float("nan")), 1),
            ])
    lines = [
        "All times in ms. Overhead = query p95 - direct LLM round trip p95 (same run). CPU = the server's",
        "process group, user+system, per query. big/small = p50 on the big case / p50 on ~10-message cases.",
        "",
        markdown_table(headers, rows),
    ]
    if len(labels) == 2:
        lines += ["", "Ratios current/baseline (lower is better for times and CPU, higher for q/s):", ""]
        ratio_rows = []
        for key, r in results.items():
            current, baseline = r[labels[0]], r[labels[1]]
            ratio_rows.append([
                key,
                fmt(current["sequential_small"]["p95_ms"] / baseline["sequential_small"]["p95_ms"]),
                fmt(current["concurrent"]["throughput_qps"] / baseline["concurrent"]["throughput_qps"]),
                fmt(current["server_cpu_ms_per_query_sequential"]
                    / baseline["server_cpu_ms_per_query_sequential"]),
                fmt(current["server_cpu_ms_per_query_concurrent"]
                    / baseline["server_cpu_ms_per_query_concurrent"]),
            ])
        lines.append(markdown_table(
            ["backend@LLM ms", "seq p95", "c10 q/s", "CPU/q seq", "CPU/q c10"], ratio_rows
        ))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=100, help="sequential queries per case size")
    parser.add_argument("--concurrent-queries", type=int, default=200, help="queries at concurrency 10")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--latencies", default="0,500", help="fake LLM latencies in ms, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--big-case", type=int, default=10_000, help="messages in the big case")
    parser.add_argument("--baseline", type=Path, help="another checkout (with .venv) to measure beside")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    latencies = [int(value) for value in args.latencies.split(",")]
    checkouts = {"current": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}

    started = time.monotonic()
    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with terminate_on_signals(), BenchStack() as stack:
        backends = []
        for backend in args.backends.split(","):
            if backend == "postgres" and (reason := postgres_unavailable_reason()):
                print(f"skipping postgres: {reason}")
                skipped[backend] = reason
            else:
                backends.append(backend)
        for backend in backends:
            def database_url(label: str, backend: str = backend) -> str:
                if backend == "postgres":
                    return stack.postgres_url(label)
                return stack.sqlite_url(f"{label}_{time.monotonic_ns()}")

            statements = {label: count_statements(path, database_url(f"count_{label}"))
                          for label, path in checkouts.items()}
            for latency in latencies:
                llm = stack.start_fake_llm(latency)
                targets = []
                for label, path in checkouts.items():
                    url = database_url(f"{label}_{latency}")
                    server = stack.start_server(url, llm_base_url=llm.base_url, workers=args.workers,
                                                checkout=path)
                    limits = httpx.Limits(max_connections=CONCURRENCY * 2)
                    http = httpx.AsyncClient(base_url=server.base_url, timeout=60, limits=limits)
                    targets.append(Target(label, server, url, http, []))
                try:
                    result = asyncio.run(measure(targets, llm.base_url, latency, backend, args))
                    results[f"{backend}@{latency}"] = {**result, "statements": statements}
                finally:
                    for target in targets:
                        stack.stop(target.server)
                    stack.stop(llm)
    print(render(results, list(checkouts)))
    print(f"\n(total run time {time.monotonic() - started:.0f} s)")
    if args.json:
        payload = {
            "results": results, "skipped": skipped, "workers": args.workers, "concurrency": CONCURRENCY
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
