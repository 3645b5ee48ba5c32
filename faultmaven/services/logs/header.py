"""Detect and strip log line headers (timestamp, level, pid, thread, component) with no per-system setup.

A sample of lines is scanned into fields (timestamps of many formats, bracketed groups, plain tokens); the
columns that behave like header fields across the sample become a `HeaderSchema`, compiled once into a
single regex so that applying it costs one `match` per line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_MONTH_NUMBER = {name.lower(): index for index, name in enumerate(_MONTHS.split("|"), start=1)}
_DAYS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun"
_TIME = r"(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?:[.,:](?P<f>\d{1,9}))?"
_END = r"(?=[\s\],|]|$)"


@dataclass(frozen=True, eq=False)
class TimestampFormat:
    """One timestamp layout; `rank` orders precision so the best of several header timestamps is kept."""

    name: str
    pattern: str
    rank: int

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern + _END)

    @property
    def bare(self) -> str:
        """The pattern without named groups, to embed in a larger regex."""
        return re.sub(r"\(\?P<\w+>", "(?:", self.pattern)


TIMESTAMP_FORMATS: tuple[TimestampFormat, ...] = (
    TimestampFormat(
        "iso8601",
        r"(?P<Y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ]" + _TIME + r"(?P<tz>Z|[+-]\d{2}:?\d{2})?",
        5,
    ),
    TimestampFormat(
        "dashed", r"(?P<Y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})-(?P<H>\d{2})\.(?P<M>\d{2})\.(?P<S>\d{2})"
        r"(?:\.(?P<f>\d{1,9}))?", 5,
    ),
    TimestampFormat("slashed", r"(?P<Y>\d{4})/(?P<mo>\d{2})/(?P<d>\d{2})[ T:]" + _TIME, 5),
    TimestampFormat("short_slashed", r"(?P<y>\d{2})/(?P<mo>\d{2})/(?P<d>\d{2}) " + _TIME, 5),
    TimestampFormat("us_slashed", r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<Y>\d{4})[ ,]+" + _TIME, 5),
    TimestampFormat("dotted", r"(?P<d>\d{2})\.(?P<mo>\d{2})\.(?P<Y>\d{4})[ ,]+" + _TIME, 5),
    TimestampFormat("compact_dashed", r"(?P<Y>\d{4})(?P<mo>[01]\d)(?P<d>[0-3]\d)[-T ]?" + _TIME, 5),
    TimestampFormat(
        "ctime", rf"(?:{_DAYS}) (?P<mon>{_MONTHS}) +(?P<d>\d{{1,2}}) " + _TIME + r" (?P<Y>\d{4})", 5,
    ),
    TimestampFormat(
        "common_log", rf"(?P<d>\d{{2}})/(?P<mon>{_MONTHS})/(?P<Y>\d{{4}}):" + _TIME
        + r"(?: (?P<tz>[+-]\d{4}))?", 5,
    ),
    TimestampFormat("syslog", rf"(?P<mon>{_MONTHS}) +(?P<d>\d{{1,2}}) " + _TIME + r"(?: (?P<Y>\d{4}))?", 4),
    TimestampFormat(
        "compact", r"(?P<y>\d{2})(?P<mo>[01]\d)(?P<d>[0-3]\d) (?P<H>[0-2]\d)(?P<M>[0-5]\d)(?P<S>[0-5]\d)", 4,
    ),
    TimestampFormat("month_day", r"(?P<mo>\d{2})[-./](?P<d>\d{2})[ T]" + _TIME, 4),
    TimestampFormat("epoch_millis", r"(?P<ms>1\d{12})", 3),
    TimestampFormat("epoch", r"(?P<epoch>1\d{9})(?:\.(?P<f>\d{1,9}))?", 3),
    TimestampFormat("date", r"(?P<Y>\d{4})[-./](?P<mo>\d{2})[-./](?P<d>\d{2})", 2),
    TimestampFormat("time", _TIME, 1),
)

_ANY_TIMESTAMP = re.compile("|".join(f"({fmt.bare}){_END}" for fmt in TIMESTAMP_FORMATS))
_STAMP_START = re.compile(r"[\dJFMASOND]").match
_TOKEN = re.compile(r"\s*(\S+)")
_LEVEL_ALIASES = {
    "TRACE": "TRACE", "FINEST": "TRACE", "FINER": "TRACE", "V": "TRACE",
    "DEBUG": "DEBUG", "FINE": "DEBUG", "D": "DEBUG",
    "INFO": "INFO", "NOTICE": "INFO", "I": "INFO",
    "WARN": "WARNING", "WARNING": "WARNING", "W": "WARNING",
    "ERROR": "ERROR", "ERR": "ERROR", "SEVERE": "ERROR", "FAILURE": "ERROR", "E": "ERROR",
    "CRITICAL": "CRITICAL", "CRIT": "CRITICAL", "FATAL": "CRITICAL", "ALERT": "CRITICAL",
    "EMERG": "CRITICAL", "PANIC": "CRITICAL", "F": "CRITICAL",
}
LEVEL_SEVERITY = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARNING": 3, "ERROR": 4, "CRITICAL": 5}
_LEVEL_WORDS = "|".join(sorted((name for name in _LEVEL_ALIASES if len(name) > 1), key=len, reverse=True))
_LEVEL_TOKEN = re.compile(rf"\[?(?:{_LEVEL_WORDS})\]?:?|[VDIWEF]", re.IGNORECASE)
_BRACKET = r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]"
"""A bracketed field, one level of nesting allowed (written as an unrolled loop: several times faster than
an alternation tried at every character)."""
_COMPONENT = r"(?P<component>\S*[^\s:]):"
"""`component:` closing a header; greedy (it ends a whitespace-separated token, so only the token's end can
be followed by the separator, and backing off from there is cheaper than growing a lazy match)."""
_SAMPLE_SIZE = 200
_MAX_FIELDS = 10
_SHARE = 0.8


def normalize_level(token: str | None) -> str | None:
    """Map the many spellings of a level (`[notice]`, `WARN`, `E`, `SEVERE`) to six canonical ones."""
    if not token:
        return None
    level = _LEVEL_SPELLINGS.get(token)
    if level is None:
        level = _LEVEL_ALIASES.get(token.strip("[]:").upper())
        if len(_LEVEL_SPELLINGS) < 256:
            _LEVEL_SPELLINGS[token] = level
    return level


_LEVEL_SPELLINGS: dict[str, str | None] = {}
"""Spellings already seen (a log uses a handful), so that a line costs one dict lookup."""


@dataclass(slots=True)
class Field:
    """One header candidate: its text, kind (T, L, B, N, D, C or W) and timestamp format if any."""

    text: str
    kind: str
    fmt: TimestampFormat | None = None


@dataclass(frozen=True)
class Column:
    """One inferred header column; `optional` columns may be absent on a given line."""

    kind: str
    fmt: TimestampFormat | None = None
    bracketed: bool = False
    optional: bool = False


@dataclass(slots=True)
class ParsedLine:
    """A line split into header fields and message body; `has_header` is False for continuation lines."""

    body: str
    timestamp: datetime | None = None
    level: str | None = None
    component: str | None = None
    has_header: bool = False


def _match_timestamp(line: str, pos: int) -> tuple[TimestampFormat, int] | None:
    """The first format (in `TIMESTAMP_FORMATS` order) giving a valid timestamp at `pos`.

    One combined regex finds the first candidate cheaply; the formats after it are tried only if its
    date turns out invalid (a 13th month, say).
    """
    found = _ANY_TIMESTAMP.match(line, pos)
    if found is None:
        return None
    for fmt in TIMESTAMP_FORMATS[found.lastindex - 1:]:  # type: ignore[operator]
        match = fmt.regex.match(line, pos)
        if match and _plausible(match):
            return fmt, match.end()
    return None


_YEAR_GROUPS = {"Y", "y", "epoch", "ms"}
_LIMITS = {"mo": 12, "d": 31, "H": 23, "M": 59, "S": 60}


def _plausible(match: re.Match[str]) -> bool:
    """Calendar fields in range (cheaper than building the datetime, enough to tell layouts apart)."""
    for name, value in match.groupdict().items():
        if value is None or name not in _LIMITS:
            continue
        number = int(value)
        if number > _LIMITS[name] or (number == 0 and name in ("mo", "d")):
            return False
    return True


def _bracket_end(line: str, pos: int) -> int:
    """Index after the `]` closing the bracket at `pos` (nesting allowed), or -1."""
    depth = 0
    for index in range(pos, len(line)):
        char = line[index]
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return index + 1
    return -1


def _classify_token(token: str) -> str:
    if _LEVEL_TOKEN.fullmatch(token):
        return "L"
    if token.isdigit():
        return "N"
    if token == "-":
        return "D"
    if len(token) > 1 and token.endswith(":") and not token.endswith("::"):
        return "C"
    return "W"


def _bracket_field(text: str) -> Field:
    inner = text[1:-1]
    if _LEVEL_TOKEN.fullmatch(inner):
        return Field(text, "L")
    stamp = _match_timestamp(inner, 0)
    if stamp and stamp[1] == len(inner):
        return Field(text, "T", stamp[0])
    return Field(text, "B")


def scan_fields(line: str, limit: int = _MAX_FIELDS, delimiter: str | None = None) -> list[Field]:
    """Split the start of a line into header candidate fields (on `delimiter` if the log has one)."""
    if delimiter is not None:
        return [_delimited_field(text) for text in line.split(delimiter, limit)[:limit]]
    fields: list[Field] = []
    pos, size = 0, len(line)
    while len(fields) < limit:
        token = _TOKEN.match(line, pos)
        if token is None:
            break
        pos = token.start(1)
        stamp = _match_timestamp(line, pos) if _STAMP_START(line, pos) else None
        if stamp:
            end = stamp[1] + 1 if line.startswith(",", stamp[1]) else stamp[1]
            fields.append(Field(line[pos:end], "T", stamp[0]))
            pos = end
            continue
        end = _bracket_end(line, pos) if line[pos] == "[" else -1
        if end > 0 and (end == size or line[end].isspace()):
            fields.append(_bracket_field(line[pos:end]))
            pos = end
            continue
        fields.append(Field(token.group(1), _classify_token(token.group(1))))
        pos = token.end()
    return fields


def _delimited_field(text: str) -> Field:
    text = text.strip()
    stamp = _match_timestamp(text, 0)
    if stamp and stamp[1] == len(text):
        return Field(text, "T", stamp[0])
    return Field(text, _classify_token(text.strip("[]")))


class _Sample:
    """Scanned sample rows with the count of each field kind per column, computed once."""

    def __init__(self, rows: list[list[Field]]) -> None:
        self.rows = rows
        self.counts = [
            Counter(row[index].kind for row in rows if len(row) > index) for index in range(_MAX_FIELDS)
        ]

    def share(self, index: int, kind: str) -> float:
        return self.counts[index][kind] / len(self.rows) if self.rows and index < _MAX_FIELDS else 0.0

    def dominant_format(self, index: int) -> TimestampFormat | None:
        formats = Counter(row[index].fmt for row in self.rows if len(row) > index and row[index].kind == "T")
        return formats.most_common(1)[0][0] if formats else None


def _prefix_column(rows: _Sample, index: int) -> Column:
    """The column at `index`, known to lie inside the header: a timestamp, level or bracket if most lines
    have one there, else any token (a `-` placeholder column may hold a value on some lines)."""
    if rows.share(index, "T") >= _SHARE:
        fmt = rows.dominant_format(index)
        bracketed = sum(1 for row in rows.rows if row[index].text.startswith("[")) > len(rows.rows) / 2
        return Column("T", fmt, bracketed)
    for kind in ("L", "B"):
        if rows.share(index, kind) >= _SHARE:
            return Column(kind)
    return Column("W")


def _anchor_index(rows: _Sample) -> int | None:
    """Last column that is a timestamp or a level on most lines: the header reaches at least that far."""
    anchors = [
        index for index in range(_MAX_FIELDS - 1)
        if rows.share(index, "T") >= _SHARE or rows.share(index, "L") >= _SHARE
    ]
    return anchors[-1] if anchors else None


def _closing_index(rows: _Sample, start: int) -> int | None:
    """A `component:` or `-` column within two fields after `start`: it closes the header there."""
    for index in range(start, min(start + 2, _MAX_FIELDS - 1)):
        if rows.share(index, "C") >= _SHARE or rows.share(index, "D") >= _SHARE:
            return index
    return None


def _trailing_columns(rows: _Sample, start: int) -> list[Column]:
    """Thread brackets, `-` separators and a `component:` that follow the anchor on most lines."""
    columns: list[Column] = []
    for index in range(start, _MAX_FIELDS - 1):
        kind = next((k for k in ("B", "D", "C") if rows.share(index, k) >= _SHARE), None)
        if kind is None:
            break
        columns.append(Column(kind, optional=True))
        if kind == "C":
            break
    return columns


def _header_rows(lines: Iterable[str], delimiter: str | None) -> _Sample:
    """Sample rows sharing the dominant first-field kind (a header-like kind if a quarter of rows have it),
    so that continuation lines such as stack traces drop out."""
    scanned = (scan_fields(line, delimiter=delimiter) for line in lines)
    rows = [fields for fields in scanned if len(fields) > 1]
    if not rows:
        return _Sample([])
    kinds = Counter(row[0].kind for row in rows)
    header_kinds = [kind for kind, count in kinds.most_common() if kind in "TBLDN" and count >= len(rows) / 4]
    first_kind = header_kinds[0] if header_kinds else kinds.most_common(1)[0][0]
    return _Sample([row for row in rows if row[0].kind == first_kind])


def detect_delimiter(lines: Sequence[str]) -> str | None:
    """`|` when most lines are pipe-separated records whose first field is a timestamp."""
    if not lines:
        return None
    piped = [line for line in lines if "|" in line[:120]]
    if len(piped) < _SHARE * len(lines):
        return None
    stamped = sum(1 for line in piped if _delimited_field(line.split("|", 1)[0]).kind == "T")
    return "|" if stamped >= _SHARE * len(piped) else None


def _delimited_columns(lines: Sequence[str], delimiter: str) -> list[Column]:
    """Every field that nearly all lines have before their message (the last field is the message)."""
    counts = sorted(min(line[:200].count(delimiter), _MAX_FIELDS - 1) for line in lines if line)
    fields = counts[int(len(counts) * (1 - _SHARE))] if counts else 0
    complete = [line for line in lines if line.count(delimiter) >= fields]
    rows = _Sample([scan_fields(line, fields, delimiter) for line in complete])
    return [_prefix_column(rows, index) for index in range(fields)]


def infer_columns(lines: Sequence[str], delimiter: str | None = None) -> list[Column]:
    """Header columns shared by most sample lines.

    The header runs to the last column that holds a timestamp or level on most lines (anchor), then on
    through a `component:` or `-` column right after it and any thread brackets; columns between are
    taken whatever they hold (hosts, record numbers, pids). Without a timestamp or level there is no
    header: a missed header column costs less than a message token eaten.
    """
    if delimiter is not None:
        return _delimited_columns(lines, delimiter)
    rows = _header_rows(lines, None)
    anchor = _anchor_index(rows)
    if anchor is None:
        return []
    columns = [_prefix_column(rows, index) for index in range(anchor + 1)]
    closing = _closing_index(rows, anchor + 1)
    if closing is not None:
        columns += [_prefix_column(rows, index) for index in range(anchor + 1, closing)]
        kind = next(k for k in ("C", "D") if rows.share(closing, k) >= _SHARE)
        columns.append(Column(kind))
        if kind == "C":
            return columns
        anchor = closing
    return [*columns, *_trailing_columns(rows, anchor + 1)]


def _column_pattern(column: Column, capture_time: bool, capture_level: bool, delimited: bool) -> str:
    if column.kind == "T" and column.fmt is not None:
        stamp = f"(?P<ts>{column.fmt.pattern})" if capture_time else f"(?:{column.fmt.bare})"
        return (rf"\[{stamp}\]" if column.bracketed else stamp) + ",?"
    if column.kind == "L":
        level = "?P<level>" if capture_level else "?:"
        return rf"\[?({level}(?i:{_LEVEL_WORDS})|[VDIWEF])\]?:?"
    if column.kind == "B":
        return _BRACKET
    if column.kind == "D":
        return "-"
    if column.kind == "C":
        return _COMPONENT
    return r"[^|]*?" if delimited else r"\S+"


class HeaderSchema:
    """An inferred header layout, compiled to one regex; `parse` splits any line of the same log."""

    def __init__(
        self,
        columns: Sequence[Column],
        default_year: int | None = None,
        delimiter: str | None = None,
        reference: datetime | None = None,
    ) -> None:
        self.columns = tuple(columns)
        self.delimiter = delimiter
        self.reference = reference or datetime.now(UTC).replace(tzinfo=None)
        self.fixed_year = default_year is not None
        self.default_year = default_year or self.reference.year
        stamps = [column for column in self.columns if column.kind == "T" and column.fmt is not None]
        self.time_format = max(stamps, key=lambda column: column.fmt.rank).fmt if stamps else None  # type: ignore[union-attr]
        self.regex = re.compile(self._pattern()) if self.columns else None
        groups = self.regex.groupindex if self.regex else {}
        self._has_time, self._has_fraction = "ts" in groups, "f" in groups
        self._has_level, self._has_component = "level" in groups, "component" in groups
        self._year_groups = [name for name in _YEAR_GROUPS if name in groups]
        self.year_inferred = False
        self._time_cache: dict[str, datetime | None] = {}
        self._fractions: dict[str, timedelta] = {}

    def _pattern(self) -> str:
        parts: list[str] = []
        captured = False
        levels = [column for column in self.columns if column.kind == "L"] or [None]
        for column in self.columns:
            capture = not captured and column.fmt is self.time_format and column.kind == "T"
            captured = captured or capture
            piece = _column_pattern(column, capture, column is levels[0], self.delimiter is not None)
            separator = (r"\s*\|\s*" if self.delimiter else r"\s+") if parts else ""
            parts.append(f"(?:{separator}{piece})?" if column.optional else separator + piece)
        end = r"\s*\|\s*" if self.delimiter else r"(?:\s+|$)"
        return "^\\s*" + "".join(parts) + end + "(?P<body>.*)$"

    @property
    def describe(self) -> str:
        """Readable layout such as `T(iso8601) L B C?`, for logs and debugging."""
        names = [
            (f"T({column.fmt.name})" if column.fmt else column.kind) + ("?" if column.optional else "")
            for column in self.columns
        ]
        return " ".join(names) or "(no header)"

    def parse(self, line: str) -> ParsedLine:
        """Split one line; lines that do not fit the header are returned whole as body."""
        line = line.rstrip("\r\n")
        match = self.regex.match(line) if self.regex else None
        if match is None:
            return ParsedLine(body=line.strip())
        return ParsedLine(
            body=match.group("body").strip(),
            timestamp=self._timestamp(match) if self._has_time else None,
            level=normalize_level(match.group("level")) if self._has_level else None,
            component=match.group("component") if self._has_component else None,
            has_header=True,
        )

    def body(self, line: str) -> str:
        """Just the message of one line (what template mining needs), without building its timestamp."""
        match = self.regex.match(line) if self.regex else None
        return (match.group("body") if match else line).strip()

    def _timestamp(self, match: re.Match[str]) -> datetime | None:
        """The line's timestamp, from the header match (its time column carries the format's own groups).

        Remembered per second: a sub-second fraction is cut out of the key and added back, so the lines
        of one second cost a dict lookup and an addition, not a date computation."""
        start, end = match.span("ts")
        if start < 0:
            return None
        line, cache = match.string, self._time_cache
        cut_start, cut_end = match.span("f") if self._has_fraction else (-1, -1)
        key = line[start:end] if cut_start < 0 else line[start:cut_start] + line[cut_end:end]
        if key in cache:
            second = cache[key]
        else:
            if len(cache) >= 4096:
                cache.clear()
            dated = self._dated(match)
            second = dated - self._fraction(match.group("f")) if dated and cut_start >= 0 else dated
            cache[key] = second
        if second is None or cut_start < 0:
            return second
        return second + self._fraction(line[cut_start:cut_end])

    def _fraction(self, digits: str) -> timedelta:
        fraction = self._fractions.get(digits)
        if fraction is None:
            fraction = timedelta(microseconds=_micros(digits))
            if len(self._fractions) < 4096:
                self._fractions[digits] = fraction
        return fraction

    def _dated(self, match: re.Match[str]) -> datetime | None:
        """The timestamp; without a year in the log, the latest year that does not put it after the
        reference (upload) time, so that a December line read in January lands in the past year."""
        if self.fixed_year or any(match.group(name) for name in self._year_groups):
            return _timestamp_from_match(match, self.default_year)
        self.year_inferred = True
        for year in range(self.reference.year, self.reference.year - 4, -1):
            stamp = _timestamp_from_match(match, year)
            if stamp is not None and stamp <= self.reference + timedelta(days=1):
                return stamp
        return None


def _timestamp_from_match(match: re.Match[str], default_year: int) -> datetime | None:
    """Build a naive UTC-or-local datetime from the named groups of a timestamp format."""
    groups = match.groupdict()
    try:
        if groups.get("epoch") or groups.get("ms"):
            seconds = int(groups["epoch"]) if groups.get("epoch") else int(groups["ms"]) / 1000
            return datetime(1970, 1, 1) + timedelta(seconds=seconds, microseconds=_micros(groups.get("f")))
        stamp = datetime(
            _year(groups, default_year),
            _month(groups),
            int(groups.get("d") or 1),
            int(groups.get("H") or 0),
            int(groups.get("M") or 0),
            int(groups.get("S") or 0),
            _micros(groups.get("f")),
        )
    except (ValueError, OverflowError):
        return None
    return stamp - _utc_offset(groups.get("tz"))


def _month(groups: dict[str, str | None]) -> int:
    if groups.get("mo"):
        return int(groups["mo"])  # type: ignore[arg-type]
    return _MONTH_NUMBER.get((groups.get("mon") or "jan").lower(), 1)


def _year(groups: dict[str, str | None], default_year: int) -> int:
    if groups.get("Y"):
        return int(groups["Y"])  # type: ignore[arg-type]
    if groups.get("y"):
        return 2000 + int(groups["y"])  # type: ignore[arg-type]
    return default_year


def _micros(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def _utc_offset(tz: str | None) -> timedelta:
    if not tz or tz == "Z":
        return timedelta(0)
    digits = tz[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return offset if tz[0] == "+" else -offset


def detect_header(
    sample: Iterable[str], default_year: int | None = None, reference: datetime | None = None
) -> HeaderSchema:
    """Infer the header of a log from a sample of its lines (the first few hundred are enough).

    Timestamps without a year get `default_year` if given, else the year that puts them closest before
    `reference` (the upload time; now by default)."""
    lines = [line.rstrip("\r\n") for _, line in zip(range(_SAMPLE_SIZE), sample, strict=False)]
    delimiter = detect_delimiter(lines)
    return HeaderSchema(infer_columns(lines, delimiter), default_year, delimiter, reference)
