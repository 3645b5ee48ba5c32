"""Reading an evidence upload from the request stream: multipart (even mislabelled) or pasted JSON.

Multipart goes through Starlette's streaming parser, which spools a file part to a temporary file once
it passes 1 MB, so the upload is never whole in memory. The browser extension labels its multipart
uploads `Content-Type: application/json`; a body whose first line is a multipart boundary (`--xyz\\r\\n`)
is parsed as multipart whatever its label says. Pasted JSON `{content, ...}` is parsed in memory, so
it has its own smaller cap.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from tempfile import SpooledTemporaryFile

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from faultmaven.services.errors import (
    PayloadTooLargeError,
    ServiceError,
    UnprocessableError,
    UnsupportedMediaError,
)
from faultmaven.services.evidence import StagedUpload

MULTIPART_OVERHEAD_BYTES = 64 * 1024
PASTE_MAX_BYTES = 10 * 1024 * 1024
SPOOL_MAX_BYTES = 1024 * 1024
SNIFF_BYTES = 80
DEFAULT_FILENAME = "pasted.txt"
_BOUNDARY_LINE = re.compile(rb"^--([0-9A-Za-z'()+_,\-./:=?]{1,70})\r\n")


class PastedEvidence(BaseModel):
    content: str = Field(min_length=1)
    filename: str | None = Field(default=None, max_length=255)
    description: str | None = Field(default=None, max_length=10_000)
    session_id: str | None = Field(default=None, max_length=64)


def _too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(f"The request body exceeds the limit of {limit} bytes", limit_bytes=limit)


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        yield chunk


async def _peek(stream: AsyncIterator[bytes]) -> tuple[bytes, AsyncIterator[bytes]]:
    """The first bytes (enough for a boundary line) and a stream that still yields everything."""
    head = b""
    while len(head) < SNIFF_BYTES and b"\r\n" not in head:
        chunk = await anext(stream, None)
        if chunk is None:
            break
        head += chunk

    async def replay() -> AsyncIterator[bytes]:
        yield head
        async for chunk in stream:
            yield chunk

    return head, replay()


def _spooled_text(content: str) -> SpooledTemporaryFile[bytes]:
    spool: SpooledTemporaryFile[bytes] = SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES)  # noqa: SIM115 (caller closes)
    spool.write(content.encode("utf-8"))
    spool.seek(0)
    return spool


def _form_text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value.strip() else None


async def _parse_form(content_type: str, stream: AsyncIterator[bytes]) -> FormData:
    parser = MultiPartParser(Headers({"content-type": content_type}), stream, max_files=1, max_fields=10)
    try:
        return await parser.parse()
    except MultiPartException as error:
        detail = f"The multipart body is invalid: {error.message}"
        raise ServiceError(detail, code="INVALID_MULTIPART") from error


def _from_form(form: FormData) -> StagedUpload:
    """The `file` part (or a `content` text field), with `description` and `session_id`."""
    file = form.get("file")
    description = _form_text(form, "description") or ""
    session_id = _form_text(form, "session_id")
    if isinstance(file, UploadFile):
        name = file.filename or DEFAULT_FILENAME
        return StagedUpload(file.file, name, description, session_id)  # type: ignore[arg-type]
    content = _form_text(form, "content")
    if content is None:
        raise UnprocessableError("The multipart body needs a `file` part", code="FILE_REQUIRED")
    filename = _form_text(form, "filename") or DEFAULT_FILENAME
    return StagedUpload(_spooled_text(content), filename, description, session_id)


async def _from_json(stream: AsyncIterator[bytes]) -> StagedUpload:
    body = b"".join([chunk async for chunk in stream])
    try:
        pasted = PastedEvidence.model_validate_json(body or b"{}")
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
        ) from error
    return StagedUpload(
        _spooled_text(pasted.content),
        pasted.filename or DEFAULT_FILENAME,
        pasted.description or "",
        pasted.session_id,
    )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def read_upload(request: Request, max_upload_bytes: int) -> StagedUpload:
    """Stage the upload of any accepted shape; the caller owns the returned file."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    limit = max_upload_bytes + MULTIPART_OVERHEAD_BYTES
    _check_declared_length(request, limit)
    head, stream = await _peek(_capped(request.stream(), limit))
    if media_type == "multipart/form-data":
        return _from_form(await _parse_form(content_type, stream))
    boundary = _BOUNDARY_LINE.match(head)
    if boundary is not None:
        sniffed = f'multipart/form-data; boundary="{boundary[1].decode("ascii")}"'
        return _from_form(await _parse_form(sniffed, stream))
    if media_type in ("", "application/json") or media_type.endswith("+json"):
        paste_limit = min(limit, PASTE_MAX_BYTES)
        _check_declared_length(request, paste_limit)
        return await _from_json(_capped(stream, paste_limit))
    raise UnsupportedMediaError(
        f"Send multipart/form-data with a `file` part, or JSON {{content, filename?}}; not {media_type}",
        code="UNSUPPORTED_UPLOAD_TYPE",
    )
