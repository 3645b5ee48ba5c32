"""`Turn`: one question asked of one case, as the query pipeline carries it from acceptance to the answer.

It is made once, when the query is accepted (the case as read by the authorization check, who asks, what),
and passed down: route → query service → runner → agent. A query that runs later, or in another process,
is rebuilt from its stored record (`Turn.record`) and the case read when the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faultmaven.models.agent import QueryPriority
from faultmaven.models.case import Case


@dataclass(frozen=True)
class Caller:
    """Who asks: the user's id and names, shown with the answer and in the conversation."""

    user_id: str
    username: str
    display_name: str

    def as_dict(self) -> dict[str, str]:
        return {"user_id": self.user_id, "username": self.username, "display_name": self.display_name}


@dataclass
class Turn:
    query_id: str
    case: Case
    caller: Caller
    query: str
    session_id: str
    priority: QueryPriority = "medium"
    client_context: dict[str, Any] = field(default_factory=dict)
    """What the client sent as `context` (kept with the query, never trusted for identity)."""
    mask_map: dict[str, str] = field(default_factory=dict)
    """The case's mask table as read with the case, extended in place by this turn's masking; what was added
    is saved when the turn closes (`masks_added`)."""

    def __post_init__(self) -> None:
        self._loaded_masks = frozenset(self.mask_map)

    @property
    def case_id(self) -> str:
        return self.case.case_id

    def masks_added(self) -> dict[str, str]:
        """Entries this turn's masking created (placeholder -> original)."""
        return {key: value for key, value in self.mask_map.items() if key not in self._loaded_masks}

    def record(self) -> dict[str, Any]:
        """What the query row keeps to run this turn later (the case is read again then)."""
        return {
            "query": self.query,
            "session_id": self.session_id,
            "priority": self.priority,
            "context": self.client_context,
            "caller": self.caller.as_dict(),
        }

    @classmethod
    def from_record(
        cls, query_id: str, case: Case, mask_map: dict[str, str], user_id: str, record: dict[str, Any]
    ) -> Turn:
        caller = record.get("caller") or {}
        return cls(
            query_id=query_id,
            case=case,
            caller=Caller(
                user_id=user_id,
                username=caller.get("username", user_id),
                display_name=caller.get("display_name") or caller.get("username", user_id),
            ),
            query=record["query"],
            session_id=record.get("session_id") or f"case_session_{case.case_id}",
            priority=record.get("priority", "medium"),
            client_context=record.get("context") or {},
            mask_map=mask_map,
        )
