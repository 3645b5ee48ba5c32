"""Domain models; the design document imports `QueryRequest`, `AgentResponse`, `ResponseType` from here."""

from faultmaven.models.agent import (
    SCHEMA_VERSION,
    AgentResponse,
    EvidenceRequest,
    PlanStep,
    QueryRequest,
    ResponseType,
    Source,
    ViewState,
)
from faultmaven.models.case import Case, CaseMessage, CasePriority, CaseStatus, MessageType

__all__ = [
    "SCHEMA_VERSION",
    "AgentResponse",
    "Case",
    "CaseMessage",
    "CasePriority",
    "CaseStatus",
    "EvidenceRequest",
    "MessageType",
    "PlanStep",
    "QueryRequest",
    "ResponseType",
    "Source",
    "ViewState",
]
