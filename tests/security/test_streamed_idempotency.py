"""A streamed query sent with an Idempotency-Key carries its answer, and a replay carries it again
(issue 11, item 4)."""

from __future__ import annotations

from tests.jobs.support import parse_sse
from tests.jobs.test_async_queries import answer, llm_app, open_case

STREAM = {"Accept": "text/event-stream", "Idempotency-Key": "stream-key-0001"}


async def test_streamed_query_with_idempotency_key_carries_the_answer_twice(app_with, fake_llm) -> None:
    http, _ = await llm_app(app_with, fake_llm)
    case_id = await open_case(http)
    fake_llm.script(answer("Drain the stuck partition."))
    url = f"/api/v1/cases/{case_id}/queries"
    first = await http.post(url, json={"query": "why stuck?"}, headers=STREAM)
    assert first.status_code == 200, first.text
    events = parse_sse(first.text)
    assert events and events[-1][1] == "complete", first.text
    assert events[-1][2]["content"] == "Drain the stuck partition."
    replay = await http.post(url, json={"query": "why stuck?"}, headers=STREAM)
    assert replay.status_code == 200
    assert replay.headers["x-idempotency-replayed"] == "true"
    assert replay.headers["content-type"].startswith("text/event-stream")
    assert parse_sse(replay.text) == events
    queries = (await http.get(url)).json()
    assert len(queries) == 1
