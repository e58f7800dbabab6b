"""The app factory; `uvicorn backend.main:app` serves the app built from the environment."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial

from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig
from fastapi_offline import FastAPIOffline
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.apis import health, metrics, sitemaps, web
from backend.apis.openapi import install_openapi, operation_id
from backend.apis.router import (
    API_PREFIX,
    TAGS,
    include_api,
    include_routes,
    match_hot_routes_first,
)
from backend.core.config import Settings, load_settings
from backend.core.cursor import CursorCodec
from backend.core.draining import Drain
from backend.core.logs import configure_logging
from backend.core.mail import create_mailer
from backend.core.metrics import MetricsMiddleware, app_registry, separate_registry, serving
from backend.core.middleware import (
    BodySizeLimitMiddleware,
    DeadlineMiddleware,
    RequestIdMiddleware,
)
from backend.core.problems import install_problem_handlers
from backend.core.security import PasswordHasher
from backend.db import admin
from backend.db.admin import ALEMBIC_INI
from backend.db.engine import (
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
)
from backend.db.hot import HotConnections, hot_pool_size
from backend.db.replica import ReadReplica
from backend.search.engine import SearchIndex
from backend.search.feed import Keeper

# FastAPI's OpenTelemetry support turned off (OPENTELEMETRY_ENABLED=false, the default).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

DESCRIPTION = """\
The REST API of a job board: employers post jobs for their companies, candidates search
and apply. Sign in with **Authorize** (your email as `username`) to try the protected routes.
Errors are RFC 9457 problem details (`application/problem+json`).
"""


def migration_heads() -> set[str]:
    """The revisions a fully migrated database is at."""
    return set(ScriptDirectory.from_config(Config(str(ALEMBIC_INI))).get_heads())


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; its engine and hasher are made at startup and disposed of at shutdown."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The hot reads' own pool is part of DB_POOL_SIZE: the engine keeps the rest.
        engine = create_engine(
            settings, role="api", pool_size=settings.db_pool_size - hot_pool_size(settings)
        )
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.read_sessionmaker = create_read_sessionmaker(engine)
        # Closed below as made here (tests put another in app.state for their connection).
        hot = HotConnections(engine, settings)
        app.state.hot = hot
        await hot.open()
        # Building the hasher computes the dummy hash: seconds at high cost, so off the loop.
        app.state.hasher = await asyncio.to_thread(
            partial(
                PasswordHasher,
                settings.bcrypt_rounds,
                queue_limit=settings.password_hash_queue_limit or None,
            )
        )
        app.state.migration_heads = migration_heads()
        app.state.known_revisions = admin.known_revisions()
        app.state.mailer = create_mailer(settings)
        app.state.drain = Drain(settings.drain_seconds)
        app.state.drain.install()
        app.state.replica = None
        watching = None
        if settings.read_database is not None:
            replica_engine = create_engine(
                settings,
                settings.read_database,
                role="api-replica",
                connect_timeout=2,
                pool_size=settings.db_pool_size - hot_pool_size(settings),
            )
            app.state.replica = ReadReplica(
                replica_engine,
                HotConnections(replica_engine, settings, settings.read_database),
                max_lag_seconds=settings.db_read_max_lag_seconds,
                check_seconds=settings.db_read_check_seconds,
            )
            await app.state.replica.hot.open()
            await app.state.replica.check()
            watching = asyncio.create_task(app.state.replica.watch())
        metrics_served = contextlib.ExitStack()
        if settings.metrics_enabled and settings.metrics_port:
            metrics_served.enter_context(
                serving(
                    separate_registry(app.state), settings.metrics_address, settings.metrics_port
                )
            )
        keeper = None
        app.state.search_index = None
        if settings.search_index_dir is not None:
            app.state.search_index = SearchIndex(settings.search_index_dir)
            # Its own connection, opened only by the process that writes the index.
            keeper = Keeper(
                app.state.search_index,
                create_engine(settings, role="search-index", pool_size=1, observed=False),
                interval=settings.search_index_interval_seconds,
            )
            keeper.start()
        working = None
        if settings.worker_in_process:
            # Development: background tasks run in this process (production runs
            # `python -m backend worker` beside the API).
            from backend.tasks.worker import run_worker

            working = asyncio.create_task(
                run_worker(settings, install_signal_handlers=False, name="in-process")
            )
        try:
            yield
        finally:
            metrics_served.close()
            if keeper is not None:
                await asyncio.to_thread(keeper.stop)
                app.state.search_index.close()
            if working is not None:
                working.cancel()
                with suppress(asyncio.CancelledError):
                    await working
            if watching is not None:
                watching.cancel()
                with suppress(asyncio.CancelledError):
                    await watching
                await app.state.replica.hot.close()
                await app.state.replica.engine.dispose()
            await hot.close()
            await engine.dispose()
            app.state.hasher.close()

    # Swagger UI from assets shipped in a pinned package, not a CDN: /docs works on a
    # network that cannot reach the internet. No ReDoc: its bundle asks a third-party host
    # for its attribution logo on every view, with no option to turn that off.
    app = FastAPIOffline(
        redoc_url=None,
        title="Job board API",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_tags=TAGS,
        swagger_ui_parameters={"persistAuthorization": True},
        telemetry=None if settings.opentelemetry_enabled else NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.cursor_codec = CursorCodec(settings.secret_key.get_secret_value())
    install_problem_handlers(app)
    install_openapi(app)
    include_routes(app, health.router)
    include_api(app)
    include_routes(app, sitemaps.router)
    if settings.metrics_enabled and not settings.metrics_port:
        app.state.metrics = app_registry(app.state)
        include_routes(app, metrics.router)
    if settings.web_app_enabled:
        web.install(app)
    match_hot_routes_first(app)

    # Added last is outermost: request ids wrap everything, then metrics, then the deadline,
    # then CORS, then the body limit.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        uploads={API_PREFIX + "/users/me/resumes": settings.resume_max_bytes},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            # If-Match: a separate-origin app changes versioned things (412 on a stale ETag).
            allow_headers=["Authorization", "Content-Type", "If-Match", "X-Request-ID"],
            expose_headers=["ETag", "Location", "Retry-After", "X-Request-ID"],
        )
    # The client address (for throttling) comes from X-Forwarded-For only via trusted proxies.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    if settings.request_timeout_seconds:
        app.add_middleware(DeadlineMiddleware, seconds=settings.request_timeout_seconds)
    if settings.metrics_enabled:
        app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app


_app: FastAPI | None = None


def __getattr__(name: str) -> FastAPI:
    # `backend.main:app` is built on first access, not at import, so tests and commands
    # can import this module without reading the environment.
    global _app
    if name != "app":
        raise AttributeError(name)
    if _app is None:
        settings = load_settings()
        configure_logging(settings)
        _app = create_app(settings)
    return _app
