"""Splitting an upload into lines a block at a time: every line end (`\\n`, `\\r\\n`, `\\r`), also when a
block boundary falls inside `\\r\\n` or inside a line, and over-long lines cut and marked."""

from __future__ import annotations

import io
import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultmaven.services.logs import text_reader
from faultmaven.services.logs.text_reader import TRUNCATED_MARK, read_lines, split_lines

SMALL_LIMIT = 8


def expected_lines(text: str, limit: int) -> list[str]:
    """The specification: split at every line end; no line after a final line end; cap long lines."""
    lines = re.split("\r\n|\r|\n", text)
    if lines[-1] == "":
        lines.pop()
    return [line if len(line) < limit else line[:limit] + TRUNCATED_MARK for line in lines]


def _blocks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({0, len(text), *(cut % (len(text) + 1) for cut in cuts)})
    return [text[start:end] for start, end in itertools.pairwise(points)]


@given(text=st.text("ab\r\n", max_size=60), cuts=st.lists(st.integers(0, 60), max_size=8))
def test_any_text_cut_into_any_blocks_splits_as_specified(text: str, cuts: list[int]) -> None:
    assert list(split_lines(_blocks(text, cuts), SMALL_LIMIT)) == expected_lines(text, SMALL_LIMIT)


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"", []),
        (b"one\ntwo\n", ["one", "two"]),
        (b"one\r\ntwo\rthree", ["one", "two", "three"]),
        (b"\n\n", ["", ""]),
        (b"caf\xc3\xa9\r\n", ["caf\u00e9"]),
    ],
)
def test_read_lines_of_a_file(data: bytes, lines: list[str]) -> None:
    assert list(read_lines(io.BytesIO(data), "utf-8")) == lines


def test_a_huge_line_is_cut_and_the_next_line_kept() -> None:
    huge = "x" * (text_reader.MAX_LINE_CHARS + 5 * text_reader.BLOCK_CHARS)
    lines = list(read_lines(io.BytesIO(f"{huge}\r\nnext\n".encode()), "utf-8"))
    assert lines == ["x" * text_reader.MAX_LINE_CHARS + TRUNCATED_MARK, "next"]
