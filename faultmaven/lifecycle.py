"""Start-up and shutdown of one application's container, and the loops that run while it serves.

The container builds; this module runs: it migrates the database, loads the starter runbooks, starts the
job queue and the periodic loops (retention purge, dashboard samples), and on shutdown drains all
background work within one grace period before closing connections.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog
from sqlalchemy import make_url

from faultmaven.config.settings import Settings
from faultmaven.config.startup import startup_step
from faultmaven.infrastructure.background import BackgroundTasks
from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.infrastructure.observability.dashboard import SAMPLE_INTERVAL_SECONDS, CaseAgentDashboard
from faultmaven.infrastructure.observability.logging import configure_logging as configure_structlog
from faultmaven.infrastructure.observability.logging import set_redactor
from faultmaven.infrastructure.persistence.database import Database
from faultmaven.infrastructure.persistence.migrations import upgrade_to_head
from faultmaven.infrastructure.security.encryption import FieldCipher
from faultmaven.infrastructure.security.sanitizer import redact
from faultmaven.models.jobs import JobQueue
from faultmaven.services.cases.reports import ReportService
from faultmaven.services.cases.retention import RetentionService
from faultmaven.services.evidence import EvidenceService
from faultmaven.services.knowledge.embeddings import require_available
from faultmaven.services.knowledge.service import KnowledgeService
from faultmaven.services.knowledge.sources import starter_documents
from faultmaven.services.queries.service import QueryService

_logger = structlog.get_logger(__name__)


def configure_logging(settings: Settings) -> None:
    """JSON logs on stderr, every string passed through the sanitizer's one-way redaction."""
    configure_structlog(settings.log_level, json=settings.log_json)
    set_redactor(redact)


class Services(Protocol):
    """What the lifecycle starts, runs and stops: the container, which builds each of these once, on first
    use (`built` says whether it has, so shutdown closes only what exists)."""

    settings: Settings

    @property
    def field_cipher(self) -> FieldCipher: ...
    @property
    def database(self) -> Database: ...
    @property
    def llm_router(self) -> LLMRouter: ...
    @property
    def job_queue(self) -> JobQueue: ...
    @property
    def query_service(self) -> QueryService: ...
    @property
    def evidence_service(self) -> EvidenceService: ...
    @property
    def report_service(self) -> ReportService: ...
    @property
    def knowledge_service(self) -> KnowledgeService: ...
    @property
    def retention(self) -> RetentionService: ...
    @property
    def dashboard(self) -> CaseAgentDashboard: ...

    def built(self, name: str) -> bool: ...


class Lifecycle:
    """`start()` migrates and starts background work, `stop()` undoes it; both are idempotent."""

    def __init__(self, container: Services):
        self._container = container
        self._settings = container.settings
        self._started = False
        self._start_lock = asyncio.Lock()
        self._loops = BackgroundTasks("lifecycle loops")

    async def start(self) -> None:
        """Idempotent: lifespan calls it, and so does the first request when no lifespan ran. A failing
        step raises `StartupError` naming its setting."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            await self._check_and_migrate()
            if self._settings.kb_load_starter:
                await self._load_starter_knowledge()
            queue_setting = "FAULTMAVEN_QUEUE_URL" if self._settings.queue_url else "FAULTMAVEN_DATABASE_URL"
            with startup_step(queue_setting, "start the service it names or correct the URL"):
                await self._container.job_queue.start()
            self._loops.spawn(self._purge_loop())
            self._loops.spawn(self._dashboard_sample_loop())
            if self._settings.kb_semantic:
                self._container.knowledge_service.start_embedding()
            self._started = True

    async def _check_and_migrate(self) -> None:
        """The steps that need an operator when they fail: the key, the semantic extra, the database."""
        settings, container = self._settings, self._container
        with startup_step("FAULTMAVEN_ENCRYPTION_KEYS", "generate a key with `faultmaven keys generate` "
                          "and set it (comma-separated, newest first)"):
            _ = container.field_cipher
        if settings.kb_semantic:
            with startup_step("FAULTMAVEN_KB_SEMANTIC", "install the extra (pip install "
                              "'faultmaven[semantic]') or set FAULTMAVEN_KB_SEMANTIC=false"):
                require_available()
        database_at = make_url(settings.database_url).render_as_string(hide_password=True)
        with startup_step("FAULTMAVEN_DATABASE_URL", f"start the database at {database_at} or correct "
                          "the URL"):
            if settings.migrate_on_start:
                await upgrade_to_head(container.database)
            elif not await container.database.ping():
                raise ConnectionError("the database does not answer")

    async def _load_starter_knowledge(self) -> None:
        """The packaged runbooks as global documents; a failure is logged, never fatal to the server."""
        try:
            report = await self._container.knowledge_service.upsert_sources(
                starter_documents(), revive_deleted=False
            )
        except Exception:
            _logger.exception("loading the starter runbooks failed")
            return
        if report.created or report.updated:
            _logger.info("starter runbooks loaded", created=len(report.created), updated=len(report.updated))

    async def stop(self) -> None:
        """Graceful: running answers, ingestions and reports share one `shutdown_grace_seconds` to finish;
        what is left is cancelled (a query's lease runs out and another process, or this one restarted,
        takes it over)."""
        container = self._container
        drains = []
        if self._started:
            drains += [container.query_service.drain(), container.job_queue.stop()]
        if container.built("evidence_service"):
            drains.append(container.evidence_service.stop())
        if container.built("report_service"):
            drains.append(container.report_service.drain())
        await asyncio.gather(*drains)
        if container.built("knowledge_service"):
            await container.knowledge_service.stop_embedding()
        await self._loops.cancel()
        self._started = False
        if container.built("llm_router"):
            await container.llm_router.aclose()
        await container.database.dispose()

    async def _purge_loop(self) -> None:
        while True:
            try:
                purged = await self._container.retention.purge_once()
                if any(purged.values()):
                    _logger.info("retention purge", **purged)
            except Exception:
                _logger.exception("retention purge failed")
            await asyncio.sleep(self._settings.purge_interval_seconds)

    async def _dashboard_sample_loop(self) -> None:
        """Snapshots for the dashboard's sliding window, taken even when nobody looks at it."""
        while True:
            try:
                self._container.dashboard.sample()
            except Exception:
                _logger.exception("dashboard sample failed")
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)
