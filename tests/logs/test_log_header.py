"""Header detection: LogHub systems and common formats, with no per-system configuration."""

from __future__ import annotations

from datetime import datetime

import pytest
from loghub_data import DATASETS, raw_lines, requires_loghub, structured_rows

from faultmaven.services.logs import detect_header


def _squash(text: str) -> str:
    return " ".join(text.split())


@requires_loghub
@pytest.mark.parametrize("name", DATASETS)
def test_body_matches_loghub_content(name: str) -> None:
    lines, rows = raw_lines(name), structured_rows(name)
    schema = detect_header(lines)
    pairs = zip(lines, rows, strict=True)
    matches = sum(_squash(schema.parse(line).body) == _squash(row["Content"]) for line, row in pairs)
    assert matches / len(rows) >= 0.99, schema.describe


@requires_loghub
def test_loghub_fields_are_parsed() -> None:
    schema = detect_header(raw_lines("HDFS"))
    line = "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating"
    parsed = schema.parse(line)
    assert parsed.timestamp == datetime(2008, 11, 9, 20, 36, 15)
    assert (parsed.level, parsed.component, parsed.body) == ("INFO", "dfs.DataNode$PacketResponder",
                                                             "PacketResponder 1 terminating")


@pytest.mark.parametrize(
    ("lines", "timestamp", "level", "body"),
    [
        (["2024-03-01T10:00:0{i}.250Z ERROR payment failed for order {i}"],
         datetime(2024, 3, 1, 10, 0, 0, 250000), "ERROR", "payment failed for order 0"),
        (["2024-03-01T10:00:0{i}+02:00 WARN disk almost full"], datetime(2024, 3, 1, 8, 0, 0), "WARNING",
         "disk almost full"),
        (["1709287200{i} [main] INFO kafka.Server: started id={i}"], None, "INFO", "started id=0"),
        (["03-17 16:13:3{i}.811  1702  2395 D WindowManager: freezing display {i}"], None, "DEBUG",
         "freezing display 0"),
        (["2024-03-01 10:00:0{i},123 - app.db - ERROR - connection lost {i}"],
         datetime(2024, 3, 1, 10, 0, 0, 123000), "ERROR", "connection lost 0"),
    ],
)
def test_common_formats(lines: list[str], timestamp: datetime | None, level: str, body: str) -> None:
    sample = [lines[0].format(i=i) for i in range(10)]
    parsed = detect_header(sample, default_year=2024).parse(sample[0])
    assert (parsed.level, parsed.body) == (level, body)
    if timestamp is not None:
        assert parsed.timestamp == timestamp


def test_epoch_millis_and_headerless_continuation() -> None:
    sample = [f"17092872000{i}0 INFO worker: tick {i}" for i in range(10)]
    schema = detect_header(sample)
    assert schema.parse(sample[0]).timestamp == datetime(2024, 3, 1, 10, 0, 0)
    continuation = schema.parse("\tat com.acme.Foo.bar(Foo.java:12)")
    assert not continuation.has_header
    assert continuation.body == "at com.acme.Foo.bar(Foo.java:12)"


def test_no_header_means_whole_line_is_body() -> None:
    schema = detect_header([f"user {i} logged in" for i in range(10)])
    assert schema.columns == ()
    assert schema.parse("user 3 logged in").body == "user 3 logged in"
