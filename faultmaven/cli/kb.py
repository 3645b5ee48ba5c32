"""`faultmaven kb ingest`: a file or folder of Markdown/text files upserted as knowledge documents.

The CLI side of ingestion: it drives the container's services and words the outcome as output lines;
reading a file into a document is `services/knowledge/sources.py`'s job.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from faultmaven.container import Container
from faultmaven.services.errors import ServiceError
from faultmaven.services.knowledge.models import DocumentType
from faultmaven.services.knowledge.service import SourceDocument
from faultmaven.services.knowledge.sources import path_document, text_files


def _reason(error: Exception) -> str:
    if isinstance(error, ServiceError):
        return error.detail
    if isinstance(error, ValidationError):
        return "; ".join(f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in error.errors())
    return str(error)


async def ingest_path(
    container: Container, path: Path, document_type: str | None, username: str | None
) -> tuple[list[str], bool]:
    """`faultmaven kb ingest`: one output line per file and a summary; True when some file failed."""
    try:
        kind = DocumentType(document_type) if document_type else None
        owner_id = (await container.auth_service.get_user(username)).user_id if username else None
    except (ValueError, ServiceError) as error:
        return [f"error: {_reason(error)}"], True
    failures: list[str] = []
    files_by_key: dict[str, Path] = {}
    documents: list[SourceDocument] = []
    for file in text_files(path):
        try:
            document = path_document(file, document_type=kind, owner_id=owner_id)
        except (ServiceError, ValidationError, ValueError, OSError) as error:
            failures.append(f"failed {file}: {_reason(error)}")
            continue
        files_by_key[document.source_key] = file
        documents.append(document)
    report = await container.knowledge_service.upsert_sources(documents, revive_deleted=True)
    lines = [
        f"{outcome} {files_by_key[key]}"
        for outcome in ("created", "updated", "unchanged")
        for key in getattr(report, outcome)
    ]
    summary = (
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(failures)} failed"
    )
    return [*lines, *failures, summary], bool(failures)
