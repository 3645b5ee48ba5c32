"""What the evidence service hands out: items, matched lines, staged uploads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, BinaryIO

from pydantic import BaseModel


class ProcessingStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class EvidenceItem(BaseModel):
    data_id: str
    case_id: str
    filename: str
    description: str
    data_type: str
    type_confidence: float
    encoding: str
    file_size: int
    line_count: int
    processing_status: ProcessingStatus
    uploaded_at: datetime
    completed_at: datetime | None = None
    summary: str
    error: str | None = None
    digest: dict[str, Any] | None = None

    def to_json(self, *, with_digest: bool = False) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude=None if with_digest else {"digest"})


@dataclass(frozen=True)
class EvidenceLine:
    data_id: str
    line_number: int
    text: str


@dataclass
class StagedUpload:
    """An upload already on disk (or in a small spooled buffer); the service closes `file` when done."""

    file: BinaryIO
    filename: str
    description: str = ""
    session_id: str | None = None
