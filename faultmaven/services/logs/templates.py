"""Online event-template mining over log message bodies (a Drain-style fixed-depth tree).

Obvious variables (numbers, IPs, hex, UUIDs, ids) are masked first, then lines are routed by token count
and their first constant tokens to a small list of candidate templates and joined to the most similar
one, whose differing positions become `<*>`. Memory grows with the number of templates, never with lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WILDCARD = "<*>"

_HEX = "[0-9a-fA-F]"
_TLD_FIRST = "(?:com|org|net|edu|gov|io|de|uk|jp|cn)"
SHAPES: dict[str, str] = {
    "url": r"(?<![\w])[A-Za-z][\w+.-]*://[^\s\"'<>]+",
    "uuid": rf"(?<![0-9A-Za-z]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![\w-])",
    "path": r"(?<![\w.:/])(?:/|[A-Za-z]:\\|~/)[\w.@%+~-]+(?:[/\\][\w.@%+~-]*)+",
    "ipv6": rf"(?<![\w:.])(?=[0-9a-fA-F:]*[a-fA-F])(?:{_HEX}{{1,4}}:){{2,7}}{_HEX}{{1,4}}(?![\w:])"
            rf"|(?<![\w:.]){_HEX}{{0,4}}(?::{_HEX}{{1,4}})*::(?:{_HEX}{{1,4}}:)*{_HEX}{{0,4}}(?![\w:])",
    "ip": r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])",
    "host": rf"(?<![\w.-])(?!{_TLD_FIRST}\.)(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.){{2,}}"
            r"[a-z]{2,3}(?![\w.-])",
    "hex": r"(?<![\w])0[xX][0-9a-fA-F]+|(?<![\w])(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}(?![\w])",
    "number": r"(?<![A-Za-z0-9])[-+]?\d+(?:[.,:]\d+)*(?:[kKMGT]i?B|[kKMG]b|ms|us|ns|[smhd])?(?![A-Za-z0-9])"
              r"|(?<![A-Za-z0-9])[-+]?\d+(?:[.,:]\d+)*",
}
"""Variable shapes masked before grouping, in matching order (earlier shapes win on overlap)."""
DEFAULT_SHAPES = tuple(SHAPES)
_QUOTED = re.compile(r"\"[^\"\s]*\"|'[^'\s]*'")
_MAYBE_VARIABLE = re.compile(r"[\d/\\:.]").search
_CACHE_LIMIT = 20_000
_VARIABLE_CACHE_LIMIT = 1_000
_UNIT_PREFIXES = ("", "k", "K", "M", "G", "T", "Ki", "Mi", "Gi", "Ti")
_UNITS = frozenset(f"{prefix}{unit}" for prefix in _UNIT_PREFIXES for unit in ("B", "b")) | {
    "ms", "us", "ns", "sec", "secs", "seconds", "msec", "%",
}
_UNIT_TOKENS = _UNITS | {unit + end for unit in _UNITS for end in (",", ";", ")", "),", ");")}
_DIGIT = re.compile(r"\d")
_CONSTANT = re.compile(r"[A-Z][A-Z_]+").fullmatch


class Masker:
    """Masks variables token by token, remembering results: a log's constant vocabulary (up to
    `_CACHE_LIMIT` tokens) and its first few thousand variable values, which repeat less."""

    def __init__(self, shapes: tuple[str, ...] = DEFAULT_SHAPES, quoted: bool = False) -> None:
        self.shapes = shapes
        self.quoted = quoted
        self._regex = re.compile("|".join(f"(?:{SHAPES[name]})" for name in shapes))
        self._simple = re.compile("|".join(f"(?:{SHAPES[name]})" for name in shapes if name in _SIMPLE))
        self._tokens: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        if self.quoted and ('"' in text or "'" in text):
            text = _QUOTED.sub(WILDCARD, text)
        cache = self._tokens
        out: list[str] = []
        for token in text.split():
            masked = cache.get(token)
            if masked is None:
                masked = self._mask_token(token)
                limit = _CACHE_LIMIT if masked == token else _VARIABLE_CACHE_LIMIT
                if len(cache) < limit:
                    cache[token] = masked
            if masked in _UNIT_TOKENS and out and out[-1] == WILDCARD:
                out[-1] = WILDCARD + masked[len(masked.rstrip(",;)")):]
                continue
            out.append(masked)
        return " ".join(out)


    def _mask_token(self, token: str) -> str:
        if token.isdigit():
            return WILDCARD
        if not _MAYBE_VARIABLE(token):
            return token
        rich = "/" in token or "\\" in token or ":" in token or token.count(".") > 1 or token.count("-") > 3
        return (self._regex if rich else self._simple).sub(WILDCARD, token)


_SIMPLE = ("hex", "number")
_DEFAULT_MASKER = Masker()


def mask_variables(text: str) -> str:
    """Replace variables (numbers, hex, UUIDs, IPs, hosts, paths, URLs, sizes, dates) with `<*>`."""
    return _DEFAULT_MASKER(text)


def _is_variable(token: str) -> bool:
    return WILDCARD in token or _DIGIT.search(token) is not None


@dataclass
class Template:
    """A mined event template: its tokens (`<*>` for variables) and the number of lines it absorbed."""

    template_id: int
    tokens: list[str]
    size: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass
class _Leaf:
    templates: list[Template] = field(default_factory=list)


class TemplateMiner:
    """Streaming template miner with one configuration for every log.

    `similarity` is the share of equal tokens needed to join a template, `depth` the number of leading
    tokens used for routing, `max_children` caps routing fan-out (beyond it tokens route as `<*>`), and
    `max_templates` bounds memory: past it, unmatched lines join their closest template or an overflow one.
    """

    def __init__(
        self,
        similarity: float = 0.6,
        depth: int = 2,
        max_children: int = 100,
        max_templates: int = 20_000,
        cache_size: int = 50_000,
        masker: Masker | None = None,
        count_wildcards: bool = True,
    ) -> None:
        self.similarity = similarity
        self.depth = depth
        self.max_children = max_children
        self.max_templates = max_templates
        self.cache_size = cache_size
        self.masker = masker or Masker()
        self.count_wildcards = count_wildcards
        self.templates: list[Template] = []
        self._leaves: dict[tuple[str, ...], _Leaf] = {}
        self._children: dict[tuple[str, ...], set[str]] = {}
        self._cache: dict[str, Template] = {}
        self._overflow: Template | None = None

    def add(self, body: str) -> Template:
        """Mine one message body and return the template it now belongs to."""
        masked = self.masker(body)
        cached = self._cache.get(masked)
        if cached is not None:
            cached.size += 1
            return cached
        template = self._match_or_create(masked.split())
        template.size += 1
        if len(self._cache) >= self.cache_size:
            self._cache.clear()
        self._cache[masked] = template
        return template

    def get(self, template_id: int) -> Template:
        """The template with this id (ids are dense indices, stable for the miner's lifetime)."""
        return self.templates[template_id]

    def _route(self, tokens: list[str]) -> tuple[str, ...]:
        key: tuple[str, ...] = (str(len(tokens)),)
        for token in tokens[: self.depth]:
            step = WILDCARD if _is_variable(token) else token
            children = self._children.setdefault(key, set())
            if step not in children:
                if len(children) >= self.max_children:
                    step = WILDCARD
                children.add(step)
            key = (*key, step)
        return key

    def _match_or_create(self, tokens: list[str]) -> Template:
        leaf = self._leaves.setdefault(self._route(tokens), _Leaf())
        best, best_score = self._best(leaf.templates, tokens)
        if best is not None and (best_score >= self.similarity or len(self.templates) >= self.max_templates):
            _generalise(best, tokens)
            return best
        if len(self.templates) >= self.max_templates:
            return self._overflow_template()
        template = Template(len(self.templates), list(tokens))
        self.templates.append(template)
        leaf.templates.append(template)
        return template

    def _best(self, candidates: list[Template], tokens: list[str]) -> tuple[Template | None, float]:
        best, best_key = None, (-1.0, -1)
        for template in candidates:
            key = _similarity(template.tokens, tokens, self.count_wildcards)
            if key > best_key:
                best, best_key = template, key
        return best, best_key[0]

    def _overflow_template(self) -> Template:
        if self._overflow is None:
            self._overflow = Template(len(self.templates), [WILDCARD])
            self.templates.append(self._overflow)
        return self._overflow


def _similarity(template: list[str], tokens: list[str], count_wildcards: bool) -> tuple[float, int]:
    """Share of equal tokens, then the wildcard count as a tie-breaker (as in Drain).

    With `count_wildcards` off, a template `<*>` never counts as equal (Drain's original rule), so two
    lines must share constant words, not just variable positions, to be joined.
    """
    if not tokens:
        return 1.0, 0
    equal = wildcards = 0
    for left, right in zip(template, tokens, strict=True):
        if left == WILDCARD and not count_wildcards:
            wildcards += 1
        elif left == right:
            equal += 1
        elif left == WILDCARD:
            wildcards += 1
        elif _CONSTANT(left) or _CONSTANT(right):
            return -1.0, 0
    return equal / len(tokens), wildcards


def _generalise(template: Template, tokens: list[str]) -> None:
    for index, (left, right) in enumerate(zip(template.tokens, tokens, strict=True)):
        if left != right and left != WILDCARD:
            template.tokens[index] = _merge_tokens(left, right)


def _merge_tokens(left: str, right: str) -> str:
    """Generalise two differing tokens, keeping a shared punctuated prefix/suffix (`rhost=<*>`, `(<*>)`)."""
    if WILDCARD in left and _token_pattern(left).fullmatch(right):
        return left
    head = left.split(WILDCARD, 1)[0]
    tail = left.rsplit(WILDCARD, 1)[-1]
    prefix = _punctuated_prefix(head, right)
    suffix = _punctuated_prefix(tail[::-1], right[len(prefix):][::-1])[::-1]
    return prefix + WILDCARD + suffix


def _punctuated_prefix(left: str, right: str) -> str:
    """Longest common prefix of two strings, cut just after its last non-alphanumeric character."""
    size = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        size += 1
    common = left[:size]
    cut = max((index for index, char in enumerate(common) if not char.isalnum()), default=-1)
    return common[: cut + 1]


def _token_pattern(token: str) -> re.Pattern[str]:
    return re.compile(".*?".join(re.escape(part) for part in token.split(WILDCARD)), re.DOTALL)
