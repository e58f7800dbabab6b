"""Moving several applications to a job at once: all or nothing, each change recorded."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Application, ApplicationEvent, ApplicationStatus, Job, Role
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_application, create_job, create_user

API = "/api/v1"


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


async def applications(db: AsyncSession, app: Any, job: Job, count: int) -> list[int]:
    made = []
    for _ in range(count):
        candidate = await create_user(db, app)
        made.append((await create_application(db, job=job, candidate=candidate)).id)
    return made


async def statuses(db: AsyncSession, ids: list[int]) -> list[str]:
    rows = await db.execute(
        select(Application.status).where(Application.id.in_(ids)).order_by(Application.id)
    )
    return [status.value for status in rows.scalars()]


async def moves(db: AsyncSession) -> int:
    statement = select(func.count()).where(ApplicationEvent.kind == "moved")
    return (await db.execute(statement)).scalar_one()


async def test_several_move_at_once_each_recorded(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    ids = await applications(db, app, job, 3)
    response = await client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={
            "application_ids": [ids[2], ids[0], ids[1]],
            "status": "rejected",
            "reason": "not_a_fit",
        },
        headers=actors.employer.headers,
    )
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == sorted(ids)
    assert await statuses(db, ids) == ["rejected"] * 3
    assert await moves(db) == 3
    reasons = await db.execute(select(Application.rejection_reason).where(Application.id.in_(ids)))
    assert set(reasons.scalars()) == {"not_a_fit"}


async def test_one_final_application_moves_none(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    ids = await applications(db, app, job, 3)
    await db.execute(
        update(Application).where(Application.id == ids[1]).values(status=ApplicationStatus.hired)
    )
    response = await client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={"application_ids": ids, "status": "interviewing"},
        headers=actors.employer.headers,
    )
    problem = assert_problem(response, 409)
    assert f"{ids[1]} (hired)" in str(problem["detail"])
    assert await statuses(db, ids) == ["submitted", "hired", "submitted"]
    assert await moves(db) == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "withdrawn"}, 403),
        ({"status": "submitted"}, 403),
        ({"status": "reviewing", "reason": "spam"}, 422),
        ({"status": "reviewing", "application_ids": []}, 422),
        ({"status": "reviewing", "application_ids": list(range(1, 102))}, 422),
        ({"status": "reviewing", "application_ids": ["1"]}, 422),
        ({"status": "reviewing", "application_ids": "other job's"}, 422),
    ],
)
async def test_a_bad_bulk_move_changes_nothing(
    client: httpx.AsyncClient,
    db: AsyncSession,
    app: Any,
    actors: Actors,
    job: Job,
    body: dict[str, Any],
    status: int,
) -> None:
    ids = await applications(db, app, job, 2)
    assert actors.other_employer.company is not None
    elsewhere = await create_job(db, company=actors.other_employer.company)
    theirs = await applications(db, app, elsewhere, 1)
    if body.get("application_ids") == "other job's":
        body = {**body, "application_ids": [*ids, *theirs]}
    body.setdefault("application_ids", ids)
    response = await client.post(
        f"{API}/jobs/{job.id}/applications/status", json=body, headers=actors.employer.headers
    )
    assert_problem(response, status)
    assert await statuses(db, ids + theirs) == ["submitted"] * 3
    assert await moves(db) == 0


async def test_only_the_jobs_side_moves_in_bulk(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    ids = await applications(db, app, job, 1)
    body = {"application_ids": ids, "status": "reviewing"}
    url = f"{API}/jobs/{job.id}/applications/status"
    for who in ("other_employer", "candidate"):
        assert_problem(await client.post(url, json=body, headers=getattr(actors, who).headers), 404)
    assert_problem(await client.post(url, json=body), 401)
    assert await statuses(db, ids) == ["submitted"]
    assert (await client.post(url, json=body, headers=actors.admin.headers)).status_code == 200


async def test_overlapping_bulk_moves_and_a_withdrawal_at_once(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(client, employer)
        candidates = [await live_user(client, Role.candidate) for _ in range(4)]
        ids = []
        for _, headers in candidates:
            response = await client.post(
                f"{API}/jobs/{job_id}/applications", json={}, headers=headers
            )
            ids.append(response.json()["id"])
        url = f"{API}/jobs/{job_id}/applications/status"
        reject = {"application_ids": ids[:3], "status": "rejected"}
        offer = {"application_ids": ids[2:], "status": "hired"}
        rejecting, offering, withdrawing = await asyncio.gather(
            client.post(url, json=reject, headers=employer),
            client.post(url, json=offer, headers=employer),
            client.patch(
                f"{API}/applications/{ids[1]}",
                json={"status": "withdrawn"},
                headers=candidates[1][1],
            ),
        )
        final = {}
        for application_id in ids:
            read = await client.get(f"{API}/applications/{application_id}", headers=employer)
            final[application_id] = read.json()["status"]
        # Each bulk move is whole or absent; the one application both name went one way.
        if rejecting.status_code == 200:
            assert final[ids[0]] == "rejected"
            assert final[ids[1]] == "rejected"
            assert withdrawing.status_code == 409
        else:
            assert rejecting.status_code == 409
            assert final[ids[0]] == "submitted"
        if offering.status_code == 200:
            assert (final[ids[2]], final[ids[3]]) == ("hired", "hired")
        else:
            assert offering.status_code == 409
            assert final[ids[3]] == "submitted"
        assert not (rejecting.status_code == 200 and offering.status_code == 200)
        if withdrawing.status_code == 200:
            assert final[ids[1]] == "withdrawn"
            assert rejecting.status_code == 409


# --- the dashboard's figures


async def test_applicant_counts_per_job_and_status_page_like_one_big_page(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors
) -> None:
    assert actors.employer.company is not None
    jobs = [await create_job(db, company=actors.employer.company) for _ in range(4)]
    expected: dict[int, dict[str, int]] = {}
    for number, job in enumerate(jobs[:3]):
        ids = await applications(db, app, job, number + 1)
        if number:
            await db.execute(
                update(Application)
                .where(Application.id == ids[0])
                .values(status=ApplicationStatus.rejected)
            )
        expected[job.id] = {"submitted": number} if number else {"submitted": 1}
        if number:
            expected[job.id]["rejected"] = 1
    assert actors.other_employer.company is not None
    await applications(db, app, await create_job(db, company=actors.other_employer.company), 2)
    url = f"{API}/users/me/applicant-counts"
    whole = await client.get(url, params={"limit": 100}, headers=actors.employer.headers)
    assert whole.status_code == 200, whole.text
    items = whole.json()["items"]
    # The job without applications is left out; the other employer's are not there.
    assert [item["job_id"] for item in items] == sorted(expected, reverse=True)
    for item in items:
        assert item["by_status"] == expected[item["job_id"]]
        assert item["total"] == sum(expected[item["job_id"]].values())
        in_stages = {stage["key"]: stage["applications"] for stage in item["by_stage"]}
        assert in_stages == {
            "applied": expected[item["job_id"]]["submitted"],
            "screening": 0,
            "interview": 0,
            "offer": 0,
            "hired": 0,
            "rejected": expected[item["job_id"]].get("rejected", 0),
        }
    walked: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = await client.get(url, params=params, headers=actors.employer.headers)
        walked += page.json()["items"]
        if page.json()["next_cursor"] is None:
            break
        params["cursor"] = page.json()["next_cursor"]
    assert walked == items
    assert_problem(await client.get(url, headers=actors.candidate.headers), 403)
