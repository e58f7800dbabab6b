"""Jobs published from an applicant-tracking system by its own id: created or replaced by
one idempotent PUT, in batches, closed, one job an id however many upserts race."""

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, CompanyActivity, Job, ReviewPolicy, Role
from backend.schemas.job import MAX_BATCH
from tests.conftest import ClientFactory
from tests.factories import Actors, assert_problem

API = "/api/v1"


def job(**overrides: Any) -> dict[str, Any]:
    return {
        "title": "Compiler Engineer",
        "description": "Write **compilers**.",
        "location": "Porto",
        "workplace": "remote",
        "employment_type": "full_time",
        "salary_min": 50000,
        "salary_max": 70000,
        "salary_currency": "EUR",
        "tags": ["rust", "llvm"],
        **overrides,
    }


@pytest.fixture
def company(actors: Actors) -> Company:
    assert actors.employer.company is not None
    return actors.employer.company


def url(company: Company, external_id: str = "REQ-1001") -> str:
    return f"{API}/companies/{company.id}/jobs/external/{external_id}"


async def jobs_with(db: AsyncSession, external_id: str) -> int:
    statement = select(func.count()).where(Job.external_id == external_id)
    return (await db.execute(statement)).scalar_one()


async def test_an_upsert_creates_then_the_same_body_changes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    created = await client.put(url(company), json=job(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "published"
    again = await client.put(url(company), json=job(), headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers["ETag"] == created.headers["ETag"]
    assert again.json()["updated_at"] == created.json()["updated_at"]
    assert again.json()["id"] == created.json()["id"]
    read = await client.get(url(company), headers=headers)
    assert read.json()["title"] == "Compiler Engineer"
    assert read.headers["ETag"] == created.headers["ETag"]
    assert await jobs_with(db, "REQ-1001") == 1
    # The same external id at another company is another job.
    assert actors.other_employer.company is not None
    theirs = await client.put(
        url(actors.other_employer.company), json=job(), headers=actors.other_employer.headers
    )
    assert theirs.status_code == 201
    assert await jobs_with(db, "REQ-1001") == 2


async def test_a_changed_body_replaces_what_a_draft_says(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    first = await client.put(url(company), json=job(status="draft"), headers=headers)
    assert first.status_code == 201
    changed = await client.put(
        url(company), json=job(status="draft", title="Senior Compiler Engineer"), headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Senior Compiler Engineer"
    assert changed.headers["ETag"] != first.headers["ETag"]
    # Left out, a field takes its default: the salary goes.
    bare = {k: v for k, v in job(status="draft").items() if not k.startswith("salary")}
    cleared = await client.put(url(company), json=bare, headers=headers)
    assert (cleared.json()["salary_min"], cleared.json()["salary_currency"]) == (None, None)
    still = await client.put(url(company), json=bare, headers=headers)
    assert (still.json()["status"], still.headers["ETag"]) == ("draft", cleared.headers["ETag"])
    opened = await client.put(url(company), json={**bare, "status": "published"}, headers=headers)
    assert opened.json()["status"] == "published"


async def test_closing_by_external_id(
    client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    await client.put(url(company), json=job(), headers=headers)
    closed = await client.post(f"{url(company)}/close", headers=headers)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    again = await client.post(f"{url(company)}/close", headers=headers)
    assert again.status_code == 200
    assert again.json()["updated_at"] == closed.json()["updated_at"]
    assert_problem(await client.post(f"{url(company, 'NOPE')}/close", headers=headers), 404)
    public = await client.get(f"{API}/jobs/{closed.json()['id']}")
    assert_problem(public, 404)


@pytest.mark.parametrize("who", ["other_employer", "candidate"])
async def test_another_companys_jobs_are_404(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company, who: str
) -> None:
    headers = getattr(actors, who).headers
    assert_problem(await client.put(url(company), json=job(), headers=headers), 404)
    await client.put(url(company), json=job(), headers=actors.employer.headers)
    assert_problem(await client.get(url(company), headers=headers), 404)
    assert_problem(await client.post(f"{url(company)}/close", headers=headers), 404)
    batch = await client.post(
        f"{API}/companies/{company.id}/jobs/external",
        json={"jobs": [{**job(), "external_id": "X"}]},
        headers=headers,
    )
    assert_problem(batch, 404)
    assert await jobs_with(db, "X") == 0
    assert_problem(await client.put(url(company), json=job()), 401)


@pytest.mark.parametrize("external_id", ["-starts-with-a-dash", "has space", "x" * 101, "é"])
async def test_an_external_id_out_of_its_alphabet_is_422(
    client: httpx.AsyncClient, actors: Actors, company: Company, external_id: str
) -> None:
    response = await client.put(
        url(company, external_id), json=job(), headers=actors.employer.headers
    )
    assert_problem(response, 422)


async def test_a_batch_is_all_or_nothing_with_a_result_each(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    batch_url = f"{API}/companies/{company.id}/jobs/external"
    items = [{**job(title=f"Role {n}"), "external_id": f"B-{n}"} for n in range(3)]
    first = await client.post(batch_url, json={"jobs": items}, headers=headers)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [(r["external_id"], r["outcome"]) for r in results] == [
        ("B-0", "created"),
        ("B-1", "created"),
        ("B-2", "created"),
    ]
    items[1] = {**items[1], "status": "closed"}
    second = await client.post(batch_url, json={"jobs": items}, headers=headers)
    assert [r["outcome"] for r in second.json()["results"]] == [
        "unchanged",
        "replaced",
        "unchanged",
    ]
    assert [r["job_id"] for r in second.json()["results"]] == [r["job_id"] for r in results]
    # An id twice, or a job that cannot be: nothing of the batch is kept.
    twice = [{**job(), "external_id": "C-1"}, {**job(), "external_id": "C-1"}]
    assert_problem(await client.post(batch_url, json={"jobs": twice}, headers=headers), 422)
    broken = [
        {**job(), "external_id": "C-2"},
        {**job(salary_min=9, salary_max=1), "external_id": "C-3"},
    ]
    assert_problem(await client.post(batch_url, json={"jobs": broken}, headers=headers), 422)
    reopened = [{**job(), "external_id": "C-4"}, {**items[1], "status": "draft"}]
    assert_problem(await client.post(batch_url, json={"jobs": reopened}, headers=headers), 409)
    for external_id in ("C-1", "C-2", "C-3", "C-4"):
        assert await jobs_with(db, external_id) == 0
    too_many = [{**job(), "external_id": f"M-{n}"} for n in range(MAX_BATCH + 1)]
    assert_problem(await client.post(batch_url, json={"jobs": too_many}, headers=headers), 422)


async def test_a_company_held_for_review_keeps_its_job_pending_and_the_upsert_idempotent(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await db.execute(
        update(Company).where(Company.id == company.id).values(review_policy=ReviewPolicy.always)
    )
    headers = actors.employer.headers
    held = await client.put(url(company), json=job(), headers=headers)
    assert held.status_code == 201, held.text
    assert held.json()["status"] == "pending"
    again = await client.put(url(company), json=job(), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending"
    assert again.headers["ETag"] == held.headers["ETag"]
    assert_problem(await client.get(f"{API}/jobs/{held.json()['id']}"), 404)


async def test_upserts_of_one_external_id_at_once_make_one_job(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import REPEATS, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    made = await client.post(f"{API}/companies", json={"name": "ATS Co"}, headers=employer)
    company_id = made.json()["id"]
    app = client.app  # type: ignore[attr-defined]
    for attempt in range(REPEATS):
        external_id = f"RACE-{attempt}"
        target = f"{API}/companies/{company_id}/jobs/external/{external_id}"
        responses = await asyncio.gather(
            *(client.put(target, json=job(title=f"Racer {n}"), headers=employer) for n in range(6))
        )
        codes = sorted(response.status_code for response in responses)
        assert codes == [200] * 5 + [201], [r.text for r in responses]
        assert len({response.json()["id"] for response in responses}) == 1
        async with app.state.sessionmaker() as db:
            assert await jobs_with(db, external_id) == 1


async def test_an_edit_of_a_held_company_s_published_job_waits_for_review(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    await db.execute(
        update(Company).where(Company.id == company.id).values(review_policy=ReviewPolicy.always)
    )
    headers = actors.employer.headers
    held = await client.put(url(company), json=job(), headers=headers)
    job_id = held.json()["id"]
    approved = await client.post(
        f"{API}/moderation/jobs/{job_id}/decisions",
        json={"decision": "approved"},
        headers=actors.admin.headers,
    )
    assert approved.status_code == 201, approved.text
    edited = await client.put(url(company), json=job(title="Compiler Lead"), headers=headers)
    assert edited.status_code == 202, edited.text
    assert edited.json()["changes"]["title"] == "Compiler Lead"
    again = await client.put(url(company), json=job(title="Compiler Lead"), headers=headers)
    assert again.status_code == 202
    assert again.json()["id"] == edited.json()["id"]  # the one edit waiting, not a second
    public = await client.get(f"{API}/jobs/{job_id}")
    assert public.json()["title"] == "Compiler Engineer"  # as it was, until reviewed


async def test_a_batch_takes_its_new_jobs_daily_places_at_once_and_bans_refuse_it(
    make_client: ClientFactory, db: AsyncSession, actors: Actors, company: Company
) -> None:
    limited = await make_client(jobs_per_day=5)
    headers = actors.employer.headers
    batch_url = f"{API}/companies/{company.id}/jobs/external"
    four = [{**job(title=f"Limited {n}"), "external_id": f"L-{n}"} for n in range(4)]
    made = await limited.post(batch_url, json={"jobs": four}, headers=headers)
    assert made.status_code == 200, made.text
    # The same four again take no place (none is new); a draft takes none either.
    again = [*four, {**job(title="Draft"), "external_id": "L-D", "status": "draft"}]
    assert (await limited.post(batch_url, json={"jobs": again}, headers=headers)).status_code == 200
    # Two new ones would make six of five: the whole batch is refused, nothing written.
    two = [{**job(title=f"Over {n}"), "external_id": f"O-{n}"} for n in range(2)]
    refused = await limited.post(batch_url, json={"jobs": two}, headers=headers)
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert await jobs_with(db, "O-0") == 0
    one = await limited.post(batch_url, json={"jobs": two[:1]}, headers=headers)
    assert one.status_code == 200, one.text
    assert_problem(
        await limited.post(
            batch_url, json={"jobs": [{**job(), "external_id": "O-9"}]}, headers=headers
        ),
        429,
    )
    # A banned website refuses a batch with new jobs, before any is written.
    await db.execute(
        update(Company).where(Company.id == company.id).values(website="https://spam.example")
    )
    banned = await limited.put(
        f"{API}/moderation/banned-domains/spam.example",
        json={"reason": "spam"},
        headers=actors.admin.headers,
    )
    assert banned.status_code in (200, 201), banned.text
    fresh = await make_client(jobs_per_day=100)
    blocked = await fresh.post(
        batch_url, json={"jobs": [{**job(), "external_id": "X-1"}]}, headers=headers
    )
    assert_problem(blocked, 403)
    assert await jobs_with(db, "X-1") == 0


async def test_batches_of_drafts_racing_single_upserts_of_their_ids_make_one_job_each(
    make_live_client: ClientFactory,
) -> None:
    """A batch's new drafts are created in one statement; a job of one of their ids made
    meanwhile by another request is found by the unique index, and the batch replaces it."""
    from tests.test_races import REPEATS, live_user

    client = await make_live_client(rate_limits_enabled=False)
    _, employer = await live_user(client, Role.employer)
    made = await client.post(f"{API}/companies", json={"name": "ATS Co"}, headers=employer)
    company_id = made.json()["id"]
    app = client.app  # type: ignore[attr-defined]
    batch_url = f"{API}/companies/{company_id}/jobs/external"
    for attempt in range(REPEATS):
        ids = [f"DRAFT-{attempt}-{n}" for n in range(6)]
        items = [
            {**job(title=f"Draft {n}"), "external_id": i, "status": "draft"}
            for n, i in enumerate(ids)
        ]
        singles = [
            client.put(
                f"{batch_url}/{external_id}",
                json=job(title="Single", status="draft"),
                headers=employer,
            )
            for external_id in ids[::2]
        ]
        answers = await asyncio.gather(
            client.post(batch_url, json={"jobs": items}, headers=employer), *singles
        )
        # A single upsert creates its job (201) or finds the batch's (200).
        assert {answer.status_code for answer in answers[1:]} <= {200, 201}
        assert answers[0].status_code == 200, answers[0].text
        outcomes = [result["outcome"] for result in answers[0].json()["results"]]
        assert set(outcomes) <= {"created", "replaced", "unchanged"}
        async with app.state.sessionmaker() as db:
            for external_id in ids:
                assert await jobs_with(db, external_id) == 1
            activity = await db.scalar(
                select(func.count())
                .select_from(CompanyActivity)
                .where(
                    CompanyActivity.company_id == company_id,
                    CompanyActivity.action == "job_created",
                    CompanyActivity.detail["job_id"]
                    .as_integer()
                    .in_(select(Job.id).where(Job.external_id.in_(ids))),
                )
            )
        # Each job was created once, by the batch or by a single upsert: one entry each.
        assert activity == len(ids)


async def test_a_batch_reports_each_outcome_and_records_each_creation(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    batch_url = f"{API}/companies/{company.id}/jobs/external"
    existing = await client.put(url(company, "MIX-0"), json=job(status="draft"), headers=headers)
    assert existing.status_code == 201
    items = [
        {**job(status="draft"), "external_id": "MIX-0"},
        {**job(title="New draft", status="draft"), "external_id": "MIX-1"},
        {**job(title="New published"), "external_id": "MIX-2"},
        {**job(title="New closed", status="closed"), "external_id": "MIX-3"},
    ]
    answer = await client.post(batch_url, json={"jobs": items}, headers=headers)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [(r["external_id"], r["outcome"]) for r in results] == [
        ("MIX-0", "unchanged"),
        ("MIX-1", "created"),
        ("MIX-2", "created"),
        ("MIX-3", "created"),
    ]
    statuses = dict(
        (
            await db.execute(
                select(Job.external_id, Job.status).where(Job.company_id == company.id)
            )
        ).all()
    )
    assert {k: v.value for k, v in statuses.items()} == {
        "MIX-0": "draft",
        "MIX-1": "draft",
        "MIX-2": "published",
        "MIX-3": "closed",
    }
    page = await client.get(f"{API}/jobs/{results[1]['job_id']}", headers=headers)
    assert page.json()["title"] == "New draft"
    assert page.json()["company_name"] == "Acme Robotics"
    recorded = await client.get(f"{API}/companies/{company.id}/activity", headers=headers)
    created = [
        a["detail"]["job_id"] for a in recorded.json()["items"] if a["action"] == "job_created"
    ]
    assert sorted(created) == sorted([existing.json()["id"], *(r["job_id"] for r in results[1:])])
