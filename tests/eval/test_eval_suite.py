"""The evaluation suite against scripted models on the fake LLM: scoring that can fail.

An ideal model scores 100 with nothing flagged; a wrong or echoing one scores low and is flagged; a
truncating one is flagged; the answer key never gives its answer away in the case text."""

from __future__ import annotations

import re

import pytest

from faultmaven.eval import run_suite, select
from faultmaven.eval.catalog import SUITE
from faultmaven.eval.report import json_report, markdown_report
from faultmaven.eval.scenarios import build_evidence
from faultmaven.eval.scoring import line_refs
from tests.conftest import llm_environ
from tests.eval import scripted
from tests.fakes.fake_llm import FakeLLMServer, Text, structured

FEW = ["k8s-oomkilled", "db-password-secret", "slow-site-no-evidence", "multi-namespace", "tls-expired"]


async def _run(model: scripted.Model, ids: list[str] | None):
    with FakeLLMServer(default=model) as server:
        _, environ = llm_environ(primary=("openai", server))
        environ["FAULTMAVEN_LLM_PROVIDERS"] = "primary=openai:fake-openai-model"
        result = await run_suite(select(ids), environ, query_budget_seconds=10)
        return result, server


def test_the_suite_is_large_varied_and_well_formed() -> None:
    assert len(SUITE) >= 25 and len({s.id for s in SUITE}) == len(SUITE)
    assert sum(s.multi_turn for s in SUITE) >= 3 and sum(s.evidence_absent for s in SUITE) >= 2
    assert any(s.secrets for s in SUITE) and sum(bool(s.runbooks) for s in SUITE) >= 5
    queries = [q.query for s in SUITE for q in s.questions]
    assert len(set(queries)) == len(queries)


@pytest.mark.parametrize("scenario", SUITE, ids=lambda s: s.id)
def test_decisive_lines_are_buried_and_the_key_does_not_give_itself_away(scenario) -> None:
    given = "\n".join([scenario.title, scenario.description, *(q.query for q in scenario.questions)])
    for fact in (*scenario.root_cause, *scenario.next_step):
        usable = [p for p in fact.any_of if not re.search(p, given, re.IGNORECASE)]
        assert usable, f"{scenario.id}: every pattern of {fact.name!r} is in the case text"
    for spec in scenario.evidence:
        built = build_evidence(scenario.id, spec)
        assert built.line_count >= 200 and built == build_evidence(scenario.id, spec)
        for line in built.key_lines:
            assert 10 < line <= built.line_count


async def test_an_ideal_model_scores_100_on_the_whole_suite() -> None:
    result, server = await _run(scripted.ideal, None)
    failing = {s.id: (s.parts, s.flags) for s in result.scores if s.score < 1 or s.flags}
    assert failing == {}
    assert result.summary.score == 100.0 and result.summary.server_errors == 0
    sent = server.all_text()
    assert not any(secret in sent for s in SUITE for secret in s.secrets)
    report = markdown_report(result.scores, result.summary, {"providers": "scripted ideal"})
    assert "**Score: 100.0 / 100**" in report
    assert '"score": 100.0' in json_report(result.runs, result.scores, result.summary, {})


async def test_a_wrong_model_scores_low_and_is_flagged() -> None:
    result, _ = await _run(scripted.wrong, FEW)
    assert result.summary.score < 40
    assert all("low_score" in s.flags for s in result.scores)
    assert all(s.fabricated for s in result.scores if not s.id.startswith("slow-site"))


async def test_an_echoing_model_scores_low_and_is_flagged() -> None:
    result, _ = await _run(scripted.echo, FEW)
    assert result.summary.score < 50
    for score in result.scores:
        assert "echoes_prompt" in score.flags and "low_score" in score.flags, score.id
    assert result.summary.echoes == len(FEW)


async def test_a_truncating_model_is_flagged() -> None:
    result, _ = await _run(scripted.truncating, FEW)
    assert all("truncated" in s.flags for s in result.scores)
    assert result.summary.truncated == len(FEW)


def test_line_references_are_read_in_their_usual_forms() -> None:
    text = "see line 12, lines 30-32, lines 7 to 9 and app.log:41 (also data_0123abcd:5-6)"
    assert line_refs(text) == [(12, 12), (30, 32), (7, 9), (41, 41), (5, 6)]


def test_the_eval_command_prints_a_table_and_writes_both_reports(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from faultmaven.cli import app

    with FakeLLMServer(default=scripted.ideal) as server:
        monkeypatch.setenv("FAULTMAVEN_LLM_PROVIDERS", "primary=openai:fake-model")
        monkeypatch.setenv("FAULTMAVEN_LLM_PRIMARY_BASE_URL", server.base_url)
        result = CliRunner().invoke(
            app,
            ["eval", "-s", "tls-expired", "-s", "multi-version", "--out", str(tmp_path), "--min-score", "99"],
        )
    assert result.exit_code == 0, result.output
    assert "100.0 / 100" in result.output and "tls-expired" in result.output
    assert "**Score: 100.0 / 100** over 2 scenarios" in (tmp_path / "eval-report.md").read_text()
    assert '"id": "multi-version"' in (tmp_path / "eval-report.json").read_text()


def test_the_eval_command_fails_below_min_score(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from faultmaven.cli import app

    with FakeLLMServer(default=scripted.wrong) as server:
        monkeypatch.setenv("FAULTMAVEN_LLM_PROVIDERS", "primary=openai:fake-model")
        monkeypatch.setenv("FAULTMAVEN_LLM_PRIMARY_BASE_URL", server.base_url)
        result = CliRunner().invoke(
            app, ["eval", "-s", "disk-full", "--out", str(tmp_path), "--min-score", "50"]
        )
    assert result.exit_code == 1
    assert "below --min-score" in result.output


async def test_an_ideal_model_on_the_compact_profile_scores_100_unflagged() -> None:
    """Quoting the findings the server put in a compact prompt is not an echo."""

    def plain_ideal(request):
        return Text(scripted.ideal_text(*scripted.asked(request)))

    with FakeLLMServer(default=plain_ideal) as server:
        _, environ = llm_environ(primary=("openai", server))
        environ["FAULTMAVEN_LLM_PROVIDERS"] = "primary=openai:fake-openai-model"
        environ["FAULTMAVEN_LLM_PRIMARY_PROFILE"] = "compact"
        result = await run_suite(select(FEW), environ, query_budget_seconds=10)
        assert not any(request.body.get("tools") for request in server.model_requests)
    assert {s.id: s.flags for s in result.scores if s.flags} == {}
    assert result.summary.score == 100.0


async def test_an_optional_judge_grades_beside_the_score_and_reads_no_secret() -> None:
    from faultmaven.eval.judge import judge_router

    def leaky(request):
        url = "postgresql://app:Wint3r-Sn0w-42@db.internal:5432/shop"
        return structured({"content": f"{scripted.ideal_text(*scripted.asked(request))} (it used {url})"})

    verdict = structured({"grade": 4, "reason": "right cause"})
    with FakeLLMServer(default=verdict) as judge_llm, FakeLLMServer(default=leaky) as server:
        router = judge_router(
            "judge=openai:judge-model", {"FAULTMAVEN_LLM_JUDGE_BASE_URL": judge_llm.base_url}
        )
        _, environ = llm_environ(primary=("openai", server))
        environ["FAULTMAVEN_LLM_PROVIDERS"] = "primary=openai:fake-openai-model"
        result = await run_suite(select(["db-password-secret"]), environ, judge=router)
        await router.aclose()
        assert "Answer key" in judge_llm.all_text() and "Wint3r-Sn0w-42" not in judge_llm.all_text()
    assert result.summary.judge == 4.0
    assert result.scores[0].leaks == ["Wint3r-Sn0w-42"] and result.scores[0].score == 0.0
