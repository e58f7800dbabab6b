"""EXPLAIN (ANALYZE, BUFFERS) of the very queries the API sends for its lists and searches."""

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from backend.db import observe
from backend.db.repository import applications as applications_repo
from backend.db.repository import job_search as search_repo
from backend.db.repository import jobs as jobs_repo
from backend.db.repository import users as users_repo


async def _explain(url: str, path: Path, terms: list[str]) -> None:
    engine = create_async_engine(url)
    observe.announce_sqlalchemy_statements(engine)
    captured: list[tuple[str, Any]] = []

    def record(statement: str, parameters: Any) -> None:
        captured.append((statement, parameters))

    sections = []
    async with AsyncSession(engine) as session:
        owner = (
            await session.execute(
                text(
                    "SELECT c.owner_id, j.id FROM jobs j JOIN companies c ON c.id = j.company_id"
                    " JOIN applications a ON a.job_id = j.id"
                    " GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).one()
        candidate = (
            await session.execute(
                text(
                    "SELECT candidate_id FROM applications"
                    " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                )
            )
        ).scalar_one()
        after = None
        for _ in range(499):  # the position that opens page 500
            rows = await search_repo.search_newest(
                session, filters=search_repo.JobFilters(), limit=20, after=after
            )
            after = rows.position(19)
        Filters = search_repo.JobFilters
        cases: list[tuple[str, Any]] = [
            (
                "jobs, newest, page 1",
                search_repo.search_newest(session, filters=Filters(), limit=20, after=None),
            ),
            (
                "jobs, newest, page 500",
                search_repo.search_newest(session, filters=Filters(), limit=20, after=after),
            ),
            (
                "jobs, by salary, page 1",
                search_repo.search_by_salary(session, filters=Filters(), limit=20, after=None),
            ),
            (
                "jobs, location and tag",
                search_repo.search_newest(
                    session,
                    filters=Filters(location="berlin", tags=("python",)),
                    limit=20,
                    after=None,
                ),
            ),
            *[
                (
                    f"search {term!r}, relevance",
                    search_repo.search_by_relevance(
                        session, filters=Filters(q=term), limit=20, after=None
                    ),
                )
                for term in terms
            ],
            (
                f"search {terms[0]!r} with filters, newest",
                search_repo.search_newest(
                    session,
                    filters=Filters(q=terms[0], workplace="remote", salary_min=60_000),
                    limit=20,
                    after=None,
                ),
            ),
            ("autocomplete 'dat'", search_repo.autocomplete(session, words=["dat"], limit=10)),
            ("my jobs", jobs_repo.list_owned(session, member_id=owner[0], limit=20)),
            (
                "applications of a job",
                applications_repo.list_for_job(session, job_id=owner[1], limit=20),
            ),
            (
                "my applications",
                applications_repo.list_for_candidate(session, candidate_id=candidate, limit=20),
            ),
            ("admin users by email", users_repo.list_page(session, limit=20, email="candidate12")),
        ]
        for title, coroutine in cases:
            captured.clear()
            with observe.watching(record):
                await coroutine
            connection = await session.connection()
            for statement, parameters in captured:
                plan = await connection.exec_driver_sql(
                    f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
                )
                sections.append(
                    f"== {title}\n{statement}\n-- {parameters}\n" + "\n".join(plan.scalars()) + "\n"
                )
    await engine.dispose()
    await asyncio.to_thread(path.write_text, "\n".join(sections))


def write(url: str, path: Path, *, terms: list[str]) -> None:
    asyncio.run(_explain(url, path, terms))
