"""Each application's timeline, the employer's private notes, rejection reasons, and the
CSV export of a job's applications."""

import asyncio
import csv
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import ApplicationEvent, Job, Role
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_job

API = "/api/v1"


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


async def apply(client: httpx.AsyncClient, headers: dict[str, str], job_id: int) -> int:
    response = await client.post(
        f"{API}/jobs/{job_id}/applications", json={"cover_letter": "Hi"}, headers=headers
    )
    assert response.status_code == 201, response.text
    application_id: int = response.json()["id"]
    return application_id


async def timeline(
    client: httpx.AsyncClient, headers: dict[str, str], application_id: int
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{API}/applications/{application_id}/timeline",
        params={"limit": 100},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def events(db: AsyncSession) -> int:
    return (await db.execute(select(func.count()).select_from(ApplicationEvent))).scalar_one()


async def test_each_side_reads_the_timeline_it_should(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    url = f"{API}/applications/{application_id}"
    employer = actors.employer.headers
    # Opening it twice is one "viewed"; being read does not change its version.
    before = (await client.get(url, headers=actors.candidate.headers)).headers["etag"]
    await client.get(url, headers=employer)
    await client.get(url, headers=employer)
    assert (await client.get(url, headers=actors.candidate.headers)).headers["etag"] == before
    moved = await client.patch(url, json={"status": "reviewing"}, headers=employer)
    assert moved.status_code == 200
    note = await client.post(
        f"{url}/notes", json={"note": "Strong on SQL; =HYPERLINK()"}, headers=employer
    )
    assert note.status_code == 201, note.text
    assert note.json()["kind"] == "note"
    assert note.json()["actor_name"] == actors.employer.user.full_name
    rejected = await client.patch(
        url, json={"status": "rejected", "reason": "position_filled"}, headers=employer
    )
    assert rejected.status_code == 200

    full = await timeline(client, employer, application_id)
    assert [(e["kind"], e["status"], e["reason"]) for e in full] == [
        ("submitted", None, None),
        ("viewed", None, None),
        ("moved", "reviewing", None),
        ("note", None, None),
        ("moved", "rejected", "position_filled"),
    ]
    assert full[3]["note"] == "Strong on SQL; =HYPERLINK()"
    assert [e["actor_name"] for e in full] == [
        actors.candidate.user.full_name,
        *[actors.employer.user.full_name] * 4,
    ]
    # The candidate: no note, no reason, no names.
    own = await timeline(client, actors.candidate.headers, application_id)
    assert [(e["kind"], e["status"]) for e in own] == [
        ("submitted", None),
        ("viewed", None),
        ("moved", "reviewing"),
        ("moved", "rejected"),
    ]
    assert {(e["reason"], e["note"], e["actor_name"]) for e in own} == {(None, None, None)}
    # The employer's list says when it was first opened and why it was rejected.
    listed = await client.get(f"{API}/jobs/{job.id}/applications", headers=employer)
    (item,) = listed.json()["items"]
    assert item["viewed_at"] == full[1]["created_at"]
    assert item["rejection_reason"] == "position_filled"
    for who in ("other_employer", "other_candidate"):
        headers = getattr(actors, who).headers
        response = await client.get(f"{url}/timeline", headers=headers)
        assert_problem(response, 404)


async def test_the_candidate_reading_it_is_not_a_view(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    await client.get(f"{API}/applications/{application_id}", headers=actors.candidate.headers)
    await client.get(
        f"{API}/applications/{application_id}/profile", headers=actors.candidate.headers
    )
    kinds = [e["kind"] for e in await timeline(client, actors.candidate.headers, application_id)]
    assert kinds == ["submitted"]
    # The employer reading the profile is.
    await client.get(
        f"{API}/applications/{application_id}/profile", headers=actors.employer.headers
    )
    kinds = [e["kind"] for e in await timeline(client, actors.candidate.headers, application_id)]
    assert kinds == ["submitted", "viewed"]


@pytest.mark.parametrize(
    "body",
    [
        {"note": ""},
        {"note": "x" * 5001},
        {"note": "nul\x00"},
        {"note": "ok", "pinned": True},
        {},
    ],
)
async def test_a_bad_note_is_a_422_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, body: dict[str, Any]
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    count = await events(db)
    response = await client.post(
        f"{API}/applications/{application_id}/notes", json=body, headers=actors.employer.headers
    )
    assert_problem(response, 422)
    assert await events(db) == count


async def test_notes_are_the_employers_sides_alone(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    url = f"{API}/applications/{application_id}/notes"
    count = await events(db)
    assert_problem(
        await client.post(url, json={"note": "mine"}, headers=actors.candidate.headers), 403
    )
    for who in ("other_employer", "other_candidate"):
        response = await client.post(url, json={"note": "x"}, headers=getattr(actors, who).headers)
        assert_problem(response, 404)
    assert_problem(await client.post(url, json={"note": "x"}), 401)
    assert await events(db) == count
    assert (
        await client.post(url, json={"note": "x"}, headers=actors.admin.headers)
    ).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"status": "reviewing", "reason": "spam"},
        {"status": "rejected", "reason": "because"},
        {"status": "withdrawn", "reason": "other"},
    ],
)
async def test_a_reason_goes_with_a_rejection_only(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job, body: dict[str, Any]
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    count = await events(db)
    headers = actors.candidate.headers if body["status"] == "withdrawn" else actors.employer.headers
    response = await client.patch(
        f"{API}/applications/{application_id}", json=body, headers=headers
    )
    assert_problem(response, 422)
    assert await events(db) == count


async def test_the_timeline_pages_like_one_big_page(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    application_id = await apply(client, actors.candidate.headers, job.id)
    url = f"{API}/applications/{application_id}"
    for n in range(7):
        await client.post(
            f"{url}/notes", json={"note": f"note {n}"}, headers=actors.employer.headers
        )
        status = "reviewing" if n % 2 else "interviewing"
        await client.patch(url, json={"status": status}, headers=actors.employer.headers)
    for headers in (actors.employer.headers, actors.candidate.headers):
        whole = [e["id"] for e in await timeline(client, headers, application_id)]
        walked: list[int] = []
        params: dict[str, Any] = {"limit": 3}
        while True:
            page = await client.get(f"{url}/timeline", params=params, headers=headers)
            walked += [e["id"] for e in page.json()["items"]]
            if page.json()["next_cursor"] is None:
                break
            params["cursor"] = page.json()["next_cursor"]
        assert walked == whole == sorted(whole)
    # A cursor of the employer's timeline is not the candidate's.
    first = await client.get(
        f"{url}/timeline", params={"limit": 1}, headers=actors.employer.headers
    )
    foreign = await client.get(
        f"{url}/timeline",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=actors.candidate.headers,
    )
    assert_problem(foreign, 422)


# --- races


async def test_two_readers_at_once_make_one_view(make_live_client: ClientFactory) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    _, admin = await live_user(client, Role.admin)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        _, candidate = await live_user(client, Role.candidate)
        application_id = await apply(client, candidate, job_id)
        url = f"{API}/applications/{application_id}"
        responses = await asyncio.gather(
            *(client.get(url, headers=headers) for headers in (employer, admin) * 3)
        )
        assert [response.status_code for response in responses] == [200] * 6
        kinds = [e["kind"] for e in await timeline(client, candidate, application_id)]
        assert kinds == ["submitted", "viewed"]


async def test_notes_written_at_once_are_all_kept(make_live_client: ClientFactory) -> None:
    from tests.test_races import live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    job_id = await live_job(client, employer)
    _, candidate = await live_user(client, Role.candidate)
    application_id = await apply(client, candidate, job_id)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/applications/{application_id}/notes",
                json={"note": f"note {n}"},
                headers=employer,
            )
            for n in range(12)
        )
    )
    assert [response.status_code for response in responses] == [201] * 12
    notes = [e["note"] for e in await timeline(client, employer, application_id) if e["note"]]
    assert sorted(notes) == sorted(f"note {n}" for n in range(12))


async def test_a_status_race_records_only_the_change_that_won(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        _, candidate = await live_user(client, Role.candidate)
        application_id = await apply(client, candidate, job_id)
        url = f"{API}/applications/{application_id}"
        offer, withdrawal = await asyncio.gather(
            client.patch(url, json={"status": "hired"}, headers=employer),
            client.patch(url, json={"status": "withdrawn"}, headers=candidate),
        )
        assert sorted([offer.status_code, withdrawal.status_code]) == [200, 409]
        winner = "hired" if offer.status_code == 200 else "withdrawn"
        moves = [
            e["status"]
            for e in await timeline(client, employer, application_id)
            if e["kind"] == "moved"
        ]
        assert moves == [winner]


# --- the export


async def test_the_export_is_every_application_with_formulas_defused(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    await client.put(
        f"{API}/users/me/profile",
        json={"headline": "=cmd|' /C calc'!A0"},
        headers=actors.candidate.headers,
    )
    response = await client.post(
        f"{API}/jobs/{job.id}/applications",
        json={"cover_letter": "+1 (555) 0100\n@SUM(A1:A9)"},
        headers=actors.candidate.headers,
    )
    assert response.status_code == 201
    # Many more, past one batch of the stream.
    await db.execute(
        text(
            """
            WITH people AS (
                INSERT INTO users (email, hashed_password, full_name, role)
                SELECT 'export-' || n || '@example.com', 'x', '-2+3 ' || n, 'candidate'
                FROM generate_series(1, 520) AS n
                RETURNING id
            )
            INSERT INTO applications (job_id, candidate_id, cover_letter)
            SELECT :job_id, id, 'plain' FROM people
            """
        ),
        {"job_id": job.id},
    )
    exported = await client.get(
        f"{API}/jobs/{job.id}/applications.csv", headers=actors.employer.headers
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="applications-job-{job.id}.csv"'
    )
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == [
        "application_id", "applied_at", "status", "stage", "name", "email", "headline",
        "resume", "viewed_at", "rejection_reason", "cover_letter",
    ]  # fmt: skip
    assert len(rows) == 1 + 521
    ids = [int(row[0]) for row in rows[1:]]
    assert ids == sorted(ids)
    first = dict(zip(rows[0], rows[1], strict=True))
    # A formula is quoted; defusedcsv escapes the pipe of a DDE call too.
    assert first["headline"] == "'=cmd\\|' /C calc'!A0"
    assert first["cover_letter"] == "'+1 (555) 0100\n@SUM(A1:A9)"
    assert first["email"] == actors.candidate.user.email
    assert first["status"] == "submitted"
    assert first["stage"] == "Applied"
    assert rows[2][4] == "'-2+3 1"
    # Nothing any cell starts with runs as a formula.
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    for who in ("other_employer", "candidate"):
        response = await client.get(
            f"{API}/jobs/{job.id}/applications.csv", headers=getattr(actors, who).headers
        )
        assert_problem(response, 404)
