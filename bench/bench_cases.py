"""Benchmark the case routes of a real `faultmaven serve` process on SQLite and PostgreSQL.

Measures, sequentially with httpx after a warm-up: `POST /api/v1/cases`, and `GET .../messages?limit=50`
(first and last page) on a case of 10 messages vs one of 1,000, plus `GET /health` (no database) as the
baseline of the same run. Flatness = p50 on the 1,000-message case / p50 on the 10-message case.
PostgreSQL runs in a throwaway database (dropped afterwards) and is skipped, with the reason, if unreachable.

Usage: .venv/bin/python bench/bench_cases.py [--creates 300] [--reads 200] [--backends sqlite,postgres]
       [--json PATH]
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
    timed_sequential,
)

PAGE = 50
SIZES = (10, 50, 1000)
"""10 and 1,000 give the flatness ratio; 50 returns a full page too, so 1,000 vs 50 isolates case size."""


async def _create_case(client: httpx.AsyncClient, title: str) -> str:
    response = check(await client.post("/api/v1/cases", json={"title": title}), 201)
    return response.json()["case"]["case_id"]


async def measure(base_url: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        case_ids = {size: await _create_case(client, f"bench {size} messages") for size in SIZES}
        await seed_messages(database_url, {case_ids[size]: size for size in SIZES})

        health = await timed_sequential(lambda: client.get("/health"), args.reads, warmup=args.warmup)
        creates = await timed_sequential(
            lambda: client.post("/api/v1/cases", json={"title": "Checkout latency spike after deploy"}),
            args.creates,
            warmup=args.warmup,
            expect=201,
        )

        def page(case_id: str, offset: int):  # type: ignore[no-untyped-def]
            url = f"/api/v1/cases/{case_id}/messages"
            return lambda: client.get(url, params={"limit": PAGE, "offset": offset})

        calls = {"health": lambda: client.get("/health")}
        rows: dict[str, int] = {}
        for size in SIZES:
            for which, offset in (("first", 0), ("last", max(0, size - PAGE))):
                key = f"{which}:{size}"
                calls[key] = page(case_ids[size], offset)
                body = check(await calls[key](), 200).json()
                if body["total_count"] != size:
                    raise RuntimeError(f"case of {size} reports total_count {body['total_count']}")
                rows[key] = body["retrieved_count"]
        reads = await timed_round_robin(calls, args.reads, warmup=args.warmup)

    result: dict[str, Any] = {
        "health_sequential": Stats.of(health).as_dict(),
        "health_interleaved": Stats.of(reads.pop("health")).as_dict(),
        "create_case": Stats.of(creates).as_dict(),
        "create_case_first_half_p50_ms": Stats.of(creates[: len(creates) // 2]).p50,
        "create_case_second_half_p50_ms": Stats.of(creates[len(creates) // 2 :]).p50,
        "messages": {
            key: {**Stats.of(samples).as_dict(), "rows": rows[key]} for key, samples in reads.items()
        },
    }
    p50 = {key: stats["p50_ms"] for key, stats in result["messages"].items()}
    pages = ("first", "last")
    result["flatness"] = {which: p50[f"{which}:1000"] / p50[f"{which}:10"] for which in pages}
    result["flatness_vs_50"] = {which: p50[f"{which}:1000"] / p50[f"{which}:50"] for which in pages}
    return result


def _row(backend: str, base: float, label: str, size: str, nrows: str, stats: dict[str, float]) -> list[str]:
    p50, p95 = stats["p50_ms"], stats["p95_ms"]
    return [backend, label, size, nrows, str(stats["n"]), fmt(p50), fmt(p95), fmt(p50 / base, 1)]


def render(results: dict[str, dict[str, Any]]) -> str:
    out = []
    headers = ["backend", "request", "case size", "rows", "n", "p50 ms", "p95 ms", "p50 / health p50"]
    rows = []
    for backend, r in results.items():
        base = r["health_interleaved"]["p50_ms"]
        rows.append(_row(backend, base, "GET /health (baseline)", "-", "-", r["health_interleaved"]))
        rows.append(_row(backend, base, "POST /api/v1/cases", "-", "-", r["create_case"]))
        for key, stats in r["messages"].items():
            which, size = key.split(":")
            rows.append(_row(backend, base, f"GET messages, {which} page", size, str(stats["rows"]), stats))
    out.append(markdown_table(headers, rows))
    flat_headers = [
        "backend",
        "page",
        "p50 10 msgs (ms)",
        "p50 50 msgs (ms)",
        "p50 1,000 msgs (ms)",
        "ratio 1,000 / 10",
        "ratio 1,000 / 50",
    ]
    flat_rows = []
    for backend, r in results.items():
        for which in ("first", "last"):
            p50s = [fmt(r["messages"][f"{which}:{size}"]["p50_ms"]) for size in SIZES]
            flat_rows.append(
                [backend, which, *p50s, fmt(r["flatness"][which]), fmt(r["flatness_vs_50"][which])]
            )
    out += [
        "",
        "Flatness (limit=50: the 10-message case returns 10 rows, the 50- and 1,000-message cases 50):",
        "",
    ]
    out.append(markdown_table(flat_headers, flat_rows))
    notes = [
        f"- {backend}: POST /api/v1/cases p50 first half {fmt(r['create_case_first_half_p50_ms'])} ms, "
        f"second half {fmt(r['create_case_second_half_p50_ms'])} ms; GET /health measured alone "
        f"p50 {fmt(r['health_sequential']['p50_ms'])} ms"
        for backend, r in results.items()
    ]
    return "\n".join([*out, "", *notes])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=300, help="measured case creations")
    parser.add_argument("--reads", type=int, default=200, help="measured requests per read variant")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--json", type=Path, help="write the numbers here")
    args = parser.parse_args()

    started = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    with terminate_on_signals(), BenchStack() as stack:
        for backend in args.backends.split(","):
            if backend == "postgres" and (reason := postgres_unavailable_reason()):
                print(f"skipping postgres: {reason}")
                skipped[backend] = reason
                continue
            url = stack.sqlite_url(backend) if backend == "sqlite" else stack.postgres_url("cases")
            server = stack.start_server(url, workers=args.workers)
            try:
                results[backend] = asyncio.run(measure(server.base_url, url, args))
            finally:
                stack.stop(server)
    print(render(results))
    print(f"\n(total run time {time.monotonic() - started:.0f} s)")
    if args.json:
        payload = {"results": results, "skipped": skipped, "workers": args.workers, "sizes": SIZES}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
