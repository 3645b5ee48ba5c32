"""Readiness and detailed health (contract "Operations"): what each dependency answers right now."""

from __future__ import annotations

from typing import Any

from faultmaven import __version__
from faultmaven.config.settings import Settings
from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.migrations import current_revision, head_revision
from faultmaven.infrastructure.rate_limiter import RateLimiter
from faultmaven.infrastructure.redis_health import redis_reachable
from faultmaven.models.jobs import JobQueue
from faultmaven.services.agent_service import AgentService


class HealthService:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        llm_router: LLMRouter,
        rate_limiter: RateLimiter,
        job_queue: JobQueue,
        agent_service: AgentService,
    ):
        self._settings = settings
        self._db = database
        self._llm = llm_router
        self._rate_limiter = rate_limiter
        self._queue = job_queue
        self._agent = agent_service

    async def readiness(self) -> dict[str, Any]:
        """Ready when the database answers at the head revision; the LLM and Redis are reported only."""
        database_ok = await self._db.ping()
        revision = await current_revision(self._db) if database_ok else None
        at_head = revision == head_revision()
        providers = [vars(health) for health in self._llm.health()]
        return {
            "status": "ready" if database_ok and at_head else "not_ready",
            "database": {"reachable": database_ok, "revision": revision, "at_head": at_head},
            "llm": {"configured": self._llm.configured, "providers": providers},
            **await self._redis_report(),
            **self._rate_limit_report(),
        }

    async def detailed_health(self) -> dict[str, Any]:
        ready = await self.readiness()
        return {
            **ready,
            "version": __version__,
            "auth_mode": self._settings.auth_mode,
            "dev_login": self._settings.dev_login_enabled,
            "database": {**ready["database"], "engine": "sqlite" if self._db.is_sqlite else "postgresql"},
            "queue": self._queue.health(),
            "case_integration": {
                **self._agent.health_check()["case_integration"],
                "case_service_healthy": ready["database"]["reachable"],
            },
        }

    async def _redis_report(self) -> dict[str, Any]:
        """Reported, not required: the rate limiter fails open while Redis is down."""
        if not self._settings.redis_url:
            return {"redis": {"configured": False}}
        return {"redis": {"configured": True, "reachable": await redis_reachable(self._settings.redis_url)}}

    def _rate_limit_report(self) -> dict[str, Any]:
        return {
            "rate_limit": {
                "enabled": self._settings.rate_limit_enabled,
                "storage": self._rate_limiter.storage_kind,
                "queries": self._settings.rate_limit_queries,
                "writes": self._settings.rate_limit_writes,
            }
        }
