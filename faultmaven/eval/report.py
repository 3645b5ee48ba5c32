"""The suite's results: a terminal table, a JSON report (everything, answers included), a Markdown one."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from rich.table import Table

from faultmaven.eval.scoring import ScenarioRun, ScenarioScore, SuiteSummary

PART_NAMES = ("root_cause", "next_step", "citations", "no_fabrication", "asks_for_data", "context", "no_leak")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}"


def table(scores: list[ScenarioScore], summary: SuiteSummary) -> Table:
    result = Table(title=f"FaultMaven eval: {summary.score:.1f} / 100 over {summary.scenarios} scenarios")
    for name in ("scenario", "score", *PART_NAMES, "flags", "s", "tokens in/out"):
        result.add_column(name, justify="left" if name in ("scenario", "flags") else "right")
    for score in scores:
        result.add_row(
            score.id,
            _cell(score.score),
            *(_cell(score.parts.get(name)) for name in PART_NAMES),
            ", ".join(score.flags) or "-",
            f"{score.seconds:.1f}",
            f"{score.input_tokens}/{score.output_tokens}",
        )
    return result


def json_report(
    runs: list[ScenarioRun], scores: list[ScenarioScore], summary: SuiteSummary, about: dict[str, Any]
) -> str:
    scenarios = [
        {
            **asdict(score),
            "turns": [
                {
                    "query": turn.query,
                    "status": turn.status,
                    "seconds": round(turn.seconds, 3),
                    "response_type": turn.body.get("response_type"),
                    "content": turn.content,
                    "metadata": turn.metadata,
                }
                for turn in run.turns
            ],
        }
        for run, score in zip(runs, scores, strict=True)
    ]
    return json.dumps({"about": about, "summary": asdict(summary), "scenarios": scenarios}, indent=2)


def markdown_report(scores: list[ScenarioScore], summary: SuiteSummary, about: dict[str, Any]) -> str:
    lines = [
        "# FaultMaven evaluation",
        "",
        *(f"- {key}: {value}" for key, value in about.items()),
        "",
        "## Summary",
        "",
        f"- **Score: {summary.score:.1f} / 100** over {summary.scenarios} scenarios "
        f"({summary.requests} queries)",
        f"- Flagged scenarios: {summary.flagged} (truncated {summary.truncated}, echoes {summary.echoes}, "
        f"degraded {summary.degraded})",
        f"- Server errors (5xx): {summary.server_errors}; answers with a leaked secret: {summary.leaks}; "
        f"with fabricated citations: {summary.fabricated}",
        f"- Mean time per scenario: {summary.mean_seconds} s; tokens per request: "
        f"{summary.input_tokens_per_request} in, {summary.output_tokens_per_request} out "
        "(as the provider counts them)",
    ]
    if summary.judge is not None:
        lines.append(f"- LLM judge (1-5, beside the deterministic score, never part of it): {summary.judge}")
    lines += [
        "",
        "## Scenarios",
        "",
        "| scenario | score | " + " | ".join(PART_NAMES) + " | flags | seconds |",
        "|---|---:|" + "---:|" * len(PART_NAMES) + "---|---:|",
    ]
    for score in scores:
        parts = " | ".join(_cell(score.parts.get(name)) for name in PART_NAMES)
        flags = ", ".join(score.flags) or "-"
        lines.append(f"| {score.id} | {_cell(score.score)} | {parts} | {flags} | {score.seconds:.1f} |")
    return "\n".join(lines) + "\n"
