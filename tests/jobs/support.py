"""Helpers shared by the job tests."""

from __future__ import annotations

import asyncio
import json

import httpx


async def poll_query(client: httpx.AsyncClient, location: str, within: float = 30) -> dict:
    """Poll a query until it is final; while it runs the route must answer 202 with its status."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        response = await client.get(location)
        if response.status_code == 200:
            return response.json()
        assert response.status_code == 202, response.text
        assert response.json()["status"] in ("pending", "processing")
        await asyncio.sleep(0.05)
    raise AssertionError("query did not finish")


def parse_sse(raw: str) -> list[tuple[int, str, dict]]:
    """(id, event, data) of each server-sent event."""
    events = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return events
