"""Candidates' profiles: kept whole, validated, read by the employers they applied to."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import CandidateProfile, Job, Role
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_application, create_job

API = "/api/v1"
PROFILE = {
    "headline": "Backend developer",
    "summary": "Six years of Python.\n<script>alert(1)</script>",
    "skills": ["Python", "postgresql"],
    "links": ["https://GitHub.com/ada", "http://ada.example/cv"],
    "location": "Berlin, Germany",
    "work_authorization": "EU citizen",
    "open_to_remote": True,
}


async def profiles(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(CandidateProfile))).scalar_one()


async def test_a_profile_reads_empty_until_saved_then_as_saved(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    headers = actors.candidate.headers
    empty = (await client.get(f"{API}/users/me/profile", headers=headers)).json()
    assert empty == {
        "user_id": actors.candidate.user.id,
        "full_name": actors.candidate.user.full_name,
        "headline": "",
        "summary": "",
        "skills": [],
        "links": [],
        "location": "",
        "work_authorization": "",
        "open_to_remote": False,
        "updated_at": None,
    }
    saved = await client.put(f"{API}/users/me/profile", json=PROFILE, headers=headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["skills"] == ["python", "postgresql"]
    assert body["links"] == ["https://github.com/ada", "http://ada.example/cv"]
    assert body["summary"] == PROFILE["summary"]  # text, stored as sent: markup is the reader's
    assert body["updated_at"] is not None
    assert (await client.get(f"{API}/users/me/profile", headers=headers)).json() == body
    # A whole replacement: what is left out is emptied.
    again = await client.put(f"{API}/users/me/profile", json={"headline": "Hi"}, headers=headers)
    assert (again.json()["skills"], again.json()["headline"]) == ([], "Hi")
    assert await profiles(db) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"links": ["javascript:alert(1)"]},
        {"links": ["https://a.example/" + str(n) for n in range(6)]},
        {"skills": ["<b>"]},
        {"headline": "x" * 121},
        {"summary": "bad\x00"},
        {"open_to_remote": "yes"},
        {"role": "admin"},
    ],
)
async def test_a_bad_profile_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, change: dict[str, Any]
) -> None:
    response = await client.put(
        f"{API}/users/me/profile", json={**PROFILE, **change}, headers=actors.candidate.headers
    )
    assert_problem(response, 422)
    assert await profiles(db) == 0


async def test_profiles_are_candidates_own(client: httpx.AsyncClient, actors: Actors) -> None:
    for who in ("employer", "admin"):
        headers = getattr(actors, who).headers
        assert_problem(await client.get(f"{API}/users/me/profile", headers=headers), 403)
        response = await client.put(f"{API}/users/me/profile", json=PROFILE, headers=headers)
        assert_problem(response, 403)
    assert_problem(await client.get(f"{API}/users/me/profile"), 401)


async def test_the_employer_reads_the_profile_of_whoever_applied(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    assert actors.employer.company is not None
    job: Job = await create_job(db, company=actors.employer.company)
    application = await create_application(db, job=job, candidate=actors.candidate.user)
    await client.put(f"{API}/users/me/profile", json=PROFILE, headers=actors.candidate.headers)
    url = f"{API}/applications/{application.id}/profile"
    for who in ("employer", "admin", "candidate"):
        response = await client.get(url, headers=getattr(actors, who).headers)
        assert response.status_code == 200, who
        assert response.json()["headline"] == PROFILE["headline"]
    for who in ("other_employer", "other_candidate"):
        assert_problem(await client.get(url, headers=getattr(actors, who).headers), 404)
    assert_problem(
        await client.get(f"{API}/applications/999999/profile", headers=actors.employer.headers), 404
    )


async def test_saves_at_once_leave_one_of_them_whole(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_user

    client = await make_live_client(rate_limits_enabled=False)
    for _ in range(REPEATS):
        _, headers = await live_user(client, Role.candidate)
        bodies = [
            {**PROFILE, "headline": f"Version {n}", "skills": [f"skill{n}"]} for n in range(4)
        ]
        responses = await asyncio.gather(
            *(client.put(f"{API}/users/me/profile", json=body, headers=headers) for body in bodies)
        )
        assert [response.status_code for response in responses] == [200] * 4
        final = (await client.get(f"{API}/users/me/profile", headers=headers)).json()
        n = int(final["headline"].split()[-1])
        assert final["skills"] == [f"skill{n}"]
