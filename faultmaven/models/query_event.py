"""A query's event as its followers see it (server-sent events), apart from the row that stores it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueryEvent:
    """One event of a query: its number (the SSE id, resumed with `Last-Event-ID`), name and data."""

    seq: int
    event: str
    data: dict[str, Any]
