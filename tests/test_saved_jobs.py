"""Bookmarked jobs and the markers of what a user did with a list's jobs: saving twice
keeps one, only jobs on the board, at most MAX_SAVED_JOBS however many saves race, pages
that add up, and nobody else's."""

import asyncio

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Job, JobStatus, Role, SavedJob
from backend.services import saved_jobs
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_job
from tests.test_races import REPEATS, live_job, live_user

API = "/api/v1"
SAVED = f"{API}/users/me/saved-jobs"
MARKERS = f"{API}/users/me/job-markers"


@pytest.fixture
def company(actors: Actors) -> Company:
    assert actors.employer.company is not None
    return actors.employer.company


async def bookmarks(db: AsyncSession, user_id: int) -> int:
    statement = select(func.count()).where(SavedJob.user_id == user_id)
    return int((await db.execute(statement)).scalar_one())


async def test_save_list_mark_and_unsave(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    job = await create_job(db, company=company, title="Lighthouse Keeper")
    headers = actors.candidate.headers
    first = await client.put(f"{SAVED}/{job.id}", headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["job_id"] == job.id
    again = await client.put(f"{SAVED}/{job.id}", headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert await bookmarks(db, actors.candidate.user.id) == 1
    listed = (await client.get(SAVED, headers=headers)).json()
    assert [(item["job"]["id"], item["job"]["title"]) for item in listed["items"]] == [
        (job.id, "Lighthouse Keeper")
    ]
    assert listed["items"][0]["saved_at"] == first.json()["saved_at"]
    marked = await client.get(MARKERS, params={"job_id": [job.id]}, headers=headers)
    assert marked.json()["items"] == [
        {
            "job_id": job.id,
            "saved_at": first.json()["saved_at"],
            "application_id": None,
            "application_status": None,
            "applied_at": None,
        }
    ]
    # Nobody else sees it, in their list or their markers.
    other = actors.other_candidate.headers
    assert (await client.get(SAVED, headers=other)).json()["items"] == []
    assert (await client.get(MARKERS, params={"job_id": job.id}, headers=other)).json() == {
        "items": []
    }
    assert (await client.delete(f"{SAVED}/{job.id}", headers=headers)).status_code == 204
    assert_problem(await client.delete(f"{SAVED}/{job.id}", headers=headers), 404)
    assert (await client.get(SAVED, headers=headers)).json()["items"] == []


async def test_markers_say_which_jobs_were_applied_to(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    applied, saved, neither = [await create_job(db, company=company) for _ in range(3)]
    headers = actors.candidate.headers
    application = await client.post(
        f"{API}/jobs/{applied.id}/applications", json={}, headers=headers
    )
    assert application.status_code == 201, application.text
    assert (await client.put(f"{SAVED}/{saved.id}", headers=headers)).status_code == 201
    marked = await client.get(
        MARKERS, params={"job_id": [neither.id, saved.id, applied.id]}, headers=headers
    )
    assert marked.status_code == 200, marked.text
    items = {item["job_id"]: item for item in marked.json()["items"]}
    assert set(items) == {applied.id, saved.id}
    assert items[applied.id]["application_id"] == application.json()["id"]
    assert items[applied.id]["application_status"] == application.json()["status"]
    assert items[applied.id]["saved_at"] is None
    assert items[saved.id]["application_id"] is None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"job_id": "0"},
        {"job_id": "x"},
        {"job_id": str(2**63)},
        {"job_id": [str(n) for n in range(1, 102)]},
    ],
)
async def test_markers_of_a_bad_list_of_ids_are_422(
    client: httpx.AsyncClient, actors: Actors, params: dict[str, object]
) -> None:
    response = await client.get(MARKERS, params=params, headers=actors.candidate.headers)  # type: ignore[arg-type]
    assert_problem(response, 422)


async def test_only_a_job_on_the_board_is_saved_and_a_refusal_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.candidate.headers
    draft = await create_job(db, company=company, status=JobStatus.draft)
    closed = await create_job(db, company=company, status=JobStatus.closed)
    for job_id in (draft.id, closed.id, 2**62):
        assert_problem(await client.put(f"{SAVED}/{job_id}", headers=headers), 404)
    assert_problem(await client.put(f"{SAVED}/0", headers=headers), 422)
    assert await bookmarks(db, actors.candidate.user.id) == 0
    for method in ("GET", "PUT", "DELETE"):
        path = SAVED if method == "GET" else f"{SAVED}/{draft.id}"
        assert_problem(await client.request(method, path), 401)
    assert_problem(await client.get(MARKERS, params={"job_id": 1}), 401)


async def test_a_job_that_leaves_the_board_is_not_listed_until_it_comes_back(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.candidate.headers
    job = await create_job(db, company=company)
    assert (await client.put(f"{SAVED}/{job.id}", headers=headers)).status_code == 201
    await db.execute(update(Job).where(Job.id == job.id).values(status=JobStatus.closed))
    assert (await client.get(SAVED, headers=headers)).json()["items"] == []
    await db.execute(update(Job).where(Job.id == job.id).values(status=JobStatus.published))
    listed = (await client.get(SAVED, headers=headers)).json()["items"]
    assert [item["job"]["id"] for item in listed] == [job.id]
    await db.execute(delete(Job).where(Job.id == job.id))
    assert await bookmarks(db, actors.candidate.user.id) == 0


async def test_pages_of_saved_jobs_add_up_to_one_page(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.candidate.headers
    jobs = [await create_job(db, company=company, title=f"Job {n}") for n in range(7)]
    for job in jobs:
        assert (await client.put(f"{SAVED}/{job.id}", headers=headers)).status_code == 201
    # One of them leaves the board: the pages skip it as the whole list does.
    await db.execute(update(Job).where(Job.id == jobs[3].id).values(status=JobStatus.closed))
    whole = (await client.get(SAVED, params={"limit": 100}, headers=headers)).json()
    assert whole["next_cursor"] is None
    walked: list[int] = []
    cursor = None
    while True:
        params = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(SAVED, params=params, headers=headers)).json()
        walked += [item["job"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [item["job"]["id"] for item in whole["items"]]
    assert walked == [job.id for job in reversed(jobs) if job.id != jobs[3].id]


async def test_saves_of_one_job_at_once_keep_one_bookmark(
    make_live_client: ClientFactory,
) -> None:
    client = await make_live_client()
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        _, headers = await live_user(client, Role.candidate)
        answers = await asyncio.gather(
            *(client.put(f"{SAVED}/{job_id}", headers=headers) for _ in range(6))
        )
        assert sorted(answer.status_code for answer in answers) == [200] * 5 + [201]
        assert len({answer.json()["saved_at"] for answer in answers}) == 1
        listed = (await client.get(SAVED, headers=headers)).json()["items"]
        assert [item["job"]["id"] for item in listed] == [job_id]


async def test_saves_at_once_stop_at_exactly_the_limit(
    make_live_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_jobs, "MAX_SAVED_JOBS", 3)
    client = await make_live_client()
    _, employer = await live_user(client, Role.employer)
    jobs = [await live_job(client, employer) for _ in range(8)]
    for _ in range(REPEATS // 2):
        _, headers = await live_user(client, Role.candidate)
        answers = await asyncio.gather(
            *(client.put(f"{SAVED}/{job_id}", headers=headers) for job_id in jobs)
        )
        assert sorted(answer.status_code for answer in answers) == [201] * 3 + [409] * 5
        listed = (await client.get(SAVED, params={"limit": 100}, headers=headers)).json()
        assert len(listed["items"]) == 3
