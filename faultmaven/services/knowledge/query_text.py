"""Turns free user text into a safe full-text query for either engine.

Neither FTS5 `MATCH` nor a hand-built tsquery may see raw input: `"foo`, `a OR`, `NEAR(` or `*` are
syntax there and would fail the request. We keep only word tokens, drop common English stop words
(they match everything and slow a disjunction down), and combine the rest with OR so a long natural
language question still finds sections that mention some of its terms; ranking does the rest.
"""

from __future__ import annotations

import re

MAX_TERMS = 32
_TOKEN = re.compile(r"\w+", re.UNICODE)
STOP_WORDS = frozenset(
    "a an and are as at be but by can could did do does for from had has have how i if in into is it its "
    "me my not of on or our so that the their then there these they this to was we were what when where "
    "which who why will with would you your".split()
)


def query_terms(text: str) -> list[str]:
    """Distinct lower-case word tokens, in order, without stop words or single letters, at most MAX_TERMS."""
    terms: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        meaningful = token.strip("_") and (len(token) > 1 or token.isdigit())
        if meaningful and token not in STOP_WORDS and token not in terms:
            terms.append(token)
    return terms[:MAX_TERMS]


def fts5_match(terms: list[str]) -> str:
    """Each term as a quoted FTS5 string (tokens are `\\w+`, so no quote can appear), OR-combined."""
    return " OR ".join(f'"{term}"' for term in terms)


def websearch_text(terms: list[str]) -> str:
    """Input for PostgreSQL's `websearch_to_tsquery`, which never raises, as a disjunction."""
    return " or ".join(terms)
