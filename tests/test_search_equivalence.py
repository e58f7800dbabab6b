"""The search engine answers exactly what PostgreSQL answers: over random committed jobs
and several hundred random searches (words, phrases, `or`, negations, stop words,
punctuation and stray quotes, with random filters), the pages read through the engine
equal those of PostgreSQL alone, walked in pages of random sizes, whether the index is
searched in one go or, as a large one is, the newest days first."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db.models import JobStatus, Role
from backend.db.repository.job_search import JobFilters
from backend.search import engine
from backend.search.engine import SearchIndex
from tests.factories import create_company, create_job, create_user
from tests.test_search_engine import _walk, caught_up, connect

WORDS = [
    "python",
    "developer",
    "developers",
    "data",
    "engineer",
    "engineering",
    "senior",
    "product",
    "manager",
    "c++",
    "node.js",
    "full-stack",
    "o'reilly",
    "back\\slash",
    "café",
    "the",
    "and",
    "remote",
    "berlin",
    "rust",
]
OPERATORS = ["or", "-", '"', "'", "(", ")", "&", "|", "!", ":*", "<->", "\\"]
CITIES = [
    "Berlin, Germany",
    "Paris, France",
    "São Paulo, Brazil",
    "Austin, USA",
    "İstanbul, Türkiye",
]


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _query(rng: random.Random) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.6:
            parts.append(rng.choice(WORDS))
        elif roll < 0.75:
            parts.append("-" + rng.choice(WORDS))
        elif roll < 0.85:
            parts.append(f'"{_words(rng, 1, 3)}"')
        else:
            parts.append(rng.choice(OPERATORS))
    return " ".join(parts)


def _filters(rng: random.Random, company_ids: list[int]) -> dict[str, Any]:
    chosen: dict[str, Any] = {}
    if rng.random() < 0.2:
        chosen["location"] = rng.choice(
            ["berlin", "PAR", "ão", "us", "x", "ist", "İST", "são paulo", "TÜRKIYE", "o, b"]
        )
    if rng.random() < 0.2:
        chosen["workplace"] = rng.choice(["remote", "hybrid", "onsite"])
    if rng.random() < 0.15:
        chosen["company_id"] = rng.choice(company_ids)
    if rng.random() < 0.15:
        chosen["tags"] = [rng.choice(["python", "rust", "data"])]
    if rng.random() < 0.2:
        chosen["salary_min"] = rng.choice([1000, 50_000, 90_000])
    if rng.random() < 0.1:
        chosen["posted_after"] = datetime.now(UTC) - timedelta(days=rng.randint(1, 20))
    return chosen


@pytest.mark.parametrize("newest_first", [False, True], ids=["one-search", "newest-days-first"])
async def test_engine_and_postgresql_answer_alike(
    live_app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newest_first: bool
) -> None:
    if newest_first:
        # An index this small is searched in one go; here it is searched as a large one:
        # each tier among the newest days' jobs (a fifth of them), then the others.
        monkeypatch.setattr(engine, "NEWEST_FROM", 0)
        monkeypatch.setattr(engine, "NEWEST_SHARE", 0.2)
    rng = random.Random(26)
    sessions: async_sessionmaker[AsyncSession] = live_app.state.sessionmaker
    now = datetime.now(UTC)
    async with sessions() as db:
        owner = await create_user(db, live_app, role=Role.employer)
        companies = [
            await create_company(db, owner=owner, name=_words(rng, 1, 3).title()) for _ in range(4)
        ]
        for number in range(300):
            salary = rng.choice([None, 40_000, 60_000, 100_000])
            await create_job(
                db,
                company=rng.choice(companies),
                title=_words(rng, 1, 4).title(),
                description=_words(rng, 0, 30),
                tags=sorted({rng.choice(["python", "rust", "data", "c++"]) for _ in range(2)}),
                location=rng.choice(CITIES),
                workplace=rng.choice(["remote", "hybrid", "onsite"]),
                salary_max=salary,
                # Few distinct seconds: ties broken by id.
                published_at=now - timedelta(days=rng.randint(0, 30), seconds=number % 3),
                expires_at=rng.choice([None, now + timedelta(days=5), now - timedelta(days=1)]),
                status=rng.choice([JobStatus.published] * 5 + [JobStatus.draft]),
            )
        await db.commit()
    index = SearchIndex(tmp_path / "index")
    assert index.try_to_write()
    await caught_up(index, sessions)
    view = index.view()
    assert view is not None
    assert (view.newest is not None) == newest_first
    company_ids = [company.id for company in companies]
    async with await connect(live_app) as connection:
        for _ in range(300):
            filters = JobFilters(q=_query(rng), **_filters(rng, company_ids))
            if not filters.q or not filters.q.strip():
                continue
            alone = await _walk(connection, filters, None, 1000)
            paged = await _walk(connection, filters, index, rng.choice([1, 3, 10, 1000]))
            assert paged == alone, filters
    index.close()
