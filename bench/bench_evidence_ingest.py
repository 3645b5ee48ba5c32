"""Benchmark evidence ingestion end to end: upload a generated log to a real server, wait for its digest.

Measures upload-to-digest MB/s and the server's peak RSS (VmHWM), against two baselines in the same run:
reading and splitting the file locally (the I/O floor) and `digest_file` on it in this process (the log
engine alone, no HTTP, sanitizing or database).

Usage: .venv/bin/python bench/bench_evidence_ingest.py [--mb 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import BenchStack, terminate_on_signals
from bench_log_digest import baseline_read_split, generate

from faultmaven.services.logs import digest_file

POLL_SECONDS = 0.5


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def upload_and_wait(base_url: str, path: Path) -> tuple[float, float, dict]:
    """(seconds until the 201, seconds until completed, the item)."""
    with httpx.Client(base_url=base_url, timeout=600) as client:
        case_id = client.post("/api/v1/cases", json={"title": "ingest bench"}).json()["case"]["case_id"]
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = client.post(f"/api/v1/cases/{case_id}/data", files={"file": (path.name, handle)})
        response.raise_for_status()
        uploaded = time.perf_counter() - started
        location = response.headers["location"]
        while (item := client.get(location).json())["processing_status"] in ("pending", "processing"):
            time.sleep(POLL_SECONDS)
        return uploaded, time.perf_counter() - started, item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    with terminate_on_signals(), BenchStack() as stack:
        path = stack.tmp / "synthetic.log"
        generate(path, args.mb)
        size_mb = path.stat().st_size / 1e6
        read_split = baseline_read_split(path)
        started = time.perf_counter()
        digest_file(path)
        engine = time.perf_counter() - started
        server = stack.start_server(stack.sqlite_url("ingest"))
        idle_rss = peak_rss_mb(server.popen.pid)
        uploaded, total, item = upload_and_wait(server.base_url, path)
        peak = peak_rss_mb(server.popen.pid)
    print(f"file: {size_mb:.1f} MB, {item['line_count']:,} lines; status {item['processing_status']}")
    print(f"summary: {item['summary']}")
    print(f"baseline read+split locally: {read_split:.2f} s = {size_mb / read_split:.0f} MB/s")
    print(f"baseline digest_file in-process: {engine:.2f} s = {size_mb / engine:.1f} MB/s")
    print(f"upload (201, streamed to disk): {uploaded:.2f} s = {size_mb / uploaded:.0f} MB/s")
    print(f"upload-to-digest: {total:.2f} s = {size_mb / total:.2f} MB/s "
          f"({total / engine:.2f}x the digest_file time)")
    print(f"server peak RSS (VmHWM): {peak:.0f} MB (after start-up: {idle_rss:.0f} MB)")


if __name__ == "__main__":
    main()
