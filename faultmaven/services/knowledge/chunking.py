"""Markdown-aware chunking: one chunk per section, long sections split on paragraph boundaries.

Each chunk keeps the path of headings above it ("Disk full > Quick checks") so a search hit can say
where it comes from, and a fenced code block is never cut in half: a command split over two chunks is
useless to whoever copies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_CHUNK_CHARS = 1500
CHUNKING_VERSION = 1  # bump when chunk boundaries change, so file-loaded documents are re-chunked
HEADING_SEPARATOR = " > "
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    heading_path: str
    content: str


@dataclass
class _Section:
    headings: list[str]
    lines: list[str]


def _fence_marker(line: str) -> str | None:
    match = _FENCE.match(line)
    return match.group(1) if match else None


def _closes_fence(line: str, opener: str) -> bool:
    marker = _fence_marker(line)
    return marker is not None and marker[0] == opener[0] and len(marker) >= len(opener)


def _sections(markdown: str) -> list[_Section]:
    """Split on ATX headings outside fenced code; each section remembers its heading path."""
    stack: list[tuple[int, str]] = []
    sections = [_Section([], [])]
    fence: str | None = None
    for line in markdown.splitlines():
        if fence is not None:
            fence = None if _closes_fence(line, fence) else fence
            sections[-1].lines.append(line)
            continue
        fence = _fence_marker(line)
        heading = None if fence else _HEADING.match(line)
        if heading is None:
            sections[-1].lines.append(line)
            continue
        level = len(heading.group(1))
        stack = [(lvl, text) for lvl, text in stack if lvl < level] + [(level, heading.group(2).strip())]
        sections.append(_Section([text for _, text in stack], [line]))
    with_text = [section for section in sections if "".join(section.lines).strip()]
    with_body = [section for section in with_text if not _heading_only(section)]
    return with_body or with_text


def _heading_only(section: _Section) -> bool:
    """A heading directly followed by a subheading: its text already lives in its children's paths."""
    return bool(section.headings) and not "".join(section.lines[1:]).strip()


def _blocks(lines: list[str]) -> list[str]:
    """Paragraphs and whole fenced code blocks: the units a long section may be split between."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in lines:
        if fence is not None:
            current.append(line)
            fence = None if _closes_fence(line, fence) else fence
            continue
        fence = _fence_marker(line)
        if not line.strip() and fence is None:
            if current:
                blocks.append("\n".join(current))
            current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _split_prose(block: str, max_chars: int) -> list[str]:
    """A paragraph over the cap is cut between lines, then between words; code blocks never are."""
    if len(block) <= max_chars or _fence_marker(block.split("\n", 1)[0]):
        return [block]
    units = block.split("\n") if "\n" in block else block.split(" ")
    joiner = "\n" if "\n" in block else " "
    pieces: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}{joiner}{unit}" if current else unit
        if current and len(candidate) > max_chars:
            pieces.append(current)
            candidate = unit
        current = candidate
    pieces.append(current)
    return [part for piece in pieces for part in _hard_split(piece, max_chars)]


def _hard_split(text: str, max_chars: int) -> list[str]:
    return [text[start : start + max_chars] for start in range(0, len(text), max_chars)] or [text]


def _pack(blocks: list[str], max_chars: int) -> list[str]:
    """Greedy packing of whole blocks; only a fenced code block may exceed the cap, and stays whole."""
    pieces: list[str] = []
    current = ""
    for unit in (piece for block in blocks for piece in _split_prose(block, max_chars)):
        candidate = f"{current}\n\n{unit}" if current else unit
        if current and len(candidate) > max_chars:
            pieces.append(current)
            candidate = unit
        current = candidate
    if current:
        pieces.append(current)
    return pieces


def chunk_markdown(markdown: str, max_chars: int = MAX_CHUNK_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in _sections(markdown):
        path = HEADING_SEPARATOR.join(section.headings)
        for piece in _pack(_blocks(section.lines), max_chars):
            chunks.append(Chunk(ordinal=len(chunks), heading_path=path[:1000], content=piece.strip()))
    return chunks
