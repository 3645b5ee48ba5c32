"""What one query costs the database, and the single place every query's ending is recorded.

The ceiling is the query-turn issue's: a synchronous query with no tool call reads its case once and its
recent messages once, and writes in at most two transactions (accept, finish). A regression here is a
query that got slower for everybody.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import event, select

from faultmaven.infrastructure.persistence.tables import CaseMessageRow
from faultmaven.models.case import new_id
from faultmaven.models.turn import Caller, Turn
from tests.conftest import llm_environ
from tests.fakes.fake_llm import HTTPError, Text, structured

MAX_STATEMENTS = 11
"""Statements of one synchronous query without tool calls, BEGINs included (SQLite issues them as
statements): read the case; read the recent messages with their authors; insert the query; then, in the
closing transaction, take the message numbers (UPDATE ... RETURNING), insert both messages, finish the
query and insert its events. 7 statements and 4 transactions."""

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_TABLE = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)


@dataclass
class Transactions:
    """Statements grouped by the transaction (connection between begin and commit/rollback) they ran in."""

    open: dict[int, list[str]] = field(default_factory=dict)
    done: list[list[str]] = field(default_factory=list)

    def begin(self, connection: object) -> None:
        self.open[id(connection)] = []

    def statement(self, connection: object, sql: str) -> None:
        self.open.setdefault(id(connection), []).append(sql)

    def end(self, connection: object) -> None:
        if (statements := self.open.pop(id(connection), None)) is not None:
            self.done.append(statements)

    def writes(self) -> int:
        return sum(any(_WRITE.match(sql) for sql in statements) for statements in self.done)

    def selects_from(self) -> Counter[str]:
        return Counter(
            match[1].lower()
            for statements in self.done
            for sql in statements
            if sql.lstrip().upper().startswith("SELECT") and (match := _TABLE.search(sql))
        )

    def statements(self) -> int:
        return sum(map(len, self.done))


def record_transactions(container) -> Transactions:
    seen = Transactions()
    engines = {container.database.write_engine, container.database.read_engine}
    for engine in engines:
        sync = engine.sync_engine
        event.listen(sync, "begin", seen.begin)
        event.listen(sync, "commit", seen.end)
        event.listen(sync, "rollback", seen.end)
        event.listen(
            sync,
            "before_cursor_execute",
            lambda conn, cursor, sql, params, context, many: seen.statement(conn, sql),
        )
    return seen


async def llm_app(app_with, fake_llm, **overrides):
    providers, environ = llm_environ(primary=("openai", fake_llm))
    return await app_with(llm_providers=providers, environ=environ, **overrides)


async def open_case(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/v1/cases", json={"initial_message": "checkout returns 502"})
    return response.json()["case"]["case_id"]


async def exchange_rows(container, query_id: str) -> list[str]:
    async with container.database.read() as session:
        rows = await session.execute(
            select(CaseMessageRow.message_type).where(CaseMessageRow.query_id == query_id)
        )
        return sorted(rows.scalars())


async def test_synchronous_query_stays_under_its_round_trip_ceiling(app_with, fake_llm) -> None:
    http, container = await llm_app(app_with, fake_llm)
    case_id = await open_case(http)
    fake_llm.script(structured({"content": "warm", "response_type": "ANSWER"}))
    assert (await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "warm up"})).status_code == 201
    seen = record_transactions(container)
    fake_llm.script(structured({"content": "Check the upstream pool.", "response_type": "ANSWER"}))

    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "where do I start?"})

    assert response.status_code == 201 and response.json()["metadata"]["degraded"] is False
    selects = seen.selects_from()
    assert selects["cases"] <= 1, seen.done
    assert selects["case_messages"] <= 1, seen.done
    assert seen.writes() <= 2, seen.done
    assert seen.statements() <= MAX_STATEMENTS, seen.done


async def test_every_ending_is_recorded_by_close_query_once(app_with, fake_llm) -> None:
    http, container = await llm_app(
        app_with, fake_llm, job_concurrency=1, job_max_attempts=2, sync_query_budget_seconds=0.5
    )
    runner = container.query_runner
    closings: list[tuple[str, str, bool]] = []
    close_query = runner.close_query

    async def spy(row, outcome, events, **options):
        committed = await close_query(row, outcome, events, **options)
        closings.append((row.query_id, outcome.status, committed))
        return committed

    runner.close_query = spy
    case_id = await open_case(http)
    base = f"/api/v1/cases/{case_id}/queries"

    fake_llm.script(structured({"content": "answered", "response_type": "ANSWER"}))
    answered = (await http.post(base, json={"query": "success"})).json()["query_id"]

    fake_llm.script(HTTPError(400))
    degraded = (await http.post(base, json={"query": "llm refuses"})).json()
    assert degraded["metadata"]["degraded"] is True

    fake_llm.script(structured({"content": "late", "response_type": "ANSWER"}, delay=1.0))
    timed_out = await http.post(base, json={"query": "outlives the synchronous budget"})
    assert timed_out.status_code == 202
    handed_over = timed_out.json()["query_id"]

    fake_llm.script(Text("slow", delay=1.0))
    later = {"Prefer": "respond-async"}
    running = await http.post(base, json={"query": "keeps the worker busy"}, headers=later)
    queued = await http.post(base, json={"query": "cancel me"}, headers=later)
    assert (await http.delete(queued.headers["location"])).status_code == 204

    original_answer = container.agent_service.answer

    async def broken(turn, events=None, *, stream=False):
        raise RuntimeError("a bug")

    container.agent_service.answer = broken
    failed = await http.post(base, json={"query": "hits a bug"})
    assert failed.status_code == 503
    container.agent_service.answer = original_answer

    case = await container.case_service.get_case(case_id)
    lost = Turn(query_id=new_id("q"), case=case, caller=Caller("u", "u", "u"), query="died twice",
                session_id="s")
    row = runner.query_row(lost, claimed=True)
    row.attempts = 3
    async with container.database.write() as session:
        session.add(row)
    assert await runner.run_claimed(row) is None

    for _ in range(100):
        if len(closings) >= 7:
            break
        await asyncio.sleep(0.05)
    by_query = {query_id: status for query_id, status, committed in closings if committed}
    cancelled = queued.headers["location"].rsplit("/", 1)[1]
    assert by_query[answered] == "completed"
    assert by_query[degraded["query_id"]] == "completed"
    assert by_query[handed_over] == "completed"
    assert by_query[cancelled] == "cancelled"
    assert by_query[row.query_id] == "failed"
    assert "failed" in [status for query_id, status in by_query.items()
                        if query_id not in (answered, degraded["query_id"], handed_over, cancelled,
                                            row.query_id, running.json()["query_id"])]
    for query_id in by_query:
        assert await exchange_rows(container, query_id) == ["agent_response", "user_query"], query_id


async def test_an_answer_finishing_after_a_cancel_writes_nothing_but_the_cancelled_event(
    app_with, fake_llm
) -> None:
    """The cancel closes the query first; the answer that arrives later (before any lease renewal) finds
    it closed, stores nothing, and ends the query's event stream with `cancelled`."""
    http, container = await llm_app(app_with, fake_llm)
    case_id = await open_case(http)
    fake_llm.script(structured({"content": "too late", "response_type": "ANSWER"}, delay=1.0))
    accepted = await http.post(
        f"/api/v1/cases/{case_id}/queries", json={"query": "cancel me"}, headers={"Prefer": "respond-async"}
    )
    query_id = accepted.json()["query_id"]
    await asyncio.sleep(0.3)
    assert (await http.delete(accepted.headers["location"])).status_code == 204
    events = await http.get(f"{accepted.headers['location']}/events", timeout=10)
    names = [line.split(": ", 1)[1] for line in events.text.splitlines() if line.startswith("event: ")]
    assert names[-1] == "cancelled" and "complete" not in names
    assert await exchange_rows(container, query_id) == ["agent_response", "user_query"]
    polled = (await http.get(accepted.headers["location"])).json()
    assert polled["status"] == "cancelled"
