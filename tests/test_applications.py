"""Applications: apply, list, read, and move through statuses."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, ApplicationStatus, Job, JobStatus
from tests.factories import (
    Actors,
    assert_problem,
    create_application,
    create_job,
    signed_in_headers,
)

APPLICATION_FIELDS = {
    "id",
    "job_id",
    "candidate_id",
    "status",
    "stage",
    "cover_letter",
    "resume_id",
    "created_at",
    "updated_at",
}


def apply_url(job_id: int) -> str:
    return f"/api/v1/jobs/{job_id}/applications"


async def count(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(Application))).scalar_one()


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


@pytest.fixture
async def application(db: AsyncSession, actors: Actors, job: Job) -> Application:
    return await create_application(db, job=job, candidate=actors.candidate.user)


# --- apply


async def test_apply_needs_a_token(client: httpx.AsyncClient, job: Job) -> None:
    assert_problem(await client.post(apply_url(job.id), json={}), 401)


@pytest.mark.parametrize("who", ["employer", "other_employer", "admin"])
async def test_only_candidates_apply(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, who: str
) -> None:
    response = await client.post(apply_url(job.id), json={}, headers=getattr(actors, who).headers)
    assert_problem(response, 403)
    assert await count(db) == 0


@pytest.mark.parametrize("state", ["draft", "closed", "expired", "missing"])
async def test_applying_to_an_unpublished_job_is_404(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, state: str
) -> None:
    assert actors.employer.company is not None
    company = actors.employer.company
    past = datetime.now(UTC) - timedelta(minutes=1)
    jobs = {
        "draft": lambda: create_job(db, company=company, status=JobStatus.draft),
        "closed": lambda: create_job(
            db, company=company, status=JobStatus.closed, published_at=past
        ),
        "expired": lambda: create_job(db, company=company, expires_at=past),
    }
    job_id = (await jobs[state]()).id if state in jobs else 999_999
    response = await client.post(apply_url(job_id), json={}, headers=actors.candidate.headers)
    assert_problem(response, 404)
    assert await count(db) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"cover_letter": "c" * 10_001},
        {"cover_letter": "nul\x00"},
        {"status": "offered"},
        {"candidate_id": 1},
        {"job_id": 2},
        [],
    ],
)
async def test_invalid_application_is_422(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, body: object
) -> None:
    response = await client.post(apply_url(job.id), json=body, headers=actors.candidate.headers)
    assert_problem(response, 422)
    assert await count(db) == 0


async def test_applying_twice_is_409(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    first = await client.post(apply_url(job.id), json={}, headers=actors.candidate.headers)
    assert first.status_code == 201
    second = await client.post(
        apply_url(job.id), json={"cover_letter": "again"}, headers=actors.candidate.headers
    )
    assert_problem(second, 409)
    assert await count(db) == 1


async def test_apply(client: httpx.AsyncClient, actors: Actors, job: Job) -> None:
    response = await client.post(
        apply_url(job.id),
        json={"cover_letter": "I'd love to.\nRegards"},
        headers=actors.candidate.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == APPLICATION_FIELDS
    assert created["status"] == "submitted"
    assert created["job_id"] == job.id
    assert created["candidate_id"] == actors.candidate.user.id
    assert created["cover_letter"] == "I'd love to.\nRegards"


async def test_concurrent_double_application_gives_one_201_and_one_409(
    live_client: httpx.AsyncClient,
) -> None:
    employer = await signed_in_headers(live_client, "employer")
    candidate = await signed_in_headers(live_client, "candidate")
    company = (
        await live_client.post("/api/v1/companies", json={"name": "C"}, headers=employer)
    ).json()
    job = await live_client.post(
        "/api/v1/jobs",
        json={
            "company_id": company["id"],
            "title": "T",
            "description": "D",
            "location": "L",
            "workplace": "remote",
            "employment_type": "full_time",
            "status": "published",
        },
        headers=employer,
    )
    assert job.status_code == 201
    responses = await asyncio.gather(
        *(
            live_client.post(apply_url(job.json()["id"]), json={}, headers=candidate)
            for _ in range(4)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409, 409, 409]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    mine = await live_client.get("/api/v1/users/me/applications", headers=candidate)
    assert len(mine.json()["items"]) == 1


# --- lists


async def test_job_applications_are_for_its_owner_and_admins(
    client: httpx.AsyncClient, actors: Actors, job: Job, application: Application
) -> None:
    url = apply_url(job.id)
    assert_problem(await client.get(url), 401)
    for who in ("other_employer", "candidate", "other_candidate"):
        assert_problem(await client.get(url, headers=getattr(actors, who).headers), 404)
    for who in ("employer", "admin"):
        response = await client.get(url, headers=getattr(actors, who).headers)
        assert response.status_code == 200
        assert [item["id"] for item in response.json()["items"]] == [application.id]
        # Who applied, so that the job's owner can reach them.
        (item,) = response.json()["items"]
        assert item["candidate_id"] == actors.candidate.user.id
        assert item["candidate_name"] == actors.candidate.user.full_name
        assert item["candidate_email"] == actors.candidate.user.email
    assert_problem(await client.get(apply_url(999_999), headers=actors.admin.headers), 404)


async def test_owner_sees_applications_of_a_closed_job(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, application: Application
) -> None:
    job.status = JobStatus.closed
    await db.flush()
    response = await client.get(apply_url(job.id), headers=actors.employer.headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 1


async def test_my_applications(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    assert actors.employer.company is not None
    mine = [await create_application(db, job=job, candidate=actors.candidate.user)]
    for _ in range(4):
        other_job = await create_job(db, company=actors.employer.company)
        mine.append(await create_application(db, job=other_job, candidate=actors.candidate.user))
    await create_application(db, job=job, candidate=actors.other_candidate.user)
    ids: list[int] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            "/api/v1/users/me/applications", params=params, headers=actors.candidate.headers
        )
        assert response.status_code == 200
        ids += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert ids == sorted((a.id for a in mine), reverse=True)


async def test_a_candidates_list_names_each_job_and_its_company(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    company = actors.employer.company
    assert company is not None
    job = await create_job(db, company=company, title="Named Role")
    await create_application(db, job=job, candidate=actors.candidate.user)
    response = await client.get("/api/v1/users/me/applications", headers=actors.candidate.headers)
    assert response.status_code == 200
    (item,) = [item for item in response.json()["items"] if item["job_id"] == job.id]
    assert item["job_title"] == "Named Role"
    assert item["company_name"] == company.name


async def test_my_applications_is_for_candidates(client: httpx.AsyncClient, actors: Actors) -> None:
    assert_problem(await client.get("/api/v1/users/me/applications"), 401)
    for who in ("employer", "admin"):
        response = await client.get(
            "/api/v1/users/me/applications", headers=getattr(actors, who).headers
        )
        assert_problem(response, 403)


async def test_a_job_cursor_does_not_work_for_another_job(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    assert actors.employer.company is not None
    other = await create_job(db, company=actors.employer.company)
    for candidate in (actors.candidate, actors.other_candidate):
        await create_application(db, job=job, candidate=candidate.user)
    page = await client.get(apply_url(job.id), params={"limit": 1}, headers=actors.employer.headers)
    cursor = page.json()["next_cursor"]
    assert cursor
    response = await client.get(
        apply_url(other.id), params={"cursor": cursor}, headers=actors.employer.headers
    )
    assert_problem(response, 422)


# --- read one


async def test_read_an_application(
    client: httpx.AsyncClient, actors: Actors, application: Application
) -> None:
    url = f"/api/v1/applications/{application.id}"
    assert_problem(await client.get(url), 401)
    for who in ("other_employer", "other_candidate"):
        assert_problem(await client.get(url, headers=getattr(actors, who).headers), 404)
    for who in ("candidate", "employer", "admin"):
        response = await client.get(url, headers=getattr(actors, who).headers)
        assert response.status_code == 200
        assert set(response.json()) == APPLICATION_FIELDS
    assert_problem(
        await client.get("/api/v1/applications/999999", headers=actors.admin.headers), 404
    )


# --- status changes


async def patch(
    client: httpx.AsyncClient, application: Application, headers: dict[str, str], status: str
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/applications/{application.id}", json={"status": status}, headers=headers
    )


@pytest.mark.parametrize("who", ["other_employer", "other_candidate"])
async def test_strangers_get_404(
    client: httpx.AsyncClient, actors: Actors, application: Application, who: str
) -> None:
    for status in ("reviewing", "withdrawn"):
        assert_problem(await patch(client, application, getattr(actors, who).headers, status), 404)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("candidate", "reviewing"),
        ("candidate", "offered"),
        ("candidate", "hired"),
        ("candidate", "submitted"),
        ("employer", "withdrawn"),
        ("employer", "submitted"),
        ("admin", "submitted"),
        ("admin", "withdrawn"),
    ],
)
async def test_a_status_the_caller_may_not_set_is_403(
    client: httpx.AsyncClient, actors: Actors, application: Application, who: str, status: str
) -> None:
    response = await patch(client, application, getattr(actors, who).headers, status)
    assert_problem(response, 403)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": "promoted"},
        {"status": "reviewing", "stage": "screening"},
        {"status": "reviewing", "cover_letter": "x"},
        {"status": "offered", "mail": {"template": "standard"}},
        {"status": "rejected", "mail": {"template": "rude"}},
    ],
)
async def test_invalid_patch_is_422(
    client: httpx.AsyncClient, actors: Actors, application: Application, body: object
) -> None:
    response = await client.patch(
        f"/api/v1/applications/{application.id}", json=body, headers=actors.employer.headers
    )
    assert_problem(response, 422)


async def test_reviewers_move_among_review_statuses_in_any_order(
    client: httpx.AsyncClient, actors: Actors, application: Application
) -> None:
    for who, status in [
        ("employer", "interviewing"),
        ("admin", "reviewing"),
        ("employer", "interviewing"),
        ("employer", "interviewing"),
        ("admin", "offered"),
        ("employer", "interviewing"),
        ("employer", "hired"),
    ]:
        response = await patch(client, application, getattr(actors, who).headers, status)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


@pytest.mark.parametrize("final", ["hired", "rejected", "withdrawn"])
async def test_a_final_status_cannot_change(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    job: Job,
    final: str,
) -> None:
    application = await create_application(
        db, job=job, candidate=actors.candidate.user, status=ApplicationStatus(final)
    )
    for who, status in [
        ("employer", "reviewing"),
        ("admin", "hired"),
        ("candidate", "withdrawn"),
    ]:
        if status == final:
            continue
        response = await patch(client, application, getattr(actors, who).headers, status)
        assert_problem(response, 409)
    # 403 comes before 409.
    assert_problem(await patch(client, application, actors.candidate.headers, "reviewing"), 403)


async def test_candidate_withdraws(
    client: httpx.AsyncClient, actors: Actors, application: Application
) -> None:
    response = await patch(client, application, actors.candidate.headers, "withdrawn")
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert_problem(await patch(client, application, actors.employer.headers, "reviewing"), 409)
