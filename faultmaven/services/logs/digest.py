"""Compact, faithful digest of a log stream for the AI agent: templates, errors, stack traces, bursts.

Lines are consumed one by one; memory is bounded by the number of templates, error signatures and time
buckets, never by the number of lines.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from faultmaven.services.logs.header import LEVEL_SEVERITY, HeaderSchema, ParsedLine
from faultmaven.services.logs.templates import TemplateMiner, mask_variables

MAX_SAMPLES = 3
MAX_TRACE_LINES = 40
MAX_SIGNATURES = 2_000
MAX_BUCKETS = 20_000
BASE_BUCKET_SECONDS = 10
MIN_BURST_ERRORS = 5
BURST_FACTOR = 3.0
SAMPLE_CHARS = 400
ERROR_SEVERITY = LEVEL_SEVERITY["ERROR"]

_TRACE_START = re.compile(r"^(?:Traceback \(most recent call last\):|goroutine \d+ \[|panic: )")
_TRACE_PREFIXES = ("Traceback", "goroutine ", "panic: ")
_TRACE_LINE = re.compile(
    r"^(?:\s+at |\s*Caused by:|\s*\.\.\. \d+ (?:more|common frames omitted)|\s+File \"|\s|"
    r"[\w.$]+(?:Exception|Error|Throwable|Exit|Interrupt)\b)"
)
_JAVA_EXCEPTION = re.compile(
    r"(?:Caused by:\s*)?([\w$]+(?:\.[\w$]+)+(?:Exception|Error|Throwable))(?::\s*(.*))?"
)
_PY_EXCEPTION = re.compile(r"^([\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Fault)\w*)(?::\s*(.*))?$")
_JAVA_FRAME = re.compile(r"^\s+at\s+([\w$.<>]+)\(")
_PY_FRAME = re.compile(r'^\s+File "([^"]+)", line \d+, in (\S+)')
_GO_FRAME = re.compile(r"^([\w./*()-]+\.[\w.*()-]+)\(")
_ERROR_WORDS = re.compile(
    r"\b(?:fatal|panic|critical|error|exception|fail(?:ed|ure)?|refused|denied)\b", re.IGNORECASE
)
_WARNING_WORDS = re.compile(r"\bwarn(?:ing)?\b|\btime(?:d)? ?out\b|\bretry(?:ing)?\b", re.IGNORECASE)


class SampleLine(BaseModel):
    """One original line, with its 1-based line number."""

    line_number: int
    text: str


class TemplateStats(BaseModel):
    """One event template and where and how often it occurs."""

    template_id: int
    template: str
    count: int
    severity: str | None = None
    first_line: int
    last_line: int
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    samples: list[SampleLine] = Field(default_factory=list)


class ErrorSignature(BaseModel):
    """An error event kind: an exception/stack-trace signature or an error-level template."""

    signature: str
    kind: str
    count: int
    severity: str
    template_id: int
    first_line: int
    last_line: int
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    sample: list[SampleLine] = Field(default_factory=list)


class Burst(BaseModel):
    """A time window in which errors ran well above the file's baseline rate."""

    start: datetime
    end: datetime
    error_count: int
    peak_per_window: int
    baseline_per_window: float
    window_seconds: int
    top_templates: list[str] = Field(default_factory=list)


class TimelineEntry(BaseModel):
    """First occurrence of an error signature."""

    signature: str
    line_number: int
    timestamp: datetime | None = None


class LogTotals(BaseModel):
    """Whole-file counts."""

    lines: int = 0
    bytes: int = 0
    events: int = 0
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    span_seconds: float | None = None
    level_counts: dict[str, int] = Field(default_factory=dict)
    year_inferred: bool = False
    header_layout: str = ""
    templates: int = 0
    truncated_signatures: int = 0


class LogDigest(BaseModel):
    """Everything the agent needs to know about a log, most important parts first."""

    source: str | None = None
    totals: LogTotals
    errors: list[ErrorSignature] = Field(default_factory=list)
    bursts: list[Burst] = Field(default_factory=list)
    first_errors: list[TimelineEntry] = Field(default_factory=list)
    templates: list[TemplateStats] = Field(default_factory=list)


@dataclass(slots=True)
class _Event:
    """A logical event: one headed line plus its continuation lines (e.g. a stack trace).

    Most events are a single line, so the continuation list is only created for a second line."""

    line_number: int
    first: ParsedLine
    raw: str
    starts_trace: bool = False
    continuation: list[str] | None = None
    extra_lines: int = 0

    def add(self, line: str) -> None:
        if self.continuation is None:
            self.continuation = [line]
        elif len(self.continuation) < MAX_TRACE_LINES:
            self.continuation.append(line)
        else:
            self.extra_lines += 1

    @property
    def following(self) -> list[str]:
        return self.continuation or []

    @property
    def has_trace(self) -> bool:
        if self.starts_trace or not self.continuation:
            return self.starts_trace
        return any(_TRACE_LINE.match(line) and line.strip() for line in self.continuation[:3])


@dataclass
class _Running:
    """Whole-file counts while lines arrive (a plain object: a pydantic model is slow to update per line)."""

    lines: int = 0
    bytes: int = 0
    events: int = 0
    first_timestamp: datetime | None = None
    last_timestamp: datetime | None = None
    truncated_signatures: int = 0


@dataclass(slots=True)
class _Occurrences:
    count: int = 0
    first_line: int = 0
    last_line: int = 0
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    severity: int = -1
    samples: list[tuple[int, str]] = field(default_factory=list)
    """(line number, text) pairs, turned into `SampleLine`s only for the finished digest."""
    latest: str | None = None
    """The text of the latest occurrence at `last_line`: the last sample once more than
    `MAX_SAMPLES` occurred (kept as a reference here rather than a new pair per line)."""

    def add(self, line_number: int, timestamp: datetime | None, severity: int, text: str | None) -> None:
        """Count one occurrence; `text` (its first line) is a sample candidate, None for no sample."""
        self.count += 1
        self.first_line = self.first_line or line_number
        self.last_line = line_number
        if timestamp is not None:
            self.first_ts = self.first_ts or timestamp
            self.last_ts = timestamp
        if severity > self.severity:
            self.severity = severity
        if text is None:
            return
        if len(self.samples) < MAX_SAMPLES:
            self.samples.append((line_number, _clipped(text)))
        else:
            self.latest = text

    def sample_pairs(self) -> list[tuple[int, str]]:
        """The first samples and, past `MAX_SAMPLES` occurrences, the latest in place of the last."""
        if self.latest is None:
            return self.samples
        return [*self.samples[: MAX_SAMPLES - 1], (self.last_line, _clipped(self.latest))]


def _clipped(text: str) -> str:
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS]


def exception_signature(lines: list[str]) -> tuple[str, str] | None:
    """(exception type, signature) of a Java, Python or Go stack trace; the signature omits line numbers."""
    java = [match for match in map(_JAVA_EXCEPTION.search, lines) if match]
    if java and any(_JAVA_FRAME.match(line) for line in lines):
        root = java[-1]
        root_index = next(i for i, line in enumerate(lines) if root.group(0) in line)
        frame = next((m.group(1) for m in map(_JAVA_FRAME.match, lines[root_index:]) if m), "")
        return root.group(1), _join_signature(root.group(1), root.group(2), frame)
    if any(line.startswith("Traceback") for line in lines):
        final = next((m for m in map(_PY_EXCEPTION.match, reversed(lines)) if m), None)
        frames = [m for m in map(_PY_FRAME.match, lines) if m]
        frame = f"{frames[-1].group(1)}:{frames[-1].group(2)}" if frames else ""
        kind = final.group(1) if final else "Traceback"
        return kind, _join_signature(kind, final.group(2) if final else None, frame)
    panic = next((line for line in lines if line.startswith("panic: ")), None)
    if panic is not None or any(line.startswith("goroutine ") for line in lines):
        frames = (m.group(1) for m in map(_GO_FRAME.match, lines) if m)
        frame = next((name for name in frames if not name.startswith("runtime.")), "")
        return "panic", _join_signature("panic", panic[7:] if panic else None, frame)
    return None


def _join_signature(kind: str, message: str | None, frame: str) -> str:
    text = kind + (f": {mask_variables(message.strip())[:160]}" if message else "")
    return text + (f" @ {frame}" if frame else "")


def infer_severity(level: str | None, body: str, trace: bool = False) -> int:
    """The one severity of an event, used for level counts, template severity and the error list alike:
    the header level, else the wording (logs such as syslog carry no level); a stack trace is an error."""
    if level is not None:
        severity = LEVEL_SEVERITY[level]
    elif _ERROR_WORDS.search(body):
        severity = ERROR_SEVERITY
    elif _WARNING_WORDS.search(body):
        severity = LEVEL_SEVERITY["WARNING"]
    else:
        severity = LEVEL_SEVERITY["INFO"]
    return max(severity, ERROR_SEVERITY) if trace else severity


_LEVEL_NAMES = {value: name for name, value in LEVEL_SEVERITY.items()}


_EPOCH = datetime(1970, 1, 1)


def _seconds(timestamp: datetime) -> int:
    """Seconds since the epoch of a naive timestamp, without the local-time conversion of `.timestamp()`."""
    return int((timestamp - _EPOCH).total_seconds())


class _TimeBuckets:
    """Error and line counts per time bucket; buckets double in width to stay under `MAX_BUCKETS`."""

    def __init__(self) -> None:
        self.width = BASE_BUCKET_SECONDS
        self.buckets: dict[int, list[int]] = {}
        self.errors: dict[int, Counter[int]] = {}

    def add(self, timestamp: datetime, template_id: int, is_error: bool) -> None:
        key = _seconds(timestamp) // self.width
        counts = self.buckets.get(key)
        if counts is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._coarsen()
                key = _seconds(timestamp) // self.width
            counts = self.buckets.setdefault(key, [0, 0])
        counts[0] += 1
        if is_error:
            counts[1] += 1
            self.errors.setdefault(key, Counter())[template_id] += 1

    def _coarsen(self) -> None:
        buckets: dict[int, list[int]] = {}
        errors: dict[int, Counter[int]] = {}
        for key, (total, error_count) in self.buckets.items():
            merged = buckets.setdefault(key // 2, [0, 0])
            merged[0] += total
            merged[1] += error_count
        for key, counter in self.errors.items():
            errors.setdefault(key // 2, Counter()).update(counter)
        self.width *= 2
        self.buckets, self.errors = buckets, errors


class DigestBuilder:
    """Feed lines one at a time with `add_line`, then call `finish` for the `LogDigest`."""

    def __init__(
        self, schema: HeaderSchema, miner: TemplateMiner | None = None, source: str | None = None
    ) -> None:
        self.schema = schema
        self.miner = miner or TemplateMiner()
        self.source = source
        self.totals = _Running()
        self.levels: Counter[str] = Counter()
        self.templates: dict[int, _Occurrences] = {}
        self.signatures: dict[str, tuple[str, int, _Occurrences]] = {}
        self.buckets = _TimeBuckets()
        self._event: _Event | None = None
        self._last_timestamp: datetime | None = None
        self._has_header = bool(schema.columns)

    def add_line(self, line: str) -> None:
        """Consume the next line; its UTF-8 size, line ending included if given, counts toward bytes."""
        self.totals.lines += 1
        self.totals.bytes += len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
        line = line.rstrip("\r\n")
        parsed = self.schema.parse(line)
        if self._event is not None and self._is_continuation(parsed, line):
            self._event.add(line)
            return
        self._flush()
        starts_trace = line.startswith(_TRACE_PREFIXES) and _TRACE_START.match(line) is not None
        self._event = _Event(self.totals.lines, parsed, line, starts_trace)

    def _is_continuation(self, parsed: ParsedLine, line: str) -> bool:
        """Headed logs: every headerless line continues the event. Headerless logs: trace-shaped lines do,
        and a Go panic absorbs everything after it (its goroutine dumps have no indentation)."""
        if self._has_header:
            return not parsed.has_header
        event = self._event
        if event is not None and event.raw.startswith("panic: "):
            return True
        if _TRACE_START.match(line):
            return False
        return bool(_TRACE_LINE.match(line)) or not line.strip()

    def _flush(self) -> None:
        event, self._event = self._event, None
        if event is None:
            return
        self.totals.events += 1
        parsed = event.first
        template_id = self.miner.add(parsed.body).template_id
        timestamp = parsed.timestamp
        if timestamp is not None:
            self._last_timestamp = timestamp
            self.totals.first_timestamp = self.totals.first_timestamp or timestamp
            self.totals.last_timestamp = timestamp
        trace = event.has_trace
        severity = infer_severity(parsed.level, parsed.body, trace)
        self.levels[_LEVEL_NAMES[severity]] += 1
        occurrences = self.templates.get(template_id)
        if occurrences is None:
            occurrences = self.templates[template_id] = _Occurrences()
        occurrences.add(event.line_number, timestamp, severity, event.raw)
        if severity >= ERROR_SEVERITY:
            self._record_error(event, template_id, severity, trace)
        bucket_time = timestamp or self._last_timestamp
        if bucket_time is not None:
            self.buckets.add(bucket_time, template_id, severity >= ERROR_SEVERITY)

    def _record_error(self, event: _Event, template_id: int, severity: int, trace: bool) -> None:
        found = exception_signature([event.first.body, *event.following]) if trace else None
        key, kind = (found[1], "exception") if found else (f"#{template_id}", "error")
        entry = self.signatures.get(key)
        if entry is None:
            if len(self.signatures) >= MAX_SIGNATURES:
                self.totals.truncated_signatures += 1
                return
            entry = (kind, template_id, _Occurrences())
            self.signatures[key] = entry
        lines = [event.raw, *event.following] if found else [event.raw]
        sample = [(event.line_number + index, text[:SAMPLE_CHARS]) for index, text in enumerate(lines)]
        occurrences = entry[2]
        if occurrences.count == 0:
            occurrences.samples = sample
        occurrences.add(event.line_number, event.first.timestamp, severity, None)

    def finish(self) -> LogDigest:
        """Close the last event and assemble the digest."""
        self._flush()
        running = self.totals
        totals = LogTotals(
            **asdict(running),
            header_layout=self.schema.describe,
            level_counts=dict(self.levels.most_common()),
            year_inferred=self.schema.year_inferred,
            templates=len(self.templates),
        )
        if totals.first_timestamp and totals.last_timestamp:
            totals.span_seconds = (totals.last_timestamp - totals.first_timestamp).total_seconds()
        errors = self._errors()
        return LogDigest(
            source=self.source,
            totals=totals,
            errors=errors,
            bursts=detect_bursts(self.buckets, self._template_text),
            first_errors=_timeline(errors),
            templates=self._template_stats(),
        )

    def _template_text(self, template_id: int) -> str:
        return self.miner.get(template_id).text

    def _errors(self) -> list[ErrorSignature]:
        errors = [
            ErrorSignature(
                signature=key if kind == "exception" else self._template_text(template_id),
                kind=kind,
                count=occ.count,
                severity=_LEVEL_NAMES[occ.severity],
                template_id=template_id,
                first_line=occ.first_line,
                last_line=occ.last_line,
                first_timestamp=occ.first_ts,
                last_timestamp=occ.last_ts,
                sample=_samples(occ),
            )
            for key, (kind, template_id, occ) in self.signatures.items()
        ]
        return sorted(errors, key=lambda error: (-LEVEL_SEVERITY[error.severity], -error.count))

    def _template_stats(self) -> list[TemplateStats]:
        stats = [
            TemplateStats(
                template_id=template_id,
                template=self._template_text(template_id),
                count=occ.count,
                severity=_LEVEL_NAMES.get(occ.severity),
                first_line=occ.first_line,
                last_line=occ.last_line,
                first_timestamp=occ.first_ts,
                last_timestamp=occ.last_ts,
                samples=_samples(occ),
            )
            for template_id, occ in self.templates.items()
        ]
        return sorted(stats, key=lambda item: -item.count)


def _samples(occurrences: _Occurrences) -> list[SampleLine]:
    return [SampleLine(line_number=number, text=text) for number, text in occurrences.sample_pairs()]


def _timeline(errors: list[ErrorSignature]) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            signature=error.signature, line_number=error.first_line, timestamp=error.first_timestamp
        )
        for error in errors
    ]
    return sorted(entries, key=lambda entry: entry.line_number)


def detect_bursts(buckets: _TimeBuckets, template_text: Callable[[int], str]) -> list[Burst]:
    """Windows whose error count is at least `BURST_FACTOR` times the median window (and not tiny).

    The window is widened so the file spans about 200 windows; the median over all windows, quiet ones
    included, is the baseline, so a single spike cannot raise its own bar.
    """
    if not buckets.buckets:
        return []
    first, last = min(buckets.buckets), max(buckets.buckets)
    factor = max(1, (last - first + 1) // 200)
    windows: Counter[int] = Counter()
    for key, (_, error_count) in buckets.buckets.items():
        windows[(key - first) // factor] += error_count
    series = [windows.get(index, 0) for index in range((last - first) // factor + 1)]
    baseline = statistics.median(series)
    threshold = max(MIN_BURST_ERRORS, BURST_FACTOR * max(baseline, statistics.fmean(series) / 2, 1.0))
    width = buckets.width * factor
    return [
        _burst(buckets, run, series, baseline, width, first * buckets.width, factor, template_text)
        for run in _runs(index for index, value in enumerate(series) if value >= threshold)
    ]


def _runs(indices: Iterator[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for index in indices:
        if runs and runs[-1][1] == index - 1:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def _burst(buckets: _TimeBuckets, run: tuple[int, int], series: list[int], baseline: float, width: int,
           origin: int, factor: int, template_text: Callable[[int], str]) -> Burst:
    start, end = run
    counter: Counter[int] = Counter()
    first_key = origin // buckets.width
    low, high = first_key + start * factor, first_key + (end + 1) * factor
    for key, errors in buckets.errors.items():  # the buckets that had errors, not every key in the run
        if low <= key < high:
            counter.update(errors)
    return Burst(
        start=_EPOCH + timedelta(seconds=origin + start * width),
        end=_EPOCH + timedelta(seconds=origin + (end + 1) * width),
        error_count=sum(series[start:end + 1]),
        peak_per_window=max(series[start:end + 1]),
        baseline_per_window=baseline,
        window_seconds=width,
        top_templates=[template_text(template_id) for template_id, _ in counter.most_common(3)],
    )
