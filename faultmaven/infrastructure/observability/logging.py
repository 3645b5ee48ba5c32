"""Structured logging: one JSON object per line on stderr, for structlog and stdlib loggers alike.

Every line carries `timestamp` (ISO, UTC), `level`, `event`, `logger`, plus `request_id`/`trace_id`
bound for the current request. A redactor registered with `set_redactor` (the composition root
registers the sanitizer's `redact`) is applied to every string value before rendering.

Run uvicorn with `log_config=None` (or call `configure_logging` after it starts), otherwise uvicorn's
own dictConfig re-installs its handlers; do not use SQLAlchemy's `echo=True`, which adds a stdout
handler, raise the `sqlalchemy.engine` logger level instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO
from urllib.parse import unquote_plus

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

from faultmaven.infrastructure.observability.tracing import current_trace_id

Redactor = Callable[[str], str]

# Loggers that install their own handlers; they are reset to propagate to our root handler.
THIRD_PARTY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "sqlalchemy", "sqlalchemy.engine")
PER_CALL_LOGGERS = ("httpx", "httpx2")
"""HTTP clients that log every request at INFO (each LLM call): shown only at DEBUG, since the request log
and the LLM metrics already say what happened, and a line per call costs every query."""

# Our own metadata; a secret detector could mistake a hex trace id for a token, so these skip redaction.
UNREDACTED_KEYS = frozenset({"timestamp", "level", "logger", "request_id", "trace_id"})

REDACTION_FAILED = "[redaction failed]"

KNOWN_CLEAN_MAX_CHARS = 200
KNOWN_CLEAN_MAX_ENTRIES = 4096

_redactor: Redactor | None = None


def set_redactor(redactor: Redactor | None) -> None:
    """Register the function every logged string passes through; None removes it."""
    global _redactor
    _redactor = None if redactor is None else _skipping_known_clean(redactor)


def _skipping_known_clean(redactor: Redactor) -> Redactor:
    """Log values repeat (event names, routes, methods, outcomes), and the sanitizer's full scan of each
    costs every request: a short value the redactor left unchanged is remembered as clean. Only clean
    values are remembered, so no secret is kept; the set is emptied when full, so it stays bounded."""
    clean: set[str] = set()

    def redact(value: str) -> str:
        if value in clean:
            return value
        redacted = redactor(value)
        if redacted == value and len(value) <= KNOWN_CLEAN_MAX_CHARS:
            if len(clean) >= KNOWN_CLEAN_MAX_ENTRIES:
                clean.clear()
            clean.add(value)
        return redacted

    return redact


def bind_request_context(request_id: str, trace_id: str | None = None) -> None:
    """Attach ids to every line logged in this request's context (contextvars, so per task)."""
    ids = {"request_id": request_id}
    if trace_id:
        ids["trace_id"] = trace_id
    structlog.contextvars.bind_contextvars(**ids)


def clear_request_context() -> None:
    """Forget the ids bound for the request that just ended."""
    structlog.contextvars.clear_contextvars()


def add_trace_id(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Stamp the active span's trace id, which is more precise than one bound at request start."""
    trace_id = current_trace_id()
    if trace_id:
        event_dict["trace_id"] = trace_id
    return event_dict


def _redact_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, dict):
        return {key: _redact_value(item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item, redactor) for item in value]
    return value


def redact_strings(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Pass every string value (nested ones included) through the registered redactor.

    If the redactor itself fails, the value is replaced rather than logged in clear.
    """
    redactor = _redactor
    if redactor is None:
        return event_dict
    for key, value in event_dict.items():
        if key in UNREDACTED_KEYS:
            continue
        try:
            event_dict[key] = _redact_value(value, redactor)
        except Exception:
            event_dict[key] = REDACTION_FAILED
    return event_dict


def _shared_processors() -> list[Processor]:
    """Enrichment applied to both structlog events and stdlib records."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        add_trace_id,
    ]


def _renderer(json: bool, stream: TextIO) -> Processor:
    if json:
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=stream.isatty())


def _build_formatter(json: bool, stream: TextIO) -> structlog.stdlib.ProcessorFormatter:
    """Formatter for every record; redaction runs after tracebacks are rendered so they are redacted too."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_strings,
            _renderer(json, stream),
        ],
    )


def _masked_target(value: Any, redactor: Redactor) -> Any:
    """A request target with its query string percent-decoded before redaction: `password%3Dsecret` is
    `password=secret` to the sanitizer, which the encoded form would slip past."""
    if not isinstance(value, str) or "?" not in value:
        return value
    path, _, query = value.partition("?")
    return f"{path}?{redactor(unquote_plus(query))}"


class AccessLogQueryMasker(logging.Filter):
    """Masks the query strings in uvicorn's access lines (the path and status stay readable)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = _redactor
        if redactor is not None and isinstance(record.args, tuple):
            try:
                record.args = tuple(_masked_target(arg, redactor) for arg in record.args)
            except Exception:
                record.args = tuple(REDACTION_FAILED if isinstance(arg, str) else arg for arg in record.args)
        return True


ACCESS_LOG_MASKER = AccessLogQueryMasker()


def _route_third_party_loggers() -> None:
    """Send third-party lines through our handler, except an access log uvicorn was told not to write
    (`access_log=False`, as `faultmaven serve` runs it: the request middleware logs every request once)."""
    access = logging.getLogger("uvicorn.access")
    access_silenced = not access.propagate and not access.handlers
    for name in THIRD_PARTY_LOGGERS:
        third_party = logging.getLogger(name)
        third_party.handlers.clear()
        third_party.propagate = True
    access.propagate = not access_silenced
    if ACCESS_LOG_MASKER not in access.filters:
        access.addFilter(ACCESS_LOG_MASKER)


def _resolve_level(level: str) -> int:
    levels = logging.getLevelNamesMapping()
    if level.upper() not in levels:
        raise ValueError(f"unknown log level {level!r}")
    return levels[level.upper()]


def configure_logging(level: str = "INFO", json: bool = True, *, stream: TextIO | None = None) -> None:
    """Install one stderr handler on the root logger and point structlog at it.

    Replaces existing root handlers so no line reaches stderr unformatted. `stream` exists for tests.
    Loggers are not cached, so a logger used before (or across) configuration follows the latest one.
    """
    numeric_level = _resolve_level(level)
    output = stream or sys.stderr
    handler = logging.StreamHandler(output)
    handler.setFormatter(_build_formatter(json, output))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric_level)
    _route_third_party_loggers()
    for name in PER_CALL_LOGGERS:
        quiet = numeric_level if numeric_level <= logging.DEBUG else max(numeric_level, logging.WARNING)
        logging.getLogger(name).setLevel(quiet)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
