"""`docs/configuration.md` and the settings class name the same settings, both ways: each setting has a row
in a table of the configuration document, and each row names a setting the server reads."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import AliasChoices

from faultmaven.config.settings import Settings

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
PREFIX = Settings.model_config["env_prefix"]
TABLE_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_<>]*)`\s*\|", re.MULTILINE)
PER_PROVIDER = "<ALIAS>"
"""`FAULTMAVEN_LLM_<ALIAS>_BASE_URL` and its kin: one family per configured provider, read by the LLM
configuration from the environment rather than by the settings class."""


def documented() -> set[str]:
    """Every variable with a row (some are read by libraries, e.g. `PROMETHEUS_MULTIPROC_DIR`)."""
    rows = TABLE_ROW.findall(CONFIGURATION.read_text(encoding="utf-8"))
    return {row for row in rows if PER_PROVIDER not in row}


def names_by_field() -> dict[str, set[str]]:
    """Each setting's environment names: `FAULTMAVEN_<FIELD>`, or its alias choices."""
    names = {}
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names[name] = {choice for choice in alias.choices if isinstance(choice, str)}
        else:
            names[name] = {f"{PREFIX}{name.upper()}"}
    return names


def test_every_setting_is_documented() -> None:
    rows = documented()
    missing = sorted(field for field, names in names_by_field().items() if not names & rows)
    assert not missing, f"settings without a row in docs/configuration.md: {missing}"


def test_every_documented_setting_exists() -> None:
    known = set().union(*names_by_field().values())
    unknown = sorted(row for row in documented() - known if row.startswith(PREFIX))
    assert not unknown, f"docs/configuration.md names settings the server does not read: {unknown}"


def test_the_per_provider_family_is_documented() -> None:
    rows = TABLE_ROW.findall(CONFIGURATION.read_text(encoding="utf-8"))
    assert {f"{PREFIX}LLM_{PER_PROVIDER}_{part}" for part in ("BASE_URL", "API_KEY", "TIMEOUT")} <= set(rows)
