"""A large log is ingested with bounded memory: peak RSS grows by a fixed budget, not with the file.

Runs in a child process (`ingest_probe`) so the measurement is of that ingestion alone. The default is
20 MB to stay well under a minute on a loaded 2-core CI machine; `FAULTMAVEN_TEST_INGEST_MB=100` runs the
full size (bench/bench_evidence_ingest.py measures 100 MB through a real server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

INGEST_MB = int(os.environ.get("FAULTMAVEN_TEST_INGEST_MB", "20"))
RSS_BUDGET_BYTES = 100 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def write_log(path: Path, megabytes: int) -> int:
    """A service log with a bounded set of client addresses (the case's mask table stays small, so the
    measurement is of the pipeline) and an error every 500 lines; returns the line count."""
    target, written, number = megabytes * 1_000_000, 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            number += 1
            minute, second = divmod(number // 40, 60)
            stamp = f"2024-05-01 {minute // 60 % 24:02d}:{minute % 60:02d}:{second:02d},{number % 1000:03d}"
            if number % 500 == 0:
                line = f"{stamp} ERROR [pool-{number % 4}] db.Pool: pool exhausted after {number} ms\n"
            else:
                line = (f"{stamp} INFO [http-{number % 16}] api.Access: 10.0.{number % 4}.{number % 50} "
                        f"GET /orders/{number} 200 {number % 700} ms\n")
            out.write(line)
            written += len(line)
    return number


def test_large_log_ingested_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    lines = write_log(path, INGEST_MB)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAULTMAVEN_")}
    completed = subprocess.run(
        [sys.executable, "-m", "tests.evidence.ingest_probe", str(path), database_url],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["line_count"] == lines and result["errors"] >= 1
    growth = result["rss_after"] - result["rss_before"]
    print(f"{INGEST_MB} MB in {result['seconds']:.1f} s; peak RSS +{growth / 2**20:.0f} MB")
    assert growth < RSS_BUDGET_BYTES, f"peak RSS grew by {growth / 2**20:.0f} MB for a {INGEST_MB} MB log"
