"""The health probes."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import assert_problem


async def ready_at(client: httpx.AsyncClient, db: AsyncSession, revision: str) -> httpx.Response:
    """/health/ready while the database says it is at `revision`."""
    # The app checks on its own connection, so the change must be committed: undo it after.
    original = (await db.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    async with db.bind.engine.begin() as conn:  # type: ignore[union-attr]
        await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    try:
        return await client.get("/health/ready")
    finally:
        async with db.bind.engine.begin() as conn:  # type: ignore[union-attr]
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": original})


async def test_ready_is_503_when_the_schema_is_behind(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    problem = assert_problem(await ready_at(client, db, "0004_job_titles"), 503)
    assert "behind" in str(problem["detail"])


async def test_ready_accepts_a_schema_ahead_of_this_version(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # The next release's (additive) migration applied before this replica is replaced.
    response = await ready_at(client, db, "0099_from_a_newer_release")
    assert response.status_code == 200, response.text


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
