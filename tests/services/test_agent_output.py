"""The model's answer is cleaned: no reasoning, no raw JSON in `content`."""

from faultmaven.models import ResponseType
from faultmaven.services.agent.output import AgentAnswer, answer_from_text, clean_answer


def test_reasoning_is_stripped() -> None:
    assert (
        answer_from_text("<think>let me see</think>\nThe pool is exhausted.").content
        == "The pool is exhausted."
    )
    assert answer_from_text("<think>never closed").content == ""


def test_json_printed_as_text_is_parsed() -> None:
    answer = answer_from_text(
        '```json\n{"content": "Restart the pod", "response_type": "SOLUTION_READY"}\n```'
    )
    assert answer.content == "Restart the pod"
    assert answer.response_type is ResponseType.SOLUTION_READY


def test_invalid_json_stays_text() -> None:
    assert answer_from_text('{"nope": 1}').content == '{"nope": 1}'


def test_nested_json_in_content_is_unwrapped() -> None:
    nested = AgentAnswer(content='{"content": "Check DNS", "response_type": "ANSWER"}')
    assert clean_answer(nested).content == "Check DNS"
