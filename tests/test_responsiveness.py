"""How responsive each employer is: computed from applications' timelines, shown once a
company has enough applications."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company
from backend.services import responsiveness
from tests.factories import Actors, assert_problem, create_job

API = "/api/v1"
NOW = datetime(2031, 6, 1, 12, 0, tzinfo=UTC)

# One statement per application: a candidate, the application, its timeline.
_APPLY = text(
    """
    WITH person AS (
        INSERT INTO users (email, hashed_password, full_name, role)
        VALUES (:email, 'x', 'Applicant', 'candidate') RETURNING id
    ), made AS (
        INSERT INTO applications (job_id, candidate_id, status, created_at)
        SELECT :job_id, id, CAST(:status AS application_status), :created_at FROM person
        RETURNING id, candidate_id
    ), submitted AS (
        INSERT INTO application_events (application_id, actor_id, kind, created_at)
        SELECT id, candidate_id, 'submitted', :created_at FROM made
        WHERE CAST(:with_timeline AS boolean)
    )
    INSERT INTO application_events (application_id, actor_id, kind, status, created_at)
    SELECT made.id,
           CASE WHEN CAST(:by_candidate AS boolean) THEN made.candidate_id
                ELSE CAST(:employer_id AS bigint) END,
           :answer_kind, 'reviewing', :answered_at
    FROM made WHERE CAST(:answered_at AS timestamptz) IS NOT NULL
    """
)


async def apply(
    db: AsyncSession,
    company: Company,
    *,
    made_days_ago: float,
    answered_after_hours: float | None,
    status: str = "reviewing",
    with_timeline: bool = True,
    by_candidate: bool = False,
    answer_kind: str = "moved",
) -> None:
    created = NOW - timedelta(days=made_days_ago)
    answered = (
        None if answered_after_hours is None else created + timedelta(hours=answered_after_hours)
    )
    job = await create_job(db, company=company)
    await db.execute(
        _APPLY,
        {
            "email": f"applicant-{job.id}@example.com",
            "job_id": job.id,
            "status": status,
            "created_at": created,
            "with_timeline": with_timeline,
            "answered_at": answered,
            "by_candidate": by_candidate,
            "employer_id": company.owner_id,
            "answer_kind": answer_kind,
        },
    )


async def test_the_median_answer_and_the_share_answered_in_time(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    company = actors.employer.company
    assert company is not None
    # Judged: twelve applications made 40 days ago. Nine answered within hours, one
    # interview proposed on day 35 (answered, but late), two never answered.
    for hours in range(1, 10):
        await apply(db, company, made_days_ago=40, answered_after_hours=hours)
    await apply(
        db, company, made_days_ago=40, answered_after_hours=35 * 24, answer_kind="interview"
    )
    await apply(db, company, made_days_ago=40, answered_after_hours=None, status="submitted")
    await apply(db, company, made_days_ago=40, answered_after_hours=None, status="submitted")
    # Not judged: too recent, too old, from before timelines, withdrawn unanswered, and a
    # withdrawal (the candidate's own move) is no answer.
    await apply(db, company, made_days_ago=10, answered_after_hours=None, status="submitted")
    await apply(db, company, made_days_ago=400, answered_after_hours=1)
    await apply(db, company, made_days_ago=40, answered_after_hours=1, with_timeline=False)
    await apply(
        db,
        company,
        made_days_ago=40,
        answered_after_hours=2,
        status="withdrawn",
        by_candidate=True,
    )

    written, dropped = await responsiveness.recompute(db, now=NOW)
    assert (written, dropped) == (1, 0)
    response = await client.get(f"{API}/companies/{company.id}/responsiveness")
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["applications"] == 12
    assert figures["answered_within_30_days"] == 0.75
    # The ten answered: 1 to 9 hours and 840 hours; the median is between 5 and 6.
    assert figures["median_hours_to_first_answer"] == 5.5
    assert figures["computed_at"] == "2031-06-01T12:00:00Z"


async def test_too_few_applications_show_nothing(
    client: httpx.AsyncClient, db: AsyncSession, actors: Actors
) -> None:
    company = actors.other_employer.company
    assert company is not None
    for hours in range(1, 10):
        await apply(db, company, made_days_ago=40, answered_after_hours=hours)
    assert await responsiveness.recompute(db, now=NOW) == (0, 0)
    response = await client.get(f"{API}/companies/{company.id}/responsiveness")
    assert response.json() == {
        "company_id": company.id,
        "applications": None,
        "answered_within_30_days": None,
        "median_hours_to_first_answer": None,
        "computed_at": None,
    }
    # One more makes ten: figures; the year passing drops them again.
    await apply(db, company, made_days_ago=40, answered_after_hours=None, status="submitted")
    assert await responsiveness.recompute(db, now=NOW) == (1, 0)
    shown = await client.get(f"{API}/companies/{company.id}/responsiveness")
    assert shown.json()["answered_within_30_days"] == 0.9
    assert await responsiveness.recompute(db, now=NOW + timedelta(days=400)) == (0, 1)
    gone = await client.get(f"{API}/companies/{company.id}/responsiveness")
    assert gone.json()["applications"] is None
    assert_problem(await client.get(f"{API}/companies/999999/responsiveness"), 404)
