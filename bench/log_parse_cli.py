"""Benchmark runner: raw log lines on stdin, one final template per line on stdout (what
`faultmaven logs parse` will do once the CLI is wired)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faultmaven.services.logs.api import parse_stream


def main() -> None:
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
    lines = (line.rstrip("\r\n") for line in stdin)
    sys.stdout.writelines(template + "\n" for template in parse_stream(lines))


def parse(lines: list[str]) -> list[str]:
    """In-process entry for `loghub_eval.py --parser bench/log_parse_cli.py:parse` (no process start cost)."""
    return list(parse_stream(lines))


if __name__ == "__main__":
    main()
