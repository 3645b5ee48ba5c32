"""What an evaluation scenario is: an incident (case text, evidence files, optional runbooks), the questions
asked in it, and the answer key the scorer checks the answers against.

Evidence files are built, not stored: each is deterministic noise in a log style with the scenario's
decisive lines placed at fixed fractions of the file, so the key knows exactly which line numbers prove
the root cause, and the decisive lines are buried where a reader (or a model) has to find them.
"""

from __future__ import annotations

import random
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from faultmaven.eval.noise import NOISE, render_line


@dataclass(frozen=True)
class Fact:
    """One thing a good answer names; any of the patterns (case-insensitive regular expressions) counts."""

    name: str
    any_of: tuple[str, ...]

    def found_in(self, text: str) -> bool:
        return any(re.search(pattern, text, re.IGNORECASE) for pattern in self.any_of)


@dataclass(frozen=True)
class Signal:
    """A decisive line, placed at `at` (0..1) of its file; `level` and `source` as the style prints them."""

    message: str
    at: float
    level: str = "ERROR"
    source: str = "app"


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    style: str
    lines: int
    signals: tuple[Signal, ...] = ()
    extra: tuple[str, ...] = ()
    """Raw lines appended verbatim at the end (a config excerpt, a `kubectl describe` block)."""


@dataclass(frozen=True)
class Runbook:
    title: str
    content: str


@dataclass(frozen=True)
class Question:
    """One turn: what the engineer asks, the facts its answer must name, and (multi-turn) the facts given
    in an earlier turn that this answer must use."""

    query: str
    facts: tuple[Fact, ...] = ()
    context: tuple[Fact, ...] = ()
    reference: str = ""
    """What a good answer to this turn says beyond the evidence, in the key's own words."""


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    category: str
    description: str
    questions: tuple[Question, ...]
    evidence: tuple[EvidenceFile, ...] = ()
    runbooks: tuple[Runbook, ...] = ()
    next_step: tuple[Fact, ...] = ()
    evidence_absent: bool = False
    """The decisive evidence is not in the case: a good answer asks for it instead of guessing."""
    secrets: tuple[str, ...] = ()
    """Values planted in the evidence that must never appear in an answer."""
    remedy: str = ""
    """The key's good next step, in words (the `next_step` facts are how it is recognised)."""

    @property
    def multi_turn(self) -> bool:
        return len(self.questions) > 1

    @property
    def root_cause(self) -> tuple[Fact, ...]:
        return tuple(fact for question in self.questions for fact in question.facts)


@dataclass
class BuiltEvidence:
    """An evidence file as uploaded, and the line numbers (1-based) of its decisive lines."""

    filename: str
    text: str
    key_lines: list[int] = field(default_factory=list)

    @property
    def line_count(self) -> int:
        return self.text.count("\n") + 1


START = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def build_evidence(scenario_id: str, spec: EvidenceFile) -> BuiltEvidence:
    """The file's text: `spec.lines` lines of seeded noise in its style with the signals at their places."""
    rng = random.Random(zlib.crc32(f"{scenario_id}/{spec.filename}".encode()))
    places = {_place(signal.at, spec.lines): signal for signal in spec.signals}
    clock = START
    lines, key_lines = [], []
    for number in range(1, spec.lines + 1):
        clock += timedelta(milliseconds=rng.randint(50, 2500))
        signal = places.get(number)
        if signal is not None:
            lines.append(render_line(spec.style, clock, signal.level, signal.source, signal.message))
            key_lines.append(number)
        else:
            lines.append(NOISE[spec.style](rng, clock))
    lines += spec.extra
    key_lines += [spec.lines + index + 1 for index, line in enumerate(spec.extra) if line.startswith("!")]
    text = "\n".join(line.removeprefix("!") for line in lines)
    return BuiltEvidence(spec.filename, text, sorted(key_lines))


def _place(at: float, lines: int) -> int:
    return min(lines, max(1, round(at * lines)))
