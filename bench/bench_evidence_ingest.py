"""Benchmark evidence ingestion end to end: upload a generated log to a real server, wait for its digest.

Measures upload-to-digest MB/s and the server's peak RSS (VmHWM), against baselines in the same run:
reading and splitting the file locally (the I/O floor), the sanitizer alone on the file's chunks and
`digest_file` on it in this process (the two engines, no HTTP or database), and with `--baseline DIR` the
same upload to a server run from another checkout (its `.venv`), e.g. `git worktree add /tmp/base main`.

Usage: .venv/bin/python bench/bench_evidence_ingest.py [--mb 100] [--baseline /tmp/base]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import ROOT, BenchStack, terminate_on_signals
from bench_log_digest import baseline_read_split, generate

from faultmaven.infrastructure.security.sanitizer import Sanitizer
from faultmaven.services.logs import digest_file
from faultmaven.services.logs.text_reader import chunk_lines, read_lines

POLL_SECONDS = 0.1


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set size so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants now (the digest's child process included)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        pending.extend(int(child) for child in children)
    return total / 1024


def upload_and_wait(base_url: str, path: Path, pid: int) -> tuple[float, float, dict, float]:
    """(seconds until the 201, seconds until completed, the item, peak RSS of the server's process tree
    sampled while processing)."""
    peak_tree = 0.0
    with httpx.Client(base_url=base_url, timeout=600) as client:
        case_id = client.post("/api/v1/cases", json={"title": "ingest bench"}).json()["case"]["case_id"]
        started = time.perf_counter()
        with path.open("rb") as handle:
            response = client.post(f"/api/v1/cases/{case_id}/data", files={"file": (path.name, handle)})
        response.raise_for_status()
        uploaded = time.perf_counter() - started
        location = response.headers["location"]
        while (item := client.get(location).json())["processing_status"] in ("pending", "processing"):
            peak_tree = max(peak_tree, tree_rss_mb(pid))
            time.sleep(POLL_SECONDS)
        return uploaded, time.perf_counter() - started, item, peak_tree


def sanitize_file(path: Path) -> float:
    """Seconds to sanitize the file chunk by chunk, as the upload path cuts it, with one mask map."""
    sanitizer, mask_map = Sanitizer(), {}
    started = time.perf_counter()
    with path.open("rb") as handle:
        for chunk in chunk_lines(read_lines(handle, "utf-8")):
            sanitizer.sanitize("\n".join(chunk.lines), mask_map)
    return time.perf_counter() - started


def server_ingest(
    stack: BenchStack, path: Path, label: str, checkout: Path | None
) -> tuple[float, float, float, dict]:
    """(seconds upload-to-digest, server peak RSS MB, peak RSS of the server with its children, the item)
    on a fresh server and database."""
    server = stack.start_server(stack.sqlite_url(label), checkout=checkout or ROOT)
    _, total, item, peak_tree = upload_and_wait(server.base_url, path, server.popen.pid)
    peak = peak_rss_mb(server.popen.pid)
    stack.stop(server)
    return total, peak, peak_tree, item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same upload against")
    args = parser.parse_args()
    with terminate_on_signals(), BenchStack() as stack:
        path = stack.tmp / "synthetic.log"
        generate(path, args.mb)
        size_mb = path.stat().st_size / 1e6
        read_split = baseline_read_split(path)
        sanitize = sanitize_file(path)
        started = time.perf_counter()
        digest_file(path)
        engine = time.perf_counter() - started
        if args.baseline is not None:
            base_total, base_peak, base_tree, _ = server_ingest(stack, path, "baseline", args.baseline)
        total, peak, tree, item = server_ingest(stack, path, "ingest", None)
    print(f"file: {size_mb:.1f} MB, {item['line_count']:,} lines; status {item['processing_status']}")
    print(f"summary: {item['summary']}")
    print(f"baseline read+split locally: {read_split:.2f} s = {size_mb / read_split:.0f} MB/s")
    print(f"sanitizer in-process (chunks): {sanitize:.2f} s = {size_mb / sanitize:.1f} MB/s")
    print(f"digest_file in-process: {engine:.2f} s = {size_mb / engine:.1f} MB/s")
    print(f"upload-to-digest: {total:.2f} s = {size_mb / total:.2f} MB/s "
          f"({total / engine:.2f}x the digest_file time)")
    print(f"server peak RSS (VmHWM) {peak:.0f} MB; with its child processes (sampled) {tree:.0f} MB")
    if args.baseline is not None:
        print(f"baseline checkout {args.baseline}: {base_total:.2f} s = {size_mb / base_total:.2f} MB/s, "
              f"peak RSS {base_peak:.0f} MB ({base_tree:.0f} MB with children); "
              f"this checkout is {base_total / total:.2f}x as fast")


if __name__ == "__main__":
    main()
