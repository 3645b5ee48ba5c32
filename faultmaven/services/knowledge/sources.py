"""Documents from files: the packaged starter runbooks and Markdown files given to `faultmaven kb ingest`.

A file may open with a small front matter block (`---`, `key: value` lines, `---`) giving its title,
document_type, category, tags, source_url and description; otherwise the first `# heading` is the title.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from faultmaven.services.errors import PayloadTooLargeError, UnsupportedMediaError
from faultmaven.services.knowledge.chunking import CHUNKING_VERSION
from faultmaven.services.knowledge.models import DocumentInput, DocumentScope, DocumentType
from faultmaven.services.knowledge.service import MAX_DOCUMENT_BYTES, SourceDocument

TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
STARTER_PREFIX = "starter:"
_FRONT_MATTER_KEYS = frozenset({"title", "document_type", "category", "tags", "source_url", "description"})


def decode_text(data: bytes) -> str:
    """UTF-8 text or a 415: binary files (NUL bytes, invalid UTF-8) have no place in a text index."""
    if b"\x00" in data[:8192]:
        raise UnsupportedMediaError("Only text documents (Markdown or plain text) are accepted")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnsupportedMediaError("The document is not UTF-8 text (Markdown or plain text)") from error


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            fields = dict(_front_matter_field(entry) for entry in lines[1:index] if ":" in entry)
            return {k: v for k, v in fields.items() if k in _FRONT_MATTER_KEYS and v}, "\n".join(
                lines[index + 1 :]
            ).lstrip("\n")
    return {}, text


def _front_matter_field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip().lower(), value.strip().strip("[]").strip().strip("\"'")


def first_heading(markdown: str) -> str | None:
    for line in markdown.splitlines():
        if line.startswith("# "):
            return line[2:].strip() or None
    return None


def document_from_text(
    text: str, fallback_title: str, *, document_type: DocumentType | None = None
) -> DocumentInput:
    fields, body = split_front_matter(text)
    title = fields.pop("title", None) or first_heading(body) or fallback_title
    kind = document_type or DocumentType(fields.pop("document_type", DocumentType.REFERENCE.value))
    fields.pop("document_type", None)
    return DocumentInput(title=title[:300], content=body, document_type=kind, **fields)  # type: ignore[arg-type]


def _source_hash(data: bytes, document_type: DocumentType | None) -> str:
    """Covers the bytes, the type override and the chunker's version: any change re-chunks the document."""
    return hashlib.sha256(data + f"\0{document_type or ''}\0{CHUNKING_VERSION}".encode()).hexdigest()


def starter_documents() -> list[SourceDocument]:
    """The packaged runbooks as global documents keyed `starter:<file stem>`."""
    folder = resources.files("faultmaven.knowledge").joinpath("runbooks")
    documents = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".md"):
            continue
        data = entry.read_bytes()
        stem = entry.name.removesuffix(".md")
        documents.append(
            SourceDocument(
                source_key=f"{STARTER_PREFIX}{stem}",
                document=document_from_text(decode_text(data), stem.replace("-", " ").capitalize()),
                source_hash=_source_hash(data, None),
            )
        )
    return documents


def text_files(path: Path) -> Iterator[Path]:
    """`path` itself, or every Markdown/text file below it (hidden folders skipped), in a stable order."""
    if path.is_file():
        yield path
        return
    for candidate in sorted(path.rglob("*")):
        relative = candidate.relative_to(path).parts
        if (
            candidate.is_file()
            and candidate.suffix.lower() in TEXT_SUFFIXES
            and not any(part.startswith(".") for part in relative)
        ):
            yield candidate


def path_document(file: Path, *, document_type: DocumentType | None, owner_id: str | None) -> SourceDocument:
    """One file as a document keyed by its absolute path and owner, so ingesting it again updates it."""
    resolved = file.resolve()
    size = resolved.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise PayloadTooLargeError(f"{file} is {size} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    data = resolved.read_bytes()
    document = document_from_text(decode_text(data), resolved.stem, document_type=document_type)
    document.metadata["source_path"] = str(resolved)
    path_digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:40]
    return SourceDocument(
        source_key=f"path:{owner_id or 'global'}:{path_digest}",
        document=document,
        source_hash=_source_hash(data, document_type),
        scope=DocumentScope.PERSONAL if owner_id else DocumentScope.GLOBAL,
        owner_id=owner_id,
    )
