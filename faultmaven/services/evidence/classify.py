"""Rule-based evidence classification on a sample of the first lines: fast, explainable, no model.

Each rule scores the share of sample lines that look like its type; the best score wins, and the file
name's extension breaks ties and lifts a borderline score. Order matters where shapes overlap: a
`kubectl describe` block looks like YAML, and a log line may contain a stack frame.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath

SAMPLE_LINES = 200
MIN_SCORE = 0.5


class DataType:
    LOG = "log"
    STACK_TRACE = "stack_trace"
    CONFIG = "config"
    METRICS_DUMP = "metrics_dump"
    CLI_OUTPUT = "cli_output"
    SOURCE_CODE = "source_code"
    PLAIN_TEXT = "plain_text"


LOG_LIKE = frozenset({DataType.LOG, DataType.STACK_TRACE})
"""Types whose evidence gets a log digest."""


@dataclass(frozen=True)
class Classification:
    data_type: str
    confidence: float
    detail: str | None = None
    """The sub-format when it matters to a reader: yaml, json, prometheus, csv, kubectl, aws..."""


_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}"
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2}"
    r"|\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2}"
    r"|\b[IWEF]\d{4} \d{2}:\d{2}:\d{2}"
    r"|^\[?\d{10}(?:\.\d+)?\b"
)
_LEVEL = re.compile(r"\b(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL|SEVERE)\b")
_JSON_LOG_KEYS = re.compile(r'"(?:@?timestamp|time|ts|level|severity|msg|message)"\s*:')
_TRACE_LINE = re.compile(
    r"^(?:Traceback \(most recent call last\):|\s+at [\w$.<>/]+[(.]|\s*Caused by: |\s+File \".+\", line \d+"
    r"|goroutine \d+ \[|panic: |\s*\.\.\. \d+ more|[\w.$]+(?:Exception|Error)(?::|$)"
    r"|\s+[\w./*()-]+\.go:\d+|#\d+ +0x[0-9a-f]+ in )"
)
_TRACE_START = re.compile(r"^(?:Traceback \(most recent call last\):|goroutine \d+ \[|panic: )")
_TRACE_FILLER = re.compile(r"^(?:\s{2,}\S|[\w./*()-]+\(.*\)$|created by )")
_PROM_LINE = re.compile(
    r"^(?:# (?:HELP|TYPE) [A-Za-z_:][\w:]* "
    r"|[A-Za-z_:][\w:]*(?<!:)(?:\{[^}]*\})? [-+]?(?:[\d.]+(?:e[-+]?\d+)?|NaN|[+-]?Inf)(?: \d+)?$)"
)
_NUMBER = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?%?\s*$", re.IGNORECASE)
_KUBECTL_GET_HEADER = re.compile(r"^(?:NAMESPACE +)?NAME {2,}(?:READY|STATUS|TYPE|DATA|AGE|CLASS|CAPACITY)\b")
_DESCRIBE_KEY = re.compile(
    r"^(?:Name|Namespace|Labels|Annotations|Status|IP|Node|Containers|Conditions|Events|Selector|"
    r"Priority|Service Account|Start Time|Controlled By|QoS Class|Tolerations|Volumes):\s"
)
_TABLE_BORDER = re.compile(r"^[+|][-+|=]{3,}[+|]?$|^-{10,}$")
_TABLE_ROW = re.compile(r"^\|.*\|$")
_GENERIC_TABLE_HEADER = re.compile(r"^(?:[A-Z][A-Z0-9_ ]*[A-Z0-9](?: {2,}|$)){3,}")
_YAML_LINE = re.compile(r"^(?:---$|\s*-\s+\S|\s*[\w.\-/\"']+:(?:\s|$)|\s*#)")
_INI_SECTION = re.compile(r"^\[[\w.\- \"]+\]$")
_KEY_EQUALS = re.compile(r"^\s*[\w.\-]+\s*=\s*")
_ENV_LINE = re.compile(r"^(?:export\s+)?[A-Z_][A-Z0-9_]*=")
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |import |from [\w.]+ import |func |package |#include|public |private |protected |"
    r"function |const |let |var |return\b|if \(|for \(|}\s*else|fn |impl |use [\w:]+;|@\w+|#!/)"
    r"|[;{}]\s*$"
)

_EXTENSIONS = {
    ".log": (DataType.LOG, None),
    ".yaml": (DataType.CONFIG, "yaml"),
    ".yml": (DataType.CONFIG, "yaml"),
    ".json": (DataType.CONFIG, "json"),
    ".toml": (DataType.CONFIG, "toml"),
    ".ini": (DataType.CONFIG, "ini"),
    ".cfg": (DataType.CONFIG, "ini"),
    ".conf": (DataType.CONFIG, "ini"),
    ".properties": (DataType.CONFIG, "ini"),
    ".env": (DataType.CONFIG, "env"),
    ".prom": (DataType.METRICS_DUMP, "prometheus"),
    ".csv": (DataType.METRICS_DUMP, "csv"),
    ".py": (DataType.SOURCE_CODE, "python"),
    ".go": (DataType.SOURCE_CODE, "go"),
    ".java": (DataType.SOURCE_CODE, "java"),
    ".js": (DataType.SOURCE_CODE, "javascript"),
    ".ts": (DataType.SOURCE_CODE, "typescript"),
    ".rs": (DataType.SOURCE_CODE, "rust"),
    ".rb": (DataType.SOURCE_CODE, "ruby"),
    ".sh": (DataType.SOURCE_CODE, "shell"),
    ".c": (DataType.SOURCE_CODE, "c"),
    ".cpp": (DataType.SOURCE_CODE, "c++"),
}
_EXTENSION_BONUS = 0.15


def _share(lines: Sequence[str], predicate: Callable[[str], bool]) -> float:
    return sum(1 for line in lines if predicate(line)) / len(lines) if lines else 0.0


def _log_score(lines: Sequence[str]) -> Classification:
    stamped = _share(lines, lambda line: bool(_TIMESTAMP.search(line[:48]) or _JSON_LOG_KEYS.search(line)))
    leveled = _share(lines, lambda line: bool(_LEVEL.search(line[:120])))
    return Classification(DataType.LOG, max(stamped, min(leveled, 0.8)))


def _stack_trace_score(lines: Sequence[str]) -> Classification:
    """Frames, plus (once a Python or Go trace has started) the source and call lines between them."""
    if any(_TRACE_START.match(line) for line in lines):
        return Classification(
            DataType.STACK_TRACE,
            _share(lines, lambda line: bool(_TRACE_LINE.match(line) or _TRACE_FILLER.match(line))),
        )
    return Classification(DataType.STACK_TRACE, _share(lines, lambda line: bool(_TRACE_LINE.match(line))))


def _metrics_score(lines: Sequence[str]) -> Classification:
    prometheus = _share(lines, lambda line: bool(_PROM_LINE.match(line)))
    csv = _numeric_csv_share(lines)
    if csv > prometheus:
        return Classification(DataType.METRICS_DUMP, csv, "csv")
    return Classification(DataType.METRICS_DUMP, prometheus, "prometheus")


def _numeric_csv_share(lines: Sequence[str]) -> float:
    """Rows after the header with the header's comma count and mostly numeric cells."""
    if len(lines) < 2 or lines[0].count(",") < 1:
        return 0.0
    columns = lines[0].count(",")

    def numeric_row(line: str) -> bool:
        cells = line.split(",")
        return len(cells) == columns + 1 and _share(cells, lambda cell: bool(_NUMBER.match(cell))) >= 0.5

    return _share(lines[1:], numeric_row)


def _cli_score(lines: Sequence[str]) -> Classification:
    head = lines[:5]
    if any(_KUBECTL_GET_HEADER.match(line) for line in head):
        return Classification(DataType.CLI_OUTPUT, 0.95, "kubectl get")
    describe = _share(lines, lambda line: bool(_DESCRIBE_KEY.match(line)))
    if describe >= 0.1 and any(line.startswith(("Name:", "Events:")) for line in lines):
        return Classification(DataType.CLI_OUTPUT, min(0.95, 0.6 + describe), "kubectl describe")
    table = _share(lines, lambda line: bool(_TABLE_BORDER.match(line) or _TABLE_ROW.match(line)))
    if table >= 0.6:
        return Classification(DataType.CLI_OUTPUT, table, "table")
    if any(_GENERIC_TABLE_HEADER.match(line) for line in head):
        return Classification(DataType.CLI_OUTPUT, 0.75, "table")
    return Classification(DataType.CLI_OUTPUT, 0.0)


def _json_score(lines: Sequence[str], complete: bool) -> float:
    text = "\n".join(lines).strip()
    if not text.startswith(("{", "[")):
        return 0.0
    if complete:
        try:
            json.loads(text)
        except ValueError:
            return 0.3
        return 0.95
    return 0.7


def _config_score(lines: Sequence[str], complete: bool) -> Classification:
    yaml = 0.9 * _share(lines, lambda line: bool(_YAML_LINE.match(line)))
    candidates = [
        Classification(DataType.CONFIG, _json_score(lines, complete), "json"),
        Classification(DataType.CONFIG, _share(lines, lambda line: bool(_ENV_LINE.match(line))), "env"),
        Classification(DataType.CONFIG, _ini_share(lines), "ini"),
        Classification(DataType.CONFIG, yaml, "yaml"),
    ]
    return max(candidates, key=lambda candidate: candidate.confidence)


def _ini_share(lines: Sequence[str]) -> float:
    """INI and TOML: `[section]` headers with `key = value` lines (and comments)."""
    if not any(_INI_SECTION.match(line) for line in lines):
        return 0.0
    def ini_line(line: str) -> bool:
        return bool(_INI_SECTION.match(line) or _KEY_EQUALS.match(line) or line.startswith(("#", ";")))

    return _share(lines, ini_line)


def _code_score(lines: Sequence[str]) -> Classification:
    code = _share(lines, lambda line: bool(_CODE_LINE.match(line)))
    return Classification(DataType.SOURCE_CODE, min(1.0, 1.6 * code))


def _extension_hint(filename: str | None) -> tuple[str, str | None] | None:
    if not filename:
        return None
    name = PurePath(filename).name.lower()
    if name == ".env" or name.startswith(".env."):
        return DataType.CONFIG, "env"
    return _EXTENSIONS.get(PurePath(name).suffix)


def _with_hint(candidate: Classification, hint: tuple[str, str | None] | None) -> Classification:
    if hint is None or candidate.data_type != hint[0]:
        return candidate
    detail = hint[1] if candidate.confidence < MIN_SCORE or candidate.detail is None else candidate.detail
    return Classification(candidate.data_type, min(1.0, candidate.confidence + _EXTENSION_BONUS), detail)


def classify(sample: Sequence[str], filename: str | None = None, *, complete: bool = False) -> Classification:
    """Classify from the first lines; `complete` says the sample is the whole text (lets JSON be parsed)."""
    lines = [line.rstrip("\r\n") for line in sample[:SAMPLE_LINES]]
    lines = [line for line in lines if line.strip()]
    hint = _extension_hint(filename)
    if not lines:
        return Classification(DataType.PLAIN_TEXT, 0.5)
    candidates = [
        _cli_score(lines),
        _metrics_score(lines),
        _stack_trace_score(lines),
        _log_score(lines),
        _config_score(lines, complete),
        _code_score(lines),
    ]
    best = max((_with_hint(candidate, hint) for candidate in candidates), key=lambda item: item.confidence)
    if best.confidence < MIN_SCORE:
        return Classification(DataType.PLAIN_TEXT, round(1.0 - best.confidence, 2))
    return Classification(best.data_type, round(min(best.confidence, 0.99), 2), best.detail)
