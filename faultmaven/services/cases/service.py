"""Cases and their conversations: lifecycle, ownership, retention. Implements `ICaseService`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field

from faultmaven.infrastructure.persistence import case_repository as repo
from faultmaven.infrastructure.persistence import query_repository as query_repo
from faultmaven.infrastructure.persistence import sharing_repository as sharing_repo
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.tables import CaseRow
from faultmaven.models.case import (
    ALLOWED_TRANSITIONS,
    MESSAGE_ROLES,
    Case,
    CaseMessage,
    CasePriority,
    CaseStatus,
    MessageType,
    new_id,
    utcnow,
)
from faultmaven.models.interfaces import ISanitizer
from faultmaven.models.sharing import CaseRole
from faultmaven.services.errors import ConflictError, ForbiddenError, NotFoundError

TITLE_MIN_WORDS = 3
_WORD = re.compile(r"[A-Za-z0-9][\w.\-/:]*")
_STOPWORDS = frozenset(
    "a an the is are was were be been am i we you it its my our your this that these those and or but of to "
    "in on at for with by from as why what how when where who which do does did can could should would "
    "please help me us getting got get have has had there here any some just not no yes".split()
)


class CaseCreate(BaseModel):
    title: str | None = None
    description: str = ""
    priority: CasePriority = CasePriority.MEDIUM
    session_id: str | None = None
    initial_message: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class CaseUpdate(BaseModel):
    title: str | None = None
    description: str | None = None
    status: CaseStatus | None = None
    priority: CasePriority | None = None


def _first_words(text: str, max_words: int) -> str:
    words = text.split()
    title = " ".join(words[:max_words])
    return title if len(words) <= max_words else f"{title}…"


def fallback_title(texts: list[str], max_words: int) -> str | None:
    """A title from the user's own words: the first message with enough meaningful words, trimmed."""
    for text in texts:
        meaningful = [word for word in _WORD.findall(text) if word.lower() not in _STOPWORDS]
        if len(meaningful) >= TITLE_MIN_WORDS:
            first_line = next(line for line in text.strip().splitlines() if line.strip())
            return _first_words(first_line.strip(), max_words)[:200]
    return None


class CaseService:
    """Owner-scoped case operations for the API, plus the unscoped `ICaseService` calls for the agent."""

    def __init__(self, database: Database, retention_days: int):
        self._db = database
        self._retention = timedelta(days=retention_days)

    @property
    def retention(self) -> timedelta:
        """How long a case lives after its last activity."""
        return self._retention

    async def create_case(self, owner_id: str, data: CaseCreate) -> Case:
        now = utcnow()
        title = (data.title or "").strip()
        title_source = "user" if title else "generated"
        if not title:
            title = fallback_title([data.initial_message or "", data.description], 8) or (
                f"Case {now:%Y-%m-%d %H:%M} UTC"
            )
        row = CaseRow(
            case_id=new_id("case"),
            owner_id=owner_id,
            session_id=data.session_id,
            title=title,
            title_source=title_source,
            description=data.description,
            status=CaseStatus.ACTIVE.value,
            priority=data.priority.value,
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            expires_at=now + self._retention,
            message_count=0,
            metadata_=data.metadata,
            mask_map={},
        )
        async with self._db.write() as session:
            await repo.insert_case(session, row)
            if data.initial_message and data.initial_message.strip():
                message = CaseMessage(
                    case_id=row.case_id,
                    session_id=data.session_id,
                    author_id=owner_id,
                    message_type=MessageType.USER_QUERY,
                    content=data.initial_message,
                    metadata={"source": "initial_message"},
                )
                await repo.append_message(session, message, now, self._retention)
                await session.refresh(row)
            return repo.case_from_row(row)

    async def authorize(self, user_id: str, case_id: str, needed: CaseRole = CaseRole.VIEWER) -> Case:
        """The case, if the user's role on it allows `needed`.

        Not a participant: 404, never revealing that the case exists. A participant whose role is too low
        knows the case already: 403, naming the role it takes.
        """
        return repo.case_from_row(await self._authorized_case(user_id, case_id, needed))

    async def authorize_turn(self, user_id: str, case_id: str) -> tuple[Case, dict[str, str]]:
        """The case and its mask table, if the user may ask questions in it (a query reads its case once)."""
        row = await self._authorized_case(user_id, case_id, CaseRole.COLLABORATOR)
        return repo.case_from_row(row), dict(row.mask_map or {})

    async def _authorized_case(self, user_id: str, case_id: str, needed: CaseRole) -> repo.CaseValues:
        """The case's values and the caller's role in two Core reads (no snapshot needed across them)."""
        async with self._db.read_connection() as connection:
            row = await repo.get_case(connection, case_id, utcnow())
            role = await sharing_repo.role_on(connection, row, user_id) if row is not None else None
        _require(role, needed, case_id)
        assert row is not None
        return row

    async def turn_case(self, case_id: str) -> tuple[Case, dict[str, str]] | None:
        """The case and its mask table for a query accepted earlier (its caller was authorized then)."""
        async with self._db.read() as session:
            row = await repo.get_case(session, case_id, utcnow())
        return (repo.case_from_row(row), dict(row.mask_map or {})) if row is not None else None

    async def role_on(self, user_id: str, case_id: str) -> CaseRole | None:
        async with self._db.read() as session:
            row = await repo.get_case(session, case_id, utcnow())
            return await sharing_repo.role_on(session, row, user_id) if row is not None else None

    async def list_cases(
        self,
        user_id: str,
        *,
        scope: str = "all",
        status: str | None = None,
        priority: str | None = None,
        text: str | None = None,
        session_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Case], int]:
        case_filter = repo.CaseFilter(
            user_id=user_id,
            scope=scope,
            now=utcnow(),
            status=status,
            priority=priority,
            text=text,
            session_id=session_id,
        )
        async with self._db.read() as session:
            return await repo.list_cases(session, case_filter, limit, offset)

    async def update_case(self, user_id: str, case_id: str, changes: CaseUpdate) -> Case:
        now = utcnow()
        async with self._db.write() as session:
            row = await repo.lock_case_row(session, case_id, now)
            role = await sharing_repo.role_on(session, row, user_id) if row is not None else None
            _require(role, CaseRole.COLLABORATOR, case_id)
            assert row is not None
            values = self._changed_values(row, changes)
            if values:
                values.update(updated_at=now, last_activity_at=now, expires_at=now + self._retention)
                await repo.update_case_fields(session, case_id, values)
                await session.refresh(row)
            return repo.case_from_row(row)

    @staticmethod
    def _changed_values(row: CaseRow, changes: CaseUpdate) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if changes.title is not None and changes.title.strip():
            values.update(title=changes.title.strip(), title_source="user")
        if changes.description is not None:
            values["description"] = changes.description
        if changes.priority is not None:
            values["priority"] = changes.priority.value
        if changes.status is not None and changes.status.value != row.status:
            current = CaseStatus(row.status)
            allowed = ALLOWED_TRANSITIONS[current]
            if changes.status not in allowed:
                raise ConflictError(
                    f"A case cannot go from '{current.value}' to '{changes.status.value}'",
                    code="INVALID_STATUS_TRANSITION",
                    current_status=current.value,
                    allowed_transitions=sorted(status.value for status in allowed),
                )
            values["status"] = changes.status.value
        return values

    async def delete_case(self, user_id: str, case_id: str) -> bool:
        """Owners delete; a participant with a lower role gets 403. Idempotent: a missing case, or one
        the user cannot see (which must not be revealed), is already "deleted" for them (False)."""
        async with self._db.write() as session:
            row = await repo.lock_case_row(session, case_id, utcnow())
            role = await sharing_repo.role_on(session, row, user_id) if row is not None else None
            if role is None:
                return False
            _require(role, CaseRole.OWNER, case_id)
            await repo.delete_case(session, case_id)
            return True

    async def list_messages(
        self, owner_id: str, case_id: str, limit: int, offset: int
    ) -> tuple[list[CaseMessage], int]:
        case = await self.authorize(owner_id, case_id)
        async with self._db.read() as session:
            messages = await repo.list_messages(session, case_id, limit, offset)
        return messages, case.message_count

    async def naming_inputs(self, owner_id: str, case_id: str) -> tuple[Case, str, list[str]]:
        """What naming a case needs: the case, where its title came from, and its users' own words."""
        case = await self.authorize(owner_id, case_id, CaseRole.COLLABORATOR)
        async with self._db.read() as session:
            row = await repo.get_case(session, case_id, utcnow())
            texts = await repo.user_texts(session, case_id)
        title_source = row.title_source if row is not None else "generated"
        return case, title_source, [case.description, *texts] if case.description else texts

    async def set_generated_title(self, case_id: str, title: str) -> None:
        async with self._db.write() as session:
            await repo.update_case_fields(session, case_id, {"title": title, "updated_at": utcnow()})

    async def report_inputs(self, case_id: str,
                            limit: int = 200) -> tuple[list[CaseMessage], list[dict[str, Any]]]:
        """A case's conversation and its answered queries' responses: what its report is made from."""
        async with self._db.read() as session:
            messages = await repo.list_messages(session, case_id, limit, 0)
            responses = await query_repo.completed_responses(session, case_id, limit)
        return messages, responses

    async def purge_expired(self) -> int:
        purged = 0
        while True:
            async with self._db.write() as session:
                batch = await repo.purge_expired(session, utcnow())
            purged += batch
            if batch == 0:
                return purged

    async def get_case(self, case_id: str) -> Case | None:
        async with self._db.read() as session:
            row = await repo.get_case(session, case_id, utcnow())
        return repo.case_from_row(row) if row else None

    async def get_case_conversation_context(self, case_id: str, limit: int = 10) -> str:
        """The last `limit` messages as a transcript the LLM can read, oldest first; each user message
        names who asked (a shared case has several participants). Degraded answers (built by the server
        without the model) are left out: the model must not take them for its own earlier turns."""
        async with self._db.read_connection() as connection:
            lines = await repo.recent_transcript(connection, case_id, limit)
        transcript = [line for line in lines if not line.degraded]
        if not transcript:
            return ""
        lines = [f"{_speaker(line)}: {line.content}" for line in transcript]
        return "Previous conversation in this case:\n" + "\n".join(lines)

    async def add_message_to_case(self, case_id: str, message: CaseMessage) -> CaseMessage:
        async with self._db.write() as session:
            stored = await repo.append_message(session, message, utcnow(), self._retention)
        if stored is None:
            raise NotFoundError(f"Case {case_id} not found", code="CASE_NOT_FOUND")
        return stored

    async def mask_for_llm(self, case_id: str, texts: list[str], sanitizer: ISanitizer) -> list[str]:
        """Sanitize texts with the case's own reversible mask table, extended and saved atomically.

        The case row stays locked while the table grows, so two concurrent queries never hand the same
        placeholder to two different values.
        """
        async with self._db.write() as session:
            row = await repo.lock_case_row(session, case_id, utcnow())
            mask_map = dict(row.mask_map or {}) if row else {}
            masked = [sanitizer.sanitize(text, mask_map) for text in texts]
            if row is not None and mask_map != (row.mask_map or {}):
                await repo.update_case_fields(session, case_id, {"mask_map": mask_map})
        return masked

    async def mask_map(self, case_id: str) -> dict[str, str]:
        async with self._db.read() as session:
            row = await repo.get_case(session, case_id, utcnow())
        return dict(row.mask_map or {}) if row else {}


def _speaker(line: repo.TranscriptLine) -> str:
    role = MESSAGE_ROLES[line.message_type]
    named = line.author_name and role == "user"
    return f"{role.capitalize()} ({line.author_name})" if named else role.capitalize()


def _require(role: CaseRole | None, needed: CaseRole, case_id: str) -> None:
    if role is None:
        raise NotFoundError(f"Case {case_id} not found", code="CASE_NOT_FOUND")
    if not role.allows(needed):
        raise ForbiddenError(f"Your role on this case ({role.value}) does not allow this; it takes "
                             f"{needed.value}", code="CASE_ROLE_REQUIRED", role=role.value,
                             required_role=needed.value)
