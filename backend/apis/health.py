"""Liveness and readiness probes."""

import logging
from typing import Literal

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.apis.openapi import problem_responses
from backend.core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

LOCK_NOT_AVAILABLE = "55P03"

router = APIRouter(prefix="/health", tags=["health"])

READY_TIMEOUT_SECONDS = 3
# Longer than this waiting for the tables every request reads (a migration holding them):
# not ready, since the requests sent here would wait as long.
READY_LOCK_TIMEOUT = "1s"
# The tables nearly every request reads.
CORE_TABLES = "users, companies, jobs"


class Live(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"


@router.get("/live", response_model=Live)
async def live() -> Live:
    """The process is up; touches no database."""
    return Live()


@router.get("/ready", response_model=Ready, responses=problem_responses(503))
async def ready(request: Request) -> Ready:
    """The database answers and its schema is at this version's newest migration, or ahead of
    it (the next release's migrations, written expand/contract, applied before it rolls out),
    and no schema change holds the core tables longer than READY_LOCK_TIMEOUT (requests here
    would wait as long); a schema behind it, or held, is 503."""
    expected: set[str] = request.app.state.migration_heads
    known: set[str] = request.app.state.known_revisions
    if request.app.state.drain.started.is_set():
        raise ServiceUnavailable("The server is shutting down.")
    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as connection:
                current = await _applied_migrations(connection)
                if current != expected and (not current or current <= known):
                    # A revision this code knows, other than its newest, is behind it; one it
                    # does not know comes from a newer release.
                    raise ServiceUnavailable(
                        "The database schema is behind this version's newest migration."
                    )
                if not await _core_tables_free(connection):
                    raise ServiceUnavailable(
                        "A schema change holds the tables this server reads; try again shortly."
                    )
    except (SQLAlchemyError, TimeoutError, OSError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        raise ServiceUnavailable("The database does not answer.") from None
    return Ready()


async def _core_tables_free(connection: AsyncConnection) -> bool:
    """Whether a read of the core tables gets its lock within READY_LOCK_TIMEOUT (a lock a
    migration holds, or waits for, makes every read queue behind it)."""
    await connection.execute(text(f"SET LOCAL lock_timeout = '{READY_LOCK_TIMEOUT}'"))
    try:
        await connection.execute(text(f"LOCK TABLE {CORE_TABLES} IN ACCESS SHARE MODE"))
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    return True


async def _applied_migrations(connection: AsyncConnection) -> set[str]:
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except ProgrammingError:  # no alembic_version table: never migrated
        return set()
    return set(result.scalars())
