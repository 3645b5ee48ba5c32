"""Scripted models for the evaluation suite, as fake-LLM responders: an ideal one that answers from the
answer key and the evidence it was built from, a wrong one, an echoing one and a truncating one."""

from __future__ import annotations

from collections.abc import Callable

from faultmaven.eval.catalog import SUITE
from faultmaven.eval.scenarios import Question, Scenario, build_evidence
from tests.fakes.fake_llm import RecordedRequest, Reply, Text, structured

Model = Callable[[RecordedRequest], Reply]


def last_prompt(request: RecordedRequest) -> str:
    users = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
    return str(users[-1]) if users else ""


def asked(request: RecordedRequest) -> tuple[Scenario, int]:
    """The scenario and question this request is about (its prompt ends with the question)."""
    prompt = last_prompt(request)
    current = prompt.rsplit("Current query:", 1)[-1].strip().split("\n\n", 1)[0].strip()
    for scenario in SUITE:
        for index, question in enumerate(scenario.questions):
            if question.query == current:
                return scenario, index
    raise AssertionError(f"no scenario asks {current!r}")


def ideal_text(scenario: Scenario, index: int) -> str:
    """The answer the key describes: the decisive lines quoted with their line numbers, the key's own words,
    and the next step on the scenario's last question."""
    question: Question = scenario.questions[index]
    if scenario.evidence_absent:
        return (
            "The evidence does not show the cause yet. Please upload the application and proxy logs "
            "from the time it started, and the error rate and latency metrics."
        )
    parts = []
    if question.facts:
        for spec in scenario.evidence:
            built = build_evidence(scenario.id, spec)
            lines = built.text.split("\n")
            for number in built.key_lines:
                quoted = lines[number - 1]
                for secret in scenario.secrets:
                    quoted = quoted.replace(secret, "***")
                parts.append(f"{built.filename} line {number} shows it: `{quoted}`")
    if question.reference:
        parts.append(question.reference)
    if index == len(scenario.questions) - 1 and scenario.remedy:
        parts.append(f"Next step: {scenario.remedy}")
    return "\n\n".join(parts) or "Noted, thank you; I will keep that in mind for this case."


def ideal(request: RecordedRequest) -> Reply:
    scenario, index = asked(request)
    response_type = "NEEDS_MORE_DATA" if scenario.evidence_absent else "ANSWER"
    return structured({"content": ideal_text(scenario, index), "response_type": response_type})


def wrong(request: RecordedRequest) -> Reply:
    """Confident, generic and wrong, with a made-up citation."""
    return structured(
        {
            "content": "The root cause is a misconfigured load balancer (see app.log line 99999). "
            "Restart the ingress controller and it will go away.",
            "response_type": "SOLUTION_READY",
        }
    )


def echo(request: RecordedRequest) -> Reply:
    """Recites its prompt, as tiny models often do."""
    return Text(last_prompt(request))


def truncating(request: RecordedRequest) -> Reply:
    """The ideal answer, cut off at the output cap."""
    scenario, index = asked(request)
    text = ideal_text(scenario, index)
    return Text(text[: max(len(text) // 2, 20)], truncated=True)
