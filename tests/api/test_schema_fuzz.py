"""Every operation of `/openapi.json`, fuzzed by schemathesis against a real server process in local and
in token mode: no 5xx, and every status, media type and body as the document declares them.

Examples are bounded (`MAX_EXAMPLES` per operation) so that the run stays within a few minutes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.integration.server_process import running_server

MAX_EXAMPLES = 6
ALL_CHECKS = list(HealthCheck)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class LiveServer:
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)


def _environ(tmp: Path, mode: str) -> dict[str, str]:
    return {
        "FAULTMAVEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'fuzz.db'}",
        "FAULTMAVEN_AUTH_MODE": mode,
        "FAULTMAVEN_KB_LOAD_STARTER": "false",
        "FAULTMAVEN_RATE_LIMIT_ENABLED": "false",
        "FAULTMAVEN_LOG_LEVEL": "WARNING",
    }


def _admin_token(environ: dict[str, str]) -> str:
    """An admin's token from `faultmaven users create`, as an operator gets one."""
    created = subprocess.run(
        [sys.executable, "-m", "faultmaven.cli", "users", "create", "fuzzer", "--admin"],
        env={**os.environ, **environ}, capture_output=True, text=True, check=True,
    )
    match = re.search(r"token \(shown once, store it now\): (\S+)", created.stdout)
    assert match, created.stdout + created.stderr
    return match.group(1)


@pytest.fixture(scope="module", params=["local", "token"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    environ = _environ(tmp_path_factory.mktemp(f"fuzz-{request.param}"), request.param)
    headers = {"Authorization": f"Bearer {_admin_token(environ)}"} if request.param == "token" else {}
    with running_server(environ) as base_url:
        yield LiveServer(base_url, headers)


def _fuzz(operation, live: LiveServer) -> str | None:  # type: ignore[no-untyped-def]
    """The first failure schemathesis finds on one operation, or None."""

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=ALL_CHECKS)
    def run(case) -> None:  # type: ignore[no-untyped-def]
        case.call_and_validate(headers=live.headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # one FailureGroup per operation
        return f"{operation.label}: {failure}"
    return None


def test_every_operation_conforms(live: LiveServer) -> None:
    schema = schemathesis.openapi.from_url(f"{live.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 50
    failures = [failure for operation in operations if (failure := _fuzz(operation, live))]
    assert not failures, "\n\n".join(failures)
