"""A job's similar jobs: titles alike first, then shared tags and the same place; only jobs
on the board; a bounded read through indexes."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, JobStatus
from tests.factories import Actors, assert_problem, create_job

API = "/api/v1"


@pytest.fixture
def company(actors: Actors) -> Company:
    assert actors.employer.company is not None
    return actors.employer.company


def similar_url(job_id: int) -> str:
    return f"{API}/jobs/{job_id}/similar"


async def test_alike_titles_come_first_then_shared_tags_and_the_same_place(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    base = await create_job(
        db, company=company, title="Python Developer", tags=["django", "sql"], location="Porto"
    )
    same_tags_place = await create_job(
        db, company=company, title="Python Developer", tags=["django", "sql"], location="Porto"
    )
    same_title = await create_job(
        db, company=company, title="Python Developer", tags=["rust"], location="Oslo"
    )
    alike = await create_job(
        db, company=company, title="Senior Python Developer", tags=["go"], location="Lima"
    )
    await create_job(db, company=company, title="Pastry Chef", tags=["django"], location="Porto")
    # Not on the board: a draft and an expired job of the same title.
    await create_job(db, company=company, title="Python Developer", status=JobStatus.draft)
    expired = datetime.now(UTC) - timedelta(hours=1)
    await create_job(db, company=company, title="Python Developer", expires_at=expired)
    answer = await client.get(similar_url(base.id))
    assert answer.status_code == 200, answer.text
    ids = [item["id"] for item in answer.json()["items"]]
    # Itself, an unrelated title and jobs not on the board are not among them.
    assert ids == [same_tags_place.id, same_title.id, alike.id]
    limited = await client.get(similar_url(base.id), params={"limit": 1})
    assert [item["id"] for item in limited.json()["items"]] == [same_tags_place.id]


async def test_a_job_not_on_the_board_has_no_similar_jobs(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    draft = await create_job(db, company=company, status=JobStatus.draft)
    assert_problem(await client.get(similar_url(draft.id)), 404)
    assert_problem(await client.get(similar_url(2**62)), 404)
    for limit in ("0", "21", "x"):
        published = await create_job(db, company=company)
        assert_problem(await client.get(similar_url(published.id), params={"limit": limit}), 422)


async def test_a_title_alike_to_nothing_finds_nothing(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await create_job(db, company=company, title="Python Developer")
    odd = await create_job(db, company=company, title="%_\\' Zyxwv; DROP TABLE jobs")
    answer = await client.get(similar_url(odd.id))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": []}


async def test_similar_jobs_are_found_through_indexes(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, company: Company
) -> None:
    from tests.test_queries import captured

    base = await create_job(db, company=company, title="Data Engineer", tags=["sql"])
    await create_job(db, company=company, title="Data Engineer II", tags=["sql"])
    await db.execute(text("ANALYZE jobs"))
    await db.execute(text("ANALYZE job_titles"))
    with captured(app) as statements:
        assert (await client.get(similar_url(base.id))).status_code == 200
    (statement, parameters) = next(
        (statement, parameters)
        for statement, parameters in statements
        if "alike_titles" in statement
    )
    # With sequential scans priced out, a plan that still scans a table has no index for it.
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await db.connection()
    plan = "\n".join(
        (await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)).scalars()
    )
    assert "Seq Scan on jobs" not in plan, plan
    assert "Seq Scan on job_titles" not in plan, plan
    assert "ix_job_titles_title_trgm" in plan, plan
    assert "ix_jobs_title_newest" in plan, plan
