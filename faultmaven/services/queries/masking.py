"""Saving a turn's new mask entries into the case's stored table, which other turns may have extended."""

from __future__ import annotations

from faultmaven.infrastructure.security.sanitizer import PLACEHOLDER_PATTERN


def merge_masks(stored: dict[str, str], added: dict[str, str]) -> dict[str, str] | None:
    """`stored` extended with `added`; None when nothing is new.

    Another turn of the same case may have saved entries meanwhile: a value it already masked keeps its
    placeholder, and a placeholder it took for another value is renumbered here, so the stored table never
    gives one placeholder two values. (This turn's texts were restored with its own table already.)
    """
    merged = dict(stored)
    known = set(stored.values())
    for placeholder, original in added.items():
        if original in known:
            continue
        merged[_free_placeholder(merged, placeholder)] = original
        known.add(original)
    return merged if len(merged) > len(stored) else None


def _free_placeholder(table: dict[str, str], wanted: str) -> str:
    if wanted not in table:
        return wanted
    parsed = PLACEHOLDER_PATTERN.fullmatch(wanted)
    kind, number = (parsed[1], int(parsed[2])) if parsed else (wanted.strip("<>"), 1)
    while (candidate := f"<{kind}_{number}>") in table:
        number += 1
    return candidate
