"""Walking the pages of any search equals one unpaged query: a property over random data.

Random jobs (tied publication times, tied and fractional ranks, salaries with gaps),
random filters, every sort, random page sizes and relevance windows: the concatenated
pages must be exactly the single big page, in the same order.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from backend.db.repository import job_search as search_repo
from tests.factories import Actors, create_job

URL = "/api/v1/jobs"
BASE = datetime(2026, 1, 1, 12, tzinfo=UTC)
WORDS = ["python", "developer", "data", "engineer", "rust", "cloud"]

job_spec = st.fixed_dictionaries(
    {
        "title": st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
        # Repeated words make fractional, mostly distinct ranks; repeats of a spec tie.
        "description": st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join),
        "tags": st.lists(st.sampled_from(WORDS), max_size=2, unique=True),
        "minutes": st.integers(0, 4),  # few distinct times: many ties
        "salary_max": st.one_of(st.none(), st.sampled_from([1000, 2000, 3000])),
        "location": st.sampled_from(["Berlin", "Paris"]),
    }
)


def _params(drawn: dict[str, Any]) -> dict[str, Any]:
    chosen = {key: value for key, value in drawn.items() if key != "filter" and value is not None}
    return {**chosen, **drawn["filter"]}


# Mostly searches (relevance is the default with q), sometimes narrowed by a filter.
query = st.fixed_dictionaries(
    {
        "q": st.sampled_from(
            [None, "python", "developer", "python developer", "data or rust", '"data engineer"']
            + ["python"] * 3
        ),
        "sort": st.sampled_from([None, None, None, "relevance", "newest", "salary"]),
        "filter": st.sampled_from(
            [{}] * 6 + [{"location": "berlin"}, {"tag": "python"}, {"salary_min": 1500}]
        ),
    }
).map(_params)


async def walk(client: httpx.AsyncClient, params: dict[str, Any], limit: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    for _ in range(200):
        page_params = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        response = await client.get(URL, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        ids += [job["id"] for job in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("the walk did not end")


@pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    jobs=st.lists(job_spec, min_size=2, max_size=24),
    params=query,
    limit=st.integers(1, 7),
    window=st.integers(2, 30),
)
async def test_walking_pages_equals_one_unpaged_query(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    monkeypatch: pytest.MonkeyPatch,
    jobs: list[dict[str, Any]],
    params: dict[str, Any],
    limit: int,
    window: int,
) -> None:
    company: Company | None = actors.employer.company
    assert company is not None
    monkeypatch.setattr(search_repo, "WINDOW", window)
    savepoint = await db.begin_nested()
    try:
        for spec in jobs:
            values = dict(spec)
            minutes = values.pop("minutes")
            await create_job(
                db, company=company, published_at=BASE + timedelta(minutes=minutes), **values
            )
        whole = await client.get(URL, params={**params, "limit": 100})
        assert whole.status_code == 200, whole.text
        assert whole.json()["next_cursor"] is None
        expected = [job["id"] for job in whole.json()["items"]]
        assert await walk(client, params, limit) == expected
    finally:
        await savepoint.rollback()
