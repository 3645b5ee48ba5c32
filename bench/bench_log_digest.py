"""Benchmark `digest_file` on a generated 100 MB log: MB/s and peak memory, against a read+split baseline.

Usage: .venv/bin/python bench/bench_log_digest.py [--mb 100] [--keep PATH]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faultmaven.services.logs import digest_file, render_markdown

INFO_MESSAGES = (
    "Accepted connection from {ip}:{port}",
    "Request GET /api/v1/orders/{n} completed in {ms} ms status=200",
    "Request POST /api/v1/payments completed in {ms} ms status=201",
    "Cache hit ratio {pct}% for region eu-west-{small}",
    "Flushed {n} records to segment seg-{hex} in {ms} ms",
    "Session {uuid} opened for user user{small}",
    "Session {uuid} closed after {n} seconds",
    "Scheduled job cleanup-{small} finished, removed {n} rows",
)
WARN_MESSAGES = (
    "Slow query on table orders took {ms} ms",
    "Retrying call to inventory-service attempt {small} of 5",
    "Connection pool usage at {pct}% ({n}/200)",
)
ERROR_MESSAGES = (
    "Failed to process payment {uuid}: upstream returned 503",
    "Timeout after {ms} ms waiting for inventory-service",
)
JAVA_TRACE = (
    "java.lang.IllegalStateException: Order {n} is in state CANCELLED",
    "\tat com.acme.orders.OrderService.ship(OrderService.java:{small})",
    "\tat com.acme.orders.OrderController.post(OrderController.java:88)",
    "\tat java.base/java.lang.Thread.run(Thread.java:833)",
    "Caused by: java.sql.SQLTransientConnectionException: pool exhausted after {ms} ms",
    "\tat com.zaxxer.hikari.pool.HikariPool.getConnection(HikariPool.java:197)",
    "\t... 12 more",
)
THREADS = ("main", "http-nio-8080-exec-{small}", "scheduler-1", "kafka-consumer-{small}")
COMPONENTS = ("com.acme.orders.OrderService", "com.acme.http.AccessLog", "com.acme.cache.RegionCache",
              "com.acme.jobs.Cleanup", "com.acme.payments.PaymentClient")


def _values(rng: random.Random) -> dict[str, object]:
    return {
        "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "port": rng.randrange(1024, 65535), "n": rng.randrange(100_000), "ms": rng.randrange(1, 5000),
        "pct": rng.randrange(100), "small": rng.randrange(1, 9), "hex": f"{rng.getrandbits(32):08x}",
        "uuid": f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
                f"a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
    }


def _header(when: datetime, level: str, rng: random.Random) -> str:
    thread = rng.choice(THREADS).format(small=rng.randrange(1, 9))
    stamp = when.strftime("%Y-%m-%d %H:%M:%S") + f",{when.microsecond // 1000:03d}"
    return f"{stamp} {level:<5} [{thread}] {rng.choice(COMPONENTS)}: "


def generate(path: Path, megabytes: int, seed: int = 7) -> None:
    """Write a Java-service style log with warnings, errors, a stack trace now and then and one burst."""
    rng = random.Random(seed)
    target = megabytes * 1_000_000
    when = datetime(2024, 5, 1, 0, 0, 0)
    burst_start, burst_end = int(target * 0.60), int(target * 0.62)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            when += timedelta(milliseconds=rng.randrange(1, 40))
            in_burst = burst_start <= written < burst_end
            roll = rng.random()
            values = _values(rng)
            if (in_burst and roll < 0.5) or roll < 0.002:
                lines = [_header(when, "ERROR", rng) + rng.choice(ERROR_MESSAGES).format(**values)]
            elif roll < 0.0025:
                lines = [_header(when, "ERROR", rng) + "Unhandled exception while shipping order"]
                lines += [line.format(**values) for line in JAVA_TRACE]
            elif roll < 0.05:
                lines = [_header(when, "WARN", rng) + rng.choice(WARN_MESSAGES).format(**values)]
            else:
                lines = [_header(when, "INFO", rng) + rng.choice(INFO_MESSAGES).format(**values)]
            text = "\n".join(lines) + "\n"
            out.write(text)
            written += len(text)


def baseline_read_split(path: Path) -> float:
    """Seconds to just read the file as text and split it into lines (the floor for any line parser)."""
    start = time.perf_counter()
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            line.split()
    return time.perf_counter() - start


def _traced_peak(path: Path) -> int:
    """Peak Python heap of a second digest run, in bytes (tracemalloc slows the run down)."""
    tracemalloc.start()
    digest_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--tracemalloc", action="store_true", help="also measure a traced second run")
    parser.add_argument("--keep", type=Path, default=None, help="write the log here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "synthetic.log"
        start = time.perf_counter()
        generate(path, args.mb)
        size = path.stat().st_size / 1e6
        print(f"generated {size:.1f} MB in {time.perf_counter() - start:.1f} s: {path}")
        base = baseline_read_split(path)
        start = time.perf_counter()
        digest = digest_file(path)
        seconds = time.perf_counter() - start
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak = _traced_peak(path) if args.tracemalloc else 0
        markdown = render_markdown(digest, max_chars=8_000)
    print(f"baseline read+split: {base:.2f} s = {size / base:.1f} MB/s")
    print(f"digest_file:         {seconds:.2f} s = {size / seconds:.1f} MB/s "
          f"({seconds / base:.1f}x the baseline time)")
    print(f"peak RSS (whole process): {rss_mb:.0f} MB for a {size:.0f} MB file")
    if peak:
        print(f"tracemalloc peak of a second run: {peak / 1e6:.1f} MB")
    print(f"digest: {digest.totals.lines:,} lines, {digest.totals.templates} templates, "
          f"{len(digest.errors)} error signatures, {len(digest.bursts)} bursts; "
          f"markdown {len(markdown):,} chars")
    print(markdown[:1500])


if __name__ == "__main__":
    main()
