"""A relevance set: generated jobs whose right answers the generator knows.

For each title-like query the generator writes jobs whose titles hold every word of it,
and jobs that mention the words more often but elsewhere (a title with one of the words,
the words as tags, a description repeating them), each of those newer than every right
answer so that recency cannot hide a wrong order. The top 20 must be right answers, at
least 95% of them; the walk through every page must still be exact.
"""

import random
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from tests.factories import create_job
from tests.test_jobs_search import walk

URL = "/api/v1/jobs"
PAGE = 20
RIGHT = 24
DISTRACTORS = 24

QUERIES = {
    "senior product manager": ["Payments", "Growth", "Platform", "Mobile", "Search"],
    "data engineer": ["Streaming", "Analytics", "Warehouse", "Pipelines", "ML"],
    "python developer": ["Backend", "APIs", "Django", "Tooling", "Automation"],
}
FILLER = ["roadmap", "customers", "teams", "quality", "delivery", "growth", "design", "care"]


def holds_every_word(title: str, q: str) -> bool:
    return set(q.split()) <= set(title.lower().replace(",", " ").split())


async def seed_relevance_set(db: AsyncSession, company: Company) -> None:
    rng = random.Random(25)
    now = datetime.now(UTC)
    for q, areas in QUERIES.items():
        words = q.split()
        for number in range(RIGHT):
            # Older than every distractor; the words once, in the title only.
            await create_job(
                db,
                company=company,
                title=f"{q.title()}, {rng.choice(areas)} {number}",
                description=f"Own the {rng.choice(FILLER)} of our {rng.choice(FILLER)}.",
                published_at=now - timedelta(days=30, minutes=number),
            )
        for number in range(DISTRACTORS):
            # Newer, and denser: one word in the title, every word as a tag and repeated
            # in the description.
            repeated = " ".join(f"{q} {rng.choice(FILLER)}." for _ in range(4))
            await create_job(
                db,
                company=company,
                title=f"{words[-1].title()} of {rng.choice(FILLER)} {number}",
                tags=words,
                description=f"Work with our {q} team. {repeated}",
                published_at=now - timedelta(minutes=number),
            )


async def test_title_like_queries_rank_titles_holding_every_word_first(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await seed_relevance_set(db, company)
    for q in QUERIES:
        response = await client.get(URL, params={"q": q, "company_id": company.id})
        assert response.status_code == 200, response.text
        top = [job["title"] for job in response.json()["items"]]
        assert len(top) == PAGE
        right = sum(holds_every_word(title, q) for title in top)
        assert right / PAGE >= 0.95, (q, top)


async def test_the_ranked_walk_is_exact(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    """Every page of a ranked search, walked by its cursors, holds every match once: right
    answers first, then the rest."""
    await seed_relevance_set(db, company)
    q = "data engineer"
    ids = await walk(client, q=q, company_id=company.id, limit=7)
    assert len(ids) == len(set(ids)) == RIGHT + DISTRACTORS
    titles = {
        job["id"]: job["title"]
        for job in (
            await client.get(URL, params={"q": q, "company_id": company.id, "limit": 100})
        ).json()["items"]
    }
    assert [holds_every_word(titles[job_id], q) for job_id in ids] == [True] * RIGHT + [
        False
    ] * DISTRACTORS
