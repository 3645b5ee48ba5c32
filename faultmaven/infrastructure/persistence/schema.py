"""The whole relational schema, every table module registered on one metadata (Alembic migrations
mirror it). Import this where all tables must be known: the migrations' environment, key rotation, tests."""

from __future__ import annotations

from faultmaven.infrastructure.persistence import (
    evidence_tables,
    knowledge_tables,
    sharing_tables,
    tables,
    team_tables,
)
from faultmaven.infrastructure.persistence.base import Base

TABLE_MODULES = (tables, evidence_tables, knowledge_tables, sharing_tables, team_tables)
"""Imported for their side effect: each row class adds its table to `metadata` when defined."""
metadata = Base.metadata
