"""Response bodies of the v1 API, for the OpenAPI document that integrators (and the browser extension)
read; the routes build the bodies, these models describe them (`documented` wires one to a route)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from faultmaven.models.agent import AgentResponse
from faultmaven.models.case import Case
from faultmaven.models.team import Team, TeamMember, TeamRole
from faultmaven.services.cases.reports import CaseReport
from faultmaven.services.evidence.models import EvidenceItem
from faultmaven.services.knowledge.models import DocumentType, KnowledgeDocument


class Open(BaseModel):
    """A body that may carry more fields than those listed (clients must ignore unknown fields)."""

    model_config = ConfigDict(extra="allow")


class ValidationItem(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Problem(Open):
    """RFC 9457 problem details: every error of the API, as `application/problem+json`."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code, e.g. CASE_NOT_FOUND")
    request_id: str | None = None
    errors: list[ValidationItem] | None = Field(default=None, description="Validation errors (400, 422)")


class HealthStatus(BaseModel):
    status: Literal["healthy"]


class Readiness(Open):
    status: Literal["ready", "not_ready"]
    database: dict[str, Any]
    llm: dict[str, Any]


class DetailedHealth(Readiness):
    version: str
    auth_mode: Literal["local", "token"]
    dev_login: bool
    queue: dict[str, Any]
    case_integration: dict[str, Any]


class UserOut(BaseModel):
    user_id: str
    username: str
    email: str | None
    display_name: str
    created_at: datetime
    is_dev_user: bool
    roles: list[str]


class AdminUserOut(UserOut):
    is_admin: bool
    disabled: bool
    has_password: bool


class TeamRef(BaseModel):
    team_id: str
    name: str
    role: TeamRole | None


class MeOut(UserOut):
    is_admin: bool
    teams: list[TeamRef]
    auth_mode: Literal["local", "token"]


class LoginViewState(BaseModel):
    session_id: str
    user: UserOut


class LoginOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"]
    expires_in: int = Field(description="Seconds until the token expires")
    session_id: str
    user: UserOut
    view_state: LoginViewState


class AuthMethods(BaseModel):
    """How a person may sign in to this server; a client shows only these."""

    auth_mode: Literal["local", "token"]
    password: bool = Field(description="POST /api/v1/auth/login with username and password")
    dev_login: bool = Field(description="POST /api/v1/auth/dev-login with a username only")
    api_token: bool = Field(description="A pasted personal access token (Authorization: Bearer)")
    sign_in_required: bool = Field(description="False in local mode: every request is the local user")


class TokenOut(BaseModel):
    token_id: str
    name: str
    created_at: datetime
    expires_at: datetime


class IssuedTokenOut(TokenOut):
    token: str = Field(description="The secret, shown in this response only")


class TeamOut(Team):
    members: list[TeamMember]


class TeamListItem(Team):
    role: TeamRole | None


class SessionOut(BaseModel):
    schema_version: str
    session_id: str
    user_id: str
    client_id: str | None
    status: str
    created_at: datetime
    expires_at: datetime
    last_activity: datetime
    session_type: str
    metadata: dict[str, Any]
    session_resumed: bool


class CaseEnvelope(BaseModel):
    schema_version: str
    case: Case


class TitleOut(BaseModel):
    schema_version: str
    title: str


class MessageOut(BaseModel):
    message_id: str
    role: str
    message_type: str
    content: str
    created_at: datetime
    query_id: str | None
    author_id: str | None
    metadata: dict[str, Any]


class MessagesPage(BaseModel):
    messages: list[MessageOut]
    total_count: int
    retrieved_count: int
    has_more: bool
    next_offset: int | None


class ReportOut(CaseReport):
    schema_version: str


class EvidenceOut(EvidenceItem):
    """An evidence item; `digest` only on `GET .../data/{data_id}`."""

    digest: dict[str, Any] | None = None


class UploadedEvidence(EvidenceOut):
    schema_version: str


class EvidenceLineOut(BaseModel):
    line_number: int
    text: str


class EvidenceLines(BaseModel):
    data_id: str
    case_id: str
    start: int
    end: int
    line_count: int
    processing_status: str
    lines: list[EvidenceLineOut]


class QueryAccepted(BaseModel):
    query_id: str
    status: Literal["processing"]


class QueryStatus(BaseModel):
    """A query's poll body: 202 while it runs, 200 once it is done (with `response` or `error`)."""

    query_id: str
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    response: AgentResponse | dict[str, Any] | None = None
    error: Any = None


class QuerySummary(BaseModel):
    query_id: str
    query: str
    status: str
    created_at: datetime
    completed_at: datetime | None


class DocumentsPage(BaseModel):
    documents: list[KnowledgeDocument]
    total_count: int
    limit: int
    offset: int


class HitMetadata(BaseModel):
    title: str
    document_type: DocumentType
    category: str | None
    tags: list[str]
    heading_path: Any = None


class SearchHitOut(BaseModel):
    document_id: str
    chunk_id: str
    content: str
    metadata: HitMetadata
    similarity_score: float


class SearchOut(BaseModel):
    query: str
    total_results: int
    results: list[SearchHitOut]


class DashboardFigures(Open):
    """The case-agent dashboard figures of the design document over the requested window."""


SSE_CONTENT = {
    "text/event-stream": {
        "schema": {"type": "string", "description": "Server-sent events: `id`, `event` and JSON `data`"}
    }
}


def documented(
    model: Any, status: int = 200, *, description: str = "Success", errors: dict[int, str] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Decorator arguments that document `model` as the body of `status` without changing what the
    route sends: the route keeps building its own JSON, so its wire format stays exactly as it was.
    `errors` adds the problem statuses peculiar to the route (the common ones are added for all)."""
    responses: dict[int, dict[str, Any]] = {status: {"model": model, "description": description}}
    for code, response in more.pop("responses", {}).items():
        responses[code] = {**responses.get(code, {}), **response}
    responses.update({code: {"description": text} for code, text in (errors or {}).items()})
    return {"response_model": None, "responses": responses, **more}



def _described(description: str, model: Any = None, **content: Any) -> dict[str, Any]:
    return {"description": description, **({"model": model} if model else {}), **content}


TEXT = {"schema": {"type": "string"}}
PROMETHEUS_TEXT = {200: _described("Prometheus text format", content={"text/plain": TEXT})}
REPORT_MARKDOWN = {200: {"content": {"text/markdown": TEXT}}}
NOT_READY = {503: _described("Not ready: see which dependency", Readiness)}
SESSION_RESUMED = {200: _described("An active session of this client resumed", SessionOut)}
MEMBER_UPDATED = {200: _described("Already a member: the role was set", TeamMember)}
QUERY_RUNNING = {202: _described("Still running: poll again after `Retry-After`", QueryStatus)}
QUERY_EVENTS = {200: _described("The query's events, resumable with `Last-Event-ID`", content=SSE_CONTENT)}
SUBMIT_RESPONSES = {
    200: _described("With `Accept: text/event-stream`: the answer as events", content=SSE_CONTENT),
    202: _described("With `Prefer: respond-async`: accepted; poll `Location`", QueryAccepted),
}
LOGIN_ERRORS = {
    401: "Wrong username or password (the same answer for an unknown user)",
    403: "The account is disabled",
    429: "Too many failed logins: the name is locked out until `Retry-After`",
}
RETIRED = {410: "The route is retired (FAULTMAVEN_DEPRECATED_ROUTES_RETIRED): use the successor in `Link`"}


def text_fields(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"type": "string"} for name in names}


def upload_body(form_fields: tuple[str, ...], json_schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` of a route that reads its own body: a multipart `file` with text fields, or JSON."""
    form = {"file": {"type": "string", "format": "binary"}, **text_fields(form_fields)}
    multipart = {"type": "object", "required": ["file"], "properties": form}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart},
                "application/json": {"schema": json_schema},
            },
        }
    }


DOCUMENT_BODY = upload_body(
    ("title", "document_type", "category", "tags", "source_url", "description", "scope", "case_id"),
    {"$ref": "#/components/schemas/DocumentInput"},
)
