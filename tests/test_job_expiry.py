"""Mail to a job's owner a few days before the job expires: once per job and expiry date,
only while it is still so, never to an owner who turned it off; and exactly once when the
hourly runs race."""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Role
from backend.db.queue import NOTIFY_JOB_CLOSED, NOTIFY_JOB_EXPIRING
from backend.services import job_expiry
from tests.conftest import ClientFactory
from tests.factories import Actors, job_body
from tests.mailbox import html_of, link_token, messages, text_of
from tests.tasks import run_queued, waiting

API = "/api/v1"
SETTINGS = f"{API}/users/me/notifications"

Sent = Callable[[], Awaitable[list[EmailMessage]]]


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_now(**delta: float) -> str:
    return instant(datetime.now(UTC) + timedelta(**delta))


async def schedule(client: httpx.AsyncClient) -> int:
    """What the hourly task does."""
    application: FastAPI = client.app  # type: ignore[attr-defined]
    return await job_expiry.schedule_notices(application.state.sessionmaker)


@pytest.fixture
def sent(mail_client: httpx.AsyncClient, db: AsyncSession, tmp_path: Path) -> Sent:
    """The hourly run, then the mails it asked for; every mail sent so far."""

    async def run() -> list[EmailMessage]:
        await schedule(mail_client)
        await run_queued(mail_client, db)
        return messages(tmp_path)

    return run


async def post_job(
    client: httpx.AsyncClient, actors: Actors, company: Company, **fields: Any
) -> int:
    body = job_body(company.id, **{"status": "published", "title": "Lighthouse Keeper", **fields})
    response = await client.post(f"{API}/jobs", json=body, headers=actors.employer.headers)
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    return job_id


async def change(client: httpx.AsyncClient, actors: Actors, job_id: int, **fields: Any) -> None:
    response = await client.patch(
        f"{API}/jobs/{job_id}", json=fields, headers=actors.employer.headers
    )
    assert response.status_code == 200, response.text


async def test_the_owner_hears_once_that_a_job_expires_within_three_days(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2, hours=1)
    job_id = await post_job(mail_client, actors, company, expires_at=instant(expires))
    # None of these is about to expire while listed.
    await post_job(mail_client, actors, company, expires_at=from_now(days=4))
    await post_job(mail_client, actors, company)
    await post_job(mail_client, actors, company, expires_at=from_now(hours=-1))
    await post_job(mail_client, actors, company, status="draft", expires_at=from_now(days=1))
    closed = await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    await change(mail_client, actors, closed, status="closed")

    assert await schedule(mail_client) == 1
    # Beside the closed job's notice to its (no) candidates, one expiry notice.
    (task,) = [row for row in await waiting(db) if row.task_name != NOTIFY_JOB_CLOSED]
    assert task.task_name == NOTIFY_JOB_EXPIRING
    assert task.args["job_id"] == job_id

    await run_queued(mail_client, db)
    (mail,) = messages(tmp_path)
    assert mail["To"] == actors.employer.user.email
    assert mail["Subject"] == "Lighthouse Keeper stops being listed in 2 days"
    body = text_of(mail)
    assert f"at {company.name} expires on {expires:%Y-%m-%d %H:%M} UTC" in body
    assert f"https://jobs.example/dashboard/jobs/{job_id}" in body
    assert "Lighthouse Keeper" in html_of(mail)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The next hourly runs ask for nothing more.
    assert await schedule(mail_client) == 0
    assert len(await sent()) == 1


async def test_a_job_given_a_later_date_is_noticed_again_when_that_one_nears(
    mail_client: httpx.AsyncClient, sent: Sent, actors: Actors, company: Company
) -> None:
    job_id = await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    assert len(await sent()) == 1
    await change(mail_client, actors, job_id, expires_at=from_now(days=2, hours=12))
    second = await sent()
    assert len(second) == 2
    assert second[-1]["Subject"] == "Lighthouse Keeper stops being listed in 2 days"
    # Moved out of the notice period: nothing until it comes back into it.
    await change(mail_client, actors, job_id, expires_at=from_now(days=20))
    assert len(await sent()) == 2


@pytest.mark.parametrize(
    "meanwhile",
    [
        {"expires_at": from_now(days=30)},
        {"expires_at": None},
        {"status": "closed"},
    ],
    ids=["extended", "no-expiry", "closed"],
)
async def test_a_notice_whose_job_changed_before_it_ran_sends_nothing(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
    meanwhile: dict[str, Any],
) -> None:
    job_id = await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    assert await schedule(mail_client) == 1
    await change(mail_client, actors, job_id, **meanwhile)
    closing = [NOTIFY_JOB_CLOSED] if meanwhile.get("status") == "closed" else []
    assert await run_queued(mail_client, db) == [NOTIFY_JOB_EXPIRING, *closing]
    assert messages(tmp_path) == []


async def test_a_deleted_job_is_forgotten_with_its_notice(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    tmp_path: Path,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    assert await schedule(mail_client) == 1
    deleted = await mail_client.delete(f"{API}/jobs/{job_id}", headers=actors.employer.headers)
    assert deleted.status_code == 204
    notices = "SELECT count(*) FROM job_expiry_notices WHERE job_id = :id"
    assert (await db.execute(text(notices), {"id": job_id})).scalar_one() == 0
    await run_queued(mail_client, db)
    assert messages(tmp_path) == []


async def test_an_owner_who_turned_them_off_gets_none_and_the_link_turns_them_off(
    mail_client: httpx.AsyncClient, sent: Sent, actors: Actors, company: Company
) -> None:
    headers = actors.employer.headers
    settings = await mail_client.get(SETTINGS, headers=headers)
    assert settings.json()["job_expiry"] is True

    await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    (mail,) = await sent()
    token = link_token(mail, "/unsubscribe")
    one_click = await mail_client.post(f"{API}/notifications/unsubscribe", params={"token": token})
    assert one_click.status_code == 200, one_click.text
    assert one_click.json()["kind"] == "job_expiry"
    assert (await mail_client.get(SETTINGS, headers=headers)).json()["job_expiry"] is False

    await post_job(mail_client, actors, company, expires_at=from_now(days=2))
    assert len(await sent()) == 1

    back_on = await mail_client.patch(SETTINGS, json={"job_expiry": True}, headers=headers)
    assert back_on.json()["job_expiry"] is True
    # Jobs noticed while it was off are not noticed again; the next ones are.
    await post_job(mail_client, actors, company, expires_at=from_now(days=2, hours=6))
    assert len(await sent()) == 2


async def test_many_jobs_are_noticed_in_batches(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    actors: Actors,
    company: Company,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(job_expiry, "NOTICE_BATCH", 3)
    jobs = {
        await post_job(mail_client, actors, company, expires_at=from_now(hours=10 + n))
        for n in range(7)
    }
    assert await schedule(mail_client) == 7
    assert {task.args["job_id"] for task in await waiting(db)} == jobs
    assert await schedule(mail_client) == 0


async def test_batches_walk_the_expiring_jobs_once_ties_included(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each batch goes on from the last job of the one before (its expiry and id), never
    from the start of the range again; jobs expiring at the same instant across a batch's
    end are each noticed once."""
    from tests.test_queries import captured

    monkeypatch.setattr(job_expiry, "NOTICE_BATCH", 3)
    same = from_now(hours=20)
    jobs = [await post_job(mail_client, actors, company, expires_at=same) for _ in range(5)]
    jobs.append(await post_job(mail_client, actors, company, expires_at=from_now(hours=30)))
    jobs.append(await post_job(mail_client, actors, company, expires_at=from_now(hours=40)))
    with captured(app) as statements:
        assert await schedule(mail_client) == 7
    inserts = [
        parameters
        for statement, parameters in statements
        if statement.lstrip().startswith("INSERT INTO job_expiry_notices")
    ]
    assert len(inserts) == 3
    # The second batch starts after the first's last job, the third after the second's.
    assert sorted(jobs[:5])[2] in inserts[1].values()
    assert jobs[5] in inserts[2].values()
    assert sorted(task.args["job_id"] for task in await waiting(db)) == sorted(jobs)
    assert await schedule(mail_client) == 0


async def test_purge_forgets_notices_of_dates_long_past(
    mail_client: httpx.AsyncClient, db: AsyncSession, actors: Actors, company: Company
) -> None:
    from backend.services import housekeeping

    recent = await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    old = await post_job(mail_client, actors, company, expires_at=from_now(days=-40))
    assert await schedule(mail_client) == 1
    await db.execute(
        text("INSERT INTO job_expiry_notices (job_id, expires_at) VALUES (:id, :at)"),
        {"id": old, "at": datetime.now(UTC) - timedelta(days=40)},
    )
    application: FastAPI = mail_client.app  # type: ignore[attr-defined]
    removed = await housekeeping.purge(db, application.state.settings)
    assert removed["expiry notices"] == 1
    left = await db.execute(text("SELECT job_id FROM job_expiry_notices"))
    assert set(left.scalars()) == {recent}


async def test_hourly_runs_at_once_ask_for_each_notice_once(
    make_live_client: ClientFactory,
) -> None:
    from tests.test_races import live_job, live_user

    client = await make_live_client()
    _, employer = await live_user(client, Role.employer)
    jobs = [await live_job(client, employer, expires_at=from_now(days=1)) for _ in range(12)]
    application: FastAPI = client.app  # type: ignore[attr-defined]
    counts = await asyncio.gather(
        *(job_expiry.schedule_notices(application.state.sessionmaker) for _ in range(6))
    )
    assert sum(counts) == len(jobs)
    async with application.state.sessionmaker() as session:
        rows = await session.execute(
            text("SELECT args FROM procrastinate_jobs WHERE task_name = :name"),
            {"name": NOTIFY_JOB_EXPIRING},
        )
        asked = Counter(args["job_id"] for args in rows.scalars())
    assert asked == Counter(jobs)


async def test_the_hourly_run_finds_expiring_jobs_through_an_index(
    mail_client: httpx.AsyncClient,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    from tests.test_queries import captured

    await post_job(mail_client, actors, company, expires_at=from_now(days=1))
    await db.execute(text("ANALYZE jobs"))
    with captured(app) as statements:
        assert await schedule(mail_client) == 1
    (insert, parameters) = next(
        (statement, parameters)
        for statement, parameters in statements
        if "job_expiry_notices" in statement and "INSERT" in statement
    )
    # With sequential scans priced out, a plan that still scans jobs has no index to use.
    await db.execute(text("SET LOCAL enable_seqscan = off"))
    connection = await db.connection()
    plan = "\n".join((await connection.exec_driver_sql(f"EXPLAIN {insert}", parameters)).scalars())
    assert "ix_jobs_published_expires_at" in plan, plan
    assert "Seq Scan on jobs" not in plan, plan
