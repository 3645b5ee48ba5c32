"""The composition root: builds every service from settings, once per application.

Routes reach these through `api.dependencies.get_container`; nothing here is an import-time global.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from functools import cached_property
from typing import Any

import structlog
from sqlalchemy import make_url

from faultmaven import __version__
from faultmaven.api.lifespan import startup_step
from faultmaven.config.settings import Settings
from faultmaven.infrastructure.llm.config import parse_providers
from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.infrastructure.observability.dashboard import SAMPLE_INTERVAL_SECONDS, CaseAgentDashboard
from faultmaven.infrastructure.observability.logging import configure_logging, set_redactor
from faultmaven.infrastructure.observability.metrics import Metrics
from faultmaven.infrastructure.observability.tracing import OtelTracer
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.idempotency_store import IdempotencyStore
from faultmaven.infrastructure.persistence.migrations import current_revision, head_revision, upgrade_to_head
from faultmaven.infrastructure.queue.in_process import InProcessJobQueue
from faultmaven.infrastructure.queue.taskiq_queue import TaskiqJobQueue
from faultmaven.infrastructure.rate_limiter import RateLimiter
from faultmaven.infrastructure.redis_health import redis_reachable
from faultmaven.infrastructure.security.encryption import (
    FieldCipher,
    MissingKeyError,
    attach_cipher,
    local_key,
)
from faultmaven.infrastructure.security.sanitizer import Sanitizer, redact
from faultmaven.models.interfaces import BaseTool
from faultmaven.models.jobs import JobQueue
from faultmaven.services.account_service import AccountService
from faultmaven.services.agent_service import AgentService
from faultmaven.services.auth_service import AuthService
from faultmaven.services.case_service import CaseService
from faultmaven.services.evidence import EvidenceService
from faultmaven.services.knowledge.embeddings import MiniLMEmbedder, require_available
from faultmaven.services.knowledge.service import KnowledgeService
from faultmaven.services.knowledge.sources import starter_documents
from faultmaven.services.passwords import Passwords
from faultmaven.services.query_runner import QueryRunner, RunnerSettings
from faultmaven.services.query_service import QueryPolicy, QueryService
from faultmaven.services.report_service import ReportService
from faultmaven.services.session_service import SessionService
from faultmaven.services.sharing_service import AuditLog, SharingService
from faultmaven.services.team_service import TeamService
from faultmaven.services.title_service import TitleService
from faultmaven.tools.evidence_tools import evidence_tools
from faultmaven.tools.knowledge_search import KnowledgeSearchTool

_logger = structlog.get_logger(__name__)


class Container:
    """Lazily built services; `start()` migrates and starts background jobs, `stop()` undoes it."""

    def __init__(self, settings: Settings | None = None, environ: dict[str, str] | None = None):
        self.settings = settings or Settings()
        self._environ = environ
        self._started = False
        self._start_lock = asyncio.Lock()
        self._background: list[asyncio.Task[None]] = []

    @cached_property
    def database(self) -> Database:
        database = Database(self.settings.database_url)
        attach_cipher([database.write_engine, database.read_engine], lambda: self.field_cipher)
        return database

    @cached_property
    def field_cipher(self) -> FieldCipher:
        """The at-rest cipher: configured keys, else (local mode only) a key file in the data directory."""
        keys = self.settings.encryption_keys
        if not keys and self.settings.auth_mode == "token":
            raise MissingKeyError("token mode needs an encryption key for the originals stored at rest")
        return FieldCipher(keys or [local_key(self.settings.encryption_key_file)])

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics()

    @cached_property
    def tracer(self) -> OtelTracer:
        return OtelTracer(exporter=self.settings.tracing_exporter, endpoint=self.settings.otlp_endpoint)

    @cached_property
    def sanitizer(self) -> Sanitizer:
        return Sanitizer()

    @cached_property
    def llm_router(self) -> LLMRouter:
        import os

        specs = parse_providers(
            {**os.environ, **(self._environ or {}), "FAULTMAVEN_LLM_PROVIDERS": self.settings.llm_providers}
        )
        return LLMRouter(
            specs,
            failure_threshold=self.settings.llm_failure_threshold,
            cooldown_seconds=self.settings.llm_cooldown_seconds,
            max_retries=self.settings.llm_max_retries,
            on_event=self.metrics.on_llm_event,
        )

    def get_llm_provider(self) -> LLMRouter:
        return self.llm_router

    @cached_property
    def auth_service(self) -> AuthService:
        return AuthService(
            self.database, timedelta(hours=self.settings.token_ttl_hours), self.settings.local_username
        )

    @cached_property
    def account_service(self) -> AccountService:
        return AccountService(
            self.database,
            self.auth_service,
            Passwords(),
            max_failures=self.settings.login_max_failures,
            lockout=timedelta(minutes=self.settings.login_lockout_minutes),
        )

    @cached_property
    def team_service(self) -> TeamService:
        return TeamService(self.database)

    @cached_property
    def session_service(self) -> SessionService:
        return SessionService(self.database, self.settings.session_timeout_minutes)

    def get_session_service(self) -> SessionService:
        return self.session_service

    @cached_property
    def case_service(self) -> CaseService:
        return CaseService(self.database, self.settings.case_retention_days)

    def get_case_service(self) -> CaseService:
        return self.case_service

    @cached_property
    def title_service(self) -> TitleService:
        return TitleService(self.case_service, self.llm_router, self.sanitizer)

    @cached_property
    def knowledge_service(self) -> KnowledgeService:
        return KnowledgeService(self.database, MiniLMEmbedder() if self.settings.kb_semantic else None)

    @cached_property
    def evidence_service(self) -> EvidenceService:
        return EvidenceService(
            self.database, self.case_service, self.sanitizer, max_upload_bytes=self.settings.max_upload_bytes,
            shutdown_grace_seconds=self.settings.shutdown_grace_seconds,
        )

    def get_tools(self) -> list[BaseTool]:
        return [KnowledgeSearchTool(self.knowledge_service), *evidence_tools(self.evidence_service)]

    @cached_property
    def agent_service(self) -> AgentService:
        """With ENABLE_CASE_AGENT_INTEGRATION off, the agent answers without the case's conversation and
        does not record the exchange in it (the design document's rollback switch)."""
        case_service = self.case_service if self.settings.enable_case_agent_integration else None
        return AgentService(
            llm_provider=self.get_llm_provider(),
            tools=self.get_tools(),
            tracer=self.tracer,
            sanitizer=self.sanitizer,
            session_service=self.get_session_service(),
            settings=self.settings,
            case_service=case_service,
            metrics=self.metrics,
        )

    def get_agent_service(self) -> AgentService:
        return self.agent_service

    @cached_property
    def query_service(self) -> QueryService:
        policy = QueryPolicy(sync_budget_seconds=self.settings.sync_query_budget_seconds,
                             async_threshold_chars=self.settings.async_query_threshold_chars,
                             shutdown_grace_seconds=self.settings.shutdown_grace_seconds)
        return QueryService(self.database, self.case_service, self.query_runner, self.job_queue, policy)

    @cached_property
    def query_runner(self) -> QueryRunner:
        settings = RunnerSettings(lease_seconds=self.settings.job_lease_seconds,
                                  max_attempts=self.settings.job_max_attempts,
                                  record_messages=self.settings.enable_case_agent_integration)
        return QueryRunner(self.database, self.case_service, self.agent_service, self.tracer, settings)

    @cached_property
    def job_queue(self) -> JobQueue:
        """In-process workers on the embedded default; taskiq on Redis with FAULTMAVEN_QUEUE_URL."""
        run_job = self.query_runner.claim_and_run
        if self.settings.queue_url:
            return TaskiqJobQueue(self.settings.queue_url, self.database, run_job,
                                  max_pending=self.settings.job_max_pending,
                                  sweep_seconds=self.settings.job_sweep_seconds,
                                  concurrency=self.settings.job_concurrency)
        return InProcessJobQueue(self.database, run_job, concurrency=self.settings.job_concurrency,
                                 max_pending=self.settings.job_max_pending,
                                 sweep_seconds=self.settings.job_sweep_seconds,
                                 shutdown_grace_seconds=self.settings.shutdown_grace_seconds)

    @cached_property
    def audit_log(self) -> AuditLog:
        return AuditLog(self.database, timedelta(days=self.settings.audit_retention_days))

    @cached_property
    def sharing_service(self) -> SharingService:
        return SharingService(self.database, self.case_service, self.audit_log)

    @cached_property
    def report_service(self) -> ReportService:
        return ReportService(self.case_service, self.knowledge_service, self.llm_router, self.sanitizer,
                             shutdown_grace_seconds=self.settings.shutdown_grace_seconds)

    @cached_property
    def idempotency_store(self) -> IdempotencyStore:
        return IdempotencyStore(self.database)

    @cached_property
    def rate_limiter(self) -> RateLimiter:
        """Shared through Redis when `FAULTMAVEN_REDIS_URL` is set, so budgets hold across processes."""
        return RateLimiter(
            {"queries": self.settings.rate_limit_queries, "writes": self.settings.rate_limit_writes},
            redis_url=self.settings.redis_url,
            key_prefix=self.settings.rate_limit_key_prefix,
        )

    @cached_property
    def dashboard(self) -> CaseAgentDashboard:
        return CaseAgentDashboard(
            self.metrics, persistence_enabled=self.settings.enable_case_agent_integration
        )

    def configure_logging(self) -> None:
        """JSON logs on stderr, every string passed through the sanitizer's one-way redaction."""
        configure_logging(self.settings.log_level, json=self.settings.log_json)
        set_redactor(redact)

    async def start(self) -> None:
        """Idempotent: lifespan calls it, and so does the first request when no lifespan ran. A failing
        step raises `StartupError` naming its setting."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            with startup_step("FAULTMAVEN_ENCRYPTION_KEYS", "generate a key with `faultmaven keys generate` "
                              "and set it (comma-separated, newest first)"):
                _ = self.field_cipher
            if self.settings.kb_semantic:
                with startup_step("FAULTMAVEN_KB_SEMANTIC", "install the extra (pip install "
                                  "'faultmaven[semantic]') or set FAULTMAVEN_KB_SEMANTIC=false"):
                    require_available()
            database_at = make_url(self.settings.database_url).render_as_string(hide_password=True)
            with startup_step("FAULTMAVEN_DATABASE_URL", f"start the database at {database_at} or correct "
                              "the URL"):
                if self.settings.migrate_on_start:
                    await upgrade_to_head(self.database)
                elif not await self.database.ping():
                    raise ConnectionError("the database does not answer")
            if self.settings.kb_load_starter:
                await self._load_starter_knowledge()
            queue_setting = "FAULTMAVEN_QUEUE_URL" if self.settings.queue_url else "FAULTMAVEN_DATABASE_URL"
            with startup_step(queue_setting, "start the service it names or correct the URL"):
                await self.job_queue.start()
            self._background.append(asyncio.create_task(self._purge_loop()))
            self._background.append(asyncio.create_task(self._dashboard_sample_loop()))
            if self.settings.kb_semantic:
                self.knowledge_service.start_embedding()
            self._started = True

    async def _load_starter_knowledge(self) -> None:
        """The packaged runbooks as global documents; a failure is logged, never fatal to the server."""
        try:
            report = await self.knowledge_service.upsert_sources(starter_documents(), revive_deleted=False)
        except Exception:
            _logger.exception("loading the starter runbooks failed")
            return
        if report.created or report.updated:
            _logger.info("starter runbooks loaded", created=len(report.created), updated=len(report.updated))

    async def stop(self) -> None:
        """Graceful: running answers, ingestions and reports share one `shutdown_grace_seconds` to finish;
        what is left is cancelled (a query's lease runs out and another process, or this one restarted,
        takes it over)."""
        drains = []
        if self._started:
            drains += [self.query_service.drain(), self.job_queue.stop()]
        if "evidence_service" in self.__dict__:
            drains.append(self.evidence_service.stop())
        if "report_service" in self.__dict__:
            drains.append(self.report_service.drain())
        await asyncio.gather(*drains)
        if "knowledge_service" in self.__dict__:
            await self.knowledge_service.stop_embedding()
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        self._started = False
        if "llm_router" in self.__dict__:
            await self.llm_router.aclose()
        await self.database.dispose()

    async def purge_once(self) -> dict[str, int]:
        return {
            "cases": await self.case_service.purge_expired(),
            "idempotency_records": await self.idempotency_store.purge_expired(),
            "audit_events": await self.audit_log.purge_expired(),
        }

    async def _purge_loop(self) -> None:
        while True:
            try:
                purged = await self.purge_once()
                if any(purged.values()):
                    _logger.info("retention purge", **purged)
            except Exception:
                _logger.exception("retention purge failed")
            await asyncio.sleep(self.settings.purge_interval_seconds)

    async def _dashboard_sample_loop(self) -> None:
        """Snapshots for the dashboard's sliding window, taken even when nobody looks at it."""
        while True:
            try:
                self.dashboard.sample()
            except Exception:
                _logger.exception("dashboard sample failed")
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)

    async def _redis_report(self) -> dict[str, Any]:
        """Reported, not required: the rate limiter fails open while Redis is down."""
        if not self.settings.redis_url:
            return {"redis": {"configured": False}}
        return {"redis": {"configured": True, "reachable": await redis_reachable(self.settings.redis_url)}}

    def _rate_limit_report(self) -> dict[str, Any]:
        return {
            "rate_limit": {
                "enabled": self.settings.rate_limit_enabled,
                "storage": self.rate_limiter.storage_kind,
                "queries": self.settings.rate_limit_queries,
                "writes": self.settings.rate_limit_writes,
            }
        }

    async def readiness(self) -> dict[str, Any]:
        database_ok = await self.database.ping()
        revision = await current_revision(self.database) if database_ok else None
        at_head = revision == head_revision()
        providers = [vars(health) for health in self.llm_router.health()]
        return {
            "status": "ready" if database_ok and at_head else "not_ready",
            "database": {"reachable": database_ok, "revision": revision, "at_head": at_head},
            "llm": {"configured": self.llm_router.configured, "providers": providers},
            **await self._redis_report(),
            **self._rate_limit_report(),
        }

    async def detailed_health(self) -> dict[str, Any]:
        ready = await self.readiness()
        return {
            **ready,
            "version": __version__,
            "auth_mode": self.settings.auth_mode,
            "dev_login": self.settings.dev_login_enabled,
            "database": {
                **ready["database"],
                "engine": "sqlite" if self.database.is_sqlite else "postgresql",
            },
            "queue": self.job_queue.health(),
            "case_integration": {
                **self.agent_service.health_check()["case_integration"],
                "case_service_healthy": ready["database"]["reachable"],
            },
        }
