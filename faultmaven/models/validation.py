"""Input rules shared by every door into storage (API bodies, knowledge documents from any source)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, model_validator

WEB_SCHEMES = ("http", "https")


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False


class NulFreeModel(BaseModel):
    """NUL characters are refused anywhere in the input: PostgreSQL cannot store them (a 500 there, silently
    kept on SQLite) and no troubleshooting text needs them."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        if has_nul(data):
            raise ValueError("NUL characters (\\u0000) are not allowed")
        return data


def web_url(value: str | None) -> str | None:
    """An http(s) URL with a host, or None: a `javascript:` or `file:` link must never be stored to be
    rendered as a link later."""
    if value is None:
        return None
    parts = urlsplit(value.strip())
    if parts.scheme.lower() not in WEB_SCHEMES or not parts.netloc:
        raise ValueError("source_url must be an http:// or https:// URL")
    return value.strip()
