"""SQL for cases, their messages and their queries; every function runs inside the caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    and_,
    bindparam,
    delete,
    func,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from faultmaven.infrastructure.persistence import evidence_repository
from faultmaven.infrastructure.persistence import sharing_repository as sharing_repo
from faultmaven.infrastructure.persistence.bulk import insert_values
from faultmaven.infrastructure.persistence.database import Executor
from faultmaven.infrastructure.persistence.tables import CaseMessageRow, CaseRow, QueryRow, UserRow
from faultmaven.models.case import Case, CaseMessage, MessageType


@dataclass(frozen=True)
class CaseFilter:
    """`scope`: `owned` (the user's own), `shared` (shared with them or their teams), or `all`."""

    user_id: str
    now: datetime
    scope: str = "all"
    status: str | None = None
    priority: str | None = None
    text: str | None = None
    session_id: str | None = None


CaseValues = Row[Any]
"""A case read for reading only: `CaseRow`'s attributes, by the same names, without the ORM object."""


def case_from_row(row: CaseRow | CaseValues) -> Case:
    return Case(
        case_id=row.case_id,
        title=row.title,
        description=row.description,
        status=row.status,
        priority=row.priority,
        owner_id=row.owner_id,
        session_id=row.session_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_activity_at=row.last_activity_at,
        message_count=row.message_count,
        expires_at=row.expires_at,
        metadata=row.metadata_ or {},
    )


def message_from_row(row: CaseMessageRow) -> CaseMessage:
    return CaseMessage(
        message_id=row.message_id,
        case_id=row.case_id,
        session_id=row.session_id,
        message_type=MessageType(row.message_type),
        content=row.content,
        author_id=row.author_id,
        query_id=row.query_id,
        created_at=row.created_at,
        metadata=row.metadata_ or {},
    )


_CASES = CaseRow.__table__.c
"""The table's columns, for Core statements: an ORM attribute in a clause would make it an ORM statement."""


def _live(now: datetime | BindParameter[datetime]) -> ColumnElement[bool]:
    """A case past its retention is gone for every reader, even before the purge deletes it."""
    return _CASES.expires_at > now


def _visible_to(user_id: str, scope: str) -> ColumnElement[bool]:
    owned = CaseRow.owner_id == user_id
    shared = CaseRow.case_id.in_(sharing_repo.shared_case_ids(user_id))
    return {"owned": owned, "shared": and_(~owned, shared)}.get(scope, or_(owned, shared))


async def insert_case(session: AsyncSession, row: CaseRow) -> None:
    session.add(row)
    await session.flush()


_THE_LIVE_CASE = and_(_CASES.case_id == bindparam("case_id"), _live(bindparam("now")))
_CASE_VALUES = select(
    *(attribute.columns[0].label(attribute.key) for attribute in inspect(CaseRow).column_attrs)
).where(_THE_LIVE_CASE)
"""The case's columns as a plain row, each named as its `CaseRow` attribute (`metadata_`): a Core select, so
reading a case builds no ORM object. The query path's statements are built once like this one: building one
(and its cache key) costs more CPU than SQLite takes to run it. Values travel as bind parameters."""
_CASE_ROW_FOR_UPDATE = select(CaseRow).where(_THE_LIVE_CASE).with_for_update()


async def get_case(session: Executor, case_id: str, now: datetime) -> CaseValues | None:
    """The live case's values, to read (authorize, answer); `lock_case_row` to change it."""
    return (await session.execute(_CASE_VALUES, {"case_id": case_id, "now": now})).one_or_none()


async def lock_case_row(session: AsyncSession, case_id: str, now: datetime) -> CaseRow | None:
    """The live case's row, locked until the transaction ends (PostgreSQL; SQLite's writer holds its lock)."""
    parameters = {"case_id": case_id, "now": now}
    return (await session.execute(_CASE_ROW_FOR_UPDATE, parameters)).scalar_one_or_none()


def _filter_conditions(case_filter: CaseFilter) -> list[ColumnElement[bool]]:
    conditions = [_visible_to(case_filter.user_id, case_filter.scope), _live(case_filter.now)]
    if case_filter.status:
        conditions.append(CaseRow.status == case_filter.status)
    if case_filter.priority:
        conditions.append(CaseRow.priority == case_filter.priority)
    if case_filter.session_id:
        conditions.append(CaseRow.session_id == case_filter.session_id)
    if case_filter.text:
        needle = case_filter.text.lower()
        conditions.append(
            func.lower(CaseRow.title).contains(needle, autoescape=True)
            | func.lower(CaseRow.description).contains(needle, autoescape=True)
        )
    return conditions


async def list_cases(
    session: AsyncSession, case_filter: CaseFilter, limit: int, offset: int
) -> tuple[list[Case], int]:
    conditions = _filter_conditions(case_filter)
    total = (await session.execute(select(func.count()).select_from(CaseRow).where(*conditions))).scalar_one()
    rows = (
        await session.execute(
            select(CaseRow)
            .where(*conditions)
            .order_by(CaseRow.last_activity_at.desc(), CaseRow.case_id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return [case_from_row(row) for row in rows], total


async def delete_case(session: AsyncSession, case_id: str) -> bool:
    await session.execute(delete(CaseMessageRow).where(CaseMessageRow.case_id == case_id))
    await session.execute(delete(QueryRow).where(QueryRow.case_id == case_id))
    await evidence_repository.delete_case_evidence(session, case_id)
    result = await session.execute(delete(CaseRow).where(CaseRow.case_id == case_id))
    return bool(result.rowcount)


async def purge_expired(session: AsyncSession, now: datetime, batch: int = 500) -> int:
    """Delete up to `batch` expired cases with everything they hold; the caller repeats until 0."""
    expired = select(CaseRow.case_id).where(CaseRow.expires_at <= now).limit(batch)
    case_ids = list((await session.execute(expired)).scalars())
    for case_id in case_ids:
        await delete_case(session, case_id)
    return len(case_ids)


async def append_message(
    session: AsyncSession, message: CaseMessage, now: datetime, retention: timedelta
) -> CaseMessage | None:
    """Store one message after the case's last; None if the case is gone.

    A message of a query is stored once: a second append of the same query's user or agent message returns
    the first (a query re-run after its worker died must not duplicate what the user sees).
    """
    if message.query_id is not None:
        existing = await _query_message(session, message.query_id, message.message_type)
        if existing is not None:
            return existing
    appended = await append_messages(session, message.case_id, [message], now, retention)
    return None if appended is None else message.model_copy(update={"created_at": now})


@dataclass(frozen=True)
class Appended:
    """What appending to a case returned: its message count after, and (when asked) its mask table."""

    message_count: int
    mask_map: dict[str, str] | None = None


async def append_messages(
    session: AsyncSession,
    case_id: str,
    messages: list[CaseMessage],
    now: datetime,
    retention: timedelta,
    *,
    with_masks: bool = False,
) -> Appended | None:
    """Store `messages` in order after the case's last one and push its retention; None if the case is gone.
    `with_masks` also returns the case's mask table as it is under the case's row lock."""
    appended = await reserve_sequence(session, case_id, len(messages), now, retention, with_masks=with_masks)
    if appended is not None:
        await insert_messages(session, messages, appended.message_count - len(messages) + 1, now)
    return appended


_RESERVE = (
    update(CaseRow.__table__)
    .where(_CASES.case_id == bindparam("p_case_id"), _live(bindparam("p_now")))
    .values(
        message_count=_CASES.message_count + bindparam("p_count"),
        last_activity_at=bindparam("p_now", type_=_CASES.last_activity_at.type),
        updated_at=bindparam("p_now", type_=_CASES.updated_at.type),
        expires_at=bindparam("p_expires_at", type_=_CASES.expires_at.type),
    )
    .returning(_CASES.message_count)
)
"""A Core UPDATE of the table: the ORM's bulk-update path (session synchronisation) would cost more."""
_RESERVE_WITH_MASKS = _RESERVE.returning(_CASES.mask_map)


async def reserve_sequence(
    session: Executor,
    case_id: str,
    count: int,
    now: datetime,
    retention: timedelta,
    *,
    with_masks: bool = False,
) -> Appended | None:
    """Take the case's next `count` message numbers and push its retention; None if the case is gone.

    The single UPDATE ... RETURNING both locks the case row (PostgreSQL; SQLite's write lock is already
    held) and hands out the numbers, so concurrent appends from any number of processes get distinct,
    gap-free numbers and an exact count. `with_masks` also returns the case's mask table as it is under
    that lock, for a caller that merges entries into it in the same transaction.
    """
    statement = _RESERVE_WITH_MASKS if with_masks else _RESERVE
    parameters = {"p_case_id": case_id, "p_now": now, "p_count": count, "p_expires_at": now + retention}
    returned = (await session.execute(statement, parameters)).one_or_none()
    if returned is None:
        return None
    return Appended(returned[0], dict(returned[1] or {}) if with_masks else None)


async def insert_messages(
    session: Executor, messages: list[CaseMessage], first_seq: int, now: datetime
) -> None:
    """Insert `messages` with the numbers `reserve_sequence` handed out, from `first_seq` on."""
    values = [_message_values(message, first_seq + offset, now) for offset, message in enumerate(messages)]
    await insert_values(session, CaseMessageRow.__table__, values)


def _message_values(message: CaseMessage, seq: int, now: datetime) -> dict[str, Any]:
    """A message's row as column values (the column of `CaseMessageRow.metadata_` is `metadata`)."""
    return {
        "message_id": message.message_id,
        "case_id": message.case_id,
        "seq": seq,
        "session_id": message.session_id,
        "author_id": message.author_id,
        "message_type": message.message_type.value,
        "content": message.content,
        "query_id": message.query_id,
        "created_at": now,
        "metadata": message.metadata,
    }


async def _query_message(session: AsyncSession, query_id: str,
                         message_type: MessageType) -> CaseMessage | None:
    """A query's user or agent message, if stored already: a re-run after a crash must not add it twice."""
    row = (
        await session.execute(
            select(CaseMessageRow).where(CaseMessageRow.query_id == query_id,
                                         CaseMessageRow.message_type == message_type.value)
        )
    ).scalar_one_or_none()
    return message_from_row(row) if row is not None else None


async def list_messages(session: AsyncSession, case_id: str, limit: int, offset: int) -> list[CaseMessage]:
    rows = (
        await session.execute(
            select(CaseMessageRow)
            .where(CaseMessageRow.case_id == case_id)
            .order_by(CaseMessageRow.seq)
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    return [message_from_row(row) for row in rows]


@dataclass(frozen=True)
class TranscriptLine:
    message_type: MessageType
    content: str
    author_name: str | None
    degraded: bool = False
    """An answer the server built without the model (it is not the model's own earlier turn)."""


_MESSAGES = CaseMessageRow.__table__.c
_RECENT_TRANSCRIPT = (
    select(_MESSAGES.message_type, _MESSAGES.content, UserRow.__table__.c.username, _MESSAGES["metadata"])
    .outerjoin(UserRow.__table__, UserRow.__table__.c.user_id == _MESSAGES.author_id)
    .where(_MESSAGES.case_id == bindparam("case_id"))
    .order_by(_MESSAGES.seq.desc())
    .limit(bindparam("limit"))
)
"""A Core select of the tables' columns: no ORM compilation on the query path."""


async def recent_transcript(session: Executor, case_id: str, limit: int) -> list[TranscriptLine]:
    """The last `limit` messages with their authors' usernames, oldest first, in one statement."""
    rows = await session.execute(_RECENT_TRANSCRIPT, {"case_id": case_id, "limit": limit})
    return [
        TranscriptLine(MessageType(kind), content, name, bool((metadata or {}).get("degraded")))
        for kind, content, name, metadata in reversed(rows.all())
    ]


async def user_texts(session: AsyncSession, case_id: str, limit: int = 50) -> list[str]:
    rows = await session.execute(
        select(CaseMessageRow.content)
        .where(CaseMessageRow.case_id == case_id, CaseMessageRow.message_type == MessageType.USER_QUERY.value)
        .order_by(CaseMessageRow.seq)
        .limit(limit)
    )
    return list(rows.scalars())


async def update_case_fields(session: Executor, case_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(CaseRow).where(CaseRow.case_id == case_id).values(**values))
