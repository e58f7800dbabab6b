"""Lists cost a fixed number of queries, and every list query has an index to use."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import observe
from backend.db.models import Job
from tests.factories import Actors, create_application, create_job, create_user

ROWS = 30


@contextmanager
def captured(app: FastAPI) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the app sends meanwhile, through a session or on the raw path of the
    hot reads (`backend.db.observe`), but transaction control."""
    statements: list[tuple[str, Any]] = []

    def record(statement: str, parameters: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append((statement, parameters))

    with observe.watching(record):
        yield statements


@pytest.fixture
async def filled(db: AsyncSession, app: FastAPI, actors: Actors) -> list[Job]:
    assert actors.employer.company is not None
    jobs = []
    for number in range(ROWS):
        job = await create_job(
            db,
            company=actors.employer.company,
            title=f"Python Developer {number}",
            tags=["python"],
            salary_max=1000 * number if number % 3 else None,
        )
        jobs.append(job)
        candidate = await create_user(db, app)
        await create_application(db, job=jobs[0], candidate=candidate)
        await create_application(db, job=job, candidate=actors.candidate.user)
    await db.execute(text("ANALYZE"))
    return jobs


def list_requests(
    actors: Actors, jobs: list[Job]
) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    return [
        ("/api/v1/jobs", {}, {}),
        ("/api/v1/jobs", {"sort": "salary"}, {}),
        ("/api/v1/jobs", {"q": "python developer"}, {}),
        ("/api/v1/jobs", {"location": "berlin", "tag": "python"}, {}),
        ("/api/v1/jobs", {"company_id": jobs[0].company_id}, {}),
        ("/api/v1/companies", {}, {}),
        ("/api/v1/users/me/jobs", {}, actors.employer.headers),
        (f"/api/v1/jobs/{jobs[0].id}/applications", {}, actors.employer.headers),
        ("/api/v1/users/me/applications", {}, actors.candidate.headers),
        ("/api/v1/admin/users", {}, actors.admin.headers),
        ("/api/v1/admin/users", {"email": "example"}, actors.admin.headers),
    ]


async def test_a_list_costs_the_same_queries_for_2_and_for_30_rows(
    client: httpx.AsyncClient, app: FastAPI, actors: Actors, filled: list[Job]
) -> None:
    for url, params, headers in list_requests(actors, filled):
        # Once first: what a process keeps (PostgreSQL's reading of a search) read already.
        await client.get(url, params=params, headers=headers)
        counts = []
        for limit in (2, ROWS):
            with captured(app) as statements:
                response = await client.get(url, params={**params, "limit": limit}, headers=headers)
            assert response.status_code == 200, (url, response.text)
            assert len(response.json()["items"]) >= 2, url
            counts.append(len(statements))
        # A query per row would add 28. The salary order may add one: its second range
        # scan, for jobs without a salary, once the salaried ones run out.
        extra = 1 if params.get("sort") == "salary" else 0
        assert counts[0] <= counts[1] <= counts[0] + extra, (url, counts)
        assert counts[1] <= 3, (url, counts)


async def test_every_list_query_can_use_an_index(
    client: httpx.AsyncClient, app: FastAPI, db: AsyncSession, actors: Actors, filled: list[Job]
) -> None:
    queries = []
    for url, params, headers in [
        *list_requests(actors, filled),
        ("/api/v1/jobs/autocomplete", {"q": "pyth"}, {}),
    ]:
        with captured(app) as statements:
            assert (await client.get(url, params=params, headers=headers)).status_code == 200
        # The last statement is the list itself; earlier ones load the caller.
        queries.append((url, params, *statements[-1]))
    # With sequential scans priced out, a plan that still scans a table sequentially
    # has no index that fits the query.
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await db.connection()
    for url, params, statement, parameters in queries:
        plan = (await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)).scalars()
        plan_text = "\n".join(plan)
        assert "Seq Scan" not in plan_text, (url, params, plan_text)
