"""The request and response of one agent turn (schema 3.1.0 of the contract)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from faultmaven.models.case import Case

SCHEMA_VERSION = "3.1.0"


class ResponseType(StrEnum):
    ANSWER = "ANSWER"
    PLAN_PROPOSAL = "PLAN_PROPOSAL"
    CLARIFICATION_REQUEST = "CLARIFICATION_REQUEST"
    CONFIRMATION_REQUEST = "CONFIRMATION_REQUEST"
    SOLUTION_READY = "SOLUTION_READY"
    NEEDS_MORE_DATA = "NEEDS_MORE_DATA"
    ESCALATION_REQUIRED = "ESCALATION_REQUIRED"


SourceType = Literal[
    "knowledge_base",
    "log_file",
    "log_analysis",
    "user_provided",
    "previous_case",
    "documentation",
    "web_search",
]
QueryPriority = Literal["low", "normal", "medium", "high", "critical"]


class QueryRequest(BaseModel):
    query: str
    session_id: str | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    priority: QueryPriority = "medium"


class Source(BaseModel):
    type: SourceType
    content: str
    confidence: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class PlanStep(BaseModel):
    description: str


class EvidenceGuidance(BaseModel):
    commands: list[str] = Field(default_factory=list)
    file_locations: list[str] = Field(default_factory=list)


class EvidenceRequest(BaseModel):
    request_id: str
    label: str
    description: str
    category: str = "logs"
    guidance: EvidenceGuidance = Field(default_factory=EvidenceGuidance)


class ViewState(BaseModel):
    session_id: str | None = None
    user: dict[str, Any] | None = None
    active_case: Case | None = None
    show_data_upload: bool = True


class AgentResponse(BaseModel):
    schema_version: str = SCHEMA_VERSION
    content: str
    response_type: ResponseType
    session_id: str | None = None
    case_id: str | None = None
    query_id: str | None = None
    confidence_score: float | None = None
    sources: list[Source] = Field(default_factory=list)
    plan: list[PlanStep] | None = None
    evidence_requests: list[EvidenceRequest] = Field(default_factory=list)
    suggested_actions: list[str] | None = None
    next_action_hint: str | None = None
    view_state: ViewState | Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
