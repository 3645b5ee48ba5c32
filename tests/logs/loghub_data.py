"""Access to the LogHub-2k sample (research licence, read in place from ../shared, never copied)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

_CANDIDATES = [parent / "shared" / "data" / "loghub-2k" for parent in Path(__file__).resolve().parents]
LOGHUB_DIR = next((path for path in _CANDIDATES if path.is_dir()), _CANDIDATES[3])
DATASETS = ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "Linux", "Apache", "OpenSSH")

requires_loghub = pytest.mark.skipif(
    not (LOGHUB_DIR / "HDFS" / "HDFS_2k.log").exists(),
    reason=f"LogHub-2k sample not found at {LOGHUB_DIR} (research licence, not shipped with FaultMaven)",
)


def raw_lines(name: str) -> list[str]:
    text = (LOGHUB_DIR / name / f"{name}_2k.log").read_bytes().decode("utf-8", "replace")
    return [line.rstrip("\r") for line in text.split("\n") if line]


def structured_rows(name: str) -> list[dict[str, str]]:
    with (LOGHUB_DIR / name / f"{name}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def grouping_accuracy(predicted: list[str], truth: list[str]) -> float:
    """Share of lines whose predicted group has exactly the lines of their true group (Zhu et al. 2019)."""
    true_sizes: dict[str, int] = {}
    for group in truth:
        true_sizes[group] = true_sizes.get(group, 0) + 1
    members: dict[str, list[int]] = {}
    for index, group in enumerate(predicted):
        members.setdefault(group, []).append(index)
    correct = 0
    for indices in members.values():
        groups = {truth[index] for index in indices}
        if len(groups) == 1 and true_sizes[groups.pop()] == len(indices):
            correct += len(indices)
    return correct / len(truth)
