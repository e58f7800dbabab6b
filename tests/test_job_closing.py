"""A job that closes tells each candidate whose application to it was under way, once."""

from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db.models import Company, Role, User
from tests.conftest import Sent
from tests.factories import Actors, create_user, job_body, session_headers
from tests.mailbox import text_of, to

API = "/api/v1"


async def applied(
    client: httpx.AsyncClient, db: AsyncSession, app: FastAPI, job_id: int, name: str
) -> tuple[User, dict[str, str], int]:
    user = await create_user(db, app, role=Role.candidate, full_name=name)
    headers = await session_headers(db, app, user)
    answer = await client.post(f"{API}/jobs/{job_id}/applications", json={}, headers=headers)
    assert answer.status_code == 201, answer.text
    application_id: int = answer.json()["id"]
    return user, headers, application_id


async def test_candidates_under_way_hear_once_that_the_job_closed(
    mail_client: httpx.AsyncClient,
    actors: Actors,
    company: Company,
    db: AsyncSession,
    app: FastAPI,
    sent: Sent,
    tmp_path: Path,
) -> None:
    made = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published", title="Lighthouse Keeper"),
        headers=actors.employer.headers,
    )
    job_id = made.json()["id"]
    waiting, _, _ = await applied(mail_client, db, app, job_id, "Waiting Person")
    withdrawn, withdrawn_headers, withdrawn_id = await applied(
        mail_client, db, app, job_id, "Gone Person"
    )
    await mail_client.patch(
        f"{API}/applications/{withdrawn_id}",
        json={"status": "withdrawn"},
        headers=withdrawn_headers,
    )
    rejected, _, rejected_id = await applied(mail_client, db, app, job_id, "Turned Down")
    await mail_client.patch(
        f"{API}/applications/{rejected_id}",
        json={"status": "rejected"},
        headers=actors.employer.headers,
    )
    quiet, quiet_headers, _ = await applied(mail_client, db, app, job_id, "Quiet Person")
    await mail_client.patch(
        f"{API}/users/me/notifications", json={"application_status": False}, headers=quiet_headers
    )
    await sent()  # the owner's and the status mails so far
    before = {address: len(to(tmp_path, address)) for address in
              (waiting.email, withdrawn.email, rejected.email, quiet.email)}  # fmt: skip

    url = f"{API}/jobs/{job_id}"
    closed = await mail_client.patch(
        url, json={"status": "closed"}, headers=actors.employer.headers
    )
    assert closed.json()["status"] == "closed"
    await sent()
    (mail,) = to(tmp_path, waiting.email)[before[waiting.email] :]
    assert mail["Subject"] == f"Lighthouse Keeper at {company.name} has closed"
    assert "Waiting Person" in text_of(mail)
    assert mail["List-Unsubscribe"]
    for nobody in (withdrawn, rejected, quiet):
        assert len(to(tmp_path, nobody.email)) == before[nobody.email], nobody.full_name
    # Reopened and closed again: nobody hears a second time.
    await mail_client.patch(url, json={"status": "published"}, headers=actors.employer.headers)
    await mail_client.patch(url, json={"status": "closed"}, headers=actors.employer.headers)
    await sent()
    assert len(to(tmp_path, waiting.email)) == before[waiting.email] + 1


async def test_a_job_reopened_before_the_mail_tells_nobody(
    mail_client: httpx.AsyncClient,
    actors: Actors,
    company: Company,
    db: AsyncSession,
    app: FastAPI,
    sent: Sent,
    tmp_path: Path,
) -> None:
    made = await mail_client.post(
        f"{API}/jobs",
        json=job_body(company.id, status="published"),
        headers=actors.employer.headers,
    )
    job_id = made.json()["id"]
    candidate, _, _ = await applied(mail_client, db, app, job_id, "Patient Person")
    await sent()
    before = len(to(tmp_path, candidate.email))
    url = f"{API}/jobs/{job_id}"
    await mail_client.patch(url, json={"status": "closed"}, headers=actors.employer.headers)
    await mail_client.patch(url, json={"status": "published"}, headers=actors.employer.headers)
    await sent()
    assert len(to(tmp_path, candidate.email)) == before
