"""Jobs that are really open: when each was last confirmed, the question mailed to its
employer after OPEN_CHECK_DAYS (or at once, after enough "filled" reports), the single-use
"still open" and "filled" links, closing unanswered jobs after the grace period, and the
runs racing each other."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.config import Settings
from backend.core.security import OPEN_CHECK_PURPOSE, create_link_token
from backend.db.models import Company, Job, JobReport, JobRevision, ReviewPolicy, Role
from backend.services import open_checks
from tests.conftest import ClientFactory, Sent
from tests.factories import Actors, assert_problem, job_body, signed_in_headers
from tests.mailbox import text_of, to
from tests.tasks import run_queued
from tests.test_job_closing import applied
from tests.test_races import REPEATS, live_job, live_user

API = "/api/v1"
ANSWER = f"{API}/jobs/open-check"
INVALID = "This link is invalid, expired or already answered."


@pytest.fixture
async def mail_client(make_client: ClientFactory, tmp_path: Path) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        rate_limits_enabled=False,
    )


async def run(client: httpx.AsyncClient) -> tuple[int, int]:
    """What the hourly task does: (asked, closed)."""
    application: FastAPI = client.app  # type: ignore[attr-defined]
    return await open_checks.run(application.state.sessionmaker, application.state.settings)


async def publish(
    client: httpx.AsyncClient, actors: Actors, company: Company, title: str = "Harbour Pilot"
) -> int:
    body = job_body(company.id, status="published", title=title)
    response = await client.post(f"{API}/jobs", json=body, headers=actors.employer.headers)
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    return job_id


async def age(db: AsyncSession, job_id: int, days: float) -> None:
    """The job as if published (and last confirmed) `days` earlier than it was."""
    shift = timedelta(days=days)
    await db.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(
            published_at=Job.published_at - shift,
            confirmed_open_at=Job.confirmed_open_at - shift,
        )
    )


async def asked_days_ago(db: AsyncSession, job_id: int, days: float) -> None:
    await db.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(open_check_sent_at=Job.open_check_sent_at - timedelta(days=days))
    )


async def stored(db: AsyncSession, job_id: int) -> Job:
    job = (await db.execute(select(Job).where(Job.id == job_id))).scalar_one()
    await db.refresh(job)
    return job


def questions(tmp_path: Path, address: str) -> list[EmailMessage]:
    return [mail for mail in to(tmp_path, address) if "still open?" in str(mail["Subject"])]


def links(mail: EmailMessage) -> tuple[str, str]:
    """The "still open" and "filled" tokens of a question, in that order."""
    found = re.findall(r"/open-check\?token=([A-Za-z0-9_.\-]+)", text_of(mail))
    assert len(found) == 2, text_of(mail)
    return found[0], found[1]


async def test_a_job_says_when_it_was_last_confirmed_open(
    mail_client: httpx.AsyncClient, actors: Actors, company: Company
) -> None:
    job_id = await publish(mail_client, actors, company)
    job = (await mail_client.get(f"{API}/jobs/{job_id}")).json()
    assert job["confirmed_open_at"] == job["published_at"]
    listed = await mail_client.get(f"{API}/jobs", params={"q": "harbour pilot"})
    assert listed.json()["items"][0]["confirmed_open_at"] == job["published_at"]
    draft = await mail_client.post(
        f"{API}/jobs", json=job_body(company.id), headers=actors.employer.headers
    )
    assert draft.json()["confirmed_open_at"] is None


async def test_after_thirty_days_the_employer_is_asked_once(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    due = await publish(mail_client, actors, company)
    await age(db, due, 31)
    recent = await publish(mail_client, actors, company, "Recent Pilot")
    await age(db, recent, 29)
    expired = await publish(mail_client, actors, company, "Expired Pilot")
    await age(db, expired, 40)
    await db.execute(
        update(Job).where(Job.id == expired).values(expires_at=func.now() - timedelta(days=1))
    )
    closed = await publish(mail_client, actors, company, "Closed Pilot")
    await age(db, closed, 40)
    await mail_client.patch(
        f"{API}/jobs/{closed}", json={"status": "closed"}, headers=actors.employer.headers
    )
    version = (await mail_client.get(f"{API}/jobs/{due}")).headers["ETag"]

    assert await run(mail_client) == (1, 0)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    assert mail["Subject"] == "Is Harbour Pilot still open?"
    body = text_of(mail)
    assert f"Harbour Pilot at {company.name} (last confirmed open on" in body
    assert "A job not confirmed by" in body
    assert "https://jobs.example/dashboard" in body
    # Asking is no change of the job's: its version stays.
    assert (await mail_client.get(f"{API}/jobs/{due}")).headers["ETag"] == version
    # The next runs ask nothing more.
    assert await run(mail_client) == (0, 0)
    await sent()
    assert len(questions(tmp_path, actors.employer.user.email)) == 1


async def test_an_owner_gets_one_mail_for_their_jobs_and_a_backlog_waits_its_turn(
    make_client: ClientFactory,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    client = await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        open_checks_per_run=3,
    )
    titles = ["Pilot One", "Pilot Two", "Pilot Three", "Pilot Four"]
    jobs = [await publish(client, actors, company, title) for title in titles]
    for job_id in jobs:
        await age(db, job_id, 31)
    # At most three a run: the fourth is asked the next hour.
    assert await run(client) == (3, 0)
    assert await run(client) == (1, 0)
    await run_queued(client, db)
    first, second = to(tmp_path, actors.employer.user.email)
    assert first["Subject"] == "Are your 3 jobs still open?"
    assert second["Subject"] == "Is Pilot Four still open?"
    body = text_of(first)
    assert [title for title in titles[:3] if title in body] == titles[:3]
    tokens = re.findall(r"/open-check\?token=([A-Za-z0-9_.\-]+)", body)
    assert len(tokens) == 6
    # Each job's two links follow its title, and answer that job alone.
    listed = sorted(titles[:3], key=body.index)
    answered = await client.post(ANSWER, json={"token": tokens[3]})  # the second's "filled"
    assert (answered.json()["title"], answered.json()["status"]) == (listed[1], "closed")
    kept = await client.post(ANSWER, json={"token": tokens[0]})
    assert (kept.json()["title"], kept.json()["status"]) == (listed[0], "published")
    assert set(jobs[:3]) >= {answered.json()["id"], kept.json()["id"]}


async def test_still_open_confirms_the_job_once(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await publish(mail_client, actors, company)
    await age(db, job_id, 31)
    await run(mail_client)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    still_open, filled = links(mail)

    answered = await mail_client.post(ANSWER, json={"token": still_open})  # no sign-in
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "published"
    confirmed_at = datetime.fromisoformat(answered.json()["confirmed_open_at"])
    assert abs(confirmed_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert answered.json()["published_at"] != answered.json()["confirmed_open_at"]
    # Answered: neither link works again, and nothing is due for thirty days.
    for token in (still_open, filled):
        problem = assert_problem(await mail_client.post(ANSWER, json={"token": token}), 400)
        assert problem["detail"] == INVALID
    assert (await stored(db, job_id)).status == "published"
    assert await run(mail_client) == (0, 0)


async def test_filled_closes_the_job_and_tells_its_candidates(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await publish(mail_client, actors, company)
    candidate, _, _ = await applied(mail_client, db, app, job_id, "Hopeful Person")
    await age(db, job_id, 31)
    await run(mail_client)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    _, filled = links(mail)

    answered = await mail_client.post(ANSWER, json={"token": filled})
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "closed"
    assert (await mail_client.get(f"{API}/jobs/{job_id}")).status_code == 404
    await sent()
    (told,) = to(tmp_path, candidate.email)[-1:]
    assert told["Subject"] == f"Harbour Pilot at {company.name} has closed"
    assert_problem(await mail_client.post(ANSWER, json={"token": filled}), 400)


async def test_unanswered_the_job_closes_after_the_grace_period(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await publish(mail_client, actors, company)
    candidate, _, _ = await applied(mail_client, db, app, job_id, "Patient Person")
    await age(db, job_id, 31)
    await run(mail_client)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    still_open, _ = links(mail)
    await asked_days_ago(db, job_id, 6.9)
    assert await run(mail_client) == (0, 0)  # within the grace period

    await asked_days_ago(db, job_id, 0.2)
    assert await run(mail_client) == (0, 1)
    assert (await stored(db, job_id)).status == "closed"
    await sent()
    owner_mails = to(tmp_path, actors.employer.user.email)
    assert owner_mails[-1]["Subject"] == "Harbour Pilot was closed: nobody confirmed it open"
    assert f"https://jobs.example/dashboard/jobs/{job_id}" in text_of(owner_mails[-1])
    assert to(tmp_path, candidate.email)[-1]["Subject"] == (
        f"Harbour Pilot at {company.name} has closed"
    )
    # Too late to answer; published again, it counts as confirmed now.
    assert_problem(await mail_client.post(ANSWER, json={"token": still_open}), 400)
    again = await mail_client.patch(
        f"{API}/jobs/{job_id}", json={"status": "published"}, headers=actors.employer.headers
    )
    confirmed_at = datetime.fromisoformat(again.json()["confirmed_open_at"])
    assert abs(confirmed_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert await run(mail_client) == (0, 0)


async def test_a_job_closed_unanswered_or_filled_drops_its_held_edit(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    unanswered = await publish(mail_client, actors, company)
    filled = await publish(mail_client, actors, company, "Filled Pilot")
    company.review_policy = ReviewPolicy.always  # from now on, its edits wait for review
    await db.flush()
    for job_id in (unanswered, filled):
        held = await mail_client.patch(
            f"{API}/jobs/{job_id}", json={"title": "Renamed"}, headers=actors.employer.headers
        )
        assert held.status_code == 202, held.text
        await age(db, job_id, 31)
    await run(mail_client)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    tokens = re.findall(r"/open-check\?token=([A-Za-z0-9_.\-]+)", text_of(mail))
    titles = sorted(["Harbour Pilot", "Filled Pilot"], key=text_of(mail).index)
    filled_token = tokens[2 * titles.index("Filled Pilot") + 1]
    closed = await mail_client.post(ANSWER, json={"token": filled_token})
    assert (closed.json()["id"], closed.json()["status"]) == (filled, "closed")
    await asked_days_ago(db, unanswered, 8)
    assert await run(mail_client) == (0, 1)
    waiting = await db.scalar(
        select(func.count()).select_from(JobRevision).where(JobRevision.decided_at.is_(None))
    )
    assert waiting == 0


@pytest.mark.parametrize(
    "meanwhile", ["signed-out-everywhere", "closed-by-owner", "changed-hands", "confirmed"]
)
async def test_a_link_dies_with_what_it_was_issued_for(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
    meanwhile: str,
) -> None:
    job_id = await publish(mail_client, actors, company)
    await age(db, job_id, 31)
    await run(mail_client)
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    still_open, filled = links(mail)
    headers = actors.employer.headers
    if meanwhile == "signed-out-everywhere":
        assert (
            await mail_client.post(f"{API}/auth/logout-all", headers=headers)
        ).status_code == 204
    elif meanwhile == "closed-by-owner":
        url = f"{API}/jobs/{job_id}"
        assert (await mail_client.patch(url, json={"status": "closed"}, headers=headers)).is_success
    elif meanwhile == "changed-hands":
        await db.execute(
            update(Company)
            .where(Company.id == company.id)
            .values(owner_id=actors.other_employer.user.id)
        )
    else:
        url = f"{API}/jobs/{job_id}/open-confirmations"
        assert (await mail_client.post(url, headers=headers)).status_code == 200
    for token in (still_open, filled):
        assert_problem(await mail_client.post(ANSWER, json={"token": token}), 400)


@pytest.mark.parametrize("kind", ["tampered", "other-purpose", "bad-subject", "wrong-time"])
async def test_a_bad_link_is_400_and_changes_nothing(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    kind: str,
) -> None:
    job_id = await publish(mail_client, actors, company)
    await age(db, job_id, 31)
    await run(mail_client)
    job = await stored(db, job_id)
    assert job.open_check_sent_at is not None
    settings: Settings = app.state.settings
    owner = actors.employer.user

    def token(purpose: str, subject: str) -> str:
        return create_link_token(
            settings,
            purpose=purpose,
            user_id=owner.id,
            subject=subject,
            generation=owner.security_generation,
            expires_in=3600,
        )

    asked = job.open_check_sent_at.isoformat()
    good = token(OPEN_CHECK_PURPOSE, f"{job_id} {asked} filled")
    value = {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "other-purpose": token("verify-company", f"{job_id} {asked} filled"),
        "bad-subject": token(OPEN_CHECK_PURPOSE, f"{job_id} yesterday filled"),
        "wrong-time": token(
            OPEN_CHECK_PURPOSE,
            f"{job_id} {(job.open_check_sent_at - timedelta(seconds=1)).isoformat()} filled",
        ),
    }[kind]
    problem = assert_problem(await mail_client.post(ANSWER, json={"token": value}), 400)
    assert problem["detail"] == INVALID
    assert (await stored(db, job_id)).status == "published"
    # The right link works: what failed was the link.
    assert (await mail_client.post(ANSWER, json={"token": good})).json()["status"] == "closed"


async def test_the_owner_confirms_from_the_dashboard(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    job_id = await publish(mail_client, actors, company)
    await age(db, job_id, 10)
    url = f"{API}/jobs/{job_id}/open-confirmations"
    assert_problem(await mail_client.post(url, headers=actors.other_employer.headers), 403)
    assert_problem(await mail_client.post(url, headers=actors.candidate.headers), 403)
    assert_problem(await mail_client.post(url), 401)
    stale = assert_problem(
        await mail_client.post(url, headers={**actors.employer.headers, "If-Match": '"1"'}), 412
    )
    assert stale["status"] == 412
    confirmed = await mail_client.post(url, headers=actors.employer.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.headers["ETag"]
    when = datetime.fromisoformat(confirmed.json()["confirmed_open_at"])
    assert abs(when - datetime.now(UTC)) < timedelta(minutes=1)
    by_admin = await mail_client.post(url, headers=actors.admin.headers)
    assert by_admin.status_code == 200

    draft = await mail_client.post(
        f"{API}/jobs", json=job_body(company.id), headers=actors.employer.headers
    )
    draft_url = f"{API}/jobs/{draft.json()['id']}/open-confirmations"
    assert_problem(await mail_client.post(draft_url, headers=actors.employer.headers), 409)
    # Another employer's draft is not there for them.
    assert_problem(await mail_client.post(draft_url, headers=actors.other_employer.headers), 404)
    assert_problem(
        await mail_client.post(
            f"{API}/jobs/999999999/open-confirmations", headers=actors.employer.headers
        ),
        404,
    )


async def test_enough_filled_reports_ask_the_employer_at_once(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await publish(mail_client, actors, company)
    url = f"{API}/jobs/{job_id}/reports"
    reporters = [await signed_in_headers(mail_client, "candidate") for _ in range(4)]
    for headers in reporters[:2]:
        made = await mail_client.post(url, json={"reason": "filled"}, headers=headers)
        assert made.status_code == 201, made.text
    await sent()
    assert questions(tmp_path, actors.employer.user.email) == []
    # The third asks; the job stays public (a filled report never hides it).
    await mail_client.post(url, json={"reason": "filled"}, headers=reporters[2])
    await mail_client.post(url, json={"reason": "filled"}, headers=reporters[3])
    await sent()
    (mail,) = questions(tmp_path, actors.employer.user.email)
    assert "Candidates told us that a job of yours may be filled." in text_of(mail)
    assert (await mail_client.get(f"{API}/jobs/{job_id}")).status_code == 200
    # Still open: the filled reports are answered, and new ones count from nothing.
    still_open, _ = links(mail)
    assert (await mail_client.post(ANSWER, json={"token": still_open})).status_code == 200
    open_filled = await db.execute(
        select(func.count())
        .select_from(JobReport)
        .where(JobReport.job_id == job_id, JobReport.resolved_at.is_(None))
    )
    assert open_filled.scalar_one() == 0


# --- races: real parallel requests and runs, each on its own connection, committed


@pytest.fixture
async def live(make_live_client: ClientFactory) -> httpx.AsyncClient:
    return await make_live_client(rate_limits_enabled=False)


async def live_age(client: httpx.AsyncClient, days: float) -> None:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db, db.begin():
        await db.execute(
            text(
                "UPDATE jobs SET published_at = published_at - make_interval(days => :days), "
                "confirmed_open_at = confirmed_open_at - make_interval(days => :days) "
                "WHERE status = 'published' AND open_check_sent_at IS NULL"
            ),
            {"days": days},
        )


async def test_runs_at_once_ask_each_job_once(live: httpx.AsyncClient) -> None:
    _, employer = await live_user(live, Role.employer)
    jobs = [await live_job(live, employer) for _ in range(12)]
    await live_age(live, 31)
    results = await asyncio.gather(*(run(live) for _ in range(4)))
    assert sum(asked for asked, _ in results) == len(jobs)
    app: FastAPI = live.app  # type: ignore[attr-defined]
    async with app.state.sessionmaker() as db:
        tasks = await db.execute(
            text(
                "SELECT jsonb_array_elements(args->'jobs')->>0 FROM procrastinate_jobs "
                "WHERE task_name = 'notify_open_check' AND status = 'todo'"
            )
        )
        assert sorted(int(job_id) for (job_id,) in tasks) == sorted(jobs)


async def test_open_and_filled_answered_at_once_one_wins(live: httpx.AsyncClient) -> None:
    owner, employer = await live_user(live, Role.employer)
    app: FastAPI = live.app  # type: ignore[attr-defined]
    settings: Settings = app.state.settings
    for _ in range(REPEATS):
        job_id = await live_job(live, employer)
        await live_age(live, 31)
        await run(live)
        async with app.state.sessionmaker() as db:
            job = await db.get(Job, job_id)
            assert job is not None
            assert job.open_check_sent_at is not None
            asked = job.open_check_sent_at.isoformat()
        tokens = [
            create_link_token(
                settings,
                purpose=OPEN_CHECK_PURPOSE,
                user_id=owner.id,
                subject=f"{job_id} {asked} {said}",
                generation=owner.security_generation,
                expires_in=3600,
            )
            for said in ("open", "filled")
        ]
        still_open, filled = await asyncio.gather(
            *(live.post(ANSWER, json={"token": token}) for token in tokens)
        )
        assert sorted([still_open.status_code, filled.status_code]) == [200, 400]
        final = (await live.get(f"{API}/jobs/{job_id}", headers=employer)).json()
        assert final["status"] == ("published" if still_open.status_code == 200 else "closed")


async def test_filled_reports_at_once_ask_once(live: httpx.AsyncClient) -> None:
    _, employer = await live_user(live, Role.employer)
    reporters = [(await live_user(live, Role.candidate))[1] for _ in range(6)]
    for _ in range(REPEATS):
        job_id = await live_job(live, employer)
        answers = await asyncio.gather(
            *(
                live.post(f"{API}/jobs/{job_id}/reports", json={"reason": "filled"}, headers=h)
                for h in reporters
            )
        )
        assert [answer.status_code for answer in answers] == [201] * len(reporters)
        app: FastAPI = live.app  # type: ignore[attr-defined]
        async with app.state.sessionmaker() as db:
            asked = await db.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE task_name = 'notify_open_check' AND args->'jobs'->0->>0 = :job"
                ),
                {"job": str(job_id)},
            )
            assert asked.scalar_one() == 1
