"""Benchmark `POST /api/v1/cases/{id}/queries` on a real `faultmaven serve` process against a fake LLM.

The fake LLM (tests/fakes/fake_llm.py, a separate process) answers every chat completion after a fixed
latency (0 ms by default). Baselines measured in the same run, interleaved with the queries:
the fake LLM's own round trip (a chat-completions POST from this script) and `GET /health` on the server.
Server overhead per query = query latency - direct LLM round trip (p50 - p50, p95 - p95).

Measures: sequential p50/p95 on cases of ~10 messages and on a case of ~1,000 messages (alternating, so
the comparison shares every drift), and concurrency 10 (asyncio + httpx, one case per worker): per-query
p50/p95 and throughput. SQLite by default; PostgreSQL too (a throwaway database) when reachable.

Usage: .venv/bin/python bench/bench_queries.py [--queries 100] [--concurrent-queries 200]
       [--latencies 0,50] [--database-url URL] [--backends sqlite,postgres] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    BenchStack,
    Stats,
    check,
    fmt,
    markdown_table,
    postgres_unavailable_reason,
    seed_messages,
    terminate_on_signals,
    timed_round_robin,
)

SMALL = 10
BIG = 1000
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


class Bench:
    def __init__(self, server_url: str, llm_url: str):
        limits = httpx.Limits(max_connections=CONCURRENCY * 2, max_keepalive_connections=CONCURRENCY * 2)
        self.server = httpx.AsyncClient(base_url=server_url, timeout=60, limits=limits)
        self.llm = httpx.AsyncClient(base_url=llm_url, timeout=60, limits=limits)

    async def close(self) -> None:
        await self.server.aclose()
        await self.llm.aclose()

    async def create_case(self, title: str) -> str:
        response = check(await self.server.post("/api/v1/cases", json={"title": title}), 201)
        return response.json()["case"]["case_id"]

    async def query(self, case_id: str) -> httpx.Response:
        response = await self.server.post(f"/api/v1/cases/{case_id}/queries", json={"query": QUERY})
        check(response, 201)
        metadata = response.json().get("metadata", {})
        if metadata.get("degraded") or metadata.get("provider") != "primary":
            raise RuntimeError(f"the fake LLM did not answer the query (degraded answer): {metadata}")
        return response

    async def llm_direct(self) -> httpx.Response:
        headers = {"authorization": "Bearer x"}
        return check(await self.llm.post("/chat/completions", json=LLM_BODY, headers=headers), 200)

    async def health(self) -> httpx.Response:
        return check(await self.server.get("/health"), 200)

    async def concurrent(self, work: list[Any], total: int) -> tuple[list[float], float]:
        """`total` calls spread over len(work) workers, each calling its own zero-arg coroutine function
        (which checks its response); per-call latencies in seconds and the wall time."""
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


async def measure(
    server_url: str, llm_url: str, database_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    bench = Bench(server_url, llm_url)
    try:
        small = [await bench.create_case(f"bench small {i}") for i in range(SMALL_CASES)]
        big = await bench.create_case("bench big")
        workers = [await bench.create_case(f"bench concurrent {i}") for i in range(CONCURRENCY)]
        warm = await bench.create_case("bench warm-up")
        await seed_messages(database_url, {**dict.fromkeys(small + workers, SMALL), big: BIG})

        for _ in range(args.warmup):
            await bench.query(warm)
            await bench.llm_direct()
            await bench.health()

        rotation = iter(range(10**9))
        calls = {
            "health": bench.health,
            "llm_direct": bench.llm_direct,
            "query_small": lambda: bench.query(small[next(rotation) % SMALL_CASES]),
            "query_big": lambda: bench.query(big),
        }
        round_started = time.perf_counter()
        sequential = await timed_round_robin(calls, args.queries, expect=None)
        sequential_wall = time.perf_counter() - round_started

        def bind(case_id: str) -> Any:
            async def query() -> httpx.Response:
                return await bench.query(case_id)

            return query

        llm_c, llm_wall = await bench.concurrent([bench.llm_direct] * CONCURRENCY, args.concurrent_queries)
        query_c, query_wall = await bench.concurrent([bind(c) for c in workers], args.concurrent_queries)
        final = check(await bench.server.get(f"/api/v1/cases/{big}"), 200).json()["message_count"]
    finally:
        await bench.close()

    stats = {name: Stats.of(samples) for name, samples in sequential.items()}
    return {
        "sequential": {name: s.as_dict() for name, s in stats.items()},
        "sequential_wall_s": sequential_wall,
        "sequential_throughput_qps": 1000 / stats["query_small"].mean,
        "concurrent": {
            "llm_direct": {**Stats.of(llm_c).as_dict(), "throughput_rps": len(llm_c) / llm_wall},
            "query": {**Stats.of(query_c).as_dict(), "throughput_qps": len(query_c) / query_wall},
        },
        "big_case_messages_after": final,
        "flatness_p50": stats["query_big"].p50 / stats["query_small"].p50,
    }


def render(results: dict[str, dict[str, Any]]) -> str:
    headers = [
        "backend",
        "LLM ms",
        "mode",
        "case size",
        "n",
        "query p50",
        "query p95",
        "LLM direct p50",
        "LLM direct p95",
        "overhead p50",
        "overhead p95",
        "health p50",
        "queries/s",
    ]
    rows = []
    for key, r in results.items():
        backend, latency = key.split("@")
        seq, conc = r["sequential"], r["concurrent"]
        llm, health = seq["llm_direct"], seq["health"]
        for label, size in (("query_small", f"~{SMALL}"), ("query_big", f"~{BIG}")):
            q = seq[label]
            rows.append(
                [
                    backend,
                    latency,
                    "sequential",
                    size,
                    str(q["n"]),
                    fmt(q["p50_ms"]),
                    fmt(q["p95_ms"]),
                    fmt(llm["p50_ms"]),
                    fmt(llm["p95_ms"]),
                    fmt(q["p50_ms"] - llm["p50_ms"]),
                    fmt(q["p95_ms"] - llm["p95_ms"]),
                    fmt(health["p50_ms"]),
                    fmt(1000 / q["mean_ms"], 1),
                ]
            )
        q, llm_c = conc["query"], conc["llm_direct"]
        rows.append(
            [
                backend,
                latency,
                f"concurrency {CONCURRENCY}",
                f"~{SMALL}-{SMALL + 2 * q['n'] // CONCURRENCY}",
                str(q["n"]),
                fmt(q["p50_ms"]),
                fmt(q["p95_ms"]),
                fmt(llm_c["p50_ms"]),
                fmt(llm_c["p95_ms"]),
                fmt(q["p50_ms"] - llm_c["p50_ms"]),
                fmt(q["p95_ms"] - llm_c["p95_ms"]),
                "-",
                fmt(q["throughput_qps"], 1),
            ]
        )
    flat_headers = [
        "backend",
        "LLM ms",
        "query p50 ~10 msgs",
        "query p50 ~1,000 msgs",
        "ratio",
        "big case after",
    ]
    flat_rows = []
    for key, r in results.items():
        backend, latency = key.split("@")
        seq = r["sequential"]
        flat_rows.append(
            [
                backend,
                latency,
                fmt(seq["query_small"]["p50_ms"]),
                fmt(seq["query_big"]["p50_ms"]),
                fmt(r["flatness_p50"]),
                f"{r['big_case_messages_after']} msgs",
            ]
        )
    direct = [
        f"- {key}: fake LLM direct at concurrency {CONCURRENCY}: "
        f"{fmt(r['concurrent']['llm_direct']['throughput_rps'], 1)} requests/s"
        for key, r in results.items()
    ]
    return "\n".join(
        [
            "All times in ms. Overhead = query - direct LLM round trip (same percentile, same run).",
            "",
            markdown_table(headers, rows),
            "",
            "Flatness as the case grows (sequential, alternating small/big case):",
            "",
            markdown_table(flat_headers, flat_rows),
            "",
            *direct,
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=100, help="sequential queries per case size")
    parser.add_argument("--concurrent-queries", type=int, default=200, help="queries at concurrency 10")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--latencies", default="0", help="fake LLM latencies in ms, comma-separated")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--database-url", help="benchmark this database instead of --backends (not dropped)")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()
    latencies = [int(value) for value in args.latencies.split(",")]

    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    with terminate_on_signals(), BenchStack() as stack:
        targets: list[tuple[str, str]] = []
        if args.database_url:
            engine = "postgres" if args.database_url.startswith("postgresql") else "sqlite"
            targets.append((engine, args.database_url))
        for backend in [] if args.database_url else args.backends.split(","):
            if backend == "postgres" and (reason := postgres_unavailable_reason()):
                print(f"skipping postgres: {reason}")
                skipped[backend] = reason
            elif backend == "postgres":
                targets.append((backend, stack.postgres_url("queries")))
            else:
                targets.append((backend, stack.sqlite_url(backend)))
        for backend, url in targets:
            for latency in latencies:
                llm = stack.start_fake_llm(latency)
                server = stack.start_server(url, llm_base_url=llm.base_url, workers=args.workers)
                try:
                    results[f"{backend}@{latency}"] = asyncio.run(
                        measure(server.base_url, llm.base_url, url, args)
                    )
                finally:
                    stack.stop(server)
                    stack.stop(llm)
    print(render(results))
    print(f"\n(total run time {time.monotonic() - started:.0f} s)")
    if args.json:
        payload = {
            "results": results,
            "skipped": skipped,
            "workers": args.workers,
            "concurrency": CONCURRENCY,
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
