"""Digest: stack traces as one event, bursts, bounded memory on a large log, Markdown size bound."""

from __future__ import annotations

import random
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faultmaven.cli import app
from faultmaven.services.logs import (
    DigestBuilder,
    detect_header,
    digest_file,
    digest_lines,
    exception_signature,
    render_markdown,
)
from faultmaven.services.logs.text_reader import BinaryContentError

START = datetime(2024, 5, 1, 12, 0, 0)

JAVA_LOG = """2024-05-01 12:00:00,001 INFO [main] com.acme.App: starting
2024-05-01 12:00:01,002 ERROR [http-1] com.acme.Orders: request failed
java.lang.IllegalStateException: order 42 cancelled
\tat com.acme.Orders.ship(Orders.java:10)
\tat com.acme.Http.handle(Http.java:20)
Caused by: java.sql.SQLException: pool exhausted
\tat com.zaxxer.Pool.get(Pool.java:197)
\t... 3 more
2024-05-01 12:00:02,003 INFO [main] com.acme.App: still running
"""

PYTHON_LOG = """2024-05-01 12:00:00,001 INFO worker: tick 1
2024-05-01 12:00:01,001 ERROR worker: job crashed
Traceback (most recent call last):
  File "/app/worker.py", line 10, in run
    handle(job)
  File "/app/jobs.py", line 22, in handle
    raise ValueError("bad payload 17")
ValueError: bad payload 17
2024-05-01 12:00:02,001 INFO worker: tick 2
"""

GO_PANIC = """panic: runtime error: invalid memory address or nil pointer dereference
[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a1b2c]

goroutine 1 [running]:
main.(*Server).handle(0x0)
\t/app/server.go:42 +0x1c
main.main()
\t/app/main.go:12 +0x25
"""


def _lines(text: str) -> list[str]:
    return text.splitlines()


def test_java_stack_trace_is_one_event_with_root_cause_signature() -> None:
    digest = digest_lines(_lines(JAVA_LOG))
    assert digest.totals.lines == 9 and digest.totals.events == 3
    [error] = digest.errors
    assert error.kind == "exception"
    assert error.signature == "java.sql.SQLException: pool exhausted @ com.zaxxer.Pool.get"
    assert [sample.line_number for sample in error.sample] == list(range(2, 9))


def test_python_traceback_is_one_event() -> None:
    digest = digest_lines(_lines(PYTHON_LOG))
    assert digest.totals.events == 3
    [error] = digest.errors
    assert error.signature == "ValueError: bad payload <*> @ /app/jobs.py:handle"
    assert error.sample[-1].text == "ValueError: bad payload 17"


def test_go_panic_without_header_is_one_event() -> None:
    found = exception_signature(_lines(GO_PANIC))
    assert found == ("panic", "panic: runtime error: invalid memory address or nil pointer dereference "
                              "@ main.(*Server).handle")
    digest = digest_lines(_lines(GO_PANIC))
    assert digest.totals.events == 1 and digest.errors[0].kind == "exception"


def _burst_log() -> list[str]:
    rng = random.Random(3)
    lines = []
    for second in range(4 * 3600):
        stamp = (START + timedelta(seconds=second)).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{stamp} INFO [main] com.acme.Api: served request {rng.randrange(1000)} in 12 ms")
        in_burst = 2 * 3600 <= second < 2 * 3600 + 300
        if (in_burst and rng.random() < 0.5) or rng.random() < 0.002:
            lines.append(f"{stamp} ERROR [main] com.acme.Db: query timeout after {rng.randrange(900)} ms")
    return lines


def test_burst_is_found_where_errors_spike() -> None:
    digest = digest_lines(_burst_log())
    assert len(digest.bursts) == 1
    burst = digest.bursts[0]
    burst_start = START + timedelta(hours=2)
    assert burst_start - timedelta(seconds=burst.window_seconds) <= burst.start <= burst_start
    assert burst.end <= burst_start + timedelta(seconds=300 + burst.window_seconds)
    assert burst.error_count >= 100
    assert burst.top_templates == ["query timeout after <*>"]
    assert digest.first_errors[0].signature == "query timeout after <*>"


def _write_large_log(path: Path, megabytes: int) -> None:
    rng = random.Random(11)
    messages = ("GET /api/orders/{n} 200 in {n} ms", "cache miss for key user:{n}",
                "flushed {n} rows to shard {n}", "retrying upstream call attempt {n}")
    with path.open("w", encoding="utf-8") as out:
        written, second = 0, 0
        while written < megabytes * 1_000_000:
            second += 1
            stamp = (START + timedelta(milliseconds=7 * second)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            level = "ERROR" if second % 997 == 0 else "INFO"
            text = rng.choice(messages).replace("{n}", str(rng.randrange(10**6)))
            line = f"{stamp} {level} [worker-{second % 8}] com.acme.Service: {text}\n"
            out.write(line)
            written += len(line)


def test_large_log_digest_has_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    _write_large_log(path, 20)
    size = path.stat().st_size
    reports: list[int] = []
    tracemalloc.start()
    digest = digest_file(path, progress=reports.append)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert digest.totals.bytes == size and reports[-1] == size
    assert peak < size / 20, f"peak {peak} bytes for a {size}-byte file"
    assert len(digest.templates) <= 10
    assert all(len(template.samples) <= 3 for template in digest.templates)


def test_render_markdown_respects_budget() -> None:
    digest = digest_lines(_burst_log() + _lines(JAVA_LOG))
    for budget in (500, 2_000, 8_000):
        text = render_markdown(digest, max_chars=budget)
        assert len(text) <= budget
        assert text.startswith("# Log digest")
    full = render_markdown(digest, max_chars=8_000)
    assert "## Errors and exceptions" in full and "## Error bursts" in full


SYSLOG_DECEMBER = [f"Dec 31 23:59:{second:02d} gate sshd[1{second}]: Accepted key" for second in range(5)]


def test_yearless_syslog_is_never_dated_after_the_upload() -> None:
    schema = detect_header(SYSLOG_DECEMBER, reference=datetime(2025, 1, 2, 8, 0, 0))
    builder = DigestBuilder(schema)
    for line in SYSLOG_DECEMBER:
        builder.add_line(line)
    digest = builder.finish()
    assert digest.totals.first_timestamp == datetime(2024, 12, 31, 23, 59, 0)
    assert digest.totals.year_inferred
    assert "no year" in render_markdown(digest)


def test_yearless_line_of_today_keeps_this_year() -> None:
    schema = detect_header(["Mar  1 10:00:00 h app[1]: ok"] * 3, reference=datetime(2025, 3, 1, 12, 0))
    assert schema.parse("Mar  1 10:00:00 h app[1]: ok").timestamp == datetime(2025, 3, 1, 10, 0)
    assert schema.year_inferred


def test_year_in_the_log_is_not_inferred() -> None:
    digest = digest_lines(_lines(JAVA_LOG))
    assert not digest.totals.year_inferred
    assert "inferred" not in render_markdown(digest)


def test_level_counts_agree_with_the_error_list() -> None:
    lines = [
        "Jun 14 15:16:01 combo sshd[19939]: authentication failure; rhost=10.0.0.1",
        "Jun 14 15:16:02 combo sshd[19937]: check pass; user unknown",
        "Jun 14 15:16:03 combo sshd[19937]: connection refused by peer",
        "Jun 14 15:16:04 combo sshd[19937]: session opened for user root",
    ]
    digest = digest_lines(lines)
    error_lines = sum(error.count for error in digest.errors)
    counted = digest.totals.level_counts
    assert error_lines == counted.get("ERROR", 0) + counted.get("CRITICAL", 0) == 2
    assert "UNKNOWN" not in counted
    assert sum(counted.values()) == digest.totals.events


def test_stack_trace_counts_as_error_everywhere() -> None:
    lines = ["2024-05-01 12:00:00,001 INFO worker: retrying", *_lines(PYTHON_LOG)[2:8]]
    digest = digest_lines(lines)
    assert digest.totals.level_counts.get("ERROR") == len(digest.errors) == 1


def test_binary_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "core.dump"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    with pytest.raises(BinaryContentError, match="binary"):
        digest_file(path)


def test_cli_digest_refuses_binary_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(512))
    result = CliRunner().invoke(app, ["logs", "digest", str(path)])
    assert result.exit_code == 2
    assert "binary" in result.output.lower() or "NUL" in result.output
