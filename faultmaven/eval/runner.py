"""Running the suite through FaultMaven's own HTTP API, in process, against whatever provider is configured.

Each run gets a fresh SQLite database in a temporary directory (never the server's own), the starter
runbooks plus every scenario's runbooks in the knowledge base, and per scenario a case, its evidence
uploaded, and its questions asked in order, as an engineer would.
"""

from __future__ import annotations

import base64
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from pathlib import Path

import httpx

from faultmaven.eval.scenarios import BuiltEvidence, Scenario, build_evidence
from faultmaven.eval.scoring import ScenarioRun, TurnOutcome

Progress = Callable[[Scenario, int], None]
"""Called after each question (the scenario, how many of its questions are answered)."""


@contextlib.asynccontextmanager
async def eval_client(
    environ: Mapping[str, str], query_budget_seconds: float = 120.0
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process FaultMaven on a throwaway database, with the providers `environ` configures."""
    from faultmaven.config.settings import Settings
    from faultmaven.container import Container
    from faultmaven.lifecycle import configure_logging
    from faultmaven.main import create_app

    with tempfile.TemporaryDirectory(prefix="faultmaven-eval-") as directory:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(directory) / 'eval.db'}",
            redis_url=None,
            queue_url=None,
            auth_mode="local",
            rate_limit_enabled=False,
            console_enabled=False,
            tracing_exporter="none",
            log_level="CRITICAL",
            encryption_keys=[base64.urlsafe_b64encode(os.urandom(32)).decode()],
            llm_providers=environ.get("FAULTMAVEN_LLM_PROVIDERS", ""),
            query_time_budget_seconds=query_budget_seconds,
            sync_query_budget_seconds=query_budget_seconds + 5,
        )
        container = Container(settings, environ=dict(environ))
        configure_logging(settings)  # before start: the migrations log too; the report says what went wrong
        await container.start()
        try:
            transport = httpx.ASGITransport(app=create_app(container=container))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://faultmaven-eval", timeout=query_budget_seconds + 30
            ) as client:
                yield client
        finally:
            await container.stop()


async def load_runbooks(client: httpx.AsyncClient, scenarios: Iterable[Scenario]) -> set[str]:
    """Every scenario's runbooks into the knowledge base; their document ids."""
    ids = set()
    for scenario in scenarios:
        for runbook in scenario.runbooks:
            response = await client.post(
                "/api/v1/knowledge/documents",
                json={"title": runbook.title, "content": runbook.content, "document_type": "playbook"},
            )
            response.raise_for_status()
            ids.add(response.json()["document_id"])
    return ids


async def run_scenario(
    client: httpx.AsyncClient, scenario: Scenario, known_ids: set[str], progress: Progress | None = None
) -> ScenarioRun:
    created = await client.post(
        "/api/v1/cases", json={"title": scenario.title, "initial_message": scenario.description}
    )
    created.raise_for_status()
    case_id = created.json()["case"]["case_id"]
    evidence, ids = await _upload_evidence(client, case_id, scenario)
    turns = []
    for number, question in enumerate(scenario.questions, start=1):
        started = time.perf_counter()
        response = await client.post(f"/api/v1/cases/{case_id}/queries", json={"query": question.query})
        body = response.json() if response.headers.get("content-type", "").endswith("json") else {}
        turns.append(TurnOutcome(question.query, response.status_code, time.perf_counter() - started, body))
        if progress is not None:
            progress(scenario, number)
    return ScenarioRun(scenario, turns, evidence, known_ids | ids)


async def _upload_evidence(
    client: httpx.AsyncClient, case_id: str, scenario: Scenario
) -> tuple[list[BuiltEvidence], set[str]]:
    built, ids = [], set()
    for spec in scenario.evidence:
        evidence = build_evidence(scenario.id, spec)
        response = await client.post(
            f"/api/v1/cases/{case_id}/data", json={"content": evidence.text, "filename": evidence.filename}
        )
        response.raise_for_status()
        ids.add(response.json()["data_id"])
        built.append(evidence)
    return built, ids
