"""Count SQL statements and transactions per synchronous query, in process, for whichever checkout's
`faultmaven` the running interpreter imports (bench_queries.py runs it with each checkout's `.venv`).

Prints one JSON object: statements, transactions and write transactions per query.
Usage: <checkout>/.venv/bin/python bench/_count_statements.py --database-url URL [--queries 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fakes"))

import httpx
from fake_llm import FakeLLMServer, Text
from sqlalchemy import event

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


async def count(database_url: str, queries: int) -> dict[str, float]:
    llm = FakeLLMServer(default=Text("Check the upstream pool first.")).start()
    os.environ.update(
        {
            "FAULTMAVEN_DATABASE_URL": database_url,
            "FAULTMAVEN_AUTH_MODE": "local",
            "FAULTMAVEN_RATE_LIMIT_QUERIES": "1000000/minute",
            "FAULTMAVEN_RATE_LIMIT_WRITES": "1000000/minute",
            "FAULTMAVEN_LLM_PROVIDERS": "primary=openai:fake-model",
            "FAULTMAVEN_LLM_PRIMARY_BASE_URL": llm.base_url,
            "FAULTMAVEN_LLM_PRIMARY_API_KEY": "x",
        }
    )
    from faultmaven.main import create_app

    app = create_app()
    statements: list[str] = []
    transactions: dict[int, list[str]] = {}
    finished: list[list[str]] = []
    try:
        async with app.router.lifespan_context(app):
            database = app.state.container.database
            for engine in {database.write_engine, database.read_engine}:
                sync = engine.sync_engine
                event.listen(sync, "begin", lambda conn: transactions.__setitem__(id(conn), []))
                event.listen(sync, "commit", lambda conn: finished.append(transactions.pop(id(conn), [])))
                event.listen(sync, "rollback", lambda conn: finished.append(transactions.pop(id(conn), [])))
                event.listen(
                    sync,
                    "before_cursor_execute",
                    lambda conn, cursor, sql, *rest: transactions.setdefault(id(conn), []).append(sql),
                )
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
                created = await http.post("/api/v1/cases", json={"title": "count"})
                case_id = created.json()["case"]["case_id"]
                await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "warm up"})
                finished.clear()
                for _ in range(queries):
                    response = await http.post(f"/api/v1/cases/{case_id}/queries", json={"query": "why?"})
                    assert response.status_code == 201, response.text
    finally:
        llm.stop()
    statements = [sql for transaction in finished for sql in transaction]
    writes = sum(any(_WRITE.match(sql) for sql in transaction) for transaction in finished)
    return {
        "statements_per_query": len(statements) / queries,
        "transactions_per_query": len(finished) / queries,
        "write_transactions_per_query": writes / queries,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(count(args.database_url, args.queries))))


if __name__ == "__main__":
    main()
