"""The knowledge base's public shapes: documents, their inputs, and search hits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from faultmaven.models.validation import NulFreeModel, web_url

MAX_TITLE = 300
MAX_TAGS = 50


class DocumentType(StrEnum):
    PLAYBOOK = "playbook"
    TROUBLESHOOTING_GUIDE = "troubleshooting_guide"
    REFERENCE = "reference"
    HOW_TO = "how_to"
    PREVIOUS_CASE = "previous_case"


class DocumentScope(StrEnum):
    GLOBAL = "global"
    PERSONAL = "personal"
    CASE = "case"


class DocumentStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


def normalize_tags(value: object) -> list[str]:
    """Tags arrive as a list or a comma-separated string; stored lower-case, trimmed, distinct."""
    raw = value.split(",") if isinstance(value, str) else list(value or [])  # type: ignore[call-overload]
    tags: list[str] = []
    for tag in raw:
        cleaned = str(tag).strip().lower()[:100]
        if cleaned and cleaned not in tags:
            tags.append(cleaned)
    return tags[:MAX_TAGS]


class KnowledgeDocument(BaseModel):
    document_id: str
    title: str
    content: str
    document_type: DocumentType
    category: str | None = None
    tags: list[str] = Field(default_factory=list)
    source_url: str | None = None
    description: str | None = None
    status: DocumentStatus = DocumentStatus.ACTIVE
    scope: DocumentScope
    owner_id: str | None = None
    case_id: str | None = None
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class DocumentInput(NulFreeModel):
    """A new document as the service receives it, whatever door (route, CLI, starter set) it came by."""

    title: str = Field(min_length=1, max_length=MAX_TITLE)
    content: str = Field(min_length=1)
    document_type: DocumentType = DocumentType.REFERENCE
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list)
    source_url: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=10_000)
    scope: DocumentScope | None = None
    case_id: str | None = Field(default=None, max_length=64)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return normalize_tags(value)

    @field_validator("source_url")
    @classmethod
    def _source_url(cls, value: str | None) -> str | None:
        return web_url(value)


class DocumentUpdate(NulFreeModel):
    """Fields a PUT may change; absent fields keep their value."""

    title: str | None = Field(default=None, min_length=1, max_length=MAX_TITLE)
    content: str | None = Field(default=None, min_length=1)
    document_type: DocumentType | None = None
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = None
    source_url: str | None = Field(default=None, max_length=2000)
    description: str | None = Field(default=None, max_length=10_000)
    status: DocumentStatus | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return None if value is None else normalize_tags(value)

    @field_validator("source_url")
    @classmethod
    def _source_url(cls, value: str | None) -> str | None:
        return web_url(value)


class SearchFilters(BaseModel):
    document_type: DocumentType | None = None
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: object) -> object:
        return normalize_tags(value)


class SearchHit(BaseModel):
    document_id: str
    chunk_id: str
    content: str
    heading_path: str
    title: str
    document_type: DocumentType
    category: str | None
    tags: list[str]
    similarity_score: float
