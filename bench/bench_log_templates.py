"""Log template accuracy with leave-one-out selection, and speed side by side with drain3.

Every choice the miner exposes (similarity threshold, routing depth, whether wildcards count as equal
tokens, quoted-string masking) is picked from a small fixed grid on seven LogHub-2k sets and scored on
the eighth, eight times. The closing note gives the leave-one-out average: that is the figure to expect
on logs never seen, the in-sample one is printed only for comparison. Raw lines (headers included) go in,
exactly what `faultmaven logs parse` gets. drain3 (default settings, `pip install -e '.[bench]'`) runs on
the same lines in the same process for the lines/s comparison.

The LogHub-2k sample is read in place from ../shared (research licence, never copied into the repo).

Usage: .venv/bin/python bench/bench_log_templates.py [--data DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faultmaven.services.logs.api import parse_stream
from faultmaven.services.logs.templates import DEFAULT_SHAPES, Masker, TemplateMiner

DATASETS = ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "Linux", "Apache", "OpenSSH")
GRID = {
    "similarity": (0.4, 0.5, 0.6),
    "depth": (2, 3),
    "count_wildcards": (True, False),
    "quoted": (False, True),
}


@dataclass(frozen=True)
class Labelled:
    """One LogHub-2k set: raw lines and the ground-truth template of each."""

    name: str
    lines: list[str]
    templates: list[str]


def _default_data_dir() -> Path:
    here = Path(__file__).resolve()
    candidates = [parent / "shared" / "data" / "loghub-2k" for parent in here.parents]
    return next((path for path in candidates if path.is_dir()), candidates[2])


def load(data: Path, name: str) -> Labelled:
    raw = (data / name / f"{name}_2k.log").read_bytes().decode("utf-8", "replace").split("\n")
    lines = [line.rstrip("\r") for line in raw if line]
    with (data / name / f"{name}_2k.log_structured.csv").open(newline="", encoding="utf-8") as handle:
        templates = [row["EventTemplate"] for row in csv.DictReader(handle)]
    return Labelled(name, lines, templates)


def scores(predicted: list[str], truth: list[str]) -> tuple[float, float]:
    """(GA, PA): grouping accuracy (Zhu et al. 2019) and exact-template parsing accuracy."""
    sizes: dict[str, int] = {}
    for group in truth:
        sizes[group] = sizes.get(group, 0) + 1
    members: dict[str, list[int]] = {}
    for index, group in enumerate(predicted):
        members.setdefault(group, []).append(index)
    grouped = 0
    for indices in members.values():
        groups = {truth[index] for index in indices}
        if len(groups) == 1 and sizes[groups.pop()] == len(indices):
            grouped += len(indices)
    parsed = sum(" ".join(p.split()) == " ".join(t.split()) for p, t in zip(predicted, truth, strict=True))
    return grouped / len(truth), parsed / len(truth)


def configurations() -> list[dict[str, object]]:
    keys = list(GRID)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())]


def miner_for(config: dict[str, object]) -> TemplateMiner:
    return TemplateMiner(
        similarity=float(config["similarity"]),  # type: ignore[arg-type]
        depth=int(config["depth"]),  # type: ignore[call-overload]
        count_wildcards=bool(config["count_wildcards"]),
        masker=Masker(DEFAULT_SHAPES, quoted=bool(config["quoted"])),
    )


def ours(config: dict[str, object]) -> Callable[[list[str]], list[str]]:
    return lambda lines: list(parse_stream(lines, miner_for(config)))


def drain3_default() -> Callable[[list[str]], list[str]] | None:
    try:
        from drain3 import TemplateMiner as Drain3Miner
        from drain3.template_miner_config import TemplateMinerConfig
    except ImportError:
        return None

    def parse(lines: list[str]) -> list[str]:
        miner = Drain3Miner(config=TemplateMinerConfig())
        ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
        texts = {cluster.cluster_id: cluster.get_template() for cluster in miner.drain.clusters}
        return [texts[cluster_id] for cluster_id in ids]

    return parse


def lines_per_second(parse: Callable[[list[str]], list[str]], lines: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        parse(lines)
        times.append(time.perf_counter() - start)
    return len(lines) / statistics.median(times)


def label(config: dict[str, object]) -> str:
    return " ".join(f"{key}={value}" for key, value in config.items())


def _overall(sets: list[Labelled], speeds: list[float]) -> float:
    """Total lines over total time (not a mean of rates)."""
    total = sum(len(item.lines) for item in sets)
    return total / sum(len(item.lines) / speed for item, speed in zip(sets, speeds, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=_default_data_dir())
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per set (median)")
    args = parser.parse_args()
    if not (args.data / "HDFS" / "HDFS_2k.log").exists():
        raise SystemExit(f"LogHub-2k sample not found under {args.data}")
    sets = [load(args.data, name) for name in DATASETS]
    grid = configurations()
    table = {  # (config index, set name) -> (GA, PA)
        (index, item.name): scores(ours(config)(item.lines), item.templates)
        for index, config in enumerate(grid) for item in sets
    }

    def best(names: list[str]) -> int:
        return max(range(len(grid)), key=lambda index: statistics.fmean(table[index, n][0] for n in names))

    chosen_all = best([item.name for item in sets])
    drain3 = drain3_default()
    print(f"{'set':10} {'LOO GA':>7} {'LOO PA':>7} {'in GA':>7} {'in PA':>7} {'ours l/s':>9} "
          f"{'drain3 l/s':>10} {'drain3 GA':>9}  chosen on the other seven")
    loo_ga, loo_pa, in_ga, ours_speed, drain_speed = [], [], [], [], []
    for item in sets:
        pick = best([other.name for other in sets if other.name != item.name])
        ga, pa = table[pick, item.name]
        sample_ga, sample_pa = table[chosen_all, item.name]
        speed = lines_per_second(ours(grid[chosen_all]), item.lines, args.repeat)
        loo_ga.append(ga)
        loo_pa.append(pa)
        in_ga.append(sample_ga)
        ours_speed.append(speed)
        drain_cells = f"{'-':>10} {'-':>9}"
        if drain3 is not None:
            drain_rate = lines_per_second(drain3, item.lines, args.repeat)
            drain_speed.append(drain_rate)
            drain_ga = scores(drain3(item.lines), item.templates)[0]
            drain_cells = f"{drain_rate:>10,.0f} {drain_ga:>9.3f}"
        print(f"{item.name:10} {ga:>7.3f} {pa:>7.3f} {sample_ga:>7.3f} {sample_pa:>7.3f} {speed:>9,.0f} "
              f"{drain_cells}  {label(grid[pick])}")
    print(f"\nLeave-one-out average GA {statistics.fmean(loo_ga):.3f}, PA {statistics.fmean(loo_pa):.3f} "
          f"(in-sample GA {statistics.fmean(in_ga):.3f} with {label(grid[chosen_all])}).")
    ours_rate = _overall(sets, ours_speed)
    if drain_speed:
        drain_rate = _overall(sets, drain_speed)
        print(f"Speed, same run, same raw lines: ours {ours_rate:,.0f} lines/s, drain3 (default) "
              f"{drain_rate:,.0f} lines/s, ratio {ours_rate / drain_rate:.2f}.")
    else:
        print(f"Speed: ours {ours_rate:,.0f} lines/s (drain3 not installed: pip install -e '.[bench]').")


if __name__ == "__main__":
    main()
