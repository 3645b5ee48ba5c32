"""Reading an uploaded file as text with bounded memory: encoding decision, binary rejection, chunking.

Encoding: a UTF-8 or UTF-16 byte-order mark decides; otherwise UTF-8 if the whole file decodes as UTF-8,
else Latin-1 (every byte maps to one character, so nothing is lost and decoding cannot fail). Binary:
a NUL byte anywhere (outside UTF-16), or more than 1% control characters in the first 64 KB; that
covers archives, images and executables, which a troubleshooting agent cannot read anyway.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK_BYTES = 1 << 20
BLOCK_CHARS = 1 << 20
CONTROL_SAMPLE_BYTES = 64 * 1024
MAX_CONTROL_SHARE = 0.01
MAX_LINE_CHARS = 1_000_000
CHUNK_MAX_LINES = 2_000
CHUNK_MAX_CHARS = 256 * 1024
TRUNCATED_MARK = " …[line truncated]"
_NEWLINE = re.compile("\r\n|\r|\n")
_CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F])


class BinaryContentError(ValueError):
    """The upload is not text this service can read."""


@dataclass(frozen=True)
class TextFacts:
    size: int
    encoding: str


@dataclass(frozen=True)
class LineChunk:
    """Consecutive lines (without their line ends) starting at 1-based `line_start`."""

    line_start: int
    lines: list[str]

    @property
    def line_end(self) -> int:
        return self.line_start + len(self.lines) - 1


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _blocks(file: BinaryIO) -> Iterator[bytes]:
    file.seek(0)
    while block := file.read(BLOCK_BYTES):
        yield block


def _check_controls(sample: bytes) -> None:
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    if sample and controls / len(sample) > MAX_CONTROL_SHARE:
        raise BinaryContentError("The file looks binary (control characters); upload text such as logs")


def _scan_utf16(file: BinaryIO) -> int:
    decoder = codecs.getincrementaldecoder("utf-16")()
    size = 0
    try:
        for block in _blocks(file):
            size += len(block)
            if "\x00" in decoder.decode(block):
                raise BinaryContentError("The file contains NUL characters; upload text such as logs")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise BinaryContentError("The file has a UTF-16 byte-order mark but is not valid UTF-16") from error
    return size


def _scan_bytes(file: BinaryIO) -> tuple[int, bool]:
    """(size, whether the whole file is valid UTF-8), rejecting NUL bytes and control-heavy starts."""
    decoder: codecs.IncrementalDecoder | None = codecs.getincrementaldecoder("utf-8")()
    size = 0
    for block in _blocks(file):
        if size == 0:
            _check_controls(block[:CONTROL_SAMPLE_BYTES])
        size += len(block)
        if b"\x00" in block:
            raise BinaryContentError("The file contains NUL bytes: it looks binary; upload text such as logs")
        if decoder is not None:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                decoder = None
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    return size, decoder is not None


def inspect_text(file: BinaryIO) -> TextFacts:
    """Size and encoding of a seekable binary file in one streaming pass; BinaryContentError if binary."""
    file.seek(0)
    encoding = _bom_encoding(file.read(4))
    if encoding == "utf-16":
        return TextFacts(_scan_utf16(file), encoding)
    size, is_utf8 = _scan_bytes(file)
    return TextFacts(size, encoding or ("utf-8" if is_utf8 else "latin-1"))


def read_lines(file: BinaryIO, encoding: str) -> Iterator[str]:
    """Every line without its line end (`\\n`, `\\r\\n` or `\\r`); a line longer than MAX_LINE_CHARS is cut
    there and marked, so one huge line cannot take the memory. Text is decoded and split a block at a time
    (a `readline` per line measured several times slower on a large log)."""
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding, newline="")
    try:
        yield from split_lines(iter(lambda: text.read(BLOCK_CHARS), ""))
    finally:
        text.detach()


def split_lines(blocks: Iterable[str], limit: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of a text given in consecutive blocks, as `read_lines` yields them (lines from `limit`
    characters on cut there and marked)."""
    rest, skipping = "", False  # the unfinished last line; whether it is the tail of a line already cut
    for block in blocks:
        text = rest + block
        held = text.endswith("\r")  # the `\n` of a `\r\n` may begin the next block
        lines = _NEWLINE.split(text[:-1] if held else text) if "\r" in text else text.split("\n")
        rest = lines.pop() + ("\r" if held else "")
        for line in lines:
            if skipping:
                skipping = False
                continue
            yield _capped(line, limit)
        if skipping:
            rest = "\r" if held else ""
        elif len(rest) - held >= limit:
            yield _capped(rest[: limit], limit)
            rest, skipping = "", True
    if rest.endswith("\r"):
        rest = rest[:-1]
    elif not rest:
        return
    if not skipping:
        yield rest


def _capped(line: str, limit: int) -> str:
    return line if len(line) < limit else line[:limit] + TRUNCATED_MARK


def chunk_lines(lines: Iterator[str]) -> Iterator[LineChunk]:
    """Group lines into chunks of at most CHUNK_MAX_LINES lines and about CHUNK_MAX_CHARS characters."""
    start, batch, chars = 1, [], 0
    for line in lines:
        batch.append(line)
        chars += len(line) + 1
        if len(batch) >= CHUNK_MAX_LINES or chars >= CHUNK_MAX_CHARS:
            yield LineChunk(start, batch)
            start, batch, chars = start + len(batch), [], 0
    if batch:
        yield LineChunk(start, batch)
