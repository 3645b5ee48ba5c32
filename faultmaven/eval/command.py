"""What `faultmaven eval` does: run the chosen scenarios with a progress bar, print the table, write the JSON
and Markdown reports, and say where they are."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from faultmaven.eval import SuiteResult, run_suite, select
from faultmaven.eval.catalog import SUITE
from faultmaven.eval.judge import judge_router
from faultmaven.eval.report import json_report, markdown_report, table
from faultmaven.eval.scenarios import Scenario
from faultmaven.infrastructure.llm.config import parse_providers


def list_scenarios() -> list[str]:
    """One line per shipped scenario: id, category, title."""
    return [
        f"{s.id:<34} {s.category:<22} {s.title}{f', {len(s.questions)} turns' if s.multi_turn else ''}"
        for s in SUITE
    ]


def describe_providers(environ: Mapping[str, str]) -> str:
    specs = parse_providers(environ)
    if not specs:
        return "none (every answer is the offline answer)"
    return ", ".join(f"{s.alias}={s.kind}:{s.model} ({s.profile})" for s in specs)


def run_eval(
    ids: Sequence[str] | None, out_dir: Path, judge: str | None, budget: float, console: Console
) -> SuiteResult:
    """Run, print and write the reports; ValueError for an unknown scenario or provider setting."""
    environ = dict(os.environ)
    scenarios = select(ids)
    providers = describe_providers(environ)
    judge_llm = judge_router(judge, environ) if judge else None
    console.print(f"Providers: {providers}")
    total = sum(len(scenario.questions) for scenario in scenarios)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("evaluating", total=total)

        def advance(scenario: Scenario, _answered: int) -> None:
            progress.update(task, advance=1, description=scenario.id)

        result = asyncio.run(
            run_suite(scenarios, environ, progress=advance, judge=judge_llm, query_budget_seconds=budget)
        )
    about = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "providers": providers,
        "judge": judge or "none",
        "scenarios": len(scenarios),
    }
    console.print(table(result.scores, result.summary))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "eval-report.json").write_text(json_report(result.runs, result.scores, result.summary, about))
    (out_dir / "eval-report.md").write_text(markdown_report(result.scores, result.summary, about))
    console.print(f"Reports: {out_dir / 'eval-report.json'}, {out_dir / 'eval-report.md'}")
    return result
