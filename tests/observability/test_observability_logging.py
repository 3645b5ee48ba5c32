"""Logging: JSON lines with request context, stdlib records included, everything through the redactor."""

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog

from faultmaven.infrastructure.observability.logging import (
    REDACTION_FAILED,
    bind_request_context,
    clear_request_context,
    configure_logging,
    set_redactor,
)
from faultmaven.infrastructure.observability.tracing import OtelTracer


@contextmanager
def _logging_into_buffer(json_lines: bool) -> Iterator[io.StringIO]:
    """Configure logging into a buffer, then restore the global logging state for other tests."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("DEBUG", json=json_lines, stream=buffer)
    try:
        yield buffer
    finally:
        set_redactor(None)
        clear_request_context()
        structlog.reset_defaults()
        root.handlers, root.level = saved_handlers, saved_level


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    with _logging_into_buffer(json_lines=True) as buffer:
        yield buffer


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_structlog_line_is_json_with_standard_fields(stream: io.StringIO) -> None:
    structlog.get_logger("faultmaven.test").info("case_created", status="open")

    (line,) = _lines(stream)
    assert line["event"] == "case_created"
    assert line["level"] == "info"
    assert line["logger"] == "faultmaven.test"
    assert line["status"] == "open"
    assert line["timestamp"].endswith("Z")


def test_request_id_appears_on_every_line_until_cleared(stream: io.StringIO) -> None:
    bind_request_context("req-123", trace_id="abc")
    structlog.get_logger("faultmaven.test").info("first")
    logging.getLogger("uvicorn.access").info("%s %s", "GET", "/health")
    clear_request_context()
    structlog.get_logger("faultmaven.test").info("after")

    first, access, after = _lines(stream)
    assert first["request_id"] == access["request_id"] == "req-123"
    assert first["trace_id"] == "abc"
    assert "request_id" not in after


def test_stdlib_records_share_the_formatter(stream: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").handlers.append(logging.StreamHandler(io.StringIO()))
    configure_logging("INFO", stream=stream)
    logging.getLogger("uvicorn.error").warning("worker %d restarted", 3)
    logging.getLogger("sqlalchemy.engine").debug("below the level")

    (line,) = _lines(stream)
    assert line == {**line, "event": "worker 3 restarted", "level": "warning", "logger": "uvicorn.error"}
    assert logging.getLogger("uvicorn.error").handlers == []


def test_active_span_trace_id_is_logged(stream: io.StringIO) -> None:
    with OtelTracer().trace("request") as span:
        structlog.get_logger("faultmaven.test").info("inside")

    (line,) = _lines(stream)
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_every_string_value_passes_through_the_redactor(stream: io.StringIO) -> None:
    set_redactor(lambda text: text.replace("hunter2", "[SECRET]"))
    bind_request_context("req-hunter2")
    structlog.get_logger("faultmaven.test").info(
        "login with hunter2", detail={"password": "hunter2", "attempts": ["hunter2"]}, count=1
    )
    logging.getLogger("sqlalchemy.engine").warning("param hunter2 rejected")

    structured, stdlib = _lines(stream)
    assert "hunter2" not in json.dumps({**structured, "request_id": None})
    assert structured["event"] == "login with [SECRET]"
    assert structured["detail"] == {"password": "[SECRET]", "attempts": ["[SECRET]"]}
    assert structured["count"] == 1
    assert structured["request_id"] == "req-hunter2"
    assert stdlib["event"] == "param [SECRET] rejected"


def test_exception_tracebacks_are_redacted(stream: io.StringIO) -> None:
    set_redactor(lambda text: text.replace("hunter2", "[SECRET]"))
    try:
        raise RuntimeError("token hunter2 expired")
    except RuntimeError:
        logging.getLogger("faultmaven.test").exception("call failed")

    (line,) = _lines(stream)
    assert "RuntimeError: token [SECRET] expired" in line["exception"]


def test_failing_redactor_hides_the_value(stream: io.StringIO) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("redactor bug")

    set_redactor(broken)
    structlog.get_logger("faultmaven.test").info("api key sk-live-123")

    (line,) = _lines(stream)
    assert line["event"] == REDACTION_FAILED


def test_console_mode_is_not_json() -> None:
    with _logging_into_buffer(json_lines=False) as buffer:
        structlog.get_logger("faultmaven.test").info("plain")

    assert "plain" in buffer.getvalue()
    assert not buffer.getvalue().startswith("{")


def test_unknown_level_is_rejected_before_anything_changes() -> None:
    handlers = logging.getLogger().handlers[:]

    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("LOUD", stream=io.StringIO())
    assert logging.getLogger().handlers == handlers
