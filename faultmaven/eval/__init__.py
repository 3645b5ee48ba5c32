"""`faultmaven eval`: a scenario suite run through the HTTP API against the configured provider, scored
deterministically (see `scoring.py`), with an optional LLM judge beside the score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from faultmaven.eval.catalog import SUITE
from faultmaven.eval.runner import Progress, eval_client, load_runbooks, run_scenario
from faultmaven.eval.scenarios import Scenario
from faultmaven.eval.scoring import ScenarioRun, ScenarioScore, SuiteSummary, score_run, summarize
from faultmaven.infrastructure.llm.router import LLMRouter


@dataclass
class SuiteResult:
    runs: list[ScenarioRun]
    scores: list[ScenarioScore]
    summary: SuiteSummary


def select(ids: Sequence[str] | None) -> list[Scenario]:
    """The scenarios named (all when none is); ValueError names an unknown id."""
    if not ids:
        return list(SUITE)
    known = {scenario.id: scenario for scenario in SUITE}
    unknown = [ident for ident in ids if ident not in known]
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(unknown)}; see `faultmaven eval --list`")
    return [known[ident] for ident in ids]


async def run_suite(
    scenarios: Sequence[Scenario],
    environ: Mapping[str, str],
    *,
    progress: Progress | None = None,
    judge: LLMRouter | None = None,
    query_budget_seconds: float = 120.0,
) -> SuiteResult:
    """Run `scenarios` on a throwaway FaultMaven configured by `environ`, and score them."""
    from faultmaven.eval.judge import grade

    secrets = {secret for scenario in SUITE for secret in scenario.secrets}
    async with eval_client(environ, query_budget_seconds) as client:
        known = await load_runbooks(client, SUITE)
        runs = [await run_scenario(client, scenario, known, progress) for scenario in scenarios]
    scores = [score_run(run, secrets) for run in runs]
    if judge is not None:
        for run, score in zip(runs, scores, strict=True):
            score.judge = await grade(judge, run)
    return SuiteResult(runs, scores, summarize(scores))
