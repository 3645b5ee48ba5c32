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


@pytest.mark.parametrize(
    ("line", "layout", "timestamp"),
    [
        ("2024-03-01T10:00:05.250Z INFO started", "iso8601", datetime(2024, 3, 1, 10, 0, 5, 250000)),
        ("2024-03-01 10:00:05,123 INFO started", "iso8601", datetime(2024, 3, 1, 10, 0, 5, 123000)),
        ("2024-03-01 10:00:05, Info started", "iso8601", datetime(2024, 3, 1, 10, 0, 5)),
        ("2005-06-03-15.42.50.675872 INFO started", "dashed", datetime(2005, 6, 3, 15, 42, 50, 675872)),
        ("2024/03/01 10:00:05 INFO started", "slashed", datetime(2024, 3, 1, 10, 0, 5)),
        ("24/03/01 10:00:05 INFO started", "short_slashed", datetime(2024, 3, 1, 10, 0, 5)),
        ("3/1/2024 10:00:05 INFO started", "us_slashed", datetime(2024, 3, 1, 10, 0, 5)),
        ("01.03.2024 10:00:05 INFO started", "dotted", datetime(2024, 3, 1, 10, 0, 5)),
        ("20240301-10:00:05:606 INFO started", "compact_dashed", datetime(2024, 3, 1, 10, 0, 5, 606000)),
        ("[Fri Mar 01 10:00:05 2024] [error] started", "ctime", datetime(2024, 3, 1, 10, 0, 5)),
        ("01/Mar/2024:10:00:05 +0100 INFO started", "common_log", datetime(2024, 3, 1, 9, 0, 5)),
        ("Mar  1 10:00:05 host app[1]: started", "syslog", datetime(2024, 3, 1, 10, 0, 5)),
        ("240301 100005 INFO started", "compact", datetime(2024, 3, 1, 10, 0, 5)),
        ("03-01 10:00:05.811 INFO started", "month_day", datetime(2024, 3, 1, 10, 0, 5, 811000)),
        ("[03.01 10:00:05] app.exe - started", "month_day", datetime(2024, 3, 1, 10, 0, 5)),
        ("1709287205123 INFO started", "epoch_millis", datetime(2024, 3, 1, 10, 0, 5, 123000)),
        ("1709287205 INFO started", "epoch", datetime(2024, 3, 1, 10, 0, 5)),
        ("2024.03.01 INFO started", "date", datetime(2024, 3, 1)),
        ("10:00:05 INFO started", "time", None),
    ],
)
def test_each_timestamp_layout(line: str, layout: str, timestamp: datetime | None) -> None:
    schema = detect_header([line] * 5, default_year=2024)
    assert schema.time_format is not None and schema.time_format.name == layout, schema.describe
    parsed = schema.parse(line)
    assert parsed.body == "started"
    if timestamp is not None:
        assert parsed.timestamp == timestamp


@pytest.mark.parametrize(
    ("lines", "body"),
    [
        (["{i} node-{i} {epoch} state ok 1 Component changed"], "state ok 1 Component changed"),
        (["api.log.1.2017-05-16_13:53:08 2017-05-16 00:00:0{i}.008 2574{i} INFO nova.api [req-1] GET"],
         "nova.api [req-1] GET"),
        (["20171223-22:15:2{i}:606|Step_LSC|3000231{i}|onStandStepChanged 3579"], "onStandStepChanged 3579"),
        (["[10.30 16:49:0{i}] chrome.exe - proxy.example.com:5070 open"], "proxy.example.com:5070 open"),
        (["- 113156646{i} 2005.11.09 dn228 Nov 9 12:01:0{i} dn228/dn228 crond[291{i}]: session closed"],
         "session closed"),
        (["Jul  1 09:00:5{i} calvisitor-10 kernel[0]: ARPT: 620701.011328: wl0: wl_update"],
         "ARPT: 620701.011328: wl0: wl_update"),
    ],
)
def test_header_columns_found_from_statistics(lines: list[str], body: str) -> None:
    sample = [lines[0].format(i=i, epoch=1077804742 + i) for i in range(10)]
    assert detect_header(sample).parse(sample[0]).body == body
