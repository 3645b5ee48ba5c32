"""Parse the ordered LLM provider list from the environment.

`FAULTMAVEN_LLM_PROVIDERS="primary=openai:gpt-4.1-mini,backup=anthropic:claude-haiku-4-5,local=ollama:llama3.1"`
gives the failover order; per-alias settings come from `FAULTMAVEN_LLM_<ALIAS>_BASE_URL`, `_API_KEY`,
`_TIMEOUT`, `_MAX_OUTPUT_TOKENS` (sent as the request's `max_tokens`) and `_PROFILE` (`default`, or `compact`
for small local models: see `services/agent_service.py`). Parsing is pure so a typo fails at startup with a
message naming the bad entry.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from pydantic import SecretStr

ProviderKind = Literal["openai", "ollama", "anthropic", "gemini"]
Profile = Literal["default", "compact"]
PROFILES: tuple[Profile, ...] = ("default", "compact")
PROVIDER_KINDS: tuple[ProviderKind, ...] = ("openai", "ollama", "anthropic", "gemini")
PROVIDERS_ENV = "FAULTMAVEN_LLM_PROVIDERS"
DEFAULT_TIMEOUT_SECONDS = 60.0
OLLAMA_DEFAULT_BASE_URL = "http://127.0.0.1:11434/v1"

_ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass(frozen=True)
class ProviderSpec:
    """One configured provider; `api_key` is a SecretStr so reprs and logs never show it."""

    alias: str
    kind: ProviderKind
    model: str
    base_url: str | None = None
    api_key: SecretStr | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    max_output_tokens: int | None = None
    """The cap on one answer's tokens sent to the provider; None leaves the server's own cap."""
    profile: Profile = "default"
    """`compact`: short instructions, no tool calling, the server's retrieval in the prompt."""


def parse_providers(environ: Mapping[str, str]) -> list[ProviderSpec]:
    """The providers in failover order; `[]` when `FAULTMAVEN_LLM_PROVIDERS` is unset or blank.

    Raises ValueError on a malformed entry, an unknown kind, a duplicate alias or a bad timeout.
    """
    raw = environ.get(PROVIDERS_ENV, "").strip()
    if not raw:
        return []
    specs = [_parse_entry(entry.strip(), environ) for entry in raw.split(",")]
    _check_unique_aliases(specs)
    return specs


def _parse_entry(entry: str, environ: Mapping[str, str]) -> ProviderSpec:
    if not entry:
        raise ValueError(f"{PROVIDERS_ENV}: empty entry (check for a stray comma)")
    alias, kind, model = _split_entry(entry)
    prefix = f"FAULTMAVEN_LLM_{alias.upper()}_"
    base_url = environ.get(prefix + "BASE_URL", "").strip() or None
    if base_url is None and kind == "ollama":
        base_url = OLLAMA_DEFAULT_BASE_URL
    api_key = environ.get(prefix + "API_KEY", "").strip()
    return ProviderSpec(
        alias=alias,
        kind=kind,
        model=model,
        base_url=base_url,
        api_key=SecretStr(api_key) if api_key else None,
        timeout=_parse_timeout(prefix + "TIMEOUT", environ),
        max_output_tokens=_parse_max_output_tokens(prefix + "MAX_OUTPUT_TOKENS", environ),
        profile=_parse_profile(prefix + "PROFILE", environ),
    )


def _split_entry(entry: str) -> tuple[str, ProviderKind, str]:
    """`[alias=]kind:model`, split on the first `:` so model names like `llama3.1:8b` survive."""
    alias, separator, rest = entry.partition("=")
    if not separator:
        alias, rest = "", entry
    kind, colon, model = rest.strip().partition(":")
    kind, model = kind.strip().lower(), model.strip()
    if not colon or not model:
        raise ValueError(f"{PROVIDERS_ENV}: entry {entry!r} must look like [alias=]kind:model")
    if kind not in PROVIDER_KINDS:
        raise ValueError(
            f"{PROVIDERS_ENV}: entry {entry!r} has unknown kind {kind!r}; use one of {PROVIDER_KINDS}"
        )
    alias = alias.strip() or kind
    if not _ALIAS_PATTERN.match(alias):
        raise ValueError(f"{PROVIDERS_ENV}: alias {alias!r} may only contain letters, digits and '_'")
    return alias, cast(ProviderKind, kind), model


def _parse_timeout(name: str, environ: Mapping[str, str]) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        timeout = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"{name}={raw!r} must be a positive number of seconds")
    return timeout


def _parse_max_output_tokens(name: str, environ: Mapping[str, str]) -> int | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r} must be a positive whole number of tokens")
    return int(raw)


def _parse_profile(name: str, environ: Mapping[str, str]) -> Profile:
    raw = environ.get(name, "").strip().lower() or "default"
    if raw not in PROFILES:
        raise ValueError(f"{name}={raw!r} is not a profile; use one of {PROFILES}")
    return cast(Profile, raw)


def _check_unique_aliases(specs: list[ProviderSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        key = spec.alias.lower()
        if key in seen:
            raise ValueError(f"{PROVIDERS_ENV}: alias {spec.alias!r} is used twice; give each entry alias=")
        seen.add(key)
