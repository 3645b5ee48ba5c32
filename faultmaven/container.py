"""The composition root: builds every service from settings, once per application, and nothing else.

Routes reach these through `api.dependencies.get_container`; nothing here is an import-time global.
Running them (start-up, shutdown, the periodic loops) is `lifecycle.py`'s job.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cached_property
from typing import Any

from faultmaven.config.settings import Settings
from faultmaven.infrastructure.llm.config import parse_providers
from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.infrastructure.observability.dashboard import CaseAgentDashboard
from faultmaven.infrastructure.observability.metrics import Metrics
from faultmaven.infrastructure.observability.tracing import OtelTracer
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.idempotency_store import IdempotencyStore
from faultmaven.infrastructure.queue.in_process import InProcessJobQueue
from faultmaven.infrastructure.queue.taskiq_queue import TaskiqJobQueue
from faultmaven.infrastructure.rate_limiter import RateLimiter
from faultmaven.infrastructure.security.encryption import (
    FieldCipher,
    MissingKeyError,
    attach_cipher,
    local_key,
)
from faultmaven.infrastructure.security.sanitizer import Sanitizer
from faultmaven.lifecycle import Lifecycle
from faultmaven.models.interfaces import BaseTool
from faultmaven.models.jobs import JobQueue
from faultmaven.services.accounts.auth import AuthService
from faultmaven.services.accounts.passwords import Passwords
from faultmaven.services.accounts.service import AccountService
from faultmaven.services.accounts.sessions import SessionService
from faultmaven.services.accounts.sharing import SharingService
from faultmaven.services.accounts.teams import TeamService
from faultmaven.services.agent_service import AgentService
from faultmaven.services.cases.audit import AuditLog
from faultmaven.services.cases.reports import ReportService
from faultmaven.services.cases.retention import RetentionService
from faultmaven.services.cases.service import CaseService
from faultmaven.services.cases.titles import TitleService
from faultmaven.services.evidence import EvidenceService
from faultmaven.services.health_service import HealthService
from faultmaven.services.knowledge.embeddings import MiniLMEmbedder
from faultmaven.services.knowledge.service import KnowledgeService
from faultmaven.services.queries.runner import QueryRunner, RunnerSettings
from faultmaven.services.queries.service import QueryPolicy, QueryService
from faultmaven.tools.evidence_tools import evidence_tools
from faultmaven.tools.knowledge_search import KnowledgeSearchTool


class Container:
    """Lazily built services, each built once; `start()` and `stop()` hand over to the `Lifecycle`."""

    def __init__(self, settings: Settings | None = None, environ: dict[str, str] | None = None):
        self.settings = settings or Settings()
        self._environ = environ

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

    @cached_property
    def case_service(self) -> CaseService:
        return CaseService(self.database, self.settings.case_retention_days)

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

    def get_tools(self) -> list[BaseTool[Any]]:
        return [KnowledgeSearchTool(self.knowledge_service), *evidence_tools(self.evidence_service)]

    @cached_property
    def agent_service(self) -> AgentService:
        """With ENABLE_CASE_AGENT_INTEGRATION off, the agent answers without the case's conversation and
        does not record the exchange in it (the design document's rollback switch)."""
        case_service = self.case_service if self.settings.enable_case_agent_integration else None
        return AgentService(
            llm_provider=self.llm_router,
            tools=self.get_tools(),
            tracer=self.tracer,
            sanitizer=self.sanitizer,
            session_service=self.session_service,
            settings=self.settings,
            case_service=case_service,
            metrics=self.metrics,
        )

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

    @cached_property
    def retention(self) -> RetentionService:
        return RetentionService(self.case_service, self.idempotency_store, self.audit_log)

    @cached_property
    def health_service(self) -> HealthService:
        return HealthService(self.settings, self.database, self.llm_router, self.rate_limiter,
                             self.job_queue, self.agent_service)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(self)

    def built(self, name: str) -> bool:
        """Whether the service `name` was built (shutdown closes only what exists)."""
        return name in self.__dict__

    async def start(self) -> None:
        """The app's start-up (lifespan, first request, CLI); see `Lifecycle.start`."""
        await self.lifecycle.start()

    async def stop(self) -> None:
        """The app's shutdown; see `Lifecycle.stop`."""
        await self.lifecycle.stop()
