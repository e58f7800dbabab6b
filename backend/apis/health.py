"""Liveness and readiness probes."""

import logging
from typing import Literal

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from backend.apis.openapi import problem_responses
from backend.core.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/health", tags=["health"])

READY_TIMEOUT_SECONDS = 3


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
    it (the next release's migrations, written expand/contract, applied before it rolls out);
    a schema behind it is 503."""
    expected: set[str] = request.app.state.migration_heads
    known: set[str] = request.app.state.known_revisions
    if request.app.state.drain.started.is_set():
        raise ServiceUnavailable("The server is shutting down.")
    try:
        with anyio.fail_after(READY_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as connection:
                current = await _applied_migrations(connection)
    except (SQLAlchemyError, TimeoutError, OSError) as exc:
        logger.warning("readiness check failed: %s", type(exc).__name__)
        raise ServiceUnavailable("The database does not answer.") from None
    if current != expected and (not current or current <= known):
        # A revision this code knows, other than its newest, is behind it; one it does not
        # know comes from a newer release.
        raise ServiceUnavailable("The database schema is behind this version's newest migration.")
    return Ready()


async def _applied_migrations(connection: AsyncConnection) -> set[str]:
    try:
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except ProgrammingError:  # no alembic_version table: never migrated
        return set()
    return set(result.scalars())
