"""The health probes."""

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import assert_problem


async def test_ready_is_503_when_the_schema_is_behind(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    # The app checks on its own connection, so the change must be committed: undo it after.
    await db.execute(text("SELECT 1"))
    original = (await db.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    async with db.bind.engine.begin() as conn:  # type: ignore[union-attr]
        await conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    try:
        response = await client.get("/health/ready")
    finally:
        async with db.bind.engine.begin() as conn:  # type: ignore[union-attr]
            await conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": original})
    problem = assert_problem(response, 503)
    assert "migration" in str(problem["detail"])


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
