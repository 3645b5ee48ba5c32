"""All configuration, read from `FAULTMAVEN_*` environment variables (and a `.env` file if present)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from limits import parse
from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def data_directory() -> Path:
    return Path(user_data_dir("faultmaven", appauthor=False))


def default_database_url() -> str:
    """A SQLite file under the user's data directory: zero setup on a laptop."""
    return f"sqlite+aiosqlite:///{data_directory() / 'faultmaven.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAULTMAVEN_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    redis_url: str | None = None
    migrate_on_start: bool = True

    auth_mode: Literal["local", "token"] = "local"
    dev_login: bool = False
    token_ttl_hours: int = Field(default=24 * 30, ge=1)
    allow_non_loopback: bool = False
    local_username: str = "local"
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: float = Field(default=15, gt=0)

    case_retention_days: int = Field(default=30, ge=7, le=30)
    audit_retention_days: int = Field(default=365, ge=1)
    session_timeout_minutes: int = Field(default=24 * 60, ge=5)
    purge_interval_seconds: float = Field(default=3600, gt=0)

    # Fernet keys for originals stored at rest (newest first); local mode without one generates a key file.
    encryption_keys: Annotated[list[str], NoDecode] = Field(default_factory=list, repr=False)
    encryption_key_file: Path = Field(default_factory=lambda: data_directory() / "encryption.key")

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_request_bytes: int = Field(default=1_000_000, ge=1024)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)

    enable_case_agent_integration: bool = Field(
        default=True,
        validation_alias=AliasChoices(
            "ENABLE_CASE_AGENT_INTEGRATION", "FAULTMAVEN_ENABLE_CASE_AGENT_INTEGRATION"
        ),
    )
    conversation_context_messages: int = Field(default=10, ge=5, le=10)
    query_time_budget_seconds: float = Field(default=120, gt=0)
    deprecated_routes_retired: bool = False
    kb_load_starter: bool = True
    kb_semantic: bool = False  # hybrid FTS + embedding ranking; needs the optional `semantic` extra

    console_enabled: bool = True
    console_path: str = "/"

    queue_url: str | None = None
    job_concurrency: int = Field(default=4, ge=1, le=64)
    job_max_pending: int = Field(default=100, ge=1)
    job_lease_seconds: float = Field(default=30, ge=1)
    job_max_attempts: int = Field(default=2, ge=1, le=10)
    job_sweep_seconds: float = Field(default=5, gt=0)
    sync_query_budget_seconds: float = Field(default=60, gt=0)
    async_query_threshold_chars: int = Field(default=50_000, ge=1)
    shutdown_grace_seconds: float = Field(default=10, ge=0)

    llm_providers: str = ""
    llm_failure_threshold: int = Field(default=3, ge=1)
    llm_cooldown_seconds: float = Field(default=30, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)

    rate_limit_enabled: bool = True
    rate_limit_queries: str = "30/minute"
    rate_limit_writes: str = "120/minute"
    rate_limit_key_prefix: str = "faultmaven-ratelimit"

    tracing_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("cors_origins", "encryption_keys", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("rate_limit_queries", "rate_limit_writes")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        """Refuse to start on a budget that `limits` cannot read or that would refuse every request."""
        try:
            amount = parse(value).amount
        except ValueError as error:
            raise ValueError(f"not a rate limit like '30/minute': {value!r}") from error
        if amount < 1:
            raise ValueError(f"a rate limit must allow at least one request: {value!r}")
        return value

    @property
    def dev_login_enabled(self) -> bool:
        """Dev login is always there in local mode; in token mode only when configured."""
        return self.auth_mode == "local" or self.dev_login

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
