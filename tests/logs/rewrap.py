"""Re-wrap log messages in generated headers of other layouts, to test that grouping ignores the header.

Each layout is a function of (line index, random generator) returning the header text; header fields
(hosts, pids, components, record numbers) are drawn at random per line, independent of the message,
so any header token left in the message would split its group.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

START = datetime(2023, 11, 3, 22, 15, 29)
_LEVELS = ("INFO", "WARN", "ERROR", "DEBUG")
_HOSTS = ("node-12", "node-245", "cn-7", "web03")
_COMPONENTS = ("scheduler", "net.io.Dispatcher", "store_mgr", "authd")


def _time(index: int) -> datetime:
    return START + timedelta(seconds=index * 7, microseconds=(index * 137_911) % 1_000_000)


def _bracketed_month_day(index: int, rng: random.Random) -> str:
    return f"[{_time(index):%m.%d %H:%M:%S}] {rng.choice(('app.exe', 'svc.exe', 'agent'))} -"


def _record_host_epoch(index: int, rng: random.Random) -> str:
    epoch = int((_time(index) - datetime(1970, 1, 1)).total_seconds())
    return f"{1000 + index} {rng.choice(_HOSTS)} {epoch}"


def _file_prefix(index: int, rng: random.Random) -> str:
    stamp = _time(index)
    return (f"api.log.{rng.randint(1, 3)}.{stamp:%Y-%m-%d_%H:%M:%S} {stamp:%Y-%m-%d %H:%M:%S}."
            f"{index % 1000:03d} {rng.randint(1000, 40000)} {rng.choice(_LEVELS)}")


def _request_context(index: int, rng: random.Random) -> str:
    stamp = _time(index)
    context = f"[req-{uuid.UUID(int=rng.getrandbits(128))} {rng.getrandbits(128):032x} - - -]"
    return f"{stamp:%Y-%m-%d %H:%M:%S.%f} {rng.randint(100, 999)} {rng.choice(_LEVELS)} {context}"


def _syslog_no_year(index: int, rng: random.Random) -> str:
    stamp = _time(index)
    return f"{stamp:%b} {stamp.day:>2} {stamp:%H:%M:%S} {rng.choice(_HOSTS)} " \
        f"{rng.choice(_COMPONENTS)}[{rng.randint(1, 65000)}]:"


def _mobile(index: int, rng: random.Random) -> str:
    return f"{_time(index):%m-%d %H:%M:%S.%f}"[:-3] + \
        f"  {rng.randint(100, 9999):>5} {rng.randint(100, 9999):>5} {rng.choice('DIWE')} " \
        f"{rng.choice(_COMPONENTS)}:"


def _pipes(index: int, rng: random.Random) -> str:
    return f"{_time(index):%Y%m%d-%H:%M:%S}:{index % 1000}|{rng.choice(_COMPONENTS)}|{rng.randint(1, 10**8)}|"


def _comma_level(index: int, rng: random.Random) -> str:
    return f"{_time(index):%Y-%m-%d %H:%M:%S}, {rng.choice(('Info', 'Warning', 'Error')):<8}"


def _epoch_millis(index: int, rng: random.Random) -> str:
    millis = int((_time(index) - datetime(1970, 1, 1)).total_seconds() * 1000)
    return f"{millis} [{rng.choice(('main', 'worker-1', 'pool-3-thread-2'))}] {rng.choice(_LEVELS)}"


def _iso_zone(index: int, rng: random.Random) -> str:
    return f"{_time(index):%Y-%m-%dT%H:%M:%S.%f}+02:00 {rng.choice(_LEVELS):<5} {rng.choice(_COMPONENTS)}:"


LAYOUTS: dict[str, Callable[[int, random.Random], str]] = {
    "bracketed_month_day": _bracketed_month_day,
    "record_host_epoch": _record_host_epoch,
    "file_prefix": _file_prefix,
    "request_context": _request_context,
    "syslog_no_year": _syslog_no_year,
    "mobile": _mobile,
    "pipes": _pipes,
    "comma_level": _comma_level,
    "epoch_millis": _epoch_millis,
    "iso_zone": _iso_zone,
}


def rewrap(contents: list[str], layout: str, seed: int = 7) -> list[str]:
    """The messages with a generated header of `layout` in front of each."""
    rng = random.Random(seed)
    header = LAYOUTS[layout]
    separator = "" if layout == "pipes" else " "
    return [header(index, rng) + separator + content for index, content in enumerate(contents)]


def agreement(predicted: list[str], reference: list[str]) -> float:
    """Share of lines whose predicted group holds exactly the lines of their reference group (GA-style)."""
    sizes: dict[str, int] = {}
    for group in reference:
        sizes[group] = sizes.get(group, 0) + 1
    members: dict[str, list[int]] = {}
    for index, group in enumerate(predicted):
        members.setdefault(group, []).append(index)
    same = 0
    for indices in members.values():
        groups = {reference[index] for index in indices}
        if len(groups) == 1 and sizes[groups.pop()] == len(indices):
            same += len(indices)
    return same / len(reference) if reference else 1.0
