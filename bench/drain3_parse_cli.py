"""Benchmark baseline: drain3 with default settings on raw lines from stdin, one final template per line.

drain3 is installed only for this comparison; it is not a FaultMaven dependency.
"""

from __future__ import annotations

import logging
import sys

from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig


def parse(lines: list[str]) -> list[str]:
    """Final drain3 template of each line (default config); also `loghub_eval.py --parser` entry."""
    logging.disable(logging.CRITICAL)
    miner = TemplateMiner(config=TemplateMinerConfig())
    cluster_ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
    templates = {cluster.cluster_id: cluster.get_template() for cluster in miner.drain.clusters}
    return [templates[cluster_id] for cluster_id in cluster_ids]


def main() -> None:
    stdin = open(sys.stdin.fileno(), encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
    sys.stdout.writelines(template + "\n" for template in parse([line.rstrip("\r\n") for line in stdin]))


if __name__ == "__main__":
    main()
