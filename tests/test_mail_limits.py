"""Mail no one can aim at others: an address that did not ask for mail gets at most
MAIL_TO_ADDRESS_PER_HOUR of the board's asked-for mails (confirmations, resets) an hour,
whoever asks and whatever RATE_LIMITS_ENABLED says; an unconfirmed address gets nothing but
its confirmation; a candidate's status mails are batched."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Job, Role, SavedSearch, User
from backend.services import alerts
from backend.services.throttle import MAIL_TO_ADDRESS_PER_HOUR
from tests.conftest import ClientFactory, Sent
from tests.factories import (
    DEFAULT_PASSWORD,
    Actors,
    assert_problem,
    bearer,
    create_user,
    job_body,
    session_headers,
    token_for,
)
from tests.mailbox import text_of, to

API = "/api/v1"
ME = f"{API}/users/me"
RESET = f"{API}/auth/password-reset"


@pytest.fixture(params=[False, True], ids=["rate-limits-off", "rate-limits-on"])
async def mail_client(
    make_client: ClientFactory, tmp_path: Path, request: pytest.FixtureRequest
) -> httpx.AsyncClient:
    return await make_client(
        mail_backend="file",
        mail_file_dir=tmp_path,
        frontend_url="https://jobs.example",
        rate_limits_enabled=request.param,
    )


async def register(client: httpx.AsyncClient, email: str, name: str = "Someone") -> dict[str, str]:
    answer = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": DEFAULT_PASSWORD, "full_name": name},
    )
    assert answer.status_code == 201, answer.text
    return bearer(await token_for(client, email))


async def test_address_changes_aimed_at_one_inbox_are_capped(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    # Unconfirmed accounts, each asking to move to the victim's address once.
    answers = []
    for number in range(MAIL_TO_ADDRESS_PER_HOUR + 3):
        headers = await register(
            mail_client, f"attacker{number}@example.com", "Support: your account is locked"
        )
        answers.append(
            await mail_client.patch(
                ME,
                json={"email": "victim@example.com", "current_password": DEFAULT_PASSWORD},
                headers=headers,
            )
        )
    assert [a.status_code for a in answers] == [200] * MAIL_TO_ADDRESS_PER_HOUR + [429] * 3
    assert int(answers[-1].headers["Retry-After"]) > 0
    await sent()
    mails = to(tmp_path, "victim@example.com")
    assert len(mails) == MAIL_TO_ADDRESS_PER_HOUR
    # Nothing the asker chose reaches an inbox that did not ask.
    assert all("Support" not in text_of(mail) for mail in mails)


async def test_one_account_cannot_ask_for_address_changes_without_end(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await register(mail_client, "restless@example.com")
    answers = [
        await mail_client.patch(
            ME,
            json={"email": f"target{n}@example.com", "current_password": DEFAULT_PASSWORD},
            headers=headers,
        )
        for n in range(7)
    ]
    # Resent links and address changes share the account's five an hour.
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    await sent()
    assert sum(len(to(tmp_path, f"target{n}@example.com")) for n in range(7)) == 5


async def test_reset_mails_to_one_account_are_capped_silently(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path, db: AsyncSession, app: FastAPI
) -> None:
    user = await create_user(db, app, email="inbox@example.com")
    answers = [
        await mail_client.post(RESET, json={"email": "inbox@example.com"}) for _ in range(12)
    ]
    # The same answer every time (twelve stay within the client address's own 20 a
    # minute): the cap tells nobody whether the account exists.
    unknown = await mail_client.post(RESET, json={"email": "nobody@example.com"})
    assert {a.status_code for a in answers} == {202}
    assert unknown.status_code == 202
    await sent()
    assert len(to(tmp_path, user.email)) == MAIL_TO_ADDRESS_PER_HOUR


async def test_the_cap_counts_every_kind_of_asked_for_mail_together(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    headers = await register(mail_client, "mixed@example.com")  # its confirmation: one
    for _ in range(MAIL_TO_ADDRESS_PER_HOUR):
        await mail_client.post(RESET, json={"email": "mixed@example.com"})
    resent = await mail_client.post(f"{API}/auth/verify-email/resend", headers=headers)
    assert_problem(resent, 429)
    await sent()
    assert len(to(tmp_path, "mixed@example.com")) == MAIL_TO_ADDRESS_PER_HOUR


async def test_an_unconfirmed_account_asking_for_a_reset_gets_its_confirmation(
    mail_client: httpx.AsyncClient, sent: Sent, tmp_path: Path
) -> None:
    await register(mail_client, "fresh@example.com")
    await sent()
    assert (await mail_client.post(RESET, json={"email": "fresh@example.com"})).status_code == 202
    await sent()
    subjects = [mail["Subject"] for mail in to(tmp_path, "fresh@example.com")]
    assert subjects == ["Confirm your email address"] * 2
    assert all("/reset-password" not in text_of(m) for m in to(tmp_path, "fresh@example.com"))


async def test_job_alerts_wait_for_a_confirmed_address(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    user = await create_user(db, app, role=Role.candidate, verified=False)
    headers = await session_headers(db, app, user)
    saved = await mail_client.post(
        f"{API}/users/me/saved-searches",
        json={"name": "<b>Call +1 555</b>", "search": {"q": "python"}, "frequency": "daily"},
        headers=headers,
    )
    assert saved.status_code == 201, saved.text
    now = datetime.now(UTC)
    await db.execute(
        update(SavedSearch)
        .where(SavedSearch.id == saved.json()["id"])
        .values(alerted_through=now - timedelta(days=2), next_alert_at=now - timedelta(hours=1))
    )
    posted = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published", title="Python Engineer"),
        headers=actors.employer.headers,
    )
    await db.execute(
        update(Job)
        .where(Job.id == posted.json()["id"])
        .values(published_at=now - timedelta(hours=5))
    )
    await sent()
    assert await alerts.schedule_due(mail_client.app.state.sessionmaker) == 1  # type: ignore[attr-defined]
    await sent()
    assert to(tmp_path, user.email) == []


async def test_status_mails_to_an_unconfirmed_address_are_not_sent(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    db: AsyncSession,
    app: FastAPI,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    job = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published"),
        headers=actors.employer.headers,
    )
    applied = await mail_client.post(
        f"{API}/jobs/{job.json()['id']}/applications", json={}, headers=actors.candidate.headers
    )
    # The candidate's address stops being confirmed (an address change under way elsewhere
    # would be the same): no notification reaches it.
    await db.execute(
        update(User).where(User.id == actors.candidate.user.id).values(email_verified_at=None)
    )
    moved = await mail_client.patch(
        f"{API}/applications/{applied.json()['id']}",
        json={"status": "reviewing"},
        headers=actors.employer.headers,
    )
    assert moved.status_code == 200
    await sent()
    assert to(tmp_path, actors.candidate.user.email) == []


async def test_status_changes_reach_the_candidate_in_one_batched_mail(
    mail_client: httpx.AsyncClient,
    sent: Sent,
    actors: Actors,
    company: Company,
    tmp_path: Path,
) -> None:
    ids = []
    for title in ("Robot Whisperer", "Bug Hunter"):
        job = await mail_client.post(
            f"{API}/jobs",
            json=job_body(company.id, status="published", title=title),
            headers=actors.employer.headers,
        )
        applied = await mail_client.post(
            f"{API}/jobs/{job.json()['id']}/applications",
            json={},
            headers=actors.candidate.headers,
        )
        ids.append(applied.json()["id"])
    # Flipped twelve times: the candidate hears once, of where it ended.
    for number in range(12):
        moved = await mail_client.patch(
            f"{API}/applications/{ids[0]}",
            json={"status": ("reviewing", "interviewing")[number % 2]},
            headers=actors.employer.headers,
        )
        assert moved.status_code == 200
    await mail_client.patch(
        f"{API}/applications/{ids[1]}",
        json={"status": "reviewing"},
        headers=actors.employer.headers,
    )
    await sent()
    (mail,) = to(tmp_path, actors.candidate.user.email)
    text = text_of(mail)
    assert "Robot Whisperer" in text
    assert "interviewing" in text
    assert "Bug Hunter" in text
    assert "reviewing" in text
    assert mail["Subject"] == "News of 2 of your applications"

    # Moved back to what the candidate was last told: nothing new to say.
    await mail_client.patch(
        f"{API}/applications/{ids[1]}",
        json={"status": "interviewing"},
        headers=actors.employer.headers,
    )
    await mail_client.patch(
        f"{API}/applications/{ids[1]}",
        json={"status": "reviewing"},
        headers=actors.employer.headers,
    )
    await sent()
    assert len(to(tmp_path, actors.candidate.user.email)) == 1
