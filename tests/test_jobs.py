"""/api/v1/jobs: create, read, update, delete, and /users/me/jobs."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, Job, JobStatus
from tests.factories import (
    Actors,
    assert_problem,
    create_application,
    create_job,
    job_body,
    signed_in_headers,
)

URL = "/api/v1/jobs"
JOB_FIELDS = {
    "id",
    "company_id",
    "company_name",
    "company_verified",
    "confirmed_open_at",
    "title",
    "description",
    "description_html",
    "location",
    "workplace",
    "employment_type",
    "salary_min",
    "salary_max",
    "salary_currency",
    "tags",
    "status",
    "expires_at",
    "published_at",
    "submitted_at",
    "created_at",
    "updated_at",
}


async def count_jobs(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Job))).scalar_one()


def company_id(actors: Actors, who: str = "employer") -> int:
    company = getattr(actors, who).company
    assert company is not None
    return int(company.id)


# --- create: unhappy paths


async def test_create_needs_a_token(client: httpx.AsyncClient, actors: Actors) -> None:
    assert_problem(await client.post(URL, json=job_body(company_id(actors))), 401)


async def test_candidates_cannot_post_jobs(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    before = await count_jobs(db)
    response = await client.post(
        URL, json=job_body(company_id(actors)), headers=actors.candidate.headers
    )
    assert_problem(response, 403)
    assert await count_jobs(db) == before


async def test_posting_for_someone_elses_company_is_403(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    before = await count_jobs(db)
    response = await client.post(
        URL, json=job_body(company_id(actors, "other_employer")), headers=actors.employer.headers
    )
    assert_problem(response, 403)
    assert await count_jobs(db) == before


async def test_posting_for_an_unknown_company_is_422(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    response = await client.post(URL, json=job_body(999_999), headers=actors.employer.headers)
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "company_id"]  # type: ignore[index]


@pytest.mark.parametrize(
    "overrides",
    [
        {"title": ""},
        {"title": "t" * 201},
        {"title": "tab\tin title"},
        {"description": ""},
        {"description": "d" * 20_001},
        {"description": "nul\x00byte"},
        {"location": "l" * 201},
        {"workplace": "moon"},
        {"employment_type": "forever"},
        {"salary_min": -1},
        {"salary_min": 2_000_000_000},
        {"salary_min": 100, "salary_max": 50},
        {"salary_currency": "EURO"},
        {"salary_currency": "eur"},
        {"salary_currency": "ABC"},
        {"tags": ["x"] * 21},
        {"tags": ["t" * 31]},
        {"tags": ["has,comma"]},
        {"tags": [""]},
        {"tags": "python"},
        {"status": "archived"},
        {"expires_at": "2027-01-01T00:00:00"},
        {"expires_at": "tomorrow"},
        {"owner_id": 1},
        {"id": 1},
        {"published_at": "2020-01-01T00:00:00Z"},
        {"company_id": 0},
        {"company_id": 2**63},
        # Integers are JSON integers: not booleans, strings or fractions.
        {"salary_min": True},
        {"salary_max": False},
        {"salary_min": "100"},
        {"salary_min": 100.0},
        {"company_id": True},
    ],
)
async def test_invalid_job_is_422_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, overrides: dict[str, Any]
) -> None:
    before = await count_jobs(db)
    response = await client.post(
        URL, json=job_body(company_id(actors), **overrides), headers=actors.employer.headers
    )
    assert_problem(response, 422)
    assert await count_jobs(db) == before


# --- create: happy paths


async def test_create_a_draft_by_default(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(
        URL,
        json=job_body(company_id(actors), tags=[" Python ", "python", "Go"]),
        headers=actors.employer.headers,
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert set(job) == JOB_FIELDS
    assert job["status"] == "draft"
    assert job["published_at"] is None
    assert job["tags"] == ["python", "go"]
    assert job["created_at"].endswith("Z")


async def test_create_published_sets_published_at(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    body = job_body(
        company_id(actors),
        status="published",
        salary_min=50_000,
        salary_max=50_000,
        salary_currency="EUR",
        expires_at="2020-01-01T00:00:00Z",  # a past expiry is accepted
    )
    response = await client.post(URL, json=body, headers=actors.employer.headers)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["published_at"] is not None
    assert job["expires_at"] == "2020-01-01T00:00:00Z"


async def test_admin_posts_for_any_company(client: httpx.AsyncClient, actors: Actors) -> None:
    response = await client.post(
        URL, json=job_body(company_id(actors)), headers=actors.admin.headers
    )
    assert response.status_code == 201


# --- read


@pytest.fixture
async def jobs(db: AsyncSession, actors: Actors) -> dict[str, Job]:
    """One job of the employer in each state that matters for visibility."""
    assert actors.employer.company is not None
    company = actors.employer.company
    past = datetime.now(UTC) - timedelta(days=1)
    return {
        "published": await create_job(db, company=company),
        "draft": await create_job(db, company=company, status=JobStatus.draft),
        "closed": await create_job(db, company=company, status=JobStatus.closed, published_at=past),
        "expired": await create_job(db, company=company, expires_at=past),
    }


HIDDEN = ["draft", "closed", "expired"]


async def test_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{URL}/999999"), 404)


@pytest.mark.parametrize("state", HIDDEN)
@pytest.mark.parametrize("who", [None, "candidate", "other_employer"])
async def test_hidden_jobs_are_404_to_others(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job], state: str, who: str | None
) -> None:
    headers = getattr(actors, who).headers if who else {}
    assert_problem(await client.get(f"{URL}/{jobs[state].id}", headers=headers), 404)


@pytest.mark.parametrize("state", ["published", *HIDDEN])
@pytest.mark.parametrize("who", ["employer", "admin"])
async def test_owner_and_admin_read_every_state(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job], state: str, who: str
) -> None:
    response = await client.get(f"{URL}/{jobs[state].id}", headers=getattr(actors, who).headers)
    assert response.status_code == 200
    assert set(response.json()) == JOB_FIELDS


async def test_anyone_reads_a_published_job(
    client: httpx.AsyncClient, jobs: dict[str, Job]
) -> None:
    response = await client.get(f"{URL}/{jobs['published'].id}")
    assert response.status_code == 200
    assert response.json()["status"] == "published"


async def test_a_bad_token_on_a_public_read_is_still_401(
    client: httpx.AsyncClient, jobs: dict[str, Job]
) -> None:
    response = await client.get(
        f"{URL}/{jobs['published'].id}", headers={"Authorization": "Bearer nonsense"}
    )
    assert_problem(response, 401)


# --- update


@pytest.mark.parametrize("state", ["published", *HIDDEN])
async def test_candidates_get_403_on_any_job(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job], state: str
) -> None:
    response = await client.patch(
        f"{URL}/{jobs[state].id}", json={"title": "X"}, headers=actors.candidate.headers
    )
    assert_problem(response, 403)


async def test_other_employer_gets_403_on_a_visible_job_and_404_on_a_hidden_one(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    headers = actors.other_employer.headers
    visible = await client.patch(
        f"{URL}/{jobs['published'].id}", json={"title": "X"}, headers=headers
    )
    assert_problem(visible, 403)
    for state in HIDDEN:
        hidden = await client.patch(f"{URL}/{jobs[state].id}", json={"title": "X"}, headers=headers)
        assert_problem(hidden, 404)


async def test_update_needs_a_token(client: httpx.AsyncClient, jobs: dict[str, Job]) -> None:
    assert_problem(await client.patch(f"{URL}/{jobs['published'].id}", json={}), 401)


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"status": None},
        {"tags": None},
        {"company_id": 2},
        {"published_at": None},
        {"salary_min": 10, "salary_max": 5},
        {"title": "x" * 201},
    ],
)
async def test_invalid_update_is_422(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job], body: dict[str, Any]
) -> None:
    response = await client.patch(
        f"{URL}/{jobs['published'].id}", json=body, headers=actors.employer.headers
    )
    assert_problem(response, 422)


async def test_salary_range_is_checked_against_stored_values(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    assert actors.employer.company is not None
    job = await create_job(db, company=actors.employer.company, salary_min=100, salary_max=200)
    response = await client.patch(
        f"{URL}/{job.id}", json={"salary_min": 300}, headers=actors.employer.headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["loc"] == ["body", "salary_min"]  # type: ignore[index]
    cleared = await client.patch(
        f"{URL}/{job.id}",
        json={"salary_max": None, "salary_min": 300},
        headers=actors.employer.headers,
    )
    assert cleared.status_code == 200
    assert (cleared.json()["salary_min"], cleared.json()["salary_max"]) == (300, None)


@pytest.mark.parametrize(
    ("start", "target"),
    [("published", "draft"), ("closed", "draft"), ("draft", "closed")],
)
async def test_impossible_status_change_is_409(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job], start: str, target: str
) -> None:
    response = await client.patch(
        f"{URL}/{jobs[start].id}", json={"status": target}, headers=actors.employer.headers
    )
    assert_problem(response, 409)
    unchanged = await client.get(f"{URL}/{jobs[start].id}", headers=actors.employer.headers)
    assert unchanged.json()["status"] == start


async def test_role_is_checked_before_state(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    response = await client.patch(
        f"{URL}/{jobs['published'].id}", json={"status": "draft"}, headers=actors.candidate.headers
    )
    assert_problem(response, 403)


async def test_status_lifecycle_keeps_the_first_published_at(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    url, headers = f"{URL}/{jobs['draft'].id}", actors.employer.headers
    published = (await client.patch(url, json={"status": "published"}, headers=headers)).json()
    assert published["status"] == "published"
    first_published_at = published["published_at"]
    assert first_published_at is not None
    same = await client.patch(url, json={"status": "published"}, headers=headers)
    assert same.status_code == 200
    closed = (await client.patch(url, json={"status": "closed"}, headers=headers)).json()
    assert closed["status"] == "closed"
    assert_problem(await client.get(url), 404)
    again = (await client.patch(url, json={"status": "published"}, headers=headers)).json()
    assert again["status"] == "published"
    assert again["published_at"] == first_published_at
    assert (await client.get(url)).status_code == 200


async def test_owner_updates_only_the_fields_sent(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    url = f"{URL}/{jobs['published'].id}"
    before = (await client.get(url)).json()
    response = await client.patch(
        url, json={"title": "Staff Engineer", "tags": ["Rust"]}, headers=actors.employer.headers
    )
    assert response.status_code == 200, response.text
    after = response.json()
    assert after["title"] == "Staff Engineer"
    assert after["tags"] == ["rust"]
    assert after["description"] == before["description"]


async def test_admin_updates_any_job(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    response = await client.patch(
        f"{URL}/{jobs['draft'].id}", json={"title": "Edited"}, headers=actors.admin.headers
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Edited"


# --- delete


async def test_delete_permissions(
    client: httpx.AsyncClient, actors: Actors, jobs: dict[str, Job]
) -> None:
    published = f"{URL}/{jobs['published'].id}"
    assert_problem(await client.delete(published), 401)
    assert_problem(await client.delete(published, headers=actors.candidate.headers), 403)
    assert_problem(await client.delete(published, headers=actors.other_employer.headers), 403)
    draft = f"{URL}/{jobs['draft'].id}"
    assert_problem(await client.delete(draft, headers=actors.other_employer.headers), 404)
    assert (await client.get(published)).status_code == 200


@pytest.mark.parametrize("who", ["employer", "admin"])
async def test_delete_removes_the_job_and_its_applications(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, jobs: dict[str, Job], who: str
) -> None:
    job = jobs["published"]
    await create_application(db, job=job, candidate=actors.candidate.user)
    response = await client.delete(f"{URL}/{job.id}", headers=getattr(actors, who).headers)
    assert response.status_code == 204
    for headers in ({}, actors.employer.headers, actors.admin.headers):
        assert_problem(await client.get(f"{URL}/{job.id}", headers=headers), 404)
    remaining = await db.scalar(
        select(func.count()).select_from(Application).where(Application.job_id == job.id)
    )
    assert remaining == 0
    assert_problem(await client.delete(f"{URL}/{job.id}", headers=actors.admin.headers), 404)


# --- my jobs


async def test_my_jobs_lists_every_state_of_mine_only(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, jobs: dict[str, Job]
) -> None:
    assert actors.other_employer.company is not None
    await create_job(db, company=actors.other_employer.company)
    response = await client.get("/api/v1/users/me/jobs", headers=actors.employer.headers)
    assert response.status_code == 200
    ids = [job["id"] for job in response.json()["items"]]
    assert sorted(ids) == sorted(job.id for job in jobs.values())
    assert response.json()["next_cursor"] is None


async def test_my_jobs_is_for_employers(client: httpx.AsyncClient, actors: Actors) -> None:
    assert_problem(await client.get("/api/v1/users/me/jobs"), 401)
    response = await client.get("/api/v1/users/me/jobs", headers=actors.candidate.headers)
    assert_problem(response, 403)


async def test_demoted_employer_is_refused_on_the_next_request(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    demote = await client.patch(
        f"/api/v1/admin/users/{actors.employer.user.id}",
        json={"role": "candidate"},
        headers=actors.admin.headers,
    )
    assert demote.status_code == 200
    response = await client.post(
        URL, json=job_body(company_id(actors)), headers=actors.employer.headers
    )
    assert_problem(response, 403)


async def test_updated_at_moves_on_update(live_client: httpx.AsyncClient) -> None:
    # Committed requests: inside one test transaction now() would never move.
    headers = await signed_in_headers(live_client, "employer")
    company = await live_client.post("/api/v1/companies", json={"name": "Live"}, headers=headers)
    created = await live_client.post(URL, json=job_body(company.json()["id"]), headers=headers)
    assert created.status_code == 201, created.text
    job = created.json()
    updated = await live_client.patch(
        f"{URL}/{job['id']}", json={"title": "Renamed"}, headers=headers
    )
    assert updated.status_code == 200
    assert updated.json()["updated_at"] > job["updated_at"]
    assert updated.json()["created_at"] == job["created_at"]


async def test_the_options_are_the_apis_own_values_and_limits(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    from backend.db.models import ApplicationStatus, EmploymentType, JobStatus, Workplace

    response = await client.get("/api/v1/options")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=3600"
    options = response.json()
    assert options["workplaces"] == [value.value for value in Workplace]
    assert options["employment_types"] == [value.value for value in EmploymentType]
    assert options["job_statuses"] == [value.value for value in JobStatus]
    statuses = options["application_statuses"]
    assert statuses["all"] == [value.value for value in ApplicationStatus]
    assert statuses["reviewer"] == ["reviewing", "interviewing", "offered", "hired", "rejected"]
    assert statuses["final"] == ["hired", "rejected", "withdrawn"]
    # The limits are the ones the API enforces: at the limit is taken, one more is a 422.
    limits = options["limits"]
    headers = actors.employer.headers
    body = job_body(company_id(actors))
    for field, name in (("title", "job_title"), ("location", "job_location")):
        at_limit = await client.post(URL, json={**body, field: "x" * limits[name]}, headers=headers)
        assert at_limit.status_code == 201, at_limit.text
        over = {**body, field: "x" * (limits[name] + 1)}
        assert_problem(await client.post(URL, json=over, headers=headers), 422)


async def test_every_read_of_a_job_names_its_company_as_it_is_now(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    """Lists show a job's company without a request per row: each read carries its name,
    the current one after a rename."""
    assert actors.employer.company is not None
    company = actors.employer.company
    headers = actors.employer.headers
    created = await client.post(URL, json=job_body(company.id, status="published"), headers=headers)
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    assert created.json()["company_name"] == company.name

    async def names() -> list[str]:
        listed = (await client.get(URL, params={"company_id": company.id})).json()["items"]
        searched = await client.get(URL, params={"q": "backend", "company_id": company.id})
        by_salary = await client.get(URL, params={"sort": "salary", "company_id": company.id})
        mine = (await client.get("/api/v1/users/me/jobs", headers=headers)).json()["items"]
        changed = await client.patch(f"{URL}/{job_id}", json={"tags": ["go"]}, headers=headers)
        return [
            (await client.get(f"{URL}/{job_id}")).json()["company_name"],
            *(item["company_name"] for item in listed),
            *(item["company_name"] for item in searched.json()["items"]),
            *(item["company_name"] for item in by_salary.json()["items"]),
            *(item["company_name"] for item in mine if item["id"] == job_id),
            changed.json()["company_name"],
        ]

    assert await names() == [company.name] * 6
    renamed = await client.patch(
        f"/api/v1/companies/{company.id}", json={"name": "Renamed Robotics"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert await names() == ["Renamed Robotics"] * 6
