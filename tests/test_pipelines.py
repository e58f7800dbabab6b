"""Each job's pipeline: stages renamed, added, reordered and removed; applications moved
into them by one request, under the state rules; the `hired` status."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Job,
    JobReviewSetting,
    Role,
)
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem, create_application, create_job, create_user

API = "/api/v1"
DEFAULT = [
    ("applied", "Applied", "submitted"),
    ("screening", "Screening", "reviewing"),
    ("interview", "Interview", "interviewing"),
    ("offer", "Offer", "offered"),
    ("hired", "Hired", "hired"),
    ("rejected", "Rejected", "rejected"),
]


@pytest.fixture
async def job(db: AsyncSession, actors: Actors) -> Job:
    assert actors.employer.company is not None
    return await create_job(db, company=actors.employer.company)


def stages_of(response: httpx.Response) -> list[tuple[str, str, str]]:
    return [(s["key"], s["name"], s["status"]) for s in response.json()["stages"]]


def counts_of(response: httpx.Response) -> dict[str, int]:
    return {s["key"]: s["applications"] for s in response.json()["stages"]}


def keep(*keys: str, **names: str) -> list[dict[str, Any]]:
    """The default stages `keys` (all when none), renamed as `names` say."""
    kept = [k for k, _, _ in DEFAULT if not keys or k in keys]
    default_names = {k: n for k, n, _ in DEFAULT}
    return [{"key": k, "name": names.get(k, default_names[k])} for k in kept]


async def stored_settings(db: AsyncSession, job: Job) -> Any:
    statement = select(JobReviewSetting.stages).where(JobReviewSetting.job_id == job.id)
    return (await db.execute(statement)).scalar_one_or_none()


async def test_a_job_starts_with_the_boards_six_stages(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    for _ in range(2):
        await create_application(db, job=job, candidate=await create_user(db, app))
    response = await client.get(f"{API}/jobs/{job.id}/stages", headers=actors.employer.headers)
    assert response.status_code == 200, response.text
    assert stages_of(response) == DEFAULT
    assert counts_of(response) == {"applied": 2, "screening": 0, "interview": 0, "offer": 0,
                                   "hired": 0, "rejected": 0}  # fmt: skip
    assert response.headers["ETag"].startswith('"')
    admin = await client.get(f"{API}/jobs/{job.id}/stages", headers=actors.admin.headers)
    assert admin.status_code == 200
    for who in ("other_employer", "candidate"):
        headers = getattr(actors, who).headers
        assert_problem(await client.get(f"{API}/jobs/{job.id}/stages", headers=headers), 404)
        put = await client.put(
            f"{API}/jobs/{job.id}/stages", json={"stages": keep()}, headers=headers
        )
        assert_problem(put, 404)
    assert_problem(await client.get(f"{API}/jobs/{job.id}/stages"), 401)
    assert_problem(
        await client.get(f"{API}/jobs/999999999/stages", headers=actors.admin.headers), 404
    )
    assert await stored_settings(db, job) is None


async def test_stages_are_renamed_added_and_reordered_keeping_their_keys(
    client: httpx.AsyncClient, actors: Actors, job: Job
) -> None:
    url, headers = f"{API}/jobs/{job.id}/stages", actors.employer.headers
    body = keep("applied", "screening", applied="New")
    body += [
        {"name": "Phone screen", "status": "reviewing"},
        {"name": "Take-home task", "status": "interviewing"},
        *keep("interview", "offer", "hired", "rejected", rejected="Not this time"),
    ]
    response = await client.put(url, json={"stages": body}, headers=headers)
    assert response.status_code == 200, response.text
    assert stages_of(response) == [
        ("applied", "New", "submitted"),
        ("screening", "Screening", "reviewing"),
        ("phone-screen", "Phone screen", "reviewing"),
        ("take-home-task", "Take-home task", "interviewing"),
        ("interview", "Interview", "interviewing"),
        ("offer", "Offer", "offered"),
        ("hired", "Hired", "hired"),
        ("rejected", "Not this time", "rejected"),
    ]
    read = await client.get(url, headers=headers)
    assert stages_of(read) == stages_of(response)
    assert read.headers["ETag"] == response.headers["ETag"]
    # Reordered by key, and a new stage whose name gives a key that is taken gets its own.
    current = [{"key": k, "name": n} for k, n, _ in stages_of(response)]
    moved = [current[2], current[0], current[1], *current[3:]]
    moved.append({"name": "Phone  screen!", "status": "reviewing"})
    again = await client.put(url, json={"stages": moved}, headers=headers)
    assert again.status_code == 200, again.text
    keys = [key for key, _, _ in stages_of(again)]
    assert keys[:3] == ["phone-screen", "applied", "screening"]
    assert keys[-1] == "phone-screen-2"


@pytest.mark.parametrize(
    ("stages", "where"),
    [
        ([{"name": "Extra"}, *keep()], "status"),  # a new stage needs a status
        ([{"key": "nope", "name": "Nope"}, *keep()], "key"),
        (
            [
                {"key": "applied", "name": "A", "status": "offered"},
                *keep("screening", "interview", "offer", "hired", "rejected"),
            ],
            "status",
        ),  # an existing stage keeps its status
        ([*keep(), {"name": "applied", "status": "reviewing"}], "name"),  # the name is taken
        ([*keep(), {"key": "applied", "name": "Again"}], "key"),  # listed twice
        (keep("applied", "screening", "interview", "offer", "rejected"), "stages"),  # no hired
        ([*keep(), {"name": "Gone", "status": "withdrawn"}], "status"),
        ([*keep(), *({"name": f"S{i}", "status": "reviewing"} for i in range(15))], "stages"),
        ([], "stages"),
        ([*keep(), {"name": "   ", "status": "reviewing"}], "name"),
        ([*keep(), {"name": "x" * 41, "status": "reviewing"}], "name"),
    ],
)
async def test_a_pipeline_that_cannot_be_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    job: Job,
    stages: list[dict[str, Any]],
    where: str,
) -> None:
    response = await client.put(
        f"{API}/jobs/{job.id}/stages", json={"stages": stages}, headers=actors.employer.headers
    )
    problem = assert_problem(response, 422)
    assert where in str(problem), problem
    assert await stored_settings(db, job) is None


async def test_a_stage_that_holds_applications_stays(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    url, headers = f"{API}/jobs/{job.id}/stages", actors.employer.headers
    body = [*keep(), {"name": "Phone screen", "status": "reviewing"}]
    assert (await client.put(url, json={"stages": body}, headers=headers)).status_code == 200
    application = await create_application(db, job=job, candidate=await create_user(db, app))
    moved = await client.patch(
        f"{API}/applications/{application.id}", json={"stage": "phone-screen"}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    before = await client.get(url, headers=headers)
    problem = assert_problem(await client.put(url, json={"stages": keep()}, headers=headers), 409)
    assert "Phone screen (1)" in str(problem["detail"])
    after = await client.get(url, headers=headers)
    assert stages_of(after) == stages_of(before)
    # Once it is empty, it may go.
    back = await client.patch(
        f"{API}/applications/{application.id}", json={"stage": "screening"}, headers=headers
    )
    assert back.status_code == 200
    removed = await client.put(url, json={"stages": keep()}, headers=headers)
    assert removed.status_code == 200, removed.text
    assert stages_of(removed) == DEFAULT
    assert counts_of(removed)["screening"] == 1


async def test_a_stale_if_match_is_412(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    url, headers = f"{API}/jobs/{job.id}/stages", actors.employer.headers
    tag = (await client.get(url, headers=headers)).headers["ETag"]
    first = await client.put(
        url, json={"stages": keep(applied="New")}, headers={**headers, "If-Match": tag}
    )
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] != tag
    stale = await client.put(
        url, json={"stages": keep(applied="Fresh")}, headers={**headers, "If-Match": tag}
    )
    assert_problem(stale, 412)
    assert stages_of(await client.get(url, headers=headers))[0] == ("applied", "New", "submitted")


async def test_moves_into_stages_follow_the_state_rules(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    headers = actors.employer.headers
    body = [*keep(), {"name": "Phone screen", "status": "reviewing"}]
    await client.put(f"{API}/jobs/{job.id}/stages", json={"stages": body}, headers=headers)
    application = await create_application(db, job=job, candidate=actors.candidate.user)
    url = f"{API}/applications/{application.id}"

    async def move(body: dict[str, Any], who: str = "employer") -> httpx.Response:
        return await client.patch(url, json=body, headers=getattr(actors, who).headers)

    first = await move({"stage": "phone-screen"})
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["stage"]) == ("reviewing", "phone-screen")
    # Within one status: a move, recorded, and nothing for the candidate to hear of.
    second = await move({"stage": "screening"})
    assert (second.json()["status"], second.json()["stage"]) == ("reviewing", "screening")
    assert (await move({"status": "reviewing"})).json()["stage"] == "screening"  # no change
    assert_problem(await move({"stage": "nope"}), 422)
    assert_problem(await move({"stage": "interview", "reason": "spam"}), 422)
    assert_problem(await move({"stage": "interview", "mail": {"template": "standard"}}), 422)
    assert_problem(await move({"stage": "applied"}), 403)  # back to submitted: nobody
    assert_problem(await move({"stage": "phone-screen"}, "candidate"), 403)
    assert_problem(await move({"stage": "phone-screen"}, "other_employer"), 404)
    # The candidate sees the status, never the employer's stages.
    mine = await client.get(url, headers=actors.candidate.headers)
    assert (mine.json()["status"], mine.json()["stage"]) == ("reviewing", None)
    listed = await client.get(f"{API}/users/me/applications", headers=actors.candidate.headers)
    assert [a["stage"] for a in listed.json()["items"]] == [None]
    theirs = await client.get(f"{API}/jobs/{job.id}/applications", headers=headers)
    assert [a["stage"] for a in theirs.json()["items"]] == ["screening"]
    everyone = await client.get(f"{API}/users/me/applicants", headers=headers)
    assert [a["stage"] for a in everyone.json()["items"]] == ["screening"]
    # Hired is final.
    assert (await move({"stage": "hired"})).json()["status"] == "hired"
    assert_problem(await move({"stage": "screening"}), 409)
    assert_problem(await move({"status": "withdrawn"}, "candidate"), 409)
    timeline = await client.get(f"{url}/timeline", headers=headers)
    moves = [(e["status"], e["stage"]) for e in timeline.json()["items"] if e["kind"] == "moved"]
    assert moves == [
        ("reviewing", "Phone screen"),
        ("reviewing", "Screening"),
        ("hired", "Hired"),
    ]
    seen = await client.get(f"{url}/timeline", headers=actors.candidate.headers)
    assert {e["stage"] for e in seen.json()["items"]} == {None}
    pending = select(Application.candidate_notify_pending).where(Application.id == application.id)
    assert (await db.execute(pending)).scalar_one() is True


async def test_a_stage_between_two_of_one_status_tells_the_candidate_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, job: Job
) -> None:
    headers = actors.employer.headers
    body = [*keep(), {"name": "Phone screen", "status": "reviewing"}]
    await client.put(f"{API}/jobs/{job.id}/stages", json={"stages": body}, headers=headers)
    application = await create_application(db, job=job, candidate=actors.candidate.user)
    url = f"{API}/applications/{application.id}"
    await client.patch(url, json={"status": "reviewing"}, headers=headers)
    await db.execute(
        update(Application)
        .where(Application.id == application.id)
        .values(candidate_notify_pending=False, status_told=ApplicationStatus.reviewing)
    )
    moved = await client.patch(url, json={"stage": "phone-screen"}, headers=headers)
    assert moved.json()["stage"] == "phone-screen"
    pending = select(Application.candidate_notify_pending).where(Application.id == application.id)
    assert (await db.execute(pending)).scalar_one() is False


async def test_applications_stay_in_their_stage_when_another_comes_first(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    url, headers = f"{API}/jobs/{job.id}/stages", actors.employer.headers
    waiting = await create_application(db, job=job, candidate=await create_user(db, app))
    body = [{"name": "Referred", "status": "submitted"}, *keep()]
    response = await client.put(url, json={"stages": body}, headers=headers)
    assert response.status_code == 200, response.text
    assert counts_of(response)["applied"] == 1
    assert counts_of(response)["referred"] == 0
    read = await client.get(f"{API}/applications/{waiting.id}", headers=headers)
    assert read.json()["stage"] == "applied"
    newer = await create_application(db, job=job, candidate=await create_user(db, app))
    read = await client.get(f"{API}/applications/{newer.id}", headers=headers)
    assert read.json()["stage"] == "referred"  # new applications enter the first stage


async def test_a_bulk_move_into_a_stage(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    headers = actors.employer.headers
    body = [*keep(), {"name": "Take-home task", "status": "interviewing"}]
    await client.put(f"{API}/jobs/{job.id}/stages", json={"stages": body}, headers=headers)
    ids = [
        (await create_application(db, job=job, candidate=await create_user(db, app))).id
        for _ in range(3)
    ]
    response = await client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={"application_ids": ids, "stage": "take-home-task"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert {(a["status"], a["stage"]) for a in response.json()["items"]} == {
        ("interviewing", "take-home-task")
    }
    counts = counts_of(await client.get(f"{API}/jobs/{job.id}/stages", headers=headers))
    assert counts["take-home-task"] == 3
    bad = await client.post(
        f"{API}/jobs/{job.id}/applications/status",
        json={"application_ids": ids, "stage": "missing"},
        headers=headers,
    )
    assert_problem(bad, 422)
    moves = select(func.count()).where(ApplicationEvent.kind == "moved")
    assert (await db.execute(moves)).scalar_one() == 3


# --- races


@pytest.fixture
async def live(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False)


async def test_removing_a_stage_while_applications_move_into_it(live: httpx.AsyncClient) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    _, employer = await live_user(live, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(live, employer)
        url = f"{API}/jobs/{job_id}/stages"
        with_it = [*keep(), {"name": "Phone screen", "status": "reviewing"}]
        assert (await live.put(url, json={"stages": with_it}, headers=employer)).status_code == 200
        ids = []
        for _ in range(3):
            _, candidate = await live_user(live, Role.candidate)
            applied = await live.post(
                f"{API}/jobs/{job_id}/applications", json={}, headers=candidate
            )
            ids.append(applied.json()["id"])
        removal, *moves = await asyncio.gather(
            live.put(url, json={"stages": keep()}, headers=employer),
            *(
                live.patch(
                    f"{API}/applications/{i}", json={"stage": "phone-screen"}, headers=employer
                )
                for i in ids
            ),
        )
        moved = sum(1 for m in moves if m.status_code == 200)
        final = await live.get(url, headers=employer)
        if removal.status_code == 200:
            # The stage went first: every move after it was refused, none before it.
            assert moved == 0, [m.text for m in moves]
            assert {m.status_code for m in moves} == {422}
            assert stages_of(final) == DEFAULT
            assert counts_of(final)["applied"] == 3
        else:
            assert removal.status_code == 409, removal.text
            assert moved >= 1
            assert {m.status_code for m in moves} <= {200, 422}
            assert counts_of(final)["phone-screen"] == moved
        assert sum(counts_of(final).values()) == 3


async def test_two_pipeline_changes_with_one_etag_exactly_one_wins(
    live: httpx.AsyncClient,
) -> None:
    from tests.test_races import REPEATS, live_job, live_user

    _, employer = await live_user(live, Role.employer)
    for _ in range(REPEATS):
        job_id = await live_job(live, employer)
        url = f"{API}/jobs/{job_id}/stages"
        tag = (await live.get(url, headers=employer)).headers["ETag"]
        one = [*keep(), {"name": "One", "status": "reviewing"}]
        two = [*keep(), {"name": "Two", "status": "offered"}]
        responses = await asyncio.gather(
            *(
                live.put(url, json={"stages": body}, headers={**employer, "If-Match": tag})
                for body in (one, two)
            )
        )
        assert sorted(r.status_code for r in responses) == [200, 412]
        (won,) = [r for r in responses if r.status_code == 200]
        assert stages_of(await live.get(url, headers=employer)) == stages_of(won)


async def test_the_dashboards_counts_follow_each_jobs_own_stages(
    client: httpx.AsyncClient, db: AsyncSession, app: Any, actors: Actors, job: Job
) -> None:
    headers = actors.employer.headers
    body = [*keep(applied="New"), {"name": "Phone screen", "status": "reviewing"}]
    await client.put(f"{API}/jobs/{job.id}/stages", json={"stages": body}, headers=headers)
    ids = [
        (await create_application(db, job=job, candidate=await create_user(db, app))).id
        for _ in range(4)
    ]
    for application_id, where in zip(ids, ("phone-screen", "phone-screen", "hired"), strict=False):
        moved = await client.patch(
            f"{API}/applications/{application_id}", json={"stage": where}, headers=headers
        )
        assert moved.status_code == 200, moved.text
    await db.execute(update(Application).where(Application.id == ids[3]).values(status="withdrawn"))
    response = await client.get(f"{API}/users/me/applicant-counts", headers=headers)
    (item,) = response.json()["items"]
    assert item["total"] == 4
    assert item["by_status"] == {"reviewing": 2, "hired": 1, "withdrawn": 1}
    assert [(s["name"], s["applications"]) for s in item["by_stage"]] == [
        ("New", 0),
        ("Screening", 0),
        ("Interview", 0),
        ("Offer", 0),
        ("Hired", 1),
        ("Rejected", 0),
        ("Phone screen", 2),
    ]
