"""Notification mail: new applicants (batched per job), status changes, settings, and
one-click unsubscribe; and the rule that a task exists exactly when its request commits."""

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.core.security import UNSUBSCRIBE_PURPOSE, VERIFY_EMAIL_PURPOSE, create_link_token
from backend.db.models import Company, Role, User
from backend.db.queue import NOTIFY_NEW_APPLICANTS, SEND_PASSWORD_RESET, enqueue
from tests.conftest import Sent
from tests.factories import (
    Actors,
    assert_problem,
    create_user,
    job_body,
    session_headers,
)
from tests.mailbox import html_of, link_token, text_of, to
from tests.tasks import waiting

API = "/api/v1"
SETTINGS = f"{API}/users/me/notifications"
UNSUBSCRIBE = f"{API}/notifications/unsubscribe"


async def published_job(client: httpx.AsyncClient, actors: Actors, company: Company) -> int:
    response = await client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published", title="Robot Whisperer"),
        headers=actors.employer.headers,
    )
    assert response.status_code == 201, response.text
    job_id: int = response.json()["id"]
    return job_id


async def candidate(db: AsyncSession, app: FastAPI, name: str) -> tuple[User, dict[str, str]]:
    user = await create_user(db, app, role=Role.candidate, full_name=name)
    return user, await session_headers(db, app, user)


# --- new applicants


async def test_applications_to_a_job_reach_its_owner_in_one_mail(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    for name in ("Ada Lovelace", "Alan Turing", "Edsger Dijkstra"):
        _, headers = await candidate(db, app, name)
        applied = await mail_client.post(
            f"{API}/jobs/{job_id}/applications", json={}, headers=headers
        )
        assert applied.status_code == 201
    # One mail waits for the batch window, whatever the number of applications.
    (task,) = await waiting(db)
    assert task.task_name == NOTIFY_NEW_APPLICANTS
    assert task.args == {"job_id": job_id}
    delay = task.scheduled_at - datetime.now(UTC)
    assert timedelta(minutes=9) < delay <= timedelta(minutes=10)

    (mail,) = await sent()
    assert mail["To"] == actors.employer.user.email
    assert mail["Subject"] == "3 new applicants for Robot Whisperer"
    body = text_of(mail)
    for name in ("Ada Lovelace", "Alan Turing", "Edsger Dijkstra"):
        assert name in body
        assert name in html_of(mail)
    assert f"https://jobs.example/dashboard/jobs/{job_id}" in body
    assert mail["List-Unsubscribe"].startswith(
        "<https://api.jobs.example/api/v1/notifications/unsubscribe?token="
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The next application starts a new batch with only itself in it.
    _, headers = await candidate(db, app, "Barbara Liskov")
    await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    later = await sent()
    assert len(later) == 2
    assert later[-1]["Subject"] == "1 new applicant for Robot Whisperer"
    assert "Barbara Liskov" in text_of(later[-1])
    assert "Ada Lovelace" not in text_of(later[-1])


async def test_a_withdrawn_application_is_not_announced(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    _, headers = await candidate(db, app, "Changed Mind")
    applied = await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    withdrawn = await mail_client.patch(
        f"{API}/applications/{applied.json()['id']}",
        json={"status": "withdrawn"},
        headers=headers,
    )
    assert withdrawn.status_code == 200
    assert await sent() == []  # neither the owner (nothing left) nor the candidate (own doing)
    assert await waiting(db) == []


async def test_an_owner_who_turned_them_off_gets_none(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    off = await mail_client.patch(
        SETTINGS, json={"new_applicants": False}, headers=actors.employer.headers
    )
    assert off.json() == {
        "new_applicants": False,
        "application_status": True,
        "job_alerts": True,
        "job_expiry": True,
    }
    job_id = await published_job(mail_client, actors, company)
    _, headers = await candidate(db, app, "Quiet")
    await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    assert await sent() == []
    # Turning them on again does not bring back what was left out meanwhile.
    await mail_client.patch(
        SETTINGS, json={"new_applicants": True}, headers=actors.employer.headers
    )
    _, headers = await candidate(db, app, "Loud")
    await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    (mail,) = await sent()
    assert "Loud" in text_of(mail)
    assert "Quiet" not in text_of(mail)


# --- status changes


async def test_the_candidate_hears_of_each_status_change(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    user, headers = await candidate(db, app, "Hopeful")
    applied = await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    url = f"{API}/applications/{applied.json()['id']}"
    for status in ("reviewing", "interviewing", "offered"):
        moved = await mail_client.patch(
            url, json={"status": status}, headers=actors.employer.headers
        )
        assert moved.status_code == 200
        await sent()  # each batch's mail goes out before the next change
    mails = to(tmp_path, user.email)
    assert [mail["Subject"] for mail in mails] == [
        f"Your application for Robot Whisperer: {status}"
        for status in ("reviewing", "interviewing", "offered")
    ]
    assert company.name in text_of(mails[0])
    assert "https://jobs.example/applications" in text_of(mails[0])


async def test_changes_within_one_batch_tell_where_the_application_ended(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    user, headers = await candidate(db, app, "Patient")
    applied = await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    url = f"{API}/applications/{applied.json()['id']}"
    for status in ("reviewing", "interviewing", "offered"):
        await mail_client.patch(url, json={"status": status}, headers=actors.employer.headers)
    await sent()
    (mail,) = to(tmp_path, user.email)
    assert mail["Subject"] == "Your application for Robot Whisperer: offered"


async def test_setting_the_same_status_again_mails_nothing(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    user, headers = await candidate(db, app, "Steady")
    applied = await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    url = f"{API}/applications/{applied.json()['id']}"
    for _ in range(2):
        await mail_client.patch(url, json={"status": "reviewing"}, headers=actors.employer.headers)
    await sent()
    assert len(to(tmp_path, user.email)) == 1


# --- settings and unsubscribing


async def test_settings_start_on_and_change_one_by_one(
    mail_client: httpx.AsyncClient, actors: Actors
) -> None:
    headers = actors.candidate.headers
    assert (await mail_client.get(SETTINGS, headers=headers)).json() == {
        "new_applicants": True,
        "application_status": True,
        "job_alerts": True,
        "job_expiry": True,
    }
    changed = await mail_client.patch(SETTINGS, json={"job_alerts": False}, headers=headers)
    assert changed.json()["job_alerts"] is False
    assert (await mail_client.get(SETTINGS, headers=headers)).json()["job_alerts"] is False
    assert (await mail_client.get(SETTINGS, headers=headers)).json()["application_status"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"job_alerts": None},
        {"job_alerts": "yes please"},
        {"sms": True},
        [],
        # Booleans are JSON's true and false, nothing that merely looks like one.
        {"job_alerts": 0},
        {"job_alerts": 0.0},
        {"job_alerts": "false"},
        {"new_applicants": 1},
    ],
)
async def test_bad_settings_are_422_and_change_nothing(
    mail_client: httpx.AsyncClient, actors: Actors, body: object
) -> None:
    headers = actors.candidate.headers
    assert_problem(await mail_client.patch(SETTINGS, json=body, headers=headers), 422)
    assert all((await mail_client.get(SETTINGS, headers=headers)).json().values())


async def test_settings_need_a_sign_in(mail_client: httpx.AsyncClient) -> None:
    assert_problem(await mail_client.get(SETTINGS), 401)
    assert_problem(await mail_client.patch(SETTINGS, json={"job_alerts": False}), 401)


async def test_one_click_in_a_mail_turns_its_kind_off(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    _, headers = await candidate(db, app, "Applicant")
    await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    (mail,) = await sent()
    header_url = mail["List-Unsubscribe"].strip("<>")
    # The reader's link opens the web app's page, which posts the same token.
    page_token = link_token(mail, "https://jobs.example/unsubscribe")
    assert header_url.endswith(f"?token={page_token}")
    assert f"https://jobs.example/unsubscribe?token={page_token}" in html_of(mail)
    # What a mail client does (RFC 8058): POST the header's address, no sign-in.
    path = header_url.removeprefix("https://api.jobs.example")
    answer = await mail_client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "detail": "You will get no more new applicants mails.",
        "kind": "new_applicants",
    }
    assert (await mail_client.get(SETTINGS, headers=actors.employer.headers)).json() == {
        "new_applicants": False,
        "application_status": True,
        "job_alerts": True,
        "job_expiry": True,
    }
    # Used again: 400, nothing changes.
    assert_problem(await mail_client.post(path), 400)


@pytest.mark.parametrize("kind", ["tampered", "expired", "verification", "unknown kind", "junk"])
async def test_a_bad_unsubscribe_link_is_400_and_changes_nothing(
    mail_client: httpx.AsyncClient, app: FastAPI, actors: Actors, kind: str
) -> None:
    user_id = actors.employer.user.id
    settings = app.state.settings

    def token(purpose: str = UNSUBSCRIBE_PURPOSE, subject: str = "job_alerts", **extra: int) -> str:
        return create_link_token(
            settings,
            purpose=purpose,
            user_id=user_id,
            subject=subject,
            generation=0,
            expires_in=extra.get("expires_in", 3600),
            now=extra.get("now"),
        )

    good = token()
    bad = {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expired": token(expires_in=60, now=int(time.time()) - 3600),
        "verification": token(purpose=VERIFY_EMAIL_PURPOSE, subject=actors.employer.user.email),
        "unknown kind": token(subject="carrier_pigeons"),
        "junk": "x" * 40,
    }[kind]
    assert_problem(await mail_client.post(UNSUBSCRIBE, params={"token": bad}), 400)
    assert all((await mail_client.get(SETTINGS, headers=actors.employer.headers)).json().values())
    assert (await mail_client.post(UNSUBSCRIBE, params={"token": good})).status_code == 200


async def test_unsubscribe_without_a_token_is_422(mail_client: httpx.AsyncClient) -> None:
    assert_problem(await mail_client.post(UNSUBSCRIBE), 422)


async def test_unsubscribed_candidates_get_no_status_mail(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    job_id = await published_job(mail_client, actors, company)
    user, headers = await candidate(db, app, "No News")
    await mail_client.patch(SETTINGS, json={"application_status": False}, headers=headers)
    applied = await mail_client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    await mail_client.patch(
        f"{API}/applications/{applied.json()['id']}",
        json={"status": "rejected"},
        headers=actors.employer.headers,
    )
    await sent()
    assert to(tmp_path, user.email) == []


# --- exactly the committed work


async def test_a_task_exists_exactly_when_its_transaction_commits(
    app: FastAPI, actors: Actors
) -> None:
    """What every request relies on: `enqueue` writes in the caller's transaction."""
    engine = app.state.engine
    user_id = actors.candidate.user.id

    async def count() -> int:
        async with engine.connect() as other:  # another connection: committed rows only
            result = await other.execute(
                text("SELECT count(*) FROM procrastinate_jobs WHERE args->>'user_id' = :id"),
                {"id": str(user_id)},
            )
            return int(result.scalar_one())

    # Fresh sessions of the engine, committed for real (the rows are removed below).
    fresh = async_sessionmaker(engine, expire_on_commit=False)

    async def fail_after_enqueue() -> None:
        async with fresh() as db, db.begin():
            await enqueue(db, SEND_PASSWORD_RESET, user_id=user_id)
            raise RuntimeError("the request failed after asking for the mail")

    with pytest.raises(RuntimeError):
        await fail_after_enqueue()
    assert await count() == 0
    async with fresh() as db, db.begin():
        await enqueue(db, SEND_PASSWORD_RESET, user_id=user_id)
        assert await count() == 0  # not before the commit
    assert await count() == 1
    async with fresh() as db, db.begin():
        await db.execute(
            text("DELETE FROM procrastinate_jobs WHERE args->>'user_id' = :id"),
            {"id": str(user_id)},
        )


async def test_a_user_row_is_what_unsubscribing_changes(
    mail_client: httpx.AsyncClient, app: FastAPI, actors: Actors, db: AsyncSession
) -> None:
    token = create_link_token(
        app.state.settings,
        purpose=UNSUBSCRIBE_PURPOSE,
        user_id=actors.candidate.user.id,
        subject="application_status",
        generation=0,
        expires_in=3600,
    )
    assert (await mail_client.post(UNSUBSCRIBE, params={"token": token})).status_code == 200
    stored = (
        await db.execute(
            select(User.notify_application_status).where(User.id == actors.candidate.user.id)
        )
    ).scalar_one()
    assert stored is False


async def test_a_task_run_again_after_its_mail_was_recorded_sends_nothing(
    mail_client: httpx.AsyncClient, sent: Sent, db: AsyncSession, actors: Actors, tmp_path: Path
) -> None:
    """A task whose worker died after the send was committed, run again by another."""
    user = actors.candidate.user
    await mail_client.post(f"{API}/auth/password-reset", json={"email": user.email})
    (task,) = await waiting(db)
    assert len(await sent()) == 1
    await db.execute(
        text(
            "INSERT INTO procrastinate_jobs (id, queue_name, task_name, args, status) "
            "VALUES (:id, 'default', :task, CAST(:args AS jsonb), 'todo')"
        ),
        {"id": task.id, "task": task.task_name, "args": json.dumps({"user_id": user.id})},
    )
    assert len(await sent()) == 1
    tokens = await db.execute(
        text("SELECT count(*) FROM password_reset_tokens WHERE user_id = :u"), {"u": user.id}
    )
    assert tokens.scalar_one() == 1  # no second link either
