"""A job's blind first pass: who applied is hidden from the employer's side (lists,
profile, résumé, timeline, export) until an application is revealed or moved past
screening."""

import asyncio
import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.redaction import HIDDEN, redact
from backend.db.models import Job, Role
from tests import documents
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_job
from tests.tasks import run_queued

API = "/api/v1"
RESUME = (
    "Ada Lovelace\n"
    "ada.lovelace@example.com\n"
    "+44 20 7946 0958\n"
    "https://github.com/ada\n"
    "Analytical engine programmer; Lovelace notes on Bernoulli numbers.\n"
)


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


async def applied_with_a_resume(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> tuple[int, int]:
    """The candidate (named Ada Lovelace) applied with a résumé the worker has read."""
    renamed = await client.patch(
        f"{API}/users/me", json={"full_name": "Ada Lovelace"}, headers=actors.candidate.headers
    )
    assert renamed.status_code == 200, renamed.text
    await client.put(
        f"{API}/users/me/profile",
        json={"headline": "Programmer", "links": ["https://ada.example"]},
        headers=actors.candidate.headers,
    )
    resume = await client.post(
        f"{API}/users/me/resumes",
        params={"file_name": "Ada Lovelace CV.txt"},
        content=RESUME.encode(),
        headers=actors.candidate.headers,
    )
    applied = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"resume_id": resume.json()["id"]},
        headers=actors.candidate.headers,
    )
    await run_queued(client, db)
    return applied.json()["id"], resume.json()["id"]


async def blind(client: httpx.AsyncClient, actors: Actors, job: Job, on: bool = True) -> None:
    response = await client.put(
        f"{API}/jobs/{job.id}/review-settings", json={"blind": on}, headers=actors.employer.headers
    )
    assert response.json() == {"blind": on}


def test_redaction_takes_out_contact_lines_and_the_name() -> None:
    redacted = redact(RESUME, "Ada Lovelace")
    assert redacted.startswith(HIDDEN)
    for gone in ("ada.lovelace@example.com", "7946", "github", "Ada", "Lovelace"):
        assert gone not in redacted
    assert "Analytical engine programmer; [name] notes on Bernoulli numbers." in redacted


async def test_the_employers_side_sees_nobody_until_revealed(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    application_id, resume_id = await applied_with_a_resume(client, db, actors, job)
    await blind(client, actors, job)
    employer = actors.employer.headers
    name = "Ada Lovelace"

    for url in (f"{API}/jobs/{job.id}/applications", f"{API}/users/me/applicants"):
        (item,) = (await client.get(url, headers=employer)).json()["items"]
        assert item["masked"] is True
        assert (item["candidate_name"], item["candidate_email"]) == (
            f"Candidate {application_id}",
            None,
        )
    profile = await client.get(f"{API}/applications/{application_id}/profile", headers=employer)
    assert (profile.json()["full_name"], profile.json()["links"]) == (
        f"Candidate {application_id}",
        [],
    )
    assert profile.json()["headline"] == "Programmer"
    meta = await client.get(f"{API}/resumes/{resume_id}", headers=employer)
    assert meta.json()["file_name"] == f"resume-{resume_id}.txt"
    file = await client.get(f"{API}/resumes/{resume_id}/file", headers=employer)
    assert file.status_code == 200
    assert file.headers["content-type"] == "text/plain; charset=utf-8"
    assert f'filename="resume-{resume_id}-redacted.txt"' in file.headers["content-disposition"]
    assert "Lovelace" not in file.text
    assert "ada.lovelace@example.com" not in file.text
    assert "Bernoulli" in file.text
    timeline = await client.get(f"{API}/applications/{application_id}/timeline", headers=employer)
    submitted = timeline.json()["items"][0]
    assert (submitted["kind"], submitted["actor_name"]) == ("submitted", None)
    exported = await client.get(f"{API}/jobs/{job.id}/applications.csv", headers=employer)
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert (row["name"], row["email"], row["resume"]) == (f"Candidate {application_id}", "", "")
    # The candidate sees their own as ever.
    own = await client.get(f"{API}/resumes/{resume_id}", headers=actors.candidate.headers)
    assert own.json()["file_name"] == "Ada Lovelace CV.txt"

    # Revealing is recorded, once.
    for _ in range(2):
        shown = await client.post(f"{API}/applications/{application_id}/reveal", headers=employer)
        assert shown.status_code == 200
    (item,) = (await client.get(f"{API}/jobs/{job.id}/applications", headers=employer)).json()[
        "items"
    ]
    assert (item["masked"], item["candidate_name"]) == (False, name)
    file = await client.get(f"{API}/resumes/{resume_id}/file", headers=employer)
    assert file.text == RESUME
    events = await client.get(f"{API}/applications/{application_id}/timeline", headers=employer)
    assert [e["kind"] for e in events.json()["items"]].count("revealed") == 1


async def test_moving_past_screening_reveals_and_turning_it_off_shows_all(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    application_id, _ = await applied_with_a_resume(client, db, actors, job)
    await blind(client, actors, job)
    employer = actors.employer.headers
    url = f"{API}/jobs/{job.id}/applications"
    await client.patch(
        f"{API}/applications/{application_id}", json={"status": "reviewing"}, headers=employer
    )
    assert (await client.get(url, headers=employer)).json()["items"][0]["masked"] is True
    await client.patch(
        f"{API}/applications/{application_id}", json={"status": "interviewing"}, headers=employer
    )
    assert (await client.get(url, headers=employer)).json()["items"][0]["masked"] is False
    second = await create_job(db, company=job_company(actors))
    await client.post(
        f"{API}/jobs/{second.id}/applications", json={}, headers=actors.other_candidate.headers
    )
    await blind(client, actors, second)
    listed = f"{API}/jobs/{second.id}/applications"
    assert (await client.get(listed, headers=employer)).json()["items"][0]["masked"] is True
    await blind(client, actors, second, on=False)
    assert (await client.get(listed, headers=employer)).json()["items"][0]["masked"] is False


def job_company(actors: Actors) -> Any:
    assert actors.employer.company is not None
    return actors.employer.company


async def test_a_resume_not_read_yet_is_not_served_during_the_blind_pass(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    await blind(client, actors, job)
    resume = await client.post(
        f"{API}/users/me/resumes",
        params={"file_name": "cv.pdf"},
        content=documents.pdf("Ada Lovelace"),
        headers=actors.candidate.headers,
    )
    await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"resume_id": resume.json()["id"]},
        headers=actors.candidate.headers,
    )
    response = await client.get(
        f"{API}/resumes/{resume.json()['id']}/file", headers=actors.employer.headers
    )
    assert_problem(response, 409)


async def test_only_the_jobs_side_sets_the_pass_and_reveals(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    application_id, _ = await applied_with_a_resume(client, db, actors, job)
    url = f"{API}/jobs/{job.id}/review-settings"
    for who in ("other_employer", "candidate"):
        headers = getattr(actors, who).headers
        assert_problem(await client.put(url, json={"blind": True}, headers=headers), 404)
        assert_problem(await client.get(url, headers=headers), 404)
    assert_problem(
        await client.put(url, json={"blind": "yes"}, headers=actors.employer.headers), 422
    )
    assert (await client.get(url, headers=actors.employer.headers)).json() == {"blind": False}
    reveal = f"{API}/applications/{application_id}/reveal"
    assert_problem(await client.post(reveal, headers=actors.candidate.headers), 403)
    assert_problem(await client.post(reveal, headers=actors.other_employer.headers), 404)


async def test_reveals_at_once_record_one_event(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    _, admin = await live_user(client, Role.admin)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        await client.put(
            f"{API}/jobs/{job_id}/review-settings", json={"blind": True}, headers=employer
        )
        _, candidate = await live_user(client, Role.candidate)
        applied = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=candidate)
        url = f"{API}/applications/{applied.json()['id']}"
        responses = await asyncio.gather(
            *(client.post(f"{url}/reveal", headers=headers) for headers in (employer, admin) * 3)
        )
        assert [response.status_code for response in responses] == [200] * 6
        events = await client.get(f"{url}/timeline", headers=employer)
        assert [e["kind"] for e in events.json()["items"]].count("revealed") == 1
