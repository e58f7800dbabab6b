"""GET /api/v1/jobs (search, filters, sorts, pagination) and /jobs/autocomplete."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, EmploymentType, Job, JobStatus, JobTitle, Workplace
from backend.db.repository import job_search as search_repo
from tests.factories import Actors, assert_problem, create_company, create_job

URL = "/api/v1/jobs"
NOW = datetime.now(UTC)


async def titles(client: httpx.AsyncClient, **params: Any) -> list[str]:
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    return [job["title"] for job in response.json()["items"]]


async def walk(client: httpx.AsyncClient, **params: Any) -> list[int]:
    """Every id of a list, page by page."""
    ids: list[int] = []
    cursor = None
    for _ in range(100):
        response = await client.get(
            URL, params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [job["id"] for job in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return ids
    raise AssertionError("pagination did not end")


# --- full-text search


async def test_search_stems_english(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await create_job(db, company=company, title="Senior Developer")
    await create_job(db, company=company, title="Accountant")
    assert await titles(client, q="developers") == ["Senior Developer"]
    assert await titles(client, q="DEVELOPING") == ["Senior Developer"]


async def test_relevance_ranks_title_then_tags_then_company_then_description(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    kotlin_co = await create_company(db, owner=actors.employer.user, name="Kotlin Works")
    # Created in the reverse of the expected order, so that newest-first would be wrong.
    await create_job(db, company=company, title="In description", description="We use Kotlin.")
    await create_job(db, company=kotlin_co, title="In company name")
    await create_job(db, company=company, title="In tags", tags=["kotlin"])
    await create_job(db, company=company, title="Kotlin Engineer")
    assert await titles(client, q="kotlin") == [
        "Kotlin Engineer",
        "In tags",
        "In company name",
        "In description",
    ]


async def test_web_search_syntax(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    for title in ["Senior Python Developer", "Python Developer", "Developer who likes Python"]:
        await create_job(db, company=company, title=title)
    await create_job(db, company=company, title="Rust Engineer")
    await create_job(db, company=company, title="Golang Engineer")
    assert await titles(client, q='"python developer" -senior') == ["Python Developer"]
    assert sorted(await titles(client, q="rust or golang")) == ["Golang Engineer", "Rust Engineer"]
    assert await titles(client, q="python -developer") == []


async def test_renaming_a_company_reindexes_its_jobs(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await create_job(db, company=company, title="Engineer")
    assert await titles(client, q="zyxcorp") == []
    response = await client.patch(
        f"/api/v1/companies/{company.id}", json={"name": "Zyxcorp"}, headers=actors.employer.headers
    )
    assert response.status_code == 200
    assert await titles(client, q="zyxcorp") == ["Engineer"]


@pytest.mark.parametrize(
    "q",
    [
        '"',
        '"unbalanced',
        "\\",
        "\\\\'",
        "' OR 1=1 --",
        "'; DROP TABLE jobs; --",
        "a & | ! ( ) :* <-> b",
        "-",
        "or",
        "the a an",
        "%_%",
        "😀 日本語",
        "x" * 200,
        " ",
    ],
)
async def test_hostile_queries_are_harmless(
    client: httpx.AsyncClient, db: AsyncSession, company: Company, q: str
) -> None:
    await create_job(db, company=company, title="Python Developer")
    for sort in ("relevance", "newest", "salary"):
        response = await client.get(URL, params={"q": q, "sort": sort})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 10_000},
        {"q": "nul\x00byte"},
        {"location": "nul\x00"},
        {"location": "x" * 201},
        {"tag": "Not A Tag!"},
        {"workplace": "moon"},
        {"employment_type": "x"},
        {"company_id": "abc"},
        {"company_id": 0},
        {"salary_min": -5},
        {"posted_after": "yesterday"},
        {"posted_after": "2026-01-01T00:00:00"},
        {"sort": "random"},
        {"limit": 1000},
    ],
)
async def test_bad_filters_are_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert_problem(await client.get(URL, params=params), 422)


# --- visibility in lists


async def test_lists_show_only_published_unexpired_jobs(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await create_job(db, company=company, title="Visible")
    await create_job(db, company=company, title="Future expiry", expires_at=NOW + timedelta(days=1))
    await create_job(db, company=company, title="Draft", status=JobStatus.draft)
    await create_job(db, company=company, title="Closed", status=JobStatus.closed, published_at=NOW)
    await create_job(db, company=company, title="Expired", expires_at=NOW - timedelta(seconds=1))
    assert sorted(await titles(client)) == ["Future expiry", "Visible"]
    for q in ("draft", "closed", "expired"):
        assert await titles(client, q=q) == []


# --- filters


async def test_filters(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    other = actors.other_employer.company
    assert other is not None
    await create_job(
        db,
        company=company,
        title="A",
        location="Berlin, Germany",
        workplace=Workplace.remote,
        employment_type=EmploymentType.contract,
        tags=["python", "django"],
        salary_min=50_000,
        salary_max=70_000,
        published_at=NOW - timedelta(days=10),
    )
    await create_job(
        db,
        company=other,
        title="B",
        location="100% Remote_ok",
        workplace=Workplace.onsite,
        tags=["python"],
        salary_min=80_000,
    )
    await create_job(db, company=company, title="C", location="Porto", tags=["go"])
    assert await titles(client, location="BERLIN") == ["A"]
    assert await titles(client, location="%") == ["B"]
    assert await titles(client, location="m_t") == []  # "_" is no wildcard
    assert await titles(client, location="remote_") == ["B"]
    assert await titles(client, workplace="remote") == ["A"]
    assert await titles(client, employment_type="contract") == ["A"]
    assert await titles(client, company_id=other.id) == ["B"]
    assert sorted(await titles(client, tag="python")) == ["A", "B"]
    assert await titles(client, tag=["python", "django"]) == ["A"]
    assert await titles(client, tag=["Python", "go"]) == []
    # salary_max counts, or salary_min when there is no max.
    assert sorted(await titles(client, salary_min=70_000)) == ["A", "B"]
    assert await titles(client, salary_min=70_001) == ["B"]
    posted = (NOW - timedelta(days=10)).isoformat()
    assert sorted(await titles(client, posted_after=posted)) == ["A", "B", "C"]
    assert sorted(await titles(client, posted_after=(NOW - timedelta(days=1)).isoformat())) == [
        "B",
        "C",
    ]
    assert await titles(client, q="python", workplace="onsite", salary_min=1) == ["B"]
    # The same shape of search with other values: each search binds its own (the statement
    # is compiled once per shape).
    assert await titles(client, q="python", workplace="remote", salary_min=1) == ["A"]
    assert await titles(client, q="django", workplace="onsite", salary_min=1) == []
    assert await titles(client, q="django", workplace="remote", salary_min=60_000) == ["A"]
    assert await titles(client, q="django", workplace="remote", salary_min=70_001) == []


# --- sorts


async def test_sort_newest_and_salary(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    await create_job(
        db, company=company, title="old high", salary_max=90, published_at=NOW - timedelta(days=3)
    )
    await create_job(db, company=company, title="no salary", published_at=NOW - timedelta(days=2))
    await create_job(
        db, company=company, title="min only", salary_min=95, published_at=NOW - timedelta(days=4)
    )
    await create_job(
        db, company=company, title="new high", salary_max=90, published_at=NOW - timedelta(days=1)
    )
    await create_job(db, company=company, title="newest none", published_at=NOW)
    assert await titles(client) == ["newest none", "new high", "no salary", "old high", "min only"]
    assert await titles(client, sort="salary") == [
        "min only",
        "new high",
        "old high",
        "newest none",
        "no salary",
    ]
    # Relevance without q falls back to newest.
    assert await titles(client, sort="relevance") == await titles(client)


# --- pagination


@pytest.mark.parametrize(
    "params",
    [{}, {"sort": "salary"}, {"q": "engineer"}, {"q": "engineer", "sort": "newest"}],
    ids=["newest", "salary", "relevance", "q newest"],
)
async def test_walking_every_page_returns_every_job_once(
    client: httpx.AsyncClient, db: AsyncSession, company: Company, params: dict[str, Any]
) -> None:
    same_time = NOW - timedelta(hours=1)
    expected = []
    for number in range(11):
        job = await create_job(
            db,
            company=company,
            title=f"Engineer {number}" + (" engineer" * (number % 3)),
            # Ties on purpose: same publication time, same salary, same rank.
            published_at=same_time if number % 2 else NOW - timedelta(minutes=number),
            salary_max=None if number % 4 == 0 else 1000 * (number % 3),
        )
        expected.append(job.id)
    for limit in (1, 2, 3, 20):
        ids = await walk(client, limit=limit, **params)
        assert sorted(ids) == sorted(expected), limit
        assert len(ids) == len(set(ids))


async def test_pages_are_stable_under_concurrent_inserts(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    original = [
        (
            await create_job(
                db, company=company, title=f"Job {n}", published_at=NOW - timedelta(minutes=n)
            )
        ).id
        for n in range(6)
    ]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(URL, params=params)).json()
        seen += [job["id"] for job in page["items"]]
        # A new job is posted between every two pages.
        await create_job(db, company=company, title="Fresh")
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == original


async def test_cursors_are_opaque_and_checked(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    for _ in range(3):
        await create_job(db, company=company)
    cursor = (await client.get(URL, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    assert (await client.get(URL, params={"limit": 1, "cursor": cursor})).status_code == 200
    payload, mac = cursor.split(".")
    tampered = [
        payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac,
        payload + "." + mac[::-1],
        "not-a-cursor",
        "a.b.c",
        "....",
        "%%%",
    ]
    for bad in tampered:
        assert_problem(await client.get(URL, params={"cursor": bad}), 422)
    # A cursor of one order is no cursor for another, nor for another list.
    assert_problem(await client.get(URL, params={"cursor": cursor, "sort": "salary"}), 422)
    assert_problem(await client.get("/api/v1/companies", params={"cursor": cursor}), 422)


# --- autocomplete

AUTOCOMPLETE = f"{URL}/autocomplete"


async def suggest(client: httpx.AsyncClient, q: str) -> list[str]:
    response = await client.get(AUTOCOMPLETE, params={"q": q})
    assert response.status_code == 200, response.text
    suggestions: list[str] = response.json()
    return suggestions


async def test_autocomplete(client: httpx.AsyncClient, db: AsyncSession, company: Company) -> None:
    for title in ["Python Developer", "Python Developer", "Senior Python Developer", "Pythonista"]:
        await create_job(db, company=company, title=title)
    await create_job(db, company=company, title="Python Draft", status=JobStatus.draft)
    await create_job(db, company=company, title="Python Expired", expires_at=NOW - timedelta(1))
    await create_job(db, company=company, title="Java Developer")
    suggestions = await suggest(client, "PYT")
    assert suggestions[0] == "Python Developer"
    assert sorted(suggestions) == ["Python Developer", "Pythonista", "Senior Python Developer"]
    # No title starts with it: the most frequent first, then by title.
    assert await suggest(client, "develop") == [
        "Python Developer",
        "Java Developer",
        "Senior Python Developer",
    ]
    assert await suggest(client, "senior py") == ["Senior Python Developer"]
    assert await suggest(client, "ython") == []


async def test_autocomplete_returns_at_most_ten(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    for number in range(15):
        await create_job(db, company=company, title=f"Data Engineer {number}")
    assert len(await suggest(client, "data")) == 10


@pytest.mark.parametrize("q", ["'", ":*", "&|!", "\\", "%", "' OR 1=1 --", "😀"])
async def test_autocomplete_hostile_input(
    client: httpx.AsyncClient, db: AsyncSession, company: Company, q: str
) -> None:
    await create_job(db, company=company, title="Operator")
    response = await client.get(AUTOCOMPLETE, params={"q": q})
    assert response.status_code == 200
    assert isinstance(response.json(), list)


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 101}])
async def test_autocomplete_bad_input_is_422(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_problem(await client.get(AUTOCOMPLETE, params=params), 422)


async def test_relevance_ranks_every_match_by_tier_then_newest_first(
    client: httpx.AsyncClient, db: AsyncSession, company: Company
) -> None:
    # Published an hour apart, the first the newest: however old, a title match outranks
    # a tag match, which outranks a description match; within a tier the newest is first.
    specs: list[tuple[str, dict[str, Any]]] = [
        ("Unrelated", {}),
        ("Newest desc", {"description": "Some rust here."}),
        ("Rust in the newest title", {}),
        ("Newest tag", {"tags": ["rust"]}),
        ("Old rust title", {}),
        ("Old desc", {"description": "rust"}),
        ("Old rust title two", {}),
        ("Old tag", {"tags": ["rust"]}),
    ]
    for age, (title, extra) in enumerate(specs):
        await create_job(
            db, company=company, title=title, published_at=NOW - timedelta(hours=age), **extra
        )
    expected = [
        "Rust in the newest title",
        "Old rust title",
        "Old rust title two",
        "Newest tag",
        "Old tag",
        "Newest desc",
        "Old desc",
    ]
    assert await titles(client, q="rust") == expected
    for limit in (1, 2, 3, 4):
        walked: list[str] = []
        cursor = None
        while True:
            params = {"q": "rust", "limit": limit, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(URL, params=params)).json()
            walked += [job["title"] for job in page["items"]]
            # A newer match arriving mid-walk does not disturb the walk.
            await create_job(db, company=company, title="Rust newcomer")
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == expected, limit
        await db.execute(delete(Job).where(Job.title == "Rust newcomer"))


@pytest.mark.parametrize("sort", ["relevance", "newest", "salary"])
@pytest.mark.parametrize("density", ["dense", "sparse"])
async def test_both_search_plans_return_every_match_once(
    client: httpx.AsyncClient,
    db: AsyncSession,
    company: Company,
    monkeypatch: pytest.MonkeyPatch,
    sort: str,
    density: str,
) -> None:
    # Sparse: none of the 5 newest jobs (the window) match, so older matches are collected
    # through the GIN index; dense: they do, so the date (or salary) index is walked.
    monkeypatch.setattr(search_repo, "WINDOW", 5)
    newest_match = density == "dense"
    expected = []
    for number in range(12):
        recent = number < 5
        matching = newest_match if recent else number % 2 == 0
        job = await create_job(
            db,
            company=company,
            title=f"{'Kotlin' if matching else 'Cobol'} dev {number}",
            published_at=NOW - timedelta(hours=number),
            salary_max=None if number % 3 == 0 else 1000 * (number % 4),
        )
        if matching:
            expected.append(job.id)
    for limit in (1, 2, 5, 20):
        ids = await walk(client, q="kotlin", sort=sort, limit=limit)
        assert sorted(ids) == sorted(expected), (limit, ids)
        assert len(ids) == len(set(ids))
    newest = await walk(client, q="kotlin", sort="newest", limit=3)
    assert newest == expected


async def test_title_counts_follow_every_change(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    async def counts() -> dict[str, int]:
        rows = await db.execute(select(JobTitle.title, JobTitle.published_count))
        return {title: count for title, count in rows if count}

    headers = actors.employer.headers
    body = {
        "company_id": company.id,
        "title": "Zebra Keeper",
        "description": "d",
        "location": "Zoo",
        "workplace": "onsite",
        "employment_type": "full_time",
    }
    draft = (await client.post(URL, json=body, headers=headers)).json()
    assert "Zebra Keeper" not in await counts()
    await client.patch(f"{URL}/{draft['id']}", json={"status": "published"}, headers=headers)
    second = (await client.post(URL, json={**body, "status": "published"}, headers=headers)).json()
    assert (await counts())["Zebra Keeper"] == 2
    await client.patch(f"{URL}/{draft['id']}", json={"title": "Zebra Trainer"}, headers=headers)
    assert (await counts())["Zebra Keeper"] == 1
    assert (await counts())["Zebra Trainer"] == 1
    await client.patch(f"{URL}/{second['id']}", json={"status": "closed"}, headers=headers)
    assert "Zebra Keeper" not in await counts()
    assert await suggest(client, "zebra") == ["Zebra Trainer"]
    await client.delete(f"{URL}/{draft['id']}", headers=headers)
    assert "Zebra Trainer" not in await counts()
    assert await suggest(client, "zebra") == []
