"""Load test (issue 5): many queries at high concurrency against real `faultmaven serve` processes and a fake
LLM with a fixed latency, then an integrity check of every case's conversation.

Backends:
- sqlite: the embedded default, one `faultmaven serve` on a temp SQLite file (all queries synchronous
  unless --sqlite-async-share says otherwise; async ones then run on the in-process workers);
- postgres: PostgreSQL + Redis, two `faultmaven serve` processes (requests spread round-robin over both)
  and one `faultmaven worker` (taskiq on Redis); --async-share of the queries (20% by default) are sent
  with `Prefer: respond-async` and polled to completion, so the worker path is exercised.

A closed loop of --concurrency clients (asyncio + httpx) sends --queries queries spread round-robin over
--cases cases. Errors: any non-2xx, a transport error, or a poll that ends `failed`/`cancelled`.
Latency: synchronous = the POST; asynchronous = submit to the poll that sees `completed`.
Ideal throughput = concurrency / LLM latency (every client always waiting on the LLM and nothing else).
CPU seconds per process group (and machine-wide busy time) are sampled around the measured run.

Integrity, after the run: no query still running; for every case, `GET .../messages` (paged) holds exactly
one `user` and one `agent` message per query sent (by query_id) plus its initial message, no message_id
twice; `message_count` equals the messages listed; `GET .../queries` lists every query sent, completed.

Usage: .venv/bin/python bench/bench_load.py [--queries 1000] [--concurrency 50] [--latency-ms 200]
       [--backends sqlite,postgres] [--cases 20] [--async-share 0.2] [--job-concurrency N]
       [--max-seconds 240] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import (
    CLK_TCK,
    BenchStack,
    Process,
    check,
    fmt,
    markdown_table,
    percentile,
    postgres_unavailable_reason,
    proc_stats,
    terminate_on_signals,
)

QUERY = "Checkout p99 latency jumped from 200 ms to 4 s after the 14:02 deploy; where do I start?"
INITIAL_MESSAGE = "Payments pods restart with OOMKilled since the 14:02 deploy."
REDIS_HOST = "redis://127.0.0.1:6379"
TASKIQ_QUEUE_KEY = "faultmaven:queries"  # TaskiqJobQueue's default queue name (not configurable)
PAGE = 100  # the API's largest page
RUNNING = ("pending", "processing")


@dataclass
class Outcome:
    index: int
    case_id: str
    server: int
    mode: str  # "sync" | "async"
    ok: bool = False
    latency_s: float = 0.0
    query_id: str | None = None
    status: int | None = None  # HTTP status of the call that decided the outcome (None: transport error)
    error: str = ""
    degraded: bool = False
    accepted_instead: bool = False  # a synchronous query answered 202 (sync budget ran out)
    polls: int = 0


# -- CPU accounting -----------------------------------------------------------------------------------------


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / CLK_TCK, sum(fields) / CLK_TCK


class CpuMeter:
    """CPU seconds of our process groups, of every postgres/redis-server process, of this client and of
    the machine, between `start()` and `stop()`."""

    def __init__(self, groups: dict[str, Process]):
        self.groups = {label: process.popen.pid for label, process in groups.items()}

    def _sample(self) -> dict[str, float]:
        totals: Counter[str] = Counter()
        for _pid, comm, pgrp, cpu in proc_stats():
            for label, leader in self.groups.items():
                if pgrp == leader:
                    totals[label] += cpu
            if comm.startswith("postgres"):
                totals["postgres (all backends, machine-wide)"] += cpu
            elif comm.startswith("redis-server"):
                totals["redis-server (machine-wide)"] += cpu
        usage = resource.getrusage(resource.RUSAGE_SELF)
        totals["bench client (this process)"] = usage.ru_utime + usage.ru_stime
        busy, total = _machine_busy()
        totals["machine busy"], totals["machine total"] = busy, total
        return dict(totals)

    def start(self) -> None:
        self.before = self._sample()
        self.started = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        after, wall = self._sample(), time.perf_counter() - self.started
        delta = {k: after.get(k, 0.0) - self.before.get(k, 0.0) for k in after}
        machine_total = delta.pop("machine total")
        busy = delta.pop("machine busy")
        cpu = {k: v for k, v in delta.items() if v > 0 or k in self.groups}
        # other engineers' test runs on the same 2 cores show up here: the numbers are then pessimistic
        cpu["everything else on the machine"] = max(0.0, busy - sum(cpu.values()))
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "machine_busy_fraction": busy / machine_total if machine_total else float("nan"),
            "cores": os.cpu_count(),
        }


# -- Redis --------------------------------------------------------------------------------------------------


def claim_redis_db(stack: BenchStack) -> tuple[str, str]:
    """An empty Redis database (15 down to 1; 0 is everyone's default) and a key prefix of our own; on close,
    the keys this run left there (our rate-limit keys, the taskiq queue list) are deleted."""
    import redis

    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_HOST}/{number}")
        try:
            if client.dbsize() == 0:
                break
        finally:
            client.close()
    else:
        raise RuntimeError("no empty Redis database among 1..15")
    url = f"{REDIS_HOST}/{number}"
    prefix = f"fm-bench-{os.getpid()}-{secrets.token_hex(3)}"

    def cleanup() -> None:
        client = redis.Redis.from_url(url)
        try:
            ours = [
                k for k in client.scan_iter("*") if prefix.encode() in k or k == TASKIQ_QUEUE_KEY.encode()
            ]
            if ours:
                client.delete(*ours)
            others = client.dbsize()
            if others:
                print(
                    f"cleanup: Redis db {number} still holds {others} keys not ours; left alone",
                    file=sys.stderr,
                )
        finally:
            client.close()

    stack.on_close(f"delete bench keys in Redis db {number}", cleanup)
    return url, prefix


# -- the load -----------------------------------------------------------------------------------------------


class Load:
    def __init__(self, urls: list[str], args: argparse.Namespace, async_share: float):
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        self.clients = [
            httpx.AsyncClient(base_url=url, timeout=args.request_timeout, limits=limits) for url in urls
        ]
        self.args = args
        self.async_share = async_share

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()

    def plan(self, total: int, cases: list[str]) -> list[tuple[str, int, str]]:
        """(case, server, mode) of each query: cases round-robin; each case's successive queries alternate
        over the servers; exactly round(total * share) async queries, picked at random (fixed seed)."""
        picked = set(random.Random(5).sample(range(total), round(total * self.async_share)))
        servers = len(self.clients)
        return [
            (cases[i % len(cases)], (i + i // len(cases)) % servers, "async" if i in picked else "sync")
            for i in range(total)
        ]

    async def create_cases(self, count: int) -> dict[str, int]:
        """Case id -> its message_count at creation (every fourth case starts with an initial message)."""
        cases: dict[str, int] = {}
        for index in range(count):
            body: dict[str, Any] = {"title": f"load case {index}"}
            if index % 4 == 0:
                body["initial_message"] = INITIAL_MESSAGE
            client = self.clients[index % len(self.clients)]
            case = check(await client.post("/api/v1/cases", json=body), 201).json()["case"]
            cases[case["case_id"]] = case["message_count"]
        return cases

    async def one(self, index: int, planned: tuple[str, int, str], deadline: float) -> Outcome:
        case_id, server, mode = planned
        client = self.clients[server]
        outcome = Outcome(index, case_id, server, mode)
        headers = {"Prefer": "respond-async"} if outcome.mode == "async" else {}
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/api/v1/cases/{case_id}/queries", json={"query": f"{QUERY} (#{index})"}, headers=headers
            )
        except httpx.HTTPError as error:
            outcome.error = f"POST: {type(error).__name__}: {error}"
            outcome.latency_s = time.perf_counter() - started
            return outcome
        outcome.status = response.status_code
        if response.status_code == 201:
            body = response.json()
            outcome.query_id = body.get("query_id")
            outcome.degraded = _degraded(body)
            outcome.ok = True
            outcome.latency_s = time.perf_counter() - started
            if outcome.mode == "async":
                outcome.error = "asked respond-async, answered 201"
            return outcome
        if response.status_code == 202:
            outcome.query_id = response.json().get("query_id")
            outcome.accepted_instead = outcome.mode == "sync"
            await self.poll(client, outcome, started, deadline)
            return outcome
        outcome.error = f"POST {response.status_code}: {response.text[:300]}"
        outcome.latency_s = time.perf_counter() - started
        return outcome

    async def poll(
        self, client: httpx.AsyncClient, outcome: Outcome, started: float, deadline: float
    ) -> None:
        url = f"/api/v1/cases/{outcome.case_id}/queries/{outcome.query_id}"
        while True:
            await asyncio.sleep(self.args.poll_interval)
            if time.perf_counter() > deadline:
                outcome.error = f"poll: still running at the deadline after {outcome.polls} polls"
                outcome.latency_s = time.perf_counter() - started
                return
            outcome.polls += 1
            try:
                response = await client.get(url)
            except httpx.HTTPError as error:
                outcome.status = None
                outcome.error = f"poll: {type(error).__name__}: {error}"
                outcome.latency_s = time.perf_counter() - started
                return
            outcome.status = response.status_code
            if response.status_code == 202:
                continue
            outcome.latency_s = time.perf_counter() - started
            if response.status_code != 200:
                outcome.error = f"poll {response.status_code}: {response.text[:300]}"
                return
            body = response.json()
            if body.get("status") == "completed":
                outcome.ok = True
                outcome.degraded = _degraded(body.get("response") or {})
            else:
                outcome.error = f"poll ended {body.get('status')}: {json.dumps(body.get('error'))[:300]}"
            return

    async def run(self, cases: list[str], total: int, max_seconds: float) -> tuple[list[Outcome], float]:
        """`total` queries by `concurrency` clients in a closed loop; no new query starts after max_seconds,
        polls give up 60 s later."""
        plan = self.plan(total, cases)
        counter = iter(range(total))
        outcomes: list[Outcome] = []
        started = time.perf_counter()
        stop_starting = started + max_seconds
        stop_polling = stop_starting + 60

        async def client_loop() -> None:
            for index in counter:
                if time.perf_counter() > stop_starting:
                    return
                outcomes.append(await self.one(index, plan[index], stop_polling))

        async with asyncio.TaskGroup() as group:
            for _ in range(self.args.concurrency):
                group.create_task(client_loop())
        return outcomes, time.perf_counter() - started


def _degraded(response_body: dict[str, Any]) -> bool:
    metadata = response_body.get("metadata") or {}
    return bool(metadata.get("degraded")) or metadata.get("provider") != "primary"


# -- integrity ----------------------------------------------------------------------------------------------


async def _paged(client: httpx.AsyncClient, path: str, key: str | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = check(await client.get(path, params={"limit": PAGE, "offset": offset}), 200)
        page = response.json()[key] if key else response.json()
        items += page
        if len(page) < PAGE:
            return items
        offset += len(page)


async def wait_quiet(client: httpx.AsyncClient, cases: list[str], wait_seconds: float) -> int:
    """Wait until no query of these cases is pending or processing; the number still running at the end."""
    deadline = time.monotonic() + wait_seconds
    while True:
        running = 0
        for case_id in cases:
            rows = await _paged(client, f"/api/v1/cases/{case_id}/queries", None)
            running += sum(row["status"] in RUNNING for row in rows)
        if not running or time.monotonic() > deadline:
            return running
        await asyncio.sleep(1.0)


async def verify(
    client: httpx.AsyncClient, initial: dict[str, int], outcomes: list[Outcome]
) -> dict[str, Any]:
    still_running = await wait_quiet(client, list(initial), 60)
    sent: dict[str, list[Outcome]] = {case_id: [] for case_id in initial}
    for outcome in outcomes:
        sent[outcome.case_id].append(outcome)
    problems: list[str] = []
    totals: Counter[str] = Counter()
    for case_id, initial_count in initial.items():
        messages = await _paged(client, f"/api/v1/cases/{case_id}/messages", "messages")
        listed = check(
            await client.get(f"/api/v1/cases/{case_id}/messages", params={"limit": 1}), 200
        ).json()["total_count"]
        case = check(await client.get(f"/api/v1/cases/{case_id}"), 200).json()
        rows = await _paged(client, f"/api/v1/cases/{case_id}/queries", None)
        known = {o.query_id for o in sent[case_id] if o.query_id}
        unknown_sent = sum(1 for o in sent[case_id] if not o.query_id)
        per_query = Counter((m["query_id"], m["role"]) for m in messages if m["query_id"])
        without_id = sum(1 for m in messages if not m["query_id"])
        ids = Counter(m["message_id"] for m in messages)
        totals["messages"] += len(messages)
        totals["queries sent"] += len(sent[case_id])
        if dup_ids := [m for m, n in ids.items() if n > 1]:
            problems.append(f"{case_id}: message_id listed twice: {dup_ids[:3]}")
            totals["message ids listed twice"] += len(dup_ids)
        for query_id in known:
            for role in ("user", "agent"):
                count = per_query[(query_id, role)]
                if count == 0:
                    totals[f"lost {role} messages"] += 1
                    problems.append(f"{case_id}: query {query_id} has no {role} message")
                elif count > 1:
                    totals[f"duplicated {role} messages"] += count - 1
                    problems.append(f"{case_id}: query {query_id} has {count} {role} messages")
        strangers = {qid for qid, _ in per_query} - known
        if strangers:
            totals["messages of queries whose id we never got"] += sum(
                n for (qid, _), n in per_query.items() if qid in strangers
            )
            if len(strangers) > unknown_sent:
                problems.append(f"{case_id}: messages for {len(strangers)} query ids we never sent")
        if unknown_sent:
            totals["queries sent without a known id"] += unknown_sent
        roles = Counter(m["role"] for m in messages if m["query_id"])
        if set(roles) - {"user", "agent"}:
            problems.append(f"{case_id}: unexpected roles {dict(roles)}")
        if without_id != initial_count:
            problems.append(f"{case_id}: {without_id} messages without query_id, expected {initial_count}")
        expected = initial_count + 2 * len(sent[case_id])
        if len(messages) != expected:
            problems.append(f"{case_id}: {len(messages)} messages listed, expected {expected}")
            totals["cases with a wrong message total"] += 1
        if not (case["message_count"] == listed == len(messages)):
            problems.append(
                f"{case_id}: message_count {case['message_count']}, total_count {listed}, "
                f"listed {len(messages)}"
            )
            totals["cases with a wrong message_count"] += 1
        row_ids = {row["query_id"] for row in rows}
        if len(rows) != len(sent[case_id]) or not known <= row_ids:
            problems.append(f"{case_id}: {len(rows)} query rows for {len(sent[case_id])} queries sent")
            totals["cases with a wrong query row count"] += 1
        statuses = Counter(row["status"] for row in rows)
        totals.update({f"query rows {status}": n for status, n in statuses.items()})
    return {
        "cases": len(initial),
        "still_running_after_wait": still_running,
        "totals": dict(totals),
        "problems": problems,
        "ok": not problems and not still_running,
    }


# -- one backend --------------------------------------------------------------------------------------------


def summarize(outcomes: list[Outcome], wall: float, args: argparse.Namespace) -> dict[str, Any]:
    def lat(selected: list[Outcome]) -> dict[str, float]:
        ms = [o.latency_s * 1000 for o in selected]
        return {
            "n": len(ms),
            "p50_ms": percentile(ms, 50),
            "p95_ms": percentile(ms, 95),
            "p99_ms": percentile(ms, 99),
            "max_ms": max(ms, default=float("nan")),
        }

    ok = [o for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    kinds = Counter(f"{o.status}: {_error_kind(o.error)}" for o in errors)
    ideal = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    throughput = len(ok) / wall if wall else float("nan")
    return {
        "sent": len(outcomes),
        "ok": len(ok),
        "errors": len(errors),
        "error_kinds": dict(kinds.most_common()),
        "error_samples": [asdict(o) for o in errors[:5]],
        "degraded": sum(o.degraded for o in ok),
        "sync_answered_202": sum(o.accepted_instead for o in outcomes),
        "wall_s": wall,
        "throughput_qps": throughput,
        "ideal_qps": ideal,
        "ratio": throughput / ideal,
        "latency": {
            "all": lat(ok),
            "sync": lat([o for o in ok if o.mode == "sync"]),
            "async": lat([o for o in ok if o.mode == "async"]),
        },
        "polls_per_async": (
            sum(o.polls for o in outcomes if o.mode == "async")
            / max(1, sum(o.mode == "async" for o in outcomes))
        ),
        "per_server_ok": dict(Counter(o.server for o in ok)),
    }


def _error_kind(error: str) -> str:
    """Group errors by their start, without ids."""
    return error.split(":")[0] if not error.startswith(("POST ", "poll ")) else error[:120]


async def measure(
    backend: str, urls: list[str], groups: dict[str, Process], args: argparse.Namespace, async_share: float
) -> dict[str, Any]:
    load = Load(urls, args, async_share)
    try:
        cases = await load.create_cases(args.cases)
        warm_case = await load.create_cases(1)
        # warm-up: a few of each kind on every server (connections, pools, the worker's first job)
        warm_plan = load.plan(args.warmup, list(warm_case))
        warm = [await load.one(-1 - i, p, time.perf_counter() + 60) for i, p in enumerate(warm_plan)]
        if bad := [o for o in warm if not o.ok]:
            raise RuntimeError(f"warm-up failed: {bad[0]}")
        meter = CpuMeter(groups)
        meter.start()
        outcomes, wall = await load.run(list(cases), args.queries, args.max_seconds)
        cpu = meter.stop()
        result = summarize(outcomes, wall, args)
        result["cpu"] = cpu
        result["finished_all"] = len(outcomes) == args.queries
        started = time.perf_counter()
        result["integrity"] = await verify(load.clients[0], {**cases, **warm_case}, outcomes + warm)
        result["integrity"]["seconds"] = time.perf_counter() - started
        result["async_share"] = async_share
        result["backend"] = backend
        result["api_processes"] = len(urls)
        return result
    finally:
        await load.close()


def run_backend(stack: BenchStack, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {}
    if args.job_concurrency:
        env["FAULTMAVEN_JOB_CONCURRENCY"] = str(args.job_concurrency)
    llm = stack.start_fake_llm(args.latency_ms)
    groups: dict[str, Process] = {"fake LLM": llm}
    if backend == "sqlite":
        url = stack.sqlite_url("load")
        servers = [stack.start_server(url, llm_base_url=llm.base_url, env=env)]
        share = args.sqlite_async_share
    else:
        url = stack.postgres_url("load")
        redis_url, prefix = claim_redis_db(stack)
        env |= {
            "FAULTMAVEN_QUEUE_URL": redis_url,
            "FAULTMAVEN_REDIS_URL": redis_url,
            "FAULTMAVEN_RATE_LIMIT_KEY_PREFIX": prefix,
        }
        # one after the other: the first one migrates the fresh database
        servers = [stack.start_server(url, llm_base_url=llm.base_url, env=env) for _ in range(2)]
        groups["faultmaven worker"] = stack.start_worker(url, llm_base_url=llm.base_url, env=env)
        share = args.async_share
    groups |= {f"faultmaven serve #{i + 1}": server for i, server in enumerate(servers)}
    try:
        return asyncio.run(measure(backend, [s.base_url for s in servers], groups, args, share))
    except BaseException:
        for label, process in groups.items():
            print(f"--- {label} log tail:\n{process.log_tail(15)}", file=sys.stderr)
        raise
    finally:
        for process in reversed(groups.values()):
            stack.stop(process)


# -- report -------------------------------------------------------------------------------------------------


def render(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> str:
    headers = [
        "backend",
        "API procs",
        "async share",
        "sent",
        "ok",
        "errors",
        "degraded",
        "wall s",
        "queries/s",
        "ideal q/s",
        "ratio",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ]
    rows = []
    lat_rows = []
    for backend, r in results.items():
        a = r["latency"]["all"]
        rows.append(
            [
                backend,
                str(r["api_processes"]),
                f"{r['async_share']:.0%}",
                str(r["sent"]),
                str(r["ok"]),
                str(r["errors"]),
                str(r["degraded"]),
                fmt(r["wall_s"], 1),
                fmt(r["throughput_qps"], 1),
                fmt(r["ideal_qps"], 0),
                fmt(r["ratio"], 3),
                fmt(a["p50_ms"], 0),
                fmt(a["p95_ms"], 0),
                fmt(a["p99_ms"], 0),
            ]
        )
        for mode in ("sync", "async"):
            m = r["latency"][mode]
            if m["n"]:
                lat_rows.append(
                    [
                        backend,
                        mode,
                        str(m["n"]),
                        fmt(m["p50_ms"], 0),
                        fmt(m["p95_ms"], 0),
                        fmt(m["p99_ms"], 0),
                        fmt(m["max_ms"], 0),
                    ]
                )
    integrity_rows = []
    for backend, r in results.items():
        i = r["integrity"]
        t = i["totals"]
        lost = sum(v for k, v in t.items() if k.startswith("lost"))
        dup = sum(v for k, v in t.items() if k.startswith("duplicated")) + t.get(
            "message ids listed twice", 0
        )
        completed = t.get("query rows completed", 0)
        integrity_rows.append(
            [
                backend,
                str(i["cases"]),
                str(t.get("queries sent", 0)),
                str(t.get("messages", 0)),
                str(lost),
                str(dup),
                str(t.get("cases with a wrong message_count", 0)),
                f"{completed}/{t.get('queries sent', 0)}",
                str(i["still_running_after_wait"]),
                "PASS" if i["ok"] else "FAIL",
            ]
        )
    lines = [
        f"{args.queries} queries at concurrency {args.concurrency}, fake LLM latency {args.latency_ms} ms, "
        f"{args.cases} cases; ideal = concurrency / LLM latency; latency: sync = the POST, "
        "async = submit to completed (polled).",
        "",
        markdown_table(headers, rows),
        "",
        markdown_table(["backend", "mode", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"], lat_rows),
        "",
        "Integrity (all cases incl. the warm-up case; messages via GET .../messages, paged):",
        "",
        markdown_table(
            [
                "backend",
                "cases",
                "queries",
                "messages",
                "lost",
                "duplicated",
                "message_count wrong",
                "query rows completed",
                "running after wait",
                "verdict",
            ],
            integrity_rows,
        ),
    ]
    for backend, r in results.items():
        cpu = r["cpu"]
        lines += [
            "",
            f"{backend}: CPU seconds during the {fmt(cpu['wall_s'], 1)} s run "
            f"(machine busy {cpu['machine_busy_fraction']:.0%} of {cpu['cores']} cores):",
            "",
        ]
        lines.append(
            markdown_table(
                ["process", "CPU s", "cores used"],
                [
                    [k, fmt(v, 1), fmt(v / cpu["wall_s"], 2)]
                    for k, v in sorted(cpu["cpu_s"].items(), key=lambda kv: -kv[1])
                ],
            )
        )
        if r["errors"]:
            lines += ["", f"{backend} errors by kind:"]
            lines += [f"- {n} x {kind}" for kind, n in r["error_kinds"].items()]
        if r["sync_answered_202"]:
            lines.append(
                f"- {backend}: {r['sync_answered_202']} synchronous queries answered 202 (budget ran out)"
            )
        if not r["finished_all"]:
            lines.append(
                f"- {backend}: stopped at the {args.max_seconds:.0f} s bound after {r['sent']} queries"
            )
        verdict = r["integrity"]
        lines.append(
            f"- {backend} integrity: {'PASS' if verdict['ok'] else 'FAIL'}; totals {verdict['totals']}"
        )
        lines += [f"  - {problem}" for problem in verdict["problems"][:20]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=200, help="the fake LLM's latency")
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite and/or postgres")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument(
        "--async-share", type=float, default=0.2, help="Prefer: respond-async share (postgres)"
    )
    parser.add_argument("--sqlite-async-share", type=float, default=0.0, help="the same on sqlite")
    parser.add_argument("--job-concurrency", type=int, help="FAULTMAVEN_JOB_CONCURRENCY (product default 4)")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between polls")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured queries before the run")
    parser.add_argument("--request-timeout", type=float, default=90.0)
    parser.add_argument(
        "--max-seconds", type=float, default=240.0, help="no new query after this, per backend"
    )
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
            backend_started = time.monotonic()
            results[backend] = run_backend(stack, backend, args)
            results[backend]["backend_seconds"] = time.monotonic() - backend_started
            print(
                f"({backend}: {results[backend]['backend_seconds']:.0f} s incl. setup and checks)", flush=True
            )
    print(render(results, args))
    print(f"\n(total run time {time.monotonic() - started:.0f} s)")
    if args.json:
        payload = {"args": vars(args) | {"json": str(args.json)}, "results": results, "skipped": skipped}
        args.json.write_text(json.dumps(payload, indent=2, default=str))
    return 0 if all(r["integrity"]["ok"] and not r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
