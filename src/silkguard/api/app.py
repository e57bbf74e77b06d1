"""``create_app(settings)``: the FastAPI application. Nothing happens at import time."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from anyio import to_thread
from fastapi import Depends, FastAPI
from pydantic import BaseModel

from silkguard import __version__
from silkguard.api.callers import CallerCache
from silkguard.api.deps import reject_nul_characters
from silkguard.api.middleware import RequestGuard
from silkguard.api.problems import (
    install_problem_handlers,
    problem_responses,
)
from silkguard.api.routes import admin as admin_routes
from silkguard.api.routes import alerts as alert_routes
from silkguard.api.routes import auth as auth_routes
from silkguard.api.routes import incidents as incident_routes
from silkguard.api.routes import intake as intake_routes
from silkguard.api.routes import maps as map_routes
from silkguard.api.routes import movements as movement_routes
from silkguard.api.routes import people as people_routes
from silkguard.api.routes import plans as plan_routes
from silkguard.api.routes import pooling as pooling_routes
from silkguard.api.routes import reports as report_routes
from silkguard.api.routes import risk as risk_routes
from silkguard.api.routes import rollcall_page
from silkguard.api.routes import sites as site_routes
from silkguard.api.routes import subscriptions as subscription_routes
from silkguard.api.routes import taxii as taxii_routes
from silkguard.api.routes import tips as tip_routes
from silkguard.auth.ratelimit import SlidingWindowLimiter
from silkguard.core.changes import SharedCounterReads, current_counters
from silkguard.core.db import (
    autocommit_engine,
    make_engine,
    make_session_factory,
    read_only_engine,
)
from silkguard.core.settings import Settings, get_settings
from silkguard.incidents.mapindex import MapIndex
from silkguard.jobs import JobRunner
from silkguard.web import mount_dashboard
from silkguard.worker import tasks as worker_tasks

__all__ = ["API_PREFIX", "create_app"]

_log = logging.getLogger("silkguard.api")

API_PREFIX = "/api/v1"
DESCRIPTION = """
silkguard keeps the people and projects of an infrastructure corridor safe: incident
intelligence with provenance, TLP-marked sharing, and (as they land) risk forecasts, movement
control, alerts and roll-call.

**Authentication**: `POST /api/v1/auth/login` gives a short-lived bearer access token and a
refresh token; machines send an API key in `X-API-Key`. **Errors** are RFC 9457 problem
documents (`application/problem+json`). **Visibility**: every list, read, search and export
applies TLP 2.0 and sharing groups in one place (see docs/visibility.md).
"""


class Health(BaseModel):
    status: str
    version: str


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (read from the environment when omitted)."""
    cfg = settings or get_settings()
    engine = make_engine(cfg.database_url, echo=cfg.sql_echo)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Routes and dependencies that touch the database are plain functions run in this
        # pool. Starlette's default of 40 threads contending for the GIL costs more than it
        # overlaps: 4 threads served 60 % more searches per second than 40 (docs/benchmarks.md).
        to_thread.current_default_thread_limiter().total_tokens = cfg.threads_per_worker
        runner = jobs()
        if not cfg.jobs_url and cfg.run_schedules:  # the embedded default runs them here
            runner.start_scheduler()
        # map searches from a copy of the incidents, kept exact by the database's change
        # counters and made on a background thread (incidents.mapindex); 0 rows turns it off
        if cfg.map_index_max_rows > 0:
            read_engine = app.state.read_engine
            app.state.map_index = MapIndex(
                lambda: app.state.session_factory(bind=read_engine),
                max_rows=cfg.map_index_max_rows,
                refresh_s=cfg.map_index_refresh_s,
            )
        # Everything loaded so far (modules, the app, caches) lives as long as the process.
        # Frozen, the collector stops walking it on every full collection: before, one request
        # in ten paid a 50-60 ms pause (a TAXII page p50 of 33 ms had a p95 of 90 ms; frozen,
        # 37 ms; docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()  # what the app held may now be collected (tests start many apps)
        _shut_down(app, runner)
        engine.dispose()

    app = FastAPI(
        title="silkguard",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_characters)],
    )
    app.state.settings = cfg
    app.state.engine = engine
    app.state.read_engine = read_only_engine(engine)
    # the change counters, read by every authenticated request (api.deps)
    app.state.autocommit_engine = counters_engine = autocommit_engine(engine)
    app.state.counter_reads = SharedCounterReads(partial(current_counters, counters_engine))
    app.state.session_factory = make_session_factory(engine)
    app.state.login_limiter = SlidingWindowLimiter(cfg.login_rate_per_minute, 60.0)
    # remembered while the database's change counters say nothing changed (api.callers,
    # incidents.mapindex)
    app.state.callers = CallerCache()
    app.state.map_index = None  # made at start-up (lifespan)
    # background work (deliveries, reminders, overdue checks, purge): in this process by
    # default, on Dramatiq workers when SILKGUARD_JOBS_URL is set (docs/jobs.md)
    app.state.jobs = None
    app.state.deployment = None

    def jobs() -> JobRunner:
        if app.state.jobs is None:
            deployment = worker_tasks.start(cfg, factory=app.state.session_factory)
            app.state.deployment = deployment
            app.state.jobs = deployment.jobs
        runner: JobRunner = app.state.jobs
        return runner

    def dispatch_alert(alert_id: uuid.UUID) -> None:
        jobs().enqueue("alerts.dispatch", alert_id=str(alert_id))

    app.state.dispatch_alert = dispatch_alert
    install_problem_handlers(app)

    app.add_middleware(RequestGuard, max_body_bytes=cfg.max_body_bytes)

    @app.get(f"{API_PREFIX}/health", tags=["meta"], summary="Liveness check")
    def health() -> Health:
        """Answers without touching the database; for load balancers and benchmarks."""
        return Health(status="ok", version=__version__)

    _include_routes(app)
    return app


def _shut_down(app: FastAPI, runner: JobRunner) -> None:
    """Stop what the app started (before its engine is disposed)."""
    _log.info("change counters: %d readings", app.state.counter_reads.readings)
    if app.state.map_index is not None:
        app.state.map_index.close()
    app.state.map_index = None
    runner.close()
    if app.state.deployment is not None:
        app.state.deployment.close()  # its sender threads
    app.state.deployment = None
    app.state.jobs = None  # a later start-up (tests restart apps) builds a new runner


def _include_routes(app: FastAPI) -> None:
    """Every router of the API, then the dashboard at ``/``."""
    # Every routed operation can answer 401, 413 (body_limit) and 422 (as problem documents,
    # not FastAPI's default validation body); routes add their own codes.
    common = problem_responses(401, 413, 422)
    app.include_router(auth_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(incident_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(pooling_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(admin_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(risk_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(movement_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(movement_routes.options_router, prefix=API_PREFIX, responses=common)
    app.include_router(movement_routes.patterns_router, prefix=API_PREFIX, responses=common)
    app.include_router(site_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(people_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(people_routes.positions_router, prefix=API_PREFIX, responses=common)
    app.include_router(alert_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(plan_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(intake_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(tip_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(tip_routes.public_router, prefix=API_PREFIX, responses=common)
    app.include_router(alert_routes.self_router, prefix=API_PREFIX, responses=common)
    app.include_router(alert_routes.public_router, prefix=API_PREFIX, responses=common)
    app.include_router(rollcall_page.router)
    app.include_router(tip_routes.page_router)
    app.include_router(taxii_routes.router)  # /taxii2/: TAXII 2.1, its own media type
    app.include_router(map_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(report_routes.router, prefix=API_PREFIX, responses=common)
    app.include_router(subscription_routes.router, prefix=API_PREFIX, responses=common)
    mount_dashboard(app)  # / : the dashboard (static files over this API)
